using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dragon.Runtime;
using Dragon.Runtime.Serialization;

namespace Dragon;

/// <summary>
/// One end of a stream of messages between processes. A process's piped stdout or stderr is a receive-only
/// connection whose messages are lines (strings, without the newline). End of stream, after the writer is gone,
/// is signalled by <see cref="EndOfStreamException"/> on every later receive, or by the end of
/// <see cref="ReadAllAsync{T}"/>.
/// </summary>
[JsonConverter(typeof(RuntimeObjectConverter<Connection>))]
public abstract class Connection : IRuntimeObject<Connection>, IDisposable, IAsyncDisposable
{
    private protected Connection()
    {
    }

    /// <summary>Receives the next message, waiting up to <paramref name="timeout"/> (forever if null).</summary>
    /// <exception cref="TimeoutException">Nothing arrived in time.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing was taken.</exception>
    /// <exception cref="EndOfStreamException">The writer closed and everything it sent was received.</exception>
    /// <exception cref="NotSupportedException">This end only sends.</exception>
    public T Receive<T>(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        TryReceiveCore(Timeouts.ToMilliseconds(timeout), out T value, cancellationToken)
            ? value
            : throw Timeouts.Expired($"nothing arrived on {Describe}", timeout);

    /// <summary>Receives the next message as an object (a string for output streams).</summary>
    /// <inheritdoc cref="Receive{T}(TimeSpan?, CancellationToken)"/>
    public object? Receive(TimeSpan? timeout = null, CancellationToken cancellationToken = default) => Receive<object?>(timeout, cancellationToken);

    /// <summary>Receives the next message if one comes within <paramref name="timeout"/> (zero: look once); false otherwise.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing was taken.</exception>
    /// <exception cref="EndOfStreamException">The writer closed and everything it sent was received.</exception>
    public bool TryReceive<T>(out T value, TimeSpan timeout = default, CancellationToken cancellationToken = default) =>
        TryReceiveCore(Timeouts.ToMilliseconds(timeout), out value, cancellationToken);

    /// <summary>Receives the next message, waiting as long as it takes.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing was taken.</exception>
    /// <exception cref="EndOfStreamException">The writer closed and everything it sent was received.</exception>
    public ValueTask<T> ReceiveAsync<T>(CancellationToken cancellationToken = default) => ReceiveAsync<T>(null, cancellationToken);

    /// <inheritdoc cref="Receive{T}(TimeSpan?, CancellationToken)"/>
    public ValueTask<T> ReceiveAsync<T>(TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        // A message already here (the lines of a fetched batch) is handed out without an asynchronous state machine;
        // what the receive throws still comes through the returned task, as from an async method.
        ValueTask<(bool Received, T Value)> receiving;
        try
        {
            receiving = TryReceiveCoreAsync<T>(Timeouts.ToMilliseconds(timeout), cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<T>(e);
        }

        if (receiving.IsCompletedSuccessfully)
        {
            var (received, value) = receiving.Result;
            return received ? ValueTask.FromResult(value) : ValueTask.FromException<T>(Timeouts.Expired($"nothing arrived on {Describe}", timeout));
        }

        return AwaitReceivedAsync(receiving, timeout);
    }

    private async ValueTask<T> AwaitReceivedAsync<T>(ValueTask<(bool Received, T Value)> receiving, TimeSpan? timeout)
    {
        var (received, value) = await receiving.ConfigureAwait(false);
        return received ? value : throw Timeouts.Expired($"nothing arrived on {Describe}", timeout);
    }

    /// <summary>Sends a message, waiting for room as long as it takes.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting for room; nothing was sent.</exception>
    /// <exception cref="NotSupportedException">This end only receives.</exception>
    /// <exception cref="InvalidOperationException">The stream is closed.</exception>
    public void Send<T>(T value, CancellationToken cancellationToken = default) => SendCore(value, cancellationToken);

    /// <inheritdoc cref="Send{T}(T, CancellationToken)"/>
    public ValueTask SendAsync<T>(T value, CancellationToken cancellationToken = default) => SendCoreAsync(value, cancellationToken);

    /// <summary>
    /// True when a message (or end of stream) is ready to receive within <paramref name="timeout"/> (zero: look once).
    /// It takes nothing: the next receive returns that message.
    /// </summary>
    public bool Poll(TimeSpan timeout = default, CancellationToken cancellationToken = default) =>
        PollCore(Timeouts.ToMilliseconds(timeout), cancellationToken);

    /// <inheritdoc cref="Poll"/>
    public ValueTask<bool> PollAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        PollCoreAsync(Timeouts.ToMilliseconds(timeout), cancellationToken);

    /// <summary>Closes this end; a writer's close lets readers see end of stream. Closing again does nothing.</summary>
    public void Close() => CloseCoreAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Waits until every message this process sent was delivered into the channel (see <see cref="DragonQueue{T}.Flush"/>:
    /// a send to a channel on another node returns once this node's service accepted the message).
    /// </summary>
    /// <exception cref="TimeoutException">Messages were still on their way after <paramref name="timeout"/>.</exception>
    /// <exception cref="NodeLostException">The channel's node was lost with messages of this process undelivered.</exception>
    public void Flush(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (!FlushCoreAsync(Timeouts.ToMilliseconds(timeout), cancellationToken).AsTask().GetAwaiter().GetResult())
        {
            throw Timeouts.Expired($"{Describe}: messages sent were still on their way", timeout);
        }
    }

    /// <inheritdoc cref="Flush"/>
    public Task FlushAsync(CancellationToken cancellationToken = default) => FlushAsync(null, cancellationToken);

    /// <inheritdoc cref="Flush"/>
    public async Task FlushAsync(TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        if (!await FlushCoreAsync(Timeouts.ToMilliseconds(timeout), cancellationToken).ConfigureAwait(false))
        {
            throw Timeouts.Expired($"{Describe}: messages sent were still on their way", timeout);
        }
    }

    /// <summary>Waits for this process's sends to be delivered; false on timeout. Ends that deliver when they send return true.</summary>
    private protected virtual ValueTask<bool> FlushCoreAsync(long timeoutMs, CancellationToken cancellationToken) => ValueTask.FromResult(true);

    /// <inheritdoc cref="Close"/>
    public ValueTask CloseAsync(CancellationToken cancellationToken = default) => CloseCoreAsync(cancellationToken);

    /// <summary>Closes this end, as <see cref="Close"/>.</summary>
    public void Dispose()
    {
        Close();
        GC.SuppressFinalize(this);
    }

    /// <summary>Closes this end, as <see cref="CloseAsync"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Every message until end of stream.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing was taken by the cancelled wait.</exception>
    public IAsyncEnumerable<T> ReadAllAsync<T>(CancellationToken cancellationToken = default) => ReadAllCoreAsync<T>(cancellationToken);

    /// <summary>Every message until end of stream: receives one at a time unless the kind of end knows better.</summary>
    private protected virtual async IAsyncEnumerable<T> ReadAllCoreAsync<T>([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            T item;
            try
            {
                item = await ReceiveAsync<T>(null, cancellationToken).ConfigureAwait(false);
            }
            catch (EndOfStreamException)
            {
                yield break;
            }

            yield return item;
        }
    }

    /// <summary>What the connection is, for messages (<c>pipe end on queue 'x'</c>, <c>stdout of process 5</c>).</summary>
    private protected abstract string Describe { get; }

    // One core path per operation and kind of end: the sync form waits in the calling thread where the end can,
    // the async form without blocking one. Timeouts arrive in milliseconds, -1 for none.
    private protected abstract bool TryReceiveCore<T>(long timeoutMs, out T value, CancellationToken cancellationToken);

    private protected abstract ValueTask<(bool Received, T Value)> TryReceiveCoreAsync<T>(long timeoutMs, CancellationToken cancellationToken);

    private protected abstract void SendCore<T>(T value, CancellationToken cancellationToken);

    private protected abstract ValueTask SendCoreAsync<T>(T value, CancellationToken cancellationToken);

    private protected abstract bool PollCore(long timeoutMs, CancellationToken cancellationToken);

    private protected abstract ValueTask<bool> PollCoreAsync(long timeoutMs, CancellationToken cancellationToken);

    private protected abstract ValueTask CloseCoreAsync(CancellationToken cancellationToken);

    private protected abstract void WriteDescriptor(Utf8JsonWriter writer);

    void IRuntimeObject<Connection>.WriteDescriptor(Utf8JsonWriter writer) => WriteDescriptor(writer);

    static Connection IRuntimeObject<Connection>.FromDescriptor(JsonElement descriptor) =>
        descriptor.GetProperty("kind").GetString() switch
        {
            OutputConnection.Kind => new OutputConnection(descriptor.GetProperty("puid").GetUInt64(), descriptor.GetProperty("node").GetInt32(), descriptor.GetProperty("fd").GetInt32()),
            InputConnection.Kind => new InputConnection(descriptor.GetProperty("puid").GetUInt64(), descriptor.GetProperty("node").GetInt32()),
            ChannelConnection.Kind => ChannelConnection.FromDescriptor(descriptor),
            var other => throw new JsonException($"unknown connection kind '{other}'"),
        };
}
