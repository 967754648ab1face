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

    private int Parties => (int)Descriptor.Parties;

    public override Task<ObjectReply> HandleAsync(ObjectRequest request, CancellationToken cancellationToken)
    {
        if (!cell.IsLive)
        {
            return Task.FromResult(Reply(ObjectStatus.Destroyed));
        }

        switch (request.Op)
        {
            case ObjectOp.BarrierWait:
                return WaitAsync(request, cancellationToken);
            case ObjectOp.BarrierAbort:
                return Task.FromResult(cell.Break(BarrierBreak.Aborted, request.Puid, BarrierSlot.ServiceOwner) ? Ok() : Reply(ObjectStatus.Destroyed));
            case ObjectOp.BarrierReset:
                return Task.FromResult(cell.Reset(BarrierSlot.ServiceOwner) ? Ok() : Reply(ObjectStatus.Destroyed));
            default:
                return Invalid(request, "a barrier");
        }
    }

    /// <summary>Arrives for the process of another node; if not the last, waits on a thread of its own (the futex sleep blocks).</summary>
    private async Task<ObjectReply> WaitAsync(ObjectRequest request, CancellationToken cancellationToken)
    {
        var deadline = WaitDeadline.From(request.TimeoutMs < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(request.TimeoutMs));
        var outcome = cell.Arrive(request.Puid, BarrierSlot.ServiceOwner, ref deadline, cancellationToken, out var detail);
        if (outcome != BarrierOutcome.Waiting)
        {
            return ReplyFor(outcome, detail);
        }

        _remoteWaits.AddOrUpdate(request.Puid, 1, (_, n) => n + 1);
        slab.EnterWait();
        try
        {
            var entry = detail;
            (outcome, detail) = await Task.Factory.StartNew(
                () =>
                {
                    var left = deadline;
                    var ended = cell.Await(entry, BarrierSlot.ServiceOwner, ref left, cancellationToken, out var d);
                    return (ended, d);
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
                TaskScheduler.Default).ConfigureAwait(false);
            return ReplyFor(outcome, detail);
        }
        finally
        {
            slab.ExitWait();
            _remoteWaits.AddOrUpdate(request.Puid, 0, (_, n) => n - 1);
            _remoteWaits.TryRemove(new KeyValuePair<ulong, int>(request.Puid, 0));
        }
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
        var others = cell.OnProcessExited(puid, reclaim: !_remoteWaits.ContainsKey(puid));
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
        cell.MarkDestroyed();
        slab.FreeBarrier(slot, Parties);
    }
}
