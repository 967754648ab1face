using Dragon.Channels.Internal;
using Dragon.Runtime.Protocol;

namespace Dragon.Services.Objects;

/// <summary>
/// A channel's home: owns the shared-memory ring (processes on this node use it directly), serves the operations
/// of processes on other nodes, and keeps the unfinished-task count of a joinable queue.
/// </summary>
internal sealed class ChannelHost : HostedObject
{
    /// <summary>Blocking ring calls run in slices so a request whose caller went away stops waiting soon.</summary>
    private static readonly TimeSpan s_slice = TimeSpan.FromMilliseconds(200);

    private readonly ShmRing _ring;
    private readonly System.Threading.Lock _lock = new();
    private readonly List<TaskCompletionSource<ObjectReply>> _joiners = [];
    private long _unfinished;
    private int _inFlight;
    private volatile bool _destroyed;

    public ChannelHost(ObjectDescriptor descriptor)
        : base(descriptor) => _ring = ShmRing.Create(descriptor.ShmPath!, (int)descriptor.Capacity, (int)descriptor.SlotSize, (int)descriptor.MaxMessageBytes);

    public override Task<ObjectReply> HandleAsync(ObjectRequest request, CancellationToken cancellationToken)
    {
        if (_destroyed)
        {
            return Task.FromResult(Reply(ObjectStatus.Destroyed));
        }

        switch (request.Op)
        {
            case ObjectOp.Send:
                return Blocking(request.TimeoutMs, cancellationToken, timeout =>
                {
                    if (request.Payload.Length > _ring.MaxMessageSize)
                    {
                        return new ObjectReply(ObjectStatus.Invalid, System.Text.Encoding.UTF8.GetBytes(
                            $"a message of {request.Payload.Length} bytes is larger than the channel allows ({_ring.MaxMessageSize} bytes)"), 0);
                    }

                    return _ring.TrySend(request.Payload, timeout) ? Ok() : null;
                });
            case ObjectOp.Receive:
                return Blocking(request.TimeoutMs, cancellationToken, timeout =>
                    _ring.TryReceive(timeout) is { } message ? new ObjectReply(ObjectStatus.Ok, message, 0) : null);
            case ObjectOp.Poll:
                return Task.FromResult(Ok(_ring.IsClosed ? 1 : 0));
            case ObjectOp.CloseChannel:
                _ring.Close();
                return Task.FromResult(Ok());
            case ObjectOp.AddUnfinished or ObjectOp.TaskDone:
                lock (_lock)
                {
                    var delta = request.Op == ObjectOp.TaskDone ? -1 : Math.Max(1, request.Argument);
                    if (_unfinished + delta < 0)
                    {
                        return Task.FromResult(new ObjectReply(ObjectStatus.Invalid, "TaskDone called more times than items were put"u8.ToArray(), _unfinished));
                    }

                    _unfinished += delta;
                    if (_unfinished == 0)
                    {
                        ReleaseJoiners();
                    }

                    return Task.FromResult(Ok(_unfinished));
                }

            case ObjectOp.JoinQueue:
                lock (_lock)
                {
                    if (_unfinished == 0)
                    {
                        return Task.FromResult(Ok());
                    }

                    var w = NewWaiter();
                    _joiners.Add(w);
                    return AwaitAsync(w, request.TimeoutMs, () => w.TrySetResult(Reply(ObjectStatus.TimedOut)), cancellationToken);
                }

            default:
                return Invalid(request, "a channel");
        }
    }

    /// <summary>Runs a blocking ring call off the thread pool, in slices, until it succeeds, ends, or times out.</summary>
    private Task<ObjectReply> Blocking(long timeoutMs, CancellationToken cancellationToken, Func<TimeSpan, ObjectReply?> attempt) =>
        Task.Factory.StartNew(
            () =>
            {
                Interlocked.Increment(ref _inFlight);
                try
                {
                    return BlockingLoop(timeoutMs, cancellationToken, attempt);
                }
                finally
                {
                    Interlocked.Decrement(ref _inFlight);
                }
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

    private ObjectReply BlockingLoop(long timeoutMs, CancellationToken cancellationToken, Func<TimeSpan, ObjectReply?> attempt)
    {
        var deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        while (true)
        {
            if (_destroyed)
            {
                return Reply(ObjectStatus.Destroyed);
            }

            var left = deadline == long.MaxValue
                ? s_slice
                : TimeSpan.FromMilliseconds(Math.Max(0, Math.Min(deadline - Environment.TickCount64, s_slice.TotalMilliseconds)));
            try
            {
                if (attempt(left) is { } reply)
                {
                    return reply;
                }
            }
            catch (EndOfStreamException)
            {
                return Reply(ObjectStatus.EndOfStream);
            }
            catch (InvalidOperationException e)
            {
                return new ObjectReply(ObjectStatus.Closed, System.Text.Encoding.UTF8.GetBytes(e.Message), 0);
            }

            if (Environment.TickCount64 >= deadline || cancellationToken.IsCancellationRequested)
            {
                return Reply(ObjectStatus.TimedOut);
            }
        }
    }

    private void ReleaseJoiners()
    {
        foreach (var joiner in _joiners)
        {
            joiner.TrySetResult(Ok());
        }

        _joiners.Clear();
    }

    public override void Destroy()
    {
        _destroyed = true;
        lock (_lock)
        {
            foreach (var joiner in _joiners)
            {
                joiner.TrySetResult(Reply(ObjectStatus.Destroyed));
            }

            _joiners.Clear();
        }

        _ring.Close();
        try
        {
            _ring.Unlink();
        }
        catch (IOException)
        {
        }

        // Unmap only once no served call is inside the ring (each returns within one slice).
        var deadline = Environment.TickCount64 + 2000;
        while (Volatile.Read(ref _inFlight) > 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(10);
        }

        if (Volatile.Read(ref _inFlight) == 0)
        {
            _ring.Dispose();
        }
    }
}
