using System.Net.Sockets;
using System.Runtime.InteropServices;
using Dragon.Services.Spawning;

namespace Dragon.Services.Pmi;

/// <summary>The AF_UNIX socketpair that connects one rank to its PMI server (MPICH's FD mode).</summary>
internal static unsafe class RankSocketPair
{
    /// <summary>Creates the pair, both ends close-on-exec: only the spawn that places the rank's end at its fixed number passes it on.</summary>
    /// <exception cref="IOException">The kernel refused (out of descriptors).</exception>
    public static (Socket ServerEnd, SafeSocketHandle RankEnd) Create()
    {
        var fds = stackalloc int[2];
        if (Native.socketpair(Native.AF_UNIX, Native.SOCK_STREAM | Native.SOCK_CLOEXEC, 0, fds) != 0)
        {
            throw new IOException($"cannot create a PMI socketpair: {Native.ErrorText(Marshal.GetLastPInvokeError())}");
        }
        var serverEnd = new SafeSocketHandle(fds[0], ownsHandle: true);
        var rankEnd = new SafeSocketHandle(fds[1], ownsHandle: true);
        try
        {
            return (new Socket(serverEnd), rankEnd);
        }
        catch
        {
            serverEnd.Dispose();
            rankEnd.Dispose();
            throw;
        }
    }
}
