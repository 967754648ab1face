using Dragon.Runtime.Protocol;

namespace Dragon.Services.Objects;

/// <summary>An event: set, clear, and wait until set.</summary>
internal sealed class EventHost(ObjectDescriptor descriptor) : HostedObject(descriptor)
{
    private readonly System.Threading.Lock _lock = new();
    private readonly List<TaskCompletionSource<ObjectReply>> _waiters = [];
    private bool _set;

    public override Task<ObjectReply> HandleAsync(ObjectRequest request, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            switch (request.Op)
            {
                case ObjectOp.EventSet:
                    _set = true;
                    foreach (var waiter in _waiters)
                    {
                        waiter.TrySetResult(Ok(1));
                    }

                    _waiters.Clear();
                    return Task.FromResult(Ok(1));
                case ObjectOp.EventClear:
                    _set = false;
                    return Task.FromResult(Ok(0));
                case ObjectOp.EventIsSet:
                    return Task.FromResult(Ok(_set ? 1 : 0));
                case ObjectOp.EventWait:
                    if (_set)
                    {
                        return Task.FromResult(Ok(1));
                    }

                    var w = NewWaiter();
                    _waiters.Add(w);
                    return AwaitAsync(w, request.TimeoutMs, status => Withdraw(w, status), cancellationToken);
                default:
                    return Invalid(request, "an event");
            }
        }
    }

    private void Withdraw(TaskCompletionSource<ObjectReply> waiter, ObjectStatus status)
    {
        lock (_lock)
        {
            _waiters.Remove(waiter);
        }

        waiter.TrySetResult(Reply(status));
    }

    public override void Destroy()
    {
        lock (_lock)
        {
            foreach (var waiter in _waiters)
            {
                waiter.TrySetResult(Reply(ObjectStatus.Destroyed));
            }

            _waiters.Clear();
        }
    }
}
