namespace Dragon.TestApp;

/// <summary>The channel objects the contract runs against.</summary>
public enum ChannelKind
{
    Queue,
    Pipe,
}

/// <summary>
/// One end of a channel under test, as the contract uses it: the same calls over a <see cref="DragonQueue{T}"/> or
/// one end of a one-way <see cref="DragonPipe"/>. Where the kinds differ (which exception a timed-out receive throws,
/// whether a send can time out) the end says so, and the contract checks each kind against its own promise.
/// </summary>
public interface IChannelEnd<T>
{
    ChannelKind Kind { get; }

    /// <summary>What a receive that timed out throws.</summary>
    Type ReceiveTimeoutException { get; }

    void Send(T item);

    /// <summary>Receives, waiting forever when <paramref name="timeout"/> is null.</summary>
    T Receive(TimeSpan? timeout = null);

    /// <summary>Receives if something (or end of stream, which throws) comes within <paramref name="timeout"/>.</summary>
    bool TryReceive(out T item, TimeSpan timeout);

    /// <summary>Closes the sending side: receivers drain, then see end of stream.</summary>
    void Close();
}

/// <summary>A channel reference that travels to a worker process and opens there.</summary>
public sealed record ChannelRef<T>(ChannelKind Kind, DragonQueue<T>? Queue, Connection? Connection)
{
    public IChannelEnd<T> Open() => Kind == ChannelKind.Queue ? new QueueEnd<T>(Queue!) : new PipeEnd<T>(Connection!);
}

public sealed class QueueEnd<T>(DragonQueue<T> queue) : IChannelEnd<T>
{
    public ChannelKind Kind => ChannelKind.Queue;

    public Type ReceiveTimeoutException => typeof(TimeoutException);

    public DragonQueue<T> Queue => queue;

    public void Send(T item) => queue.Put(item);

    public T Receive(TimeSpan? timeout = null) => queue.Get(timeout: timeout);

    public bool TryReceive(out T item, TimeSpan timeout) => queue.TryGet(out item, timeout);

    public void Close() => queue.Close();
}

public sealed class PipeEnd<T>(Connection connection) : IChannelEnd<T>
{
    public ChannelKind Kind => ChannelKind.Pipe;

    public Type ReceiveTimeoutException => typeof(TimeoutException);

    public Connection Connection => connection;

    public void Send(T item) => connection.Send(item);

    public T Receive(TimeSpan? timeout = null) => connection.Receive<T>(timeout);

    public bool TryReceive(out T item, TimeSpan timeout)
    {
        item = default!;
        if (!connection.Poll(timeout))
        {
            return false;
        }

        item = connection.Receive<T>(TimeSpan.Zero);
        return true;
    }

    public void Close() => connection.Close();
}

/// <summary>A channel of one kind created by the head on the layout's home node, with the references to hand out.</summary>
public sealed class ChannelUnderTest<T> : IDisposable
{
    private readonly IDisposable? _queue;

    private ChannelUnderTest(ChannelRef<T> sender, ChannelRef<T> receiver, IDisposable? queue)
    {
        Sender = sender;
        Receiver = receiver;
        _queue = queue;
    }

    /// <summary>What a producer gets: the queue, or the pipe's writing end.</summary>
    public ChannelRef<T> Sender { get; }

    /// <summary>What a consumer gets: the queue, or the pipe's reading end.</summary>
    public ChannelRef<T> Receiver { get; }

    public static ChannelUnderTest<T> Create(ChannelKind kind, ChannelLayout layout, int capacity = 1024)
    {
        if (kind == ChannelKind.Queue)
        {
            var queue = new DragonQueue<T>(maxSize: capacity, node: layout.Home);
            var both = new ChannelRef<T>(kind, queue, null);
            return new ChannelUnderTest<T>(both, both, queue);
        }

        var (reader, writer) = DragonPipe.Create(duplex: false, capacity: capacity, node: layout.Home);
        return new ChannelUnderTest<T>(new ChannelRef<T>(kind, null, writer), new ChannelRef<T>(kind, null, reader), null);
    }

    public static ChannelKind ParseKind(string text) => text switch
    {
        "queue" => ChannelKind.Queue,
        "pipe" => ChannelKind.Pipe,
        _ => throw new CheckFailedException($"unknown channel kind '{text}' (expected queue or pipe)"),
    };

    public void Dispose()
    {
        if (_queue is not null)
        {
            _queue.Dispose();
        }
        else
        {
            Receiver.Connection?.Close();
            Sender.Connection?.Close();
        }
    }
}
