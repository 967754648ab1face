using System.Text;
using Dragon.Runtime.Protocol;

namespace Dragon.Services.Objects;

/// <summary>A counting semaphore; a bounded one refuses a release past its initial value.</summary>
internal sealed class SemaphoreHost : HostedObject
{
    private readonly System.Threading.Lock _lock = new();
    private readonly LinkedList<TaskCompletionSource<ObjectReply>> _queue = new();
    private long _value;

    public SemaphoreHost(ObjectDescriptor descriptor)
        : base(descriptor) => _value = descriptor.Capacity;

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
                        return Task.FromResult(Ok(_value));
                    }

                    var w = NewWaiter();
                    var node = _queue.AddLast(w);
                    return AwaitAsync(w, request.TimeoutMs, status => Withdraw(node, status), cancellationToken);
                case ObjectOp.SemaphoreRelease:
                    var n = Math.Max(1, request.Argument);
                    if (Bounded && _value + n > Descriptor.Capacity)
                    {
                        return Task.FromResult(new ObjectReply(ObjectStatus.Invalid, Encoding.UTF8.GetBytes(
                            $"releasing {n} would raise the bounded semaphore to {_value + n}, above its initial value {Descriptor.Capacity}"), _value));
                    }

                    _value += n;
                    while (_value > 0 && _queue.First is { } next)
                    {
                        _queue.RemoveFirst();
                        if (next.Value.TrySetResult(Ok(_value - 1)))
                        {
                            _value--;
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
    private void Withdraw(LinkedListNode<TaskCompletionSource<ObjectReply>> node, ObjectStatus status)
    {
        lock (_lock)
        {
            if (node.List is not null && node.Value.TrySetResult(Reply(status)))
            {
                _queue.Remove(node);
            }
        }
    }

    public override void Destroy()
    {
        lock (_lock)
        {
            foreach (var waiter in _queue)
            {
                waiter.TrySetResult(Reply(ObjectStatus.Destroyed));
            }

            _queue.Clear();
        }
    }
}
