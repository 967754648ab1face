using System.Text;
using Dragon.Runtime.Protocol;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Objects;

/// <summary>
/// A lock owned by a process (puid), optionally recursive. Waiters are served first come, first served. A lock
/// whose owner dies is released and handed on (and logged), so a crash never wedges the others.
/// </summary>
internal sealed class LockHost(ObjectDescriptor descriptor, ILogger logger) : HostedObject(descriptor)
{
    private readonly System.Threading.Lock _lock = new();
    private readonly LinkedList<(TaskCompletionSource<ObjectReply> Waiter, ulong Puid)> _queue = new();
    private ulong _owner;
    private int _depth;

    private bool Recursive => Descriptor.Flag;

    public override Task<ObjectReply> HandleAsync(ObjectRequest request, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            switch (request.Op)
            {
                case ObjectOp.LockAcquire:
                    if (_owner == 0)
                    {
                        _owner = request.Puid;
                        _depth = 1;
                        return Task.FromResult(Ok(1));
                    }

                    if (_owner == request.Puid && Recursive)
                    {
                        _depth++;
                        return Task.FromResult(Ok(_depth));
                    }

                    var w = NewWaiter();
                    var node = _queue.AddLast((w, request.Puid));
                    return AwaitAsync(w, request.TimeoutMs, status => Withdraw(node, status), cancellationToken);
                case ObjectOp.LockRelease:
                    if (_owner != request.Puid)
                    {
                        return Task.FromResult(new ObjectReply(ObjectStatus.Invalid, Encoding.UTF8.GetBytes(
                            _owner == 0 ? "the lock is not held" : $"the lock is held by process {_owner}, not by process {request.Puid}"), 0));
                    }

                    if (--_depth == 0)
                    {
                        HandOn();
                    }

                    return Task.FromResult(Ok(_depth));
                default:
                    return Invalid(request, "a lock");
            }
        }
    }

    private void HandOn()
    {
        _owner = 0;
        while (_queue.First is { } next)
        {
            _queue.RemoveFirst();
            if (next.Value.Waiter.TrySetResult(Ok(1)))
            {
                _owner = next.Value.Puid;
                _depth = 1;
                return;
            }
        }
    }

    /// <summary>A waiter that timed out or was cancelled leaves the queue; one already granted keeps the lock.</summary>
    private void Withdraw(LinkedListNode<(TaskCompletionSource<ObjectReply> Waiter, ulong Puid)> node, ObjectStatus status)
    {
        lock (_lock)
        {
            if (node.List is not null && node.Value.Waiter.TrySetResult(Reply(status)))
            {
                _queue.Remove(node);
            }
        }
    }

    public override void OnProcessExited(ulong puid)
    {
        lock (_lock)
        {
            for (var node = _queue.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.Puid == puid)
                {
                    if (node.Value.Waiter.TrySetResult(Reply(ObjectStatus.Closed)))
                    {
                        ObjectLog.WaiterDied(logger, "lock", Descriptor.Name, puid);
                    }

                    _queue.Remove(node);
                }

                node = next;
            }

            if (_owner == puid)
            {
                HandOn();
                if (_owner != 0)
                {
                    ObjectLog.LockHandedOn(logger, Descriptor.Name, puid, _owner);
                }
                else
                {
                    ObjectLog.LockReleased(logger, Descriptor.Name, puid);
                }
            }
        }
    }

    public override void Destroy()
    {
        lock (_lock)
        {
            foreach (var (waiter, _) in _queue)
            {
                waiter.TrySetResult(Reply(ObjectStatus.Destroyed));
            }

            _queue.Clear();
        }
    }
}
