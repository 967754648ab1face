using System.Net.Sockets;
using Dragon.Runtime.Protocol;
using Dragon.Services.Global;

namespace Dragon.Services.Transport;

/// <summary>
/// Links between services: one authenticated TCP connection between two node services (or a node service and the
/// launcher), carried by a <see cref="FramedConnection"/> and used in both directions. Requests are served on their
/// own, notices in arrival order; a service error becomes its error reply, exactly as on a control socket.
/// </summary>
internal static class Links
{
    /// <summary>Takes over an authenticated link socket.</summary>
    public static FramedConnection Open(Socket socket, int peerIndex, bool dialled, Func<IMessage, CancellationToken, Task<IMessage>> serve)
    {
        socket.NoDelay = true;
        DetectLossQuickly(socket);
        return new FramedConnection(socket, peerIndex < 0 ? "the launcher" : $"node {peerIndex}", dialled, new FrameHandlers
        {
            Serve = async (request, cancellationToken) =>
            {
                try
                {
                    return await serve(request, cancellationToken).ConfigureAwait(false);
                }
                catch (ServiceException e)
                {
                    return e.ToReply();
                }
            },
            Notice = async (notice, cancellationToken) =>
            {
                try
                {
                    await serve(notice, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is ServiceException or InvalidOperationException or KeyNotFoundException)
                {
                    // A notice about something already gone: nothing to answer.
                }
            },
        })
        {
            PeerIndex = peerIndex,
        };
    }

    /// <summary>Runs the acceptor's handshake; <paramref name="serveFor"/> gives the request handler for the proven peer index.</summary>
    public static async Task<FramedConnection> AcceptedAsync(Socket socket, byte[] secret, Func<int, Func<IMessage, CancellationToken, Task<IMessage>>> serveFor, CancellationToken cancellationToken)
    {
        int peer;
        using (var handshake = new NetworkStream(socket, ownsSocket: false))
        {
            peer = await LinkHandshake.AcceptAsync(handshake, secret, cancellationToken).ConfigureAwait(false);
        }

        return Open(socket, peer, dialled: false, serveFor(peer));
    }

    public static async Task<FramedConnection> DialAsync(string endpoint, int peerIndex, int myIndex, byte[] secret, Func<IMessage, CancellationToken, Task<IMessage>> serve, CancellationToken cancellationToken)
    {
        var (host, port) = ParseEndpoint(endpoint);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
            using (var handshake = new NetworkStream(socket, ownsSocket: false))
            {
                await LinkHandshake.ConnectAsync(handshake, secret, myIndex, cancellationToken).ConfigureAwait(false);
            }

            return Open(socket, peerIndex, dialled: true, serve);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A peer whose host vanishes sends no FIN: keepalive probes every second (3 unanswered end the link) and a 4 s
    /// limit on unacknowledged data make the loss visible within about 5 seconds instead of minutes.
    /// </summary>
    public static void DetectLossQuickly(Socket socket)
    {
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 1);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 1);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
        const int TcpUserTimeout = 18;
        socket.SetRawSocketOption(6 /* IPPROTO_TCP */, TcpUserTimeout, BitConverter.GetBytes(4000));
    }

    public static (string Host, int Port) ParseEndpoint(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        return (endpoint[..colon], int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
