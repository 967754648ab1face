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
    /// <exception cref="KeyNotFoundException">No such queue (destroyed, or never created).</exception>
    public static DragonQueue<T> Attach(string name) => new(HostedHandle.Attach(ObjectKind.Channel, 0, name));

    /// <summary>The run-wide name.</summary>
    public string Name => _channel.Handle.Descriptor.Name;

    /// <summary>Capacity in messages.</summary>
    public int MaxSize => (int)_channel.Handle.Descriptor.Capacity;

    /// <summary>Whether the queue counts unfinished items.</summary>
    public bool Joinable => _channel.Handle.Descriptor.Flag;

    /// <summary>Puts an item, waiting for room up to <paramref name="timeout"/> (forever if null) when <paramref name="block"/>.</summary>
    /// <exception cref="QueueFullException">No room in time.</exception>
    /// <exception cref="InvalidOperationException">The queue is closed.</exception>
    /// <exception cref="ArgumentException">The item cannot be serialized, or is larger than the queue allows (nothing is sent).</exception>
    /// <exception cref="ObjectDisposedException">This process disposed its reference to the queue.</exception>
    public void Put(T item, bool block = true, TimeSpan? timeout = null)
    {
        if (!TryPut(item, block ? timeout ?? Timeout.InfiniteTimeSpan : TimeSpan.Zero))
        {
            throw new QueueFullException($"queue '{Name}' is full ({MaxSize} items)");
        }
    }

    /// <summary>Puts an item if there is room within <paramref name="timeout"/> (zero: try once); false otherwise.</summary>
    /// <exception cref="InvalidOperationException">The queue is closed.</exception>
    /// <exception cref="ArgumentException">The item cannot be serialized, or is larger than the queue allows (nothing is sent).</exception>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool TryPut(T item, TimeSpan timeout = default) => _channel.Send(item, Timeouts.ToMilliseconds(timeout));

    /// <summary>Puts an item, waiting for room.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting for room; the item was not put.</exception>
    public async ValueTask PutAsync(T item, CancellationToken cancellationToken = default) =>
        await _channel.SendAsync(item, -1, cancellationToken).ConfigureAwait(false);

    /// <summary>Gets an item, waiting up to <paramref name="timeout"/> (forever if null) when <paramref name="block"/>.</summary>
    /// <exception cref="QueueEmptyException">Nothing arrived in time.</exception>
    /// <exception cref="EndOfStreamException">The queue was closed and is empty.</exception>
    public T Get(bool block = true, TimeSpan? timeout = null) =>
        TryGet(out var item, block ? timeout ?? Timeout.InfiniteTimeSpan : TimeSpan.Zero)
            ? item
            : throw new QueueEmptyException($"queue '{Name}' is empty");

    /// <summary>Gets an item if one comes within <paramref name="timeout"/> (zero: try once); false otherwise.</summary>
    /// <exception cref="EndOfStreamException">The queue was closed and is empty.</exception>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool TryGet(out T item, TimeSpan timeout = default) => _channel.TryReceive(Timeouts.ToMilliseconds(timeout), out item);

    /// <summary>Gets an item, waiting for one.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing was taken from the queue.</exception>
    /// <exception cref="EndOfStreamException">The queue was closed and is empty.</exception>
    public async ValueTask<T> GetAsync(CancellationToken cancellationToken = default)
    {
        var (_, value) = await _channel.ReceiveAsync<T>(-1, cancellationToken).ConfigureAwait(false);
        return value;
    }

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
                item = await GetAsync(cancellationToken).ConfigureAwait(false);
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
        RequireJoinable();
        if (_channel.Handle.Ring is { } ring)
        {
            // The count lives in the ring's header: on the home node it is one atomic step, no request.
            _channel.Handle.ThrowIfReleased();
            if (!ring.TaskDone())
            {
                throw new InvalidOperationException($"queue '{Name}': TaskDone called more times than items were put");
            }

            return;
        }

        _channel.Handle.Request(ObjectOp.TaskDone);
    }

    /// <summary>Waits until every item put has been marked done (joinable queues); false on timeout.</summary>
    public bool Join(TimeSpan? timeout = null)
    {
        RequireJoinable();
        if (_channel.Handle.Ring is { } ring)
        {
            _channel.Handle.ThrowIfReleased();
            return ring.WaitAllDone(timeout ?? Timeout.InfiniteTimeSpan);
        }

        return _channel.Handle.Request(ObjectOp.JoinQueue, Timeouts.ToMilliseconds(timeout)).Status == ObjectStatus.Ok;
    }

    /// <summary>Waits until every item put has been marked done (joinable queues).</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public async Task JoinAsync(CancellationToken cancellationToken = default)
    {
        RequireJoinable();
        if (_channel.Handle.Ring is { } ring)
        {
            _channel.Handle.ThrowIfReleased();

            // The count is a futex word in shared memory: wait on a dedicated thread in slices that look at the token.
            await Task.Factory.StartNew(
                () => ring.WaitAllDone(Timeout.InfiniteTimeSpan, cancellationToken),
                cancellationToken,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default).ConfigureAwait(false);
            return;
        }

        await _channel.Handle.RequestAsync(ObjectOp.JoinQueue, -1, 0, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the queue for everyone: later puts fail; gets drain what is left, then see end of stream.</summary>
    public void Close() => _channel.Close();

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

/// <summary>Thrown by a put that found no room in time.</summary>
public sealed class QueueFullException : DragonException
{
    /// <summary>Creates the exception.</summary>
    public QueueFullException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public QueueFullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public QueueFullException()
    {
    }
}

/// <summary>Thrown by a get that found nothing in time.</summary>
public sealed class QueueEmptyException : DragonException
{
    /// <summary>Creates the exception.</summary>
    public QueueEmptyException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public QueueEmptyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public QueueEmptyException()
    {
    }
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
