using Dragon.Runtime.Protocol;
using Dragon.Services.Node;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Objects;

/// <summary>
/// The sender's side of puts to channels on other nodes: takes each <see cref="ChannelPut"/> of this node's processes
/// off their control connections, in order, and hands it to the link to the channel's home node at once (the link
/// coalesces what queues up into one write). It counts what each process has in flight per channel, passes the home
/// node's delivery reports back to the process, and when a link is lost tells every process with messages in flight
/// on it that they were not delivered, naming the node: nothing is reported delivered that was not, and no sender
/// waits for reports that will never come. It holds no message itself: a process's credit window bounds what it has
/// in flight, and the home node's inbox holds the rest.
/// </summary>
internal sealed partial class RemotePuts(NodeService node, ILogger logger)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(ulong Sender, ulong Channel), InFlight> _inFlight = [];
    private readonly Dictionary<ulong, FramedConnection> _senders = [];
    private readonly HashSet<FramedConnection> _watched = [];
    private long _nextSender;

    /// <summary>Names a process's control connection as a sender; the key carries this node's index in its top 16 bits.</summary>
    public ulong Register(FramedConnection connection)
    {
        var key = ((ulong)(uint)node.Descriptor.Index << 48) | (ulong)Interlocked.Increment(ref _nextSender);
        lock (_lock)
        {
            _senders[key] = connection;
        }

        return key;
    }

    /// <summary>The process's connection ended: reports for it have nowhere to go (its messages still travel on).</summary>
    public void Unregister(ulong sender)
    {
        lock (_lock)
        {
            _senders.Remove(sender);
        }
    }

    /// <summary>From a control connection's reader, in the order the process put: sends the message on to its home.</summary>
    public async ValueTask ForwardAsync(ulong sender, ChannelPut put)
    {
        var home = ObjectDescriptor.HomeOf(put.ChannelId);
        if (home < 0 || home >= node.Nodes.Length)
        {
            Report(new ChannelPutAck(put.ChannelId, sender, 1, put.Payload.Length, ObjectStatus.Invalid, $"node index {home} is out of range", home));
            return;
        }

        if (home == node.Descriptor.Index)
        {
            // A process of the home node uses the ring; a put that came this way is delivered the same way.
            node.Objects.Deliver(put with { Sender = sender }, Report);
            return;
        }

        lock (_lock)
        {
            var key = (sender, put.ChannelId);
            _inFlight[key] = _inFlight.TryGetValue(key, out var counted) ? counted with { Messages = counted.Messages + 1 } : new InFlight(home, 1);
        }

        try
        {
            var link = await node.LinkTo(home).ConfigureAwait(false);
            Watch(link, home);
            await link.NotifyAsync(put with { Sender = sender }).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // The home node cannot be reached: this message fails now, and the link's loss fails the rest.
            Settle(new ChannelPutAck(put.ChannelId, sender, 1, put.Payload.Length, ObjectStatus.Broken, $"node {node.Nodes[home].Name} is lost or cannot be reached: {e.Message}", home));
        }
    }

    /// <summary>A delivery report from a home node (over its link), or from this node's own channel.</summary>
    public void OnAck(ChannelPutAck ack) => Settle(ack);

    private void Settle(ChannelPutAck ack)
    {
        lock (_lock)
        {
            var key = (ack.Sender, ack.ChannelId);
            if (_inFlight.TryGetValue(key, out var counted))
            {
                var left = counted.Messages - ack.Messages;
                if (left > 0)
                {
                    _inFlight[key] = counted with { Messages = left };
                }
                else
                {
                    _inFlight.Remove(key);
                }
            }
        }

        Report(ack);
    }

    /// <summary>Passes a report on to the process that put (dropped if it is gone).</summary>
    private void Report(ChannelPutAck ack)
    {
        FramedConnection? connection;
        lock (_lock)
        {
            _senders.TryGetValue(ack.Sender, out connection);
        }

        if (connection is not null)
        {
            _ = NotifyQuietlyAsync(connection, ack);
        }
    }

    private static async Task NotifyQuietlyAsync(FramedConnection connection, ChannelPutAck ack)
    {
        try
        {
            await connection.NotifyAsync(ack with { Sender = 0 }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // The process is gone.
        }
    }

    private void Watch(FramedConnection link, int home)
    {
        lock (_lock)
        {
            if (!_watched.Add(link))
            {
                return;
            }
        }

        _ = link.Closed.ContinueWith(_ => OnLinkLost(link, home), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Every message in flight to <paramref name="home"/> is lost with the link: its sender hears so now.</summary>
    private void OnLinkLost(FramedConnection link, int home)
    {
        List<ChannelPutAck> failed = [];
        lock (_lock)
        {
            _watched.Remove(link);
            foreach (var ((sender, channel), counted) in _inFlight)
            {
                if (counted.Home == home)
                {
                    failed.Add(new ChannelPutAck(channel, sender, counted.Messages, 0, ObjectStatus.Broken,
                        $"node {node.Nodes[home].Name} was lost with them in flight: {link.LostReason?.Message ?? "its link closed"}", home));
                }
            }

            foreach (var ack in failed)
            {
                _inFlight.Remove((ack.Sender, ack.ChannelId));
            }
        }

        foreach (var ack in failed)
        {
            LogLostInFlight(ack.Messages, ack.ChannelId, home);
            Report(ack);
        }
    }

    private readonly record struct InFlight(int Home, int Messages);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Messages} message(s) put to channel {Channel} were in flight when node {Home} was lost; their sender is told")]
    private partial void LogLostInFlight(int messages, ulong channel, int home);

    private readonly ILogger _logger = logger;
}
