using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Dragon.Channels;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;
using Dragon.Runtime.Serialization;

namespace Dragon;

/// <summary>
/// A bounded multi-producer, multi-consumer queue shared by processes on any node, like Dragon's (and Python's)
/// Queue. On its home node it moves messages through shared memory; elsewhere through the node services.
/// Disposing lets go of this process's reference; the queue is destroyed when the last holder lets go.
/// </summary>
/// <typeparam name="T">The message type: bytes, strings, primitives, or any plain record or class.</typeparam>
[JsonConverter(typeof(QueueConverterFactory))]
public sealed class DragonQueue<T> : IDisposable, IAsyncDisposable
{
    private readonly ChannelEndpoint _channel;

    /// <summary>Creates a queue.</summary>
    /// <param name="maxSize">How many messages it holds before Put blocks.</param>
    /// <param name="joinable">Track unfinished items for <see cref="TaskDone"/> and <see cref="Join"/>.</param>
    /// <param name="name">A run-wide name others can <see cref="Attach"/> to; null for an anonymous queue.</param>
    /// <param name="node">Index of the node that hosts it; null for this process's node.</param>
    /// <param name="maxMessageBytes">Largest encoded message accepted; null for 64 MiB.</param>
    public DragonQueue(int maxSize = 1024, bool joinable = false, string? name = null, int? node = null, int? maxMessageBytes = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxMessageBytes ?? 0, nameof(maxMessageBytes));
        _channel = new ChannelEndpoint(HostedHandle.Create(ObjectKind.Channel, name, node, maxSize, 0, maxMessageBytes ?? 0, flag: joinable));
    }

    private DragonQueue(HostedHandle handle) => _channel = new ChannelEndpoint(handle);

    /// <summary>
    /// Makes this instantiation serializable without reflection (a Native AOT program cannot build the factory's
    /// converter at run time): every program that uses a Queue&lt;T&gt; runs this before serializing one.
    /// </summary>
    static DragonQueue() => UserCodec.RegisterRuntimeObject(
        typeof(DragonQueue<T>),
        options => JsonMetadataServices.CreateValueInfo<DragonQueue<T>>(options, new QueueConverterFactory.QueueConverter<T>()));

    /// <summary>Attaches to a queue by its run-wide name.</summary>
    /// <exception cref="ObjectNotFoundException">No such queue (destroyed, or never created).</exception>
    public static DragonQueue<T> Attach(string name) => new(HostedHandle.Attach(ObjectKind.Channel, 0, name));

    /// <summary>The run-wide name.</summary>
    public string Name => _channel.Handle.Descriptor.Name;

    /// <summary>Capacity in messages.</summary>
    public int MaxSize => (int)_channel.Handle.Descriptor.Capacity;

    /// <summary>Whether the queue counts unfinished items.</summary>
    public bool Joinable => _channel.Handle.Descriptor.Flag;

    /// <summary>Puts an item, waiting for room up to <paramref name="timeout"/> (forever if null).</summary>
    /// <exception cref="TimeoutException">No room in time; nothing was put.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting for room; nothing was put.</exception>
    /// <exception cref="InvalidOperationException">The queue is closed.</exception>
    /// <exception cref="ArgumentException">The item cannot be serialized, or is larger than the queue allows (nothing is sent).</exception>
    /// <exception cref="ObjectDisposedException">This process disposed its reference to the queue.</exception>
    public void Put(T item, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (!_channel.Send(item, Timeouts.ToMilliseconds(timeout), cancellationToken))
        {
            throw Full(timeout);
        }
    }

    /// <summary>Puts an item if there is room within <paramref name="timeout"/> (zero: try once); false otherwise.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting for room; nothing was put.</exception>
    /// <exception cref="InvalidOperationException">The queue is closed.</exception>
    /// <exception cref="ArgumentException">The item cannot be serialized, or is larger than the queue allows (nothing is sent).</exception>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool TryPut(T item, TimeSpan timeout = default, CancellationToken cancellationToken = default) =>
        _channel.Send(item, Timeouts.ToMilliseconds(timeout), cancellationToken);

    /// <summary>Puts an item, waiting for room as long as it takes.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting for room; nothing was put.</exception>
    public ValueTask PutAsync(T item, CancellationToken cancellationToken = default) => PutAsync(item, null, cancellationToken);

    /// <summary>Puts an item, waiting for room up to <paramref name="timeout"/> (forever if null).</summary>
    /// <exception cref="TimeoutException">No room in time; nothing was put.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting for room; nothing was put.</exception>
    public async ValueTask PutAsync(T item, TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        if (!await _channel.SendAsync(item, Timeouts.ToMilliseconds(timeout), cancellationToken).ConfigureAwait(false))
        {
            throw Full(timeout);
        }
    }

    /// <summary>Puts an item if there is room within <paramref name="timeout"/>; false otherwise.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting for room; nothing was put.</exception>
    public ValueTask<bool> TryPutAsync(T item, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _channel.SendAsync(item, Timeouts.ToMilliseconds(timeout), cancellationToken);

    /// <summary>Gets an item, waiting up to <paramref name="timeout"/> (forever if null).</summary>
    /// <exception cref="TimeoutException">Nothing arrived in time.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing was taken from the queue.</exception>
    /// <exception cref="EndOfStreamException">The queue was closed and is empty.</exception>
    public T Get(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        _channel.TryReceive(Timeouts.ToMilliseconds(timeout), out T item, cancellationToken) ? item : throw Empty(timeout);

    /// <summary>Gets an item if one comes within <paramref name="timeout"/> (zero: try once); false otherwise.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing was taken from the queue.</exception>
    /// <exception cref="EndOfStreamException">The queue was closed and is empty.</exception>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool TryGet(out T item, TimeSpan timeout = default, CancellationToken cancellationToken = default) =>
        _channel.TryReceive(Timeouts.ToMilliseconds(timeout), out item, cancellationToken);

    /// <summary>Gets an item, waiting for one as long as it takes.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing was taken from the queue.</exception>
    /// <exception cref="EndOfStreamException">The queue was closed and is empty.</exception>
    public ValueTask<T> GetAsync(CancellationToken cancellationToken = default) => GetAsync(null, cancellationToken);

    /// <summary>Gets an item, waiting up to <paramref name="timeout"/> (forever if null).</summary>
    /// <exception cref="TimeoutException">Nothing arrived in time.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing was taken from the queue.</exception>
    /// <exception cref="EndOfStreamException">The queue was closed and is empty.</exception>
    public async ValueTask<T> GetAsync(TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        var (received, value) = await _channel.ReceiveAsync<T>(Timeouts.ToMilliseconds(timeout), cancellationToken).ConfigureAwait(false);
        return received ? value : throw Empty(timeout);
    }

    /// <summary>Gets an item if one comes within <paramref name="timeout"/>; <c>Success</c> is false otherwise.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing was taken from the queue.</exception>
    /// <exception cref="EndOfStreamException">The queue was closed and is empty.</exception>
    public async ValueTask<(bool Success, T Item)> TryGetAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        await _channel.ReceiveAsync<T>(Timeouts.ToMilliseconds(timeout), cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Reads items as they come until the queue is closed and drained (like <c>ChannelReader.ReadAllAsync</c>): the
    /// natural consumer loop is <c>await foreach (var item in queue.ReadAllAsync(ct))</c>.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing was taken by the cancelled wait.</exception>
    public async IAsyncEnumerable<T> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            T item;
            try
            {
                item = await GetAsync(null, cancellationToken).ConfigureAwait(false);
            }
            catch (EndOfStreamException)
            {
                yield break;
            }

            yield return item;
        }
    }

    /// <summary>Marks one item taken with Get as processed (joinable queues).</summary>
    /// <exception cref="InvalidOperationException">Called more often than items were put, or the queue is not joinable.</exception>
    public void TaskDone()
    {
        if (TaskDoneOnRing())
        {
            return;
        }

        _channel.Handle.Request(ObjectOp.TaskDone);
    }

    /// <inheritdoc cref="TaskDone"/>
    public async ValueTask TaskDoneAsync(CancellationToken cancellationToken = default)
    {
        if (TaskDoneOnRing())
        {
            return;
        }

        await _channel.Handle.RequestAsync(ObjectOp.TaskDone, -1, 0, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits until every item put has been marked done (joinable queues), up to <paramref name="timeout"/>.</summary>
    /// <exception cref="TimeoutException">Items were still unfinished when the timeout passed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public void Join(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        RequireJoinable();
        bool done;
        if (_channel.Handle.Ring is { } ring)
        {
            _channel.Handle.ThrowIfReleased();
            done = ring.WaitAllDone(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken);
        }
        else
        {
            done = _channel.Handle.RequestAsync(ObjectOp.JoinQueue, Timeouts.ToMilliseconds(timeout), 0, null, cancellationToken)
                .GetAwaiter().GetResult().Status == ObjectStatus.Ok;
        }

        if (!done)
        {
            throw Timeouts.Expired($"{this}: items were still unfinished", timeout);
        }
    }

    /// <summary>Waits until every item put has been marked done (joinable queues).</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public Task JoinAsync(CancellationToken cancellationToken = default) => JoinAsync(null, cancellationToken);

    /// <inheritdoc cref="Join"/>
    public async Task JoinAsync(TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        RequireJoinable();
        var timeoutMs = Timeouts.ToMilliseconds(timeout);
        bool done;
        if (_channel.Handle.Ring is { } ring)
        {
            _channel.Handle.ThrowIfReleased();

            // The count is a futex word in shared memory: wait on a dedicated thread in slices that look at the token.
            done = await Task.Factory.StartNew(
                () => ring.WaitAllDone(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken),
                cancellationToken,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default).ConfigureAwait(false);
        }
        else
        {
            done = (await _channel.Handle.RequestAsync(ObjectOp.JoinQueue, timeoutMs, 0, null, cancellationToken).ConfigureAwait(false)).Status == ObjectStatus.Ok;
        }

        if (!done)
        {
            throw Timeouts.Expired($"{this}: items were still unfinished", timeout);
        }
    }

    /// <summary>
    /// Waits until every item this process put was delivered into the queue. A put to a queue on another node returns
    /// once this node's service accepted the item (within a window of the queue's capacity); a failure to deliver it
    /// (the queue's node lost, the queue closed or destroyed meanwhile) is thrown by the next put or by this. On the
    /// queue's own node a put is delivered when it returns, and this returns at once.
    /// </summary>
    /// <exception cref="TimeoutException">Items were still on their way after <paramref name="timeout"/>.</exception>
    /// <exception cref="NodeLostException">The queue's node was lost with items of this process undelivered.</exception>
    /// <exception cref="InvalidOperationException">The queue was closed or destroyed before items of this process arrived.</exception>
    public void Flush(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (!_channel.Flush(Timeouts.ToMilliseconds(timeout), cancellationToken))
        {
            throw Timeouts.Expired($"{this}: items put were still on their way", timeout);
        }
    }

    /// <inheritdoc cref="Flush"/>
    public Task FlushAsync(CancellationToken cancellationToken = default) => FlushAsync(null, cancellationToken);

    /// <inheritdoc cref="Flush"/>
    public async Task FlushAsync(TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        if (!await _channel.FlushAsync(Timeouts.ToMilliseconds(timeout), cancellationToken).ConfigureAwait(false))
        {
            throw Timeouts.Expired($"{this}: items put were still on their way", timeout);
        }
    }

    /// <summary>Closes the queue for everyone: later puts fail; gets drain what is left, then see end of stream.</summary>
    public void Close() => _channel.Close();

    /// <inheritdoc cref="Close"/>
    public ValueTask CloseAsync(CancellationToken cancellationToken = default) => _channel.CloseAsync(cancellationToken);

    /// <summary>Lets go of this process's reference.</summary>
    public void Dispose() => _channel.Dispose();

    /// <summary>Lets go of this process's reference (the same one short request as <see cref="Dispose"/>).</summary>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public override string ToString() => $"queue '{Name}'";

    private TimeoutException Full(TimeSpan? timeout) => Timeouts.Expired($"{this} stayed full ({MaxSize} items); nothing was put", timeout);

    private TimeoutException Empty(TimeSpan? timeout) => Timeouts.Expired($"nothing arrived on {this}", timeout);

    private bool TaskDoneOnRing()
    {
        RequireJoinable();
        if (_channel.Handle.Ring is not { } ring)
        {
            return false;
        }

        // The count lives in the ring's header: on the home node it is one atomic step, no request.
        _channel.Handle.ThrowIfReleased();
        if (!ring.TaskDone())
        {
            throw new InvalidOperationException($"queue '{Name}': TaskDone called more times than items were put");
        }

        return true;
    }

    private void RequireJoinable()
    {
        if (!Joinable)
        {
            throw new InvalidOperationException($"queue '{Name}' is not joinable; create it with joinable: true");
        }
    }

    internal ulong Id => _channel.Handle.Id;

    internal static DragonQueue<T> AttachById(ulong id) => new(HostedHandle.Attach(ObjectKind.Channel, id, null));
}

/// <summary>Moves any <see cref="DragonQueue{T}"/> between processes as its id.</summary>
internal sealed class QueueConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(DragonQueue<>);

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Used only with reflection-based serialization; Native AOT programs go through the registration in Queue<T>'s type initializer.")]
    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(QueueConverter<>).MakeGenericType(typeToConvert.GetGenericArguments()[0]))!;

    internal sealed class QueueConverter<TItem> : JsonConverter<DragonQueue<TItem>>
    {
        public override DragonQueue<TItem>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            return UserCodec.Validating ? null : DragonQueue<TItem>.AttachById(document.RootElement.GetProperty("queue").GetUInt64());
        }

        public override void Write(Utf8JsonWriter writer, DragonQueue<TItem> value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            writer.WriteNumber("queue", value.Id);
            writer.WriteEndObject();
        }
    }
}
