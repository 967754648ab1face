using Dragon.Runtime.Protocol;
using Dragon.Sync.Internal;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Objects;

/// <summary>
/// An event, lock or semaphore whose state lives in a shared slot (<see cref="SyncSlot"/>). Processes of this node
/// operate on the slot themselves; this host serves the requests of processes on other nodes by operating on the same
/// slot for them, and looks after the dead: a remote waiter that dies is withdrawn (and gives back what its wait took
/// meanwhile), and subclasses release what a dead process held.
/// </summary>
internal abstract class SyncHost : HostedObject
{
    private readonly SyncSlab _slab;
    private readonly int _slot;
    private readonly System.Threading.Lock _waitsLock = new();
    private readonly List<RemoteWait> _waits = [];

    protected SyncHost(ObjectDescriptor descriptor, SyncSlab slab, SyncCell cell, int slot, ILogger logger)
        : base(descriptor)
    {
        _slab = slab;
        _slot = slot;
        Cell = cell;
        Logger = logger;
    }

    protected SyncCell Cell { get; }

    protected ILogger Logger { get; }

    protected static Task<ObjectReply> Done(ObjectReply reply) => Task.FromResult(reply);

    protected static Task<ObjectReply> DestroyedReply() => Task.FromResult(Reply(ObjectStatus.Destroyed));

    /// <summary>
    /// A wait of a process on another node, on the shared slot. It runs on a thread of its own (the futex sleep
    /// blocks), and ends with the slot's outcome; if the process died meanwhile, what the wait took is given back.
    /// </summary>
    protected async Task<ObjectReply> WaitAsync(SyncWaitKind kind, ObjectRequest request, CancellationToken cancellationToken)
    {
        var recursive = kind == SyncWaitKind.LockAcquire && Descriptor.Flag;
        if (!Cell.IsLive)
        {
            return Reply(ObjectStatus.Destroyed);
        }

        if (Cell.TryOnce(kind, request.Puid, recursive))
        {
            return Ok(1);
        }

        if (request.TimeoutMs == 0)
        {
            return Reply(ObjectStatus.TimedOut);
        }

        var timeout = request.TimeoutMs < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(request.TimeoutMs);
        using var wait = new RemoteWait(request.Puid, cancellationToken);
        lock (_waitsLock)
        {
            _waits.Add(wait);
        }

        _slab.EnterWait();
        try
        {
            var result = await Task.Factory.StartNew(
                () => Cell.Wait(kind, request.Puid, recursive, timeout, wait.Token),
                CancellationToken.None,
                TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
                TaskScheduler.Default).ConfigureAwait(false);
            if (wait.Died)
            {
                if (result == SyncWaitResult.Ok)
                {
                    GiveBack(kind, request.Puid);
                }

                return Reply(ObjectStatus.Closed);
            }

            return result switch
            {
                SyncWaitResult.Ok => Ok(1),
                SyncWaitResult.TimedOut => Reply(ObjectStatus.TimedOut),
                SyncWaitResult.Cancelled => Reply(ObjectStatus.Cancelled),
                _ => Reply(ObjectStatus.Destroyed),
            };
        }
        finally
        {
            _slab.ExitWait();
            lock (_waitsLock)
            {
                _waits.Remove(wait);
            }
        }
    }

    /// <summary>What a wait took for a process that died before hearing of it goes back.</summary>
    private void GiveBack(SyncWaitKind kind, ulong puid)
    {
        switch (kind)
        {
            case SyncWaitKind.LockAcquire:
                Cell.LockReleaseAll(puid);
                break;
            case SyncWaitKind.SemaphoreAcquire:
                Cell.SemaphoreRelease(1, out _, out _);
                break;
        }
    }

    /// <summary>
    /// Withdraws the dead process's waits here (first, so a wait that takes something afterwards gives it back), then
    /// lets the subclass release what it held.
    /// </summary>
    public sealed override void OnProcessExited(ulong puid)
    {
        var withdrawn = 0;
        lock (_waitsLock)
        {
            foreach (var wait in _waits)
            {
                if (wait.Puid == puid)
                {
                    wait.Die();
                    withdrawn++;
                }
            }
        }

        if (withdrawn > 0)
        {
            ObjectLog.WaiterDied(Logger, Descriptor.Kind.ToString().ToLowerInvariant(), Descriptor.Name, puid);
        }

        OnHolderExited(puid);
    }

    /// <summary>The process <paramref name="puid"/> exited: release what it held in the slot.</summary>
    protected virtual void OnHolderExited(ulong puid)
    {
    }

    /// <summary>Marks the slot destroyed (every sleeper, here or in a process of this node, leaves) and frees it.</summary>
    public override void Destroy()
    {
        Cell.MarkDestroyed();
        _slab.Free(_slot);
    }

    /// <summary>One wait served for a process of another node: its puid, and a token that fires on cancel or death.</summary>
    private sealed class RemoteWait(ulong puid, CancellationToken requestToken) : IDisposable
    {
        private readonly CancellationTokenSource _source = CancellationTokenSource.CreateLinkedTokenSource(requestToken);
        private volatile bool _died;

        public ulong Puid { get; } = puid;

        public CancellationToken Token => _source.Token;

        public bool Died => _died;

        public void Die()
        {
            _died = true;
            _source.Cancel();
        }

        public void Dispose() => _source.Dispose();
    }
}
