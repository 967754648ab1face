using System.Text.Json;
using Dragon.Channels;
using Dragon.Runtime;
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

    public ChannelConnection(ChannelEndpoint? send, ChannelEndpoint? receive)
    {
        _send = send;
        _receive = receive;
    }

    public override async ValueTask<T> RecvAsync<T>(TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var receive = _receive ?? throw new NotSupportedException("this end of the pipe only sends");
        if (_peeked is { } peeked)
        {
            _peeked = null;
            return MessageCodec.Decode<T>(peeked);
        }

        var (received, item) = await receive.ReceiveAsync<T>(Timeouts.ToMilliseconds(timeout), cancellationToken).ConfigureAwait(false);
        return received ? item : throw new TimeoutException($"nothing arrived on {receive.Handle.Describe} within {timeout}");
    }

    // The synchronous calls wait in the calling thread (the ring's spin-then-futex), never through the thread pool.
    private protected override T RecvBlocking<T>(TimeSpan? timeout)
    {
        var receive = _receive ?? throw new NotSupportedException("this end of the pipe only sends");
        if (_peeked is { } peeked)
        {
            _peeked = null;
            return MessageCodec.Decode<T>(peeked);
        }

        return receive.TryReceive<T>(Timeouts.ToMilliseconds(timeout), out var item)
            ? item
            : throw new TimeoutException($"nothing arrived on {receive.Handle.Describe} within {timeout}");
    }

    private protected override void SendBlocking<T>(T value)
    {
        var send = _send ?? throw new NotSupportedException("this end of the pipe only receives");
        send.Send(value, -1);
    }

    public override async ValueTask SendAsync<T>(T value, CancellationToken cancellationToken = default)
    {
        var send = _send ?? throw new NotSupportedException("this end of the pipe only receives");
        await send.SendAsync(value, -1, cancellationToken).ConfigureAwait(false);
    }

    public override bool Poll(TimeSpan timeout)
    {
        var receive = _receive ?? throw new NotSupportedException("this end of the pipe only sends");
        if (_peeked is not null)
        {
            return true;
        }

        try
        {
            if (receive.TryReceiveEncoded(Timeouts.ToMilliseconds(timeout), out var message))
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

    /// <summary>Closes the sending channel (the peer sees end of stream) and lets go of both channels.</summary>
    public override void Close()
    {
        if (_send is not null)
        {
            try
            {
                _send.Close();
            }
            catch (ObjectDisposedException)
            {
            }

            _send.Dispose();
        }

        _receive?.Dispose();
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
