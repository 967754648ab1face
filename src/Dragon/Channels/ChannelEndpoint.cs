using System.Buffers;
using System.Text;
using Dragon.Channels.Internal;
using Dragon.Runtime.Protocol;

namespace Dragon.Channels;

/// <summary>
/// Sends and receives encoded messages on one channel: straight through the shared-memory ring when the channel
/// lives on this node, through the node services (and their TCP link) when it lives on another.
/// </summary>
internal sealed class ChannelEndpoint(HostedHandle handle) : IDisposable
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    public HostedHandle Handle { get; } = handle;

    /// <summary>Sends; false when the timeout passed with the channel still full.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool Send<T>(T value, long timeoutMs)
    {
        var buffer = Encode(value);
        if (Handle.Ring is { } ring)
        {
            return RingSend(ring, buffer.WrittenSpan, ToTimeSpan(timeoutMs));
        }

        return Completed(Handle.Request(ObjectOp.Send, timeoutMs, payload: buffer.WrittenSpan.ToArray()));
    }

    public async ValueTask<bool> SendAsync<T>(T value, long timeoutMs, CancellationToken cancellationToken)
    {
        var buffer = Encode(value);
        if (Handle.Ring is { } ring)
        {
            if (RingSend(ring, buffer.WrittenSpan, TimeSpan.Zero))
            {
                return true;
            }

            if (timeoutMs == 0)
            {
                return false;
            }

            var copy = buffer.WrittenSpan.ToArray();
            return await Task.Run(() => RingSend(ring, copy, ToTimeSpan(timeoutMs)), cancellationToken).ConfigureAwait(false);
        }

        return Completed(await Handle.RequestAsync(ObjectOp.Send, timeoutMs, 0, buffer.WrittenSpan.ToArray(), cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Receives; false when the timeout passed with nothing to receive. End of stream throws.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool TryReceive<T>(long timeoutMs, out T value)
    {
        if (Handle.Ring is { } ring)
        {
            var buffer = Buffer();
            if (!RingReceive(ring, buffer, ToTimeSpan(timeoutMs)))
            {
                value = default!;
                return false;
            }

            value = MessageCodec.Decode<T>(buffer.WrittenSpan);
            return true;
        }

        return Received(Handle.Request(ObjectOp.Receive, timeoutMs), out value);
    }

    /// <summary>Receives one message still encoded (decode it later with <see cref="MessageCodec.Decode{T}"/>); false on timeout.</summary>
    public bool TryReceiveEncoded(long timeoutMs, out byte[] message)
    {
        if (Handle.Ring is { } ring)
        {
            var buffer = Buffer();
            var received = RingReceive(ring, buffer, ToTimeSpan(timeoutMs));
            message = received ? buffer.WrittenSpan.ToArray() : [];
            return received;
        }

        var reply = Handle.Request(ObjectOp.Receive, timeoutMs);
        var arrived = Arrived(reply);
        message = arrived ? reply.Payload : [];
        return arrived;
    }

    public async ValueTask<(bool Received, T Value)> ReceiveAsync<T>(long timeoutMs, CancellationToken cancellationToken)
    {
        if (Handle.Ring is not null)
        {
            if (TryReceive<T>(0, out var ready))
            {
                return (true, ready);
            }

            if (timeoutMs == 0)
            {
                return (false, default!);
            }

            return await Task.Run(() => (TryReceive<T>(timeoutMs, out var v), v), cancellationToken).ConfigureAwait(false);
        }

        var reply = await Handle.RequestAsync(ObjectOp.Receive, timeoutMs, 0, null, cancellationToken).ConfigureAwait(false);
        var ok = Received(reply, out T value);
        return (ok, value);
    }

    /// <summary>Closes the channel for every holder: senders fail, receivers drain and then see end of stream.</summary>
    public void Close()
    {
        if (Handle.Ring is { } ring)
        {
            ring.Close();
        }
        else
        {
            Handle.Request(ObjectOp.CloseChannel);
        }
    }

    private ArrayBufferWriter<byte> Encode<T>(T value)
    {
        Handle.ThrowIfReleased();
        var buffer = Buffer();
        MessageCodec.Encode(value, buffer);
        if (buffer.WrittenCount > Handle.Descriptor.MaxMessageBytes)
        {
            throw new ArgumentException(
                $"a message of {buffer.WrittenCount} bytes is larger than {Handle.Describe} allows ({Handle.Descriptor.MaxMessageBytes} bytes); nothing was sent");
        }

        return buffer;
    }

    private static ArrayBufferWriter<byte> Buffer()
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        if (buffer.Capacity > 32 << 20)
        {
            // Keep buffers up to 32 MiB per thread (a 16 MiB message then reuses one); drop larger ones.
            buffer = t_buffer = new ArrayBufferWriter<byte>(4096);
        }

        buffer.ResetWrittenCount();
        return buffer;
    }

    private bool Completed(ObjectReply reply) => reply.Status switch
    {
        ObjectStatus.Ok => true,
        ObjectStatus.TimedOut => false,
        ObjectStatus.Closed => throw new InvalidOperationException($"{Handle.Describe} is closed"),
        _ => throw new InvalidOperationException($"{Handle.Describe}: {reply.Status} {Encoding.UTF8.GetString(reply.Payload)}"),
    };

    private bool Received<T>(ObjectReply reply, out T value)
    {
        var arrived = Arrived(reply);
        value = arrived ? MessageCodec.Decode<T>(reply.Payload) : default!;
        return arrived;
    }

    /// <summary>True when the reply carries a message, false when the receive timed out; throws at end of stream.</summary>
    private bool Arrived(ObjectReply reply) => reply.Status switch
    {
        ObjectStatus.Ok => true,
        ObjectStatus.TimedOut => false,
        ObjectStatus.EndOfStream => throw new EndOfStreamException($"{Handle.Describe} is closed and empty"),
        _ => throw new InvalidOperationException($"{Handle.Describe}: {reply.Status} {Encoding.UTF8.GetString(reply.Payload)}"),
    };

    // The ring names its file; a user should read the queue's or pipe's name, as on the remote path.
    private bool RingSend(ShmRing ring, ReadOnlySpan<byte> message, TimeSpan timeout)
    {
        try
        {
            return ring.TrySend(message, timeout);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{Handle.Describe} is closed", e);
        }
    }

    private bool RingReceive(ShmRing ring, ArrayBufferWriter<byte> buffer, TimeSpan timeout)
    {
        try
        {
            return ring.TryReceive(buffer, timeout, out _);
        }
        catch (EndOfStreamException e)
        {
            throw new EndOfStreamException($"{Handle.Describe} is closed and empty", e);
        }
    }

    private static TimeSpan ToTimeSpan(long timeoutMs) => timeoutMs < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(timeoutMs);

    public void Dispose() => Handle.Dispose();
}
