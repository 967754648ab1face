using System.Text;
using Dragon.Runtime.Protocol;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Objects;

/// <summary>
/// A counting semaphore; a bounded one refuses a release past its initial value. Units are not owned (any process
/// may release), so a process that dies holding some does not give them back; the units each process took and has
/// not released are counted only to log that death.
/// </summary>
internal sealed class SemaphoreHost : HostedObject
{
    private readonly System.Threading.Lock _lock = new();
    private readonly LinkedList<(TaskCompletionSource<ObjectReply> Waiter, ulong Puid)> _queue = new();
    private readonly Dictionary<ulong, long> _held = [];
    private readonly ILogger _logger;
    private long _value;

    public SemaphoreHost(ObjectDescriptor descriptor, ILogger logger)
        : base(descriptor)
    {
        _value = descriptor.Capacity;
        _logger = logger;
    }

    private bool Bounded => Descriptor.Flag;

    public override Task<ObjectReply> HandleAsync(ObjectRequest request, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            switch (request.Op)
            {
                case ObjectOp.SemaphoreAcquire:
                    if (_value > 0 && _queue.Count == 0)
                    {
                        _value--;
                        Took(request.Puid, 1);
                        return Task.FromResult(Ok(_value));
                    }

                    var w = NewWaiter();
                    var node = _queue.AddLast((w, request.Puid));
                    return AwaitAsync(w, request.TimeoutMs, status => Withdraw(node, status), cancellationToken);
                case ObjectOp.SemaphoreRelease:
                    var n = Math.Max(1, request.Argument);
                    if (Bounded && _value + n > Descriptor.Capacity)
                    {
                        return Task.FromResult(new ObjectReply(ObjectStatus.Invalid, Encoding.UTF8.GetBytes(
                            $"releasing {n} would raise the bounded semaphore to {_value + n}, above its initial value {Descriptor.Capacity}"), _value));
                    }

                    _value += n;
                    Took(request.Puid, -n);
                    while (_value > 0 && _queue.First is { } next)
                    {
                        _queue.RemoveFirst();
                        if (next.Value.Waiter.TrySetResult(Ok(_value - 1)))
                        {
                            _value--;
                            Took(next.Value.Puid, 1);
                        }
                    }

                    return Task.FromResult(Ok(_value));
                case ObjectOp.SemaphoreValue:
                    return Task.FromResult(Ok(_value));
                default:
                    return Invalid(request, "a semaphore");
            }
        }
    }

    /// <summary>A waiter that timed out or was cancelled leaves the queue; one already granted keeps its unit.</summary>
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

    /// <summary>Counts units taken (positive) or released (negative) by <paramref name="puid"/>, never below zero.</summary>
    private void Took(ulong puid, long units)
    {
        var held = Math.Max(0, _held.GetValueOrDefault(puid) + units);
        if (held == 0)
        {
            _held.Remove(puid);
        }
        else
        {
            _held[puid] = held;
        }
    }

    public override void OnProcessExited(ulong puid)
    {
        lock (_lock)
        {
            if (_held.Remove(puid, out var units))
            {
                ObjectLog.SemaphoreHolderDied(_logger, Descriptor.Name, puid, units, _value);
            }

            for (var node = _queue.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.Puid == puid && node.Value.Waiter.TrySetResult(Reply(ObjectStatus.Closed)))
                {
                    ObjectLog.WaiterDied(_logger, "semaphore", Descriptor.Name, puid);
                    _queue.Remove(node);
                }

                node = next;
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
