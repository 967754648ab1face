using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dragon.Runtime.Serialization;

namespace Dragon;

/// <summary>
/// One end of a stream of messages between processes. A process's piped stdout or stderr is a receive-only
/// connection whose messages are lines (strings, without the newline). End of stream, after the writer is gone,
/// is signalled by <see cref="EndOfStreamException"/> on every later receive, or by the end of
/// <see cref="ReadAllAsync{T}"/>.
/// </summary>
[JsonConverter(typeof(RuntimeObjectConverter<Connection>))]
public abstract class Connection : IRuntimeObject<Connection>
{
    private protected Connection()
    {
    }

    /// <summary>Receives the next message; blocks until one comes or the timeout passes.</summary>
    /// <exception cref="EndOfStreamException">The writer closed and everything it sent was received.</exception>
    /// <exception cref="TimeoutException">Nothing arrived within the timeout.</exception>
    public T Recv<T>(TimeSpan? timeout = null) => RecvBlocking<T>(timeout);

    /// <summary>Receives the next message as an object (a string for output streams).</summary>
    public object? Recv(TimeSpan? timeout = null) => Recv<object?>(timeout);

    /// <summary>Receives the next message.</summary>
    public ValueTask<T> RecvAsync<T>(CancellationToken cancellationToken = default) => RecvAsync<T>(null, cancellationToken);

    /// <summary>Receives the next message, waiting at most <paramref name="timeout"/>.</summary>
    public abstract ValueTask<T> RecvAsync<T>(TimeSpan? timeout, CancellationToken cancellationToken);

    /// <summary>Sends a message.</summary>
    /// <exception cref="NotSupportedException">This end only receives.</exception>
    public void Send<T>(T value) => SendBlocking(value);

    /// <summary>Sends a message.</summary>
    public abstract ValueTask SendAsync<T>(T value, CancellationToken cancellationToken = default);

    /// <summary>True when a message (or end of stream) is ready to receive within the timeout.</summary>
    public abstract bool Poll(TimeSpan timeout);

    /// <summary>Closes this end; a writer's close lets readers see end of stream.</summary>
    public abstract void Close();

    /// <summary>Every message until end of stream.</summary>
    public async IAsyncEnumerable<T> ReadAllAsync<T>([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            T item;
            try
            {
                item = await RecvAsync<T>(null, cancellationToken).ConfigureAwait(false);
            }
            catch (EndOfStreamException)
            {
                yield break;
            }

            yield return item;
        }
    }

    /// <summary>The blocking receive; a connection that can wait in the calling thread overrides it.</summary>
    private protected virtual T RecvBlocking<T>(TimeSpan? timeout) => RecvAsync<T>(timeout, CancellationToken.None).AsTask().GetAwaiter().GetResult();

    /// <summary>The blocking send; a connection that can wait in the calling thread overrides it.</summary>
    private protected virtual void SendBlocking<T>(T value) => SendAsync(value).AsTask().GetAwaiter().GetResult();

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
