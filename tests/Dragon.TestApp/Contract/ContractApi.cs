namespace Dragon.TestApp;

/// <summary>
/// The one place the contract scenarios call the Dragon API on queues, pipe ends and sync objects. The scenarios are
/// written once, as async methods awaiting these calls; <see cref="SyncContractApi"/> makes the blocking calls
/// (Put, Get, Receive, Wait, Acquire, ...) and <see cref="AsyncContractApi"/> their async twins (PutAsync, GetAsync,
/// ReceiveAsync, WaitAsync, AcquireAsync, ...). When the public API is renamed, only this file and its two
/// implementations change. A call that timed out throws whatever the API throws, and the scenario records its type
/// name, so the tests choose which type is right.
/// </summary>
public abstract class ContractApi
{
    public const string SyncMode = "sync";
    public const string AsyncMode = "async";

    /// <summary>"sync" or "async".</summary>
    public abstract string Mode { get; }

    public static ContractApi For(string mode) => mode switch
    {
        SyncMode => SyncContractApi.Instance,
        AsyncMode => AsyncContractApi.Instance,
        _ => throw new ArgumentException($"unknown mode '{mode}' (expected {SyncMode} or {AsyncMode})", nameof(mode)),
    };

    // Creating and attaching: the same calls in both modes.
    public static DragonQueue<T> NewQueue<T>(int home, int maxSize = 1024, string? name = null, int? maxMessageBytes = null) =>
        new(maxSize, name: name, node: home, maxMessageBytes: maxMessageBytes);

    public static DragonQueue<T> AttachQueue<T>(string name) => DragonQueue<T>.Attach(name);

    public static string NameOf<T>(DragonQueue<T> queue) => queue.Name;

    /// <summary>A one-way pipe homed on <paramref name="home"/>: (reading end, writing end).</summary>
    public static (Connection Reader, Connection Writer) NewPipe(int home, int capacity = 1024) =>
        DragonPipe.Create(duplex: false, capacity: capacity, node: home);

    public static DragonEvent NewEvent(int home) => new(node: home);

    public static DragonLock NewLock(int home) => new(node: home);

    public static DragonSemaphore NewSemaphore(int home, int value, bool bounded) => new(value, bounded, node: home);

    public static DragonBarrier NewBarrier(int home, int parties) => new(parties, node: home);

    // Queues.

    /// <summary>Puts, waiting for room up to <paramref name="timeout"/> (forever if null); throws if there was none.</summary>
    public abstract ValueTask Put<T>(DragonQueue<T> queue, T item, TimeSpan? timeout = null);

    /// <summary>Puts if there is room within <paramref name="timeout"/> (zero: try once); false otherwise.</summary>
    public abstract ValueTask<bool> TryPut<T>(DragonQueue<T> queue, T item, TimeSpan timeout);

    /// <summary>Gets, waiting up to <paramref name="timeout"/> (forever if null); throws if nothing came.</summary>
    public abstract ValueTask<T> Get<T>(DragonQueue<T> queue, TimeSpan? timeout = null);

    /// <summary>Gets if something comes within <paramref name="timeout"/> (zero: try once).</summary>
    public abstract ValueTask<(bool Got, T Item)> TryGet<T>(DragonQueue<T> queue, TimeSpan timeout);

    public abstract ValueTask Close<T>(DragonQueue<T> queue);

    // Pipe ends.
    public abstract ValueTask Send<T>(Connection end, T item);

    /// <summary>Receives, waiting up to <paramref name="timeout"/> (forever if null); throws if nothing came.</summary>
    public abstract ValueTask<T> Receive<T>(Connection end, TimeSpan? timeout = null);

    /// <summary>Receives if something comes within <paramref name="timeout"/> (zero: try once).</summary>
    public abstract ValueTask<(bool Got, T Item)> TryReceive<T>(Connection end, TimeSpan timeout);

    public abstract ValueTask<bool> Poll(Connection end, TimeSpan timeout);

    /// <summary>Every message until end of stream.</summary>
    public abstract ValueTask<List<T>> ReceiveAll<T>(Connection end);

    public abstract ValueTask Close(Connection end);

    // Queue or pipe end, whichever the channel is.
    public ValueTask Send<T>(ContractChannel<T> channel, T item) =>
        channel.Queue is { } queue ? Put(queue, item) : Send(channel.End!, item);

