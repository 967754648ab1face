using System.Net.Sockets;
using System.Runtime.InteropServices;
using Dragon.Runtime.Protocol;

namespace Dragon.Services.Transport;

/// <summary>
/// A link's traffic and round-trip time as the kernel keeps them for its TCP socket (<c>getsockopt(TCP_INFO)</c>):
/// bytes acknowledged by the peer, bytes received, and the smoothed RTT. Read at a metrics collection only, so links
/// count nothing themselves and cost nothing per message.
/// </summary>
internal static class LinkFigures
{
    private const int IpProtoTcp = 6;
    private const int TcpInfo = 11;

    // Offsets in Linux's struct tcp_info (include/uapi/linux/tcp.h), stable since Linux 4.1/4.2.
    private const int RttOffset = 68;
    private const int BytesAckedOffset = 120;
    private const int BytesReceivedOffset = 128;
    private const int NeededBytes = BytesReceivedOffset + 8;

    /// <summary>The link's figures, or null when the socket is closed or the kernel gives too little.</summary>
    public static LinkTraffic? Read(int peer, Socket socket)
    {
        Span<byte> info = stackalloc byte[256];
        int length;
        try
        {
            length = socket.GetRawSocketOption(IpProtoTcp, TcpInfo, info);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return null;
        }

        if (length < NeededBytes)
        {
            return null;
        }

        // Host byte order: the kernel fills the struct as it is laid out in memory.
        return new LinkTraffic(
            peer,
            (long)MemoryMarshal.Read<ulong>(info[BytesAckedOffset..]),
            (long)MemoryMarshal.Read<ulong>(info[BytesReceivedOffset..]),
            (int)Math.Min(MemoryMarshal.Read<uint>(info[RttOffset..]), int.MaxValue));
    }
}
