using Dragon.Runtime.Protocol;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Objects;

/// <summary>
/// A barrier of more parties than a block of the sync slab holds (<see cref="Dragon.Sync.Internal.BarrierCell.MaxParties"/>;
/// smaller ones live in shared memory, <see cref="SharedBarrierHost"/>), served by requests alone. Wait returns the
/// arrival index (0 for the first). As in Python, a waiter's timeout, an abort, or a reset while parties wait breaks
/// the barrier: every waiter gets Broken until the barrier is reset. A cancelled wait (a cancel request) withdraws its
/// party instead, as .NET's Barrier does: the others keep waiting.
/// </summary>
internal sealed class BarrierHost(ObjectDescriptor descriptor, ILogger logger) : HostedObject(descriptor)
{
    private readonly System.Threading.Lock _lock = new();
    private readonly List<(TaskCompletionSource<ObjectReply> Waiter, ulong Puid, int Index)> _waiting = [];
    private bool _broken;

    private int Parties => (int)Descriptor.Parties;

    public override Task<ObjectReply> HandleAsync(ObjectRequest request, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            switch (request.Op)
            {
                case ObjectOp.BarrierWait:
                    if (_broken)
                    {
                        return Task.FromResult(Reply(ObjectStatus.Broken));
                    }

                    var index = _waiting.Count;
                    if (index == Parties - 1)
                    {
                        foreach (var (waiter, _, arrival) in _waiting)
                        {
                            waiter.TrySetResult(Ok(arrival));
                        }

                        _waiting.Clear();
                        return Task.FromResult(Ok(index));
                    }

                    var w = NewWaiter();
                    _waiting.Add((w, request.Puid, index));
                    return AwaitAsync(w, request.TimeoutMs, status => GiveUp(w, status), cancellationToken);
                case ObjectOp.BarrierAbort:
                    Break();
                    return Task.FromResult(Ok());
                case ObjectOp.BarrierReset:
                    BreakLocked();
                    _broken = false;
                    return Task.FromResult(Ok());
                default:
                    return Invalid(request, "a barrier");
            }
        }
    }

    private void GiveUp(TaskCompletionSource<ObjectReply> waiter, ObjectStatus status)
    {
        lock (_lock)
        {
            var at = _waiting.FindIndex(w => w.Waiter == waiter);
            if (at < 0 || !waiter.TrySetResult(Reply(status)))
            {
                return;
            }

            if (status != ObjectStatus.Cancelled)
            {
                // A timed-out party hears that it timed out; the barrier breaks for everyone else.
                BreakLocked();
                return;
            }

            // The parties behind it arrive one place earlier.
            _waiting.RemoveAt(at);
            for (var i = at; i < _waiting.Count; i++)
            {
                _waiting[i] = _waiting[i] with { Index = i };
            }
        }
    }

    private void Break()
    {
        lock (_lock)
        {
            BreakLocked();
        }
    }

    private void BreakLocked()
    {
        _broken = true;
        foreach (var (waiter, _, _) in _waiting)
        {
            waiter.TrySetResult(Reply(ObjectStatus.Broken));
        }

        _waiting.Clear();
    }

    /// <summary>A party that dies while waiting can never be released with the others: the barrier breaks.</summary>
    public override void OnProcessExited(ulong puid)
    {
        lock (_lock)
        {
            if (_waiting.Any(w => w.Puid == puid))
            {
                ObjectLog.BarrierPartyDied(logger, Descriptor.Name, puid, _waiting.Count(w => w.Puid != puid));
                BreakLocked();
            }
        }
    }

    public override void Destroy()
    {
        lock (_lock)
        {
            foreach (var (waiter, _, _) in _waiting)
            {
                waiter.TrySetResult(Reply(ObjectStatus.Destroyed));
            }

            _waiting.Clear();
        }
    }
}