    public ValueTask<T> Receive<T>(ContractChannel<T> channel, TimeSpan? timeout = null) =>
        channel.Queue is { } queue ? Get(queue, timeout) : Receive<T>(channel.End!, timeout);

    public ValueTask<(bool Got, T Item)> TryReceive<T>(ContractChannel<T> channel, TimeSpan timeout) =>
        channel.Queue is { } queue ? TryGet(queue, timeout) : TryReceive<T>(channel.End!, timeout);

    public ValueTask Close<T>(ContractChannel<T> channel) =>
        channel.Queue is { } queue ? Close(queue) : Close(channel.End!);

    /// <summary>Waits until what this process sent was delivered (a send to another node returns once accepted).</summary>
    public abstract ValueTask Flush<T>(ContractChannel<T> channel);

    // Sync objects.
    public abstract ValueTask Set(DragonEvent @event);

    public abstract ValueTask Clear(DragonEvent @event);

    public abstract ValueTask<bool> IsSet(DragonEvent @event);

    public abstract ValueTask Wait(DragonEvent @event);

    /// <summary>True if the event is set within <paramref name="timeout"/> (zero: just look).</summary>
    public abstract ValueTask<bool> TryWait(DragonEvent @event, TimeSpan timeout);

    public abstract ValueTask Acquire(DragonLock @lock);

    /// <summary>True if the lock was taken within <paramref name="timeout"/> (zero: try once).</summary>
    public abstract ValueTask<bool> TryAcquire(DragonLock @lock, TimeSpan timeout);

    public abstract ValueTask Release(DragonLock @lock);

    public abstract ValueTask Acquire(DragonSemaphore semaphore);

    public abstract ValueTask<bool> TryAcquire(DragonSemaphore semaphore, TimeSpan timeout);

    public abstract ValueTask Release(DragonSemaphore semaphore, int count = 1);

    public abstract ValueTask<int> GetValue(DragonSemaphore semaphore);

    /// <summary>Waits at the barrier up to <paramref name="timeout"/> (forever if null); returns the arrival index.</summary>
    public abstract ValueTask<int> Wait(DragonBarrier barrier, TimeSpan? timeout = null);

    public abstract ValueTask Abort(DragonBarrier barrier);

    public abstract ValueTask Reset(DragonBarrier barrier);

    // Cancellable waits: the blocking forms take a token as the async ones do.
    public abstract Task Get<T>(DragonQueue<T> queue, CancellationToken cancellationToken);

    public abstract Task Receive<T>(Connection end, CancellationToken cancellationToken);

    public abstract Task Wait(DragonEvent @event, CancellationToken cancellationToken);

    public abstract Task Acquire(DragonLock @lock, CancellationToken cancellationToken);

    public abstract Task Acquire(DragonSemaphore semaphore, CancellationToken cancellationToken);
}

/// <summary>A channel as the contract sees it: a queue, or one end of a one-way pipe. It travels to worker processes.</summary>
public sealed record ContractChannel<T>(DragonQueue<T>? Queue, Connection? End)
{
    public static ContractChannel<T> Of(DragonQueue<T> queue) => new(queue, null);

    public static ContractChannel<T> Of(Connection end) => new(null, end);
}

/// <summary>A queue, or a one-way pipe, created on the layout's home node, with the ends to hand out.</summary>
public sealed class ChannelPair<T> : IDisposable
{
    private ChannelPair(ContractChannel<T> sender, ContractChannel<T> receiver)
    {
        Sender = sender;
        Receiver = receiver;
    }

    /// <summary>What a producer gets: the queue, or the pipe's writing end.</summary>
    public ContractChannel<T> Sender { get; }

    /// <summary>What a consumer gets: the queue, or the pipe's reading end.</summary>
    public ContractChannel<T> Receiver { get; }

    public static ChannelPair<T> Create(string family, int home, int capacity = 1024)
    {
        if (family == ContractCommand.Queue)
        {
            var queue = ContractChannel<T>.Of(ContractApi.NewQueue<T>(home, capacity));
            return new ChannelPair<T>(queue, queue);
        }

        var (reader, writer) = ContractApi.NewPipe(home, capacity);
        return new ChannelPair<T>(ContractChannel<T>.Of(writer), ContractChannel<T>.Of(reader));
    }

    public void Dispose()
    {
        if (Sender.Queue is { } queue)
        {
            queue.Dispose();
            return;
        }

        Receiver.End!.Close();
        Sender.End!.Close();
    }
}
