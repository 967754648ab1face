using System.Collections.Concurrent;
using System.Text;
using Dragon.Channels.Internal;
using Dragon.Runtime.Protocol;
using Dragon.Sync.Internal;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Objects;

/// <summary>
/// A barrier whose state lives in a block of the node's slab (<see cref="BarrierSlot"/>). Processes of this node
/// arrive and wait in the block themselves; this host serves the requests of processes on other nodes by doing the
/// same on the same block for them, and looks after the dead: a party that dies while waiting, here or elsewhere,
/// breaks the barrier (naming it), and its entries are freed.
/// </summary>
internal sealed class SharedBarrierHost(ObjectDescriptor descriptor, SyncSlab slab, BarrierCell cell, int slot, ILogger logger)
    : HostedObject(descriptor)
{
    // Waits in progress here per puid of another node: their entries are theirs to free, even after the process died.
    private readonly ConcurrentDictionary<ulong, int> _remoteWaits = new();

    // Set before the run's end unmaps the slab: work counted in the slab after it reads it and touches no memory.
    private volatile bool _destroyed;

    private int Parties => (int)Descriptor.Parties;

    public override Task<ObjectReply> HandleAsync(ObjectRequest request, CancellationToken cancellationToken)
    {
        if (!cell.IsLive)
        {
            return Task.FromResult(Reply(ObjectStatus.Destroyed));
        }

        // Every operation takes the block's spin lock, which a process of this node killed inside it holds until its
        // exit is handled: so never on the thread serving requests (the exit may come through it), always on its own.
        switch (request.Op)
        {
            case ObjectOp.BarrierWait:
                return WaitAsync(request, cancellationToken);
            case ObjectOp.BarrierAbort:
                return OnItsOwnThread(() => cell.Break(BarrierBreak.Aborted, request.Puid, BarrierSlot.ServiceOwner) ? Ok() : Reply(ObjectStatus.Destroyed));
            case ObjectOp.BarrierReset:
                return OnItsOwnThread(() => cell.Reset(BarrierSlot.ServiceOwner) ? Ok() : Reply(ObjectStatus.Destroyed));
            default:
                return Invalid(request, "a barrier");
        }
    }

    /// <summary>Arrives and, if not the last, waits for the process of another node (the futex sleep blocks its thread).</summary>
    private async Task<ObjectReply> WaitAsync(ObjectRequest request, CancellationToken cancellationToken)
    {
        var timeout = request.TimeoutMs < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(request.TimeoutMs);
        _remoteWaits.AddOrUpdate(request.Puid, 1, (_, n) => n + 1);
        try
        {
            return await OnItsOwnThread(() =>
            {
                var deadline = WaitDeadline.From(timeout);
                var outcome = cell.Arrive(request.Puid, BarrierSlot.ServiceOwner, ref deadline, cancellationToken, out var detail);
                if (outcome == BarrierOutcome.Waiting)
                {
                    outcome = cell.Await(detail, BarrierSlot.ServiceOwner, ref deadline, cancellationToken, out detail);
                }

                return ReplyFor(outcome, detail);
            }).ConfigureAwait(false);
        }
        finally
        {
            _remoteWaits.AddOrUpdate(request.Puid, 0, (_, n) => n - 1);
            _remoteWaits.TryRemove(new KeyValuePair<ulong, int>(request.Puid, 0));
        }
    }

    /// <summary>Runs an operation on the block on a thread of its own, counted (from now) so the slab is not unmapped under it.</summary>
    private Task<ObjectReply> OnItsOwnThread(Func<ObjectReply> operation)
    {
        slab.EnterWait();
        return Task.Factory.StartNew(
            () =>
            {
                try
                {
                    return _destroyed ? Reply(ObjectStatus.Destroyed) : operation();
                }
                finally
                {
                    slab.ExitWait();
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
            TaskScheduler.Default);
    }

    private ObjectReply ReplyFor(BarrierOutcome outcome, int detail) => outcome switch
    {
        BarrierOutcome.Passed => Ok(detail),
        BarrierOutcome.TimedOut => Reply(ObjectStatus.TimedOut),
        BarrierOutcome.Cancelled => Reply(ObjectStatus.Cancelled),
        BarrierOutcome.Broken => new ObjectReply(ObjectStatus.Broken, Encoding.UTF8.GetBytes(cell.Explain((BarrierBreak)detail)), detail),
        _ => Reply(ObjectStatus.Destroyed),
    };

    /// <summary>A party that dies while waiting can never be released with the others: the barrier breaks.</summary>
    public override void OnProcessExited(ulong puid)
    {
        int others;
        slab.EnterWait();
        try
        {
            others = _destroyed ? -1 : cell.OnProcessExited(puid, reclaim: !_remoteWaits.ContainsKey(puid));
        }
        finally
        {
            slab.ExitWait();
        }

        if (others == BarrierCell.Busy)
        {
            // Another process holds the lock, perhaps one that died too and whose exit comes next: not here, later.
            _ = Task.Delay(20).ContinueWith(_ => OnProcessExited(puid), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        else if (others >= 0)
        {
            ObjectLog.BarrierPartyDied(logger, Descriptor.Name, puid, others);
        }
    }

    /// <summary>Marks the block destroyed (every sleeper, here or in a process of this node, leaves) and frees it.</summary>
    public override void Destroy()
    {
        _destroyed = true;
        cell.MarkDestroyed();
        slab.FreeBarrier(slot, Parties);
    }
}
