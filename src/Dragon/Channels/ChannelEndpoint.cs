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

    // One core path per operation: the sync form waits on the calling thread; the async form tries once without
    // waiting and, when it must wait, runs the same wait on a dedicated thread (a futex sleep would otherwise park
    // a thread-pool thread). On the ring a wait honours the token within ~20 ms and a cancel takes nothing.

    /// <summary>Sends; false when the timeout passed with the channel still full.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting for room; nothing was sent.</exception>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool Send<T>(T value, long timeoutMs, CancellationToken cancellationToken = default)
    {
        var buffer = Encode(value);
        if (Handle.Ring is { } ring)
        {
            return RingSend(ring, buffer.WrittenSpan, ToTimeSpan(timeoutMs), cancellationToken);
        }

        return RemoteSender.For(Handle).Send(buffer.WrittenSpan.ToArray(), timeoutMs, cancellationToken);
    }

    /// <inheritdoc cref="Send{T}(T, long, CancellationToken)"/>
    public async ValueTask<bool> SendAsync<T>(T value, long timeoutMs, CancellationToken cancellationToken)
    {
        var buffer = Encode(value);
        if (Handle.Ring is { } ring)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (RingSend(ring, buffer.WrittenSpan, TimeSpan.Zero, cancellationToken))
            {
                return true;
            }

            if (timeoutMs == 0)
            {
                return false;
            }

            var copy = buffer.WrittenSpan.ToArray();
            return await OnWaiterThread(() => RingSend(ring, copy, ToTimeSpan(timeoutMs), cancellationToken), cancellationToken).ConfigureAwait(false);
        }

        return await RemoteSender.For(Handle).SendAsync(buffer.WrittenSpan.ToArray(), timeoutMs, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits until every message this process sent to a channel on another node was delivered into it (at once for a
    /// channel on this node, where a send is delivered when it returns); false on timeout.
    /// </summary>
    /// <exception cref="NodeLostException">The channel's node was lost with messages of this process undelivered.</exception>
    public bool Flush(long timeoutMs, CancellationToken cancellationToken) =>
        Handle.RingIsHere || RemoteSender.For(Handle).Flush(timeoutMs, cancellationToken);

    /// <inheritdoc cref="Flush"/>
    public ValueTask<bool> FlushAsync(long timeoutMs, CancellationToken cancellationToken) =>
        Handle.RingIsHere ? ValueTask.FromResult(true) : RemoteSender.For(Handle).FlushAsync(timeoutMs, cancellationToken);

    /// <summary>Receives; false when the timeout passed with nothing to receive. End of stream throws.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing was taken from the channel.</exception>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool TryReceive<T>(long timeoutMs, out T value, CancellationToken cancellationToken = default)
    {
        if (Handle.Ring is { } ring)
        {
            var buffer = Buffer();
            if (!RingReceive(ring, buffer, ToTimeSpan(timeoutMs), cancellationToken))
            {
                value = default!;
                return false;
            }

            value = MessageCodec.Decode<T>(buffer.WrittenSpan);
            return true;
        }

        return Received(Handle.RequestAsync(ObjectOp.Receive, timeoutMs, 0, null, cancellationToken).GetAwaiter().GetResult(), out value);
    }

    /// <summary>Receives one message still encoded (decode it later with <see cref="MessageCodec.Decode{T}"/>); false on timeout.</summary>
    public bool TryReceiveEncoded(long timeoutMs, out byte[] message, CancellationToken cancellationToken = default)
    {
        if (Handle.Ring is { } ring)
        {
            var buffer = Buffer();
            var received = RingReceive(ring, buffer, ToTimeSpan(timeoutMs), cancellationToken);
            message = received ? buffer.WrittenSpan.ToArray() : [];
            return received;
        }

        var reply = Handle.RequestAsync(ObjectOp.Receive, timeoutMs, 0, null, cancellationToken).GetAwaiter().GetResult();
        var arrived = Arrived(reply);
        message = arrived ? reply.Payload.ToArray() : [];
        return arrived;
    }

    /// <inheritdoc cref="TryReceiveEncoded(long, out byte[], CancellationToken)"/>
    public async ValueTask<(bool Received, byte[] Message)> ReceiveEncodedAsync(long timeoutMs, CancellationToken cancellationToken)
    {
        if (Handle.Ring is not null)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (TryReceiveEncoded(0, out var ready, cancellationToken))
            {
                return (true, ready);
            }

            if (timeoutMs == 0)
            {
                return (false, []);
            }

            return await OnWaiterThread(() => (TryReceiveEncoded(timeoutMs, out var m, cancellationToken), m), cancellationToken).ConfigureAwait(false);
        }

        var reply = await Handle.RequestAsync(ObjectOp.Receive, timeoutMs, 0, null, cancellationToken).ConfigureAwait(false);
        return Arrived(reply) ? (true, reply.Payload.ToArray()) : (false, []);
    }

    /// <inheritdoc cref="TryReceive{T}(long, out T, CancellationToken)"/>
    public async ValueTask<(bool Received, T Value)> ReceiveAsync<T>(long timeoutMs, CancellationToken cancellationToken)
    {
        if (Handle.Ring is not null)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (TryReceive<T>(0, out var ready, cancellationToken))
            {
                return (true, ready);
            }

            if (timeoutMs == 0)
            {
                return (false, default!);
            }

            return await OnWaiterThread(() => (TryReceive<T>(timeoutMs, out var v, cancellationToken), v), cancellationToken).ConfigureAwait(false);
        }

        var reply = await Handle.RequestAsync(ObjectOp.Receive, timeoutMs, 0, null, cancellationToken).ConfigureAwait(false);
        var ok = Received(reply, out T value);
        return (ok, value);
    }

    /// <summary>
    /// Runs a ring wait on a thread of its own. The task completes with whatever the wait did: once a message was
    /// taken it is returned even if the token was cancelled meanwhile, so a cancel never loses one.
    /// </summary>
    private static Task<TResult> OnWaiterThread<TResult>(Func<TResult> wait, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(wait, cancellationToken, TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);

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
            RemoteSender.For(Handle).MarkClosed();
        }
    }

    /// <inheritdoc cref="Close"/>
    public async ValueTask CloseAsync(CancellationToken cancellationToken)
    {
        if (Handle.Ring is { } ring)
        {
            ring.Close();
        }
        else
        {
            await Handle.RequestAsync(ObjectOp.CloseChannel, -1, 0, null, cancellationToken).ConfigureAwait(false);
            RemoteSender.For(Handle).MarkClosed();
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

    private bool Received<T>(ObjectReply reply, out T value)
    {
        var arrived = Arrived(reply);
        value = arrived ? MessageCodec.Decode<T>(reply.Payload.Span) : default!;
        return arrived;
    }

    /// <summary>True when the reply carries a message, false when the receive timed out; throws at end of stream.</summary>
    private bool Arrived(ObjectReply reply) => reply.Status switch
    {
        ObjectStatus.Ok => true,
        ObjectStatus.TimedOut => false,
        ObjectStatus.EndOfStream => throw new EndOfStreamException($"{Handle.Describe} is closed and empty"),
        _ => throw new InvalidOperationException($"{Handle.Describe}: {reply.Status} {Encoding.UTF8.GetString(reply.Payload.Span)}"),
    };

    // The ring names its file; a user should read the queue's or pipe's name, as on the remote path.
    private bool RingSend(ShmRing ring, ReadOnlySpan<byte> message, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return ring.TrySend(message, timeout, cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{Handle.Describe} is closed", e);
        }
    }

    private bool RingReceive(ShmRing ring, ArrayBufferWriter<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return ring.TryReceive(buffer, timeout, out _, cancellationToken);
        }
        catch (EndOfStreamException e)
        {
            throw new EndOfStreamException($"{Handle.Describe} is closed and empty", e);
        }
    }

    private static TimeSpan ToTimeSpan(long timeoutMs) => timeoutMs < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(timeoutMs);

    public void Dispose() => Handle.Dispose();
}
