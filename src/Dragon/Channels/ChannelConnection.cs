using System.Text.Json;
using Dragon.Channels;
using Dragon.Runtime.Protocol;

namespace Dragon;

/// <summary>
/// One end of a <see cref="DragonPipe"/>: sends on one channel and/or receives on another. Closing the sending side
/// lets the peer drain and then see end of stream.
/// </summary>
internal sealed class ChannelConnection : Connection
{
    public const string Kind = "channel";

    private readonly ChannelEndpoint? _send;
    private readonly ChannelEndpoint? _receive;
    // A message Poll took off the channel, kept encoded: only the later Recv<T> knows what type to decode it as.
    private byte[]? _peeked;
    private int _closed;

    public ChannelConnection(ChannelEndpoint? send, ChannelEndpoint? receive)
    {
        _send = send;
        _receive = receive;
    }

    private protected override string Describe => $"the pipe end on {(_receive ?? _send)!.Handle.Describe}";

    private protected override bool TryReceiveCore<T>(long timeoutMs, out T value, CancellationToken cancellationToken)
    {
        var receive = Receiving;
        if (TakePeeked(out value))
        {
            return true;
        }

        // Waits in the calling thread (the ring's spin-then-futex), never through the thread pool.
        return receive.TryReceive(timeoutMs, out value, cancellationToken);
    }

    private protected override async ValueTask<(bool Received, T Value)> TryReceiveCoreAsync<T>(long timeoutMs, CancellationToken cancellationToken)
    {
        var receive = Receiving;
        if (TakePeeked(out T peeked))
        {
            return (true, peeked);
        }

        return await receive.ReceiveAsync<T>(timeoutMs, cancellationToken).ConfigureAwait(false);
    }

    private protected override void SendCore<T>(T value, CancellationToken cancellationToken) => Sending.Send(value, -1, cancellationToken);

    private protected override async ValueTask SendCoreAsync<T>(T value, CancellationToken cancellationToken) =>
        await Sending.SendAsync(value, -1, cancellationToken).ConfigureAwait(false);

    private protected override bool PollCore(long timeoutMs, CancellationToken cancellationToken)
    {
        var receive = Receiving;
        if (_peeked is not null)
        {
            return true;
        }

        try
        {
            if (receive.TryReceiveEncoded(timeoutMs, out var message, cancellationToken))
            {
                _peeked = message;
                return true;
            }

            return false;
        }
        catch (EndOfStreamException)
        {
            return true;
        }
    }

    private protected override async ValueTask<bool> PollCoreAsync(long timeoutMs, CancellationToken cancellationToken)
    {
        var receive = Receiving;
        if (_peeked is not null)
        {
            return true;
        }

        try
        {
            var (received, message) = await receive.ReceiveEncodedAsync(timeoutMs, cancellationToken).ConfigureAwait(false);
            if (received)
            {
                _peeked = message;
            }

            return received;
        }
        catch (EndOfStreamException)
        {
            return true;
        }
    }

    private protected override ValueTask<bool> FlushCoreAsync(long timeoutMs, CancellationToken cancellationToken) =>
        _send is null ? ValueTask.FromResult(true) : _send.FlushAsync(timeoutMs, cancellationToken);

    /// <summary>Closes the sending channel (the peer sees end of stream) and lets go of both channels.</summary>
    private protected override async ValueTask CloseCoreAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        if (_send is not null)
        {
            try
            {
                await _send.CloseAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
            }

            _send.Dispose();
        }

        _receive?.Dispose();
    }

    private ChannelEndpoint Receiving => _receive ?? throw new NotSupportedException("this end of the pipe only sends");

    private ChannelEndpoint Sending => _send ?? throw new NotSupportedException("this end of the pipe only receives");

    private bool TakePeeked<T>(out T value)
    {
        if (_peeked is { } peeked)
        {
            _peeked = null;
            value = MessageCodec.Decode<T>(peeked);
            return true;
        }

        value = default!;
        return false;
    }

    private protected override void WriteDescriptor(Utf8JsonWriter writer)
    {
        writer.WriteString("kind", Kind);
        writer.WriteNumber("send", _send?.Handle.Id ?? 0);
        writer.WriteNumber("recv", _receive?.Handle.Id ?? 0);
    }

    internal static ChannelConnection FromDescriptor(JsonElement descriptor)
    {
        var send = descriptor.GetProperty("send").GetUInt64();
        var receive = descriptor.GetProperty("recv").GetUInt64();
        return new ChannelConnection(
            send == 0 ? null : new ChannelEndpoint(HostedHandle.Attach(ObjectKind.Channel, send, null)),
            receive == 0 ? null : new ChannelEndpoint(HostedHandle.Attach(ObjectKind.Channel, receive, null)));
    }
}

/// <summary>Pairs of connected <see cref="Connection"/>s, like Python's multiprocessing.Pipe.</summary>
public static class DragonPipe
{
    /// <summary>
    /// Creates a pipe. Duplex: both ends send and receive. One-way: the first end only receives, the second only
    /// sends (as in Python). Either end can be passed to a process on any node.
    /// </summary>
    /// <param name="duplex">Both directions.</param>
    /// <param name="capacity">Messages each direction holds before a send blocks.</param>
    /// <param name="node">Index of the node hosting the channels; null for this process's node.</param>
    public static (Connection First, Connection Second) Create(bool duplex = true, int capacity = 1024, int? node = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var forward = HostedHandle.Create(ObjectKind.Channel, null, node, capacity);
        if (!duplex)
        {
            var readerSide = HostedHandle.Attach(ObjectKind.Channel, forward.Id, null);
            return (new ChannelConnection(null, new ChannelEndpoint(readerSide)), new ChannelConnection(new ChannelEndpoint(forward), null));
        }

        var backward = HostedHandle.Create(ObjectKind.Channel, null, node, capacity);
        var forwardReader = HostedHandle.Attach(ObjectKind.Channel, forward.Id, null);
        var backwardReader = HostedHandle.Attach(ObjectKind.Channel, backward.Id, null);
        return (
            new ChannelConnection(new ChannelEndpoint(backward), new ChannelEndpoint(forwardReader)),
            new ChannelConnection(new ChannelEndpoint(forward), new ChannelEndpoint(backwardReader)));
    }
}
