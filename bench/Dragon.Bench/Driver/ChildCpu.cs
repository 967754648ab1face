using System.Runtime.InteropServices;

namespace Dragon.Bench.Driver;

/// <summary>
/// CPU time (user + system) of every descendant this process has reaped, from getrusage(RUSAGE_CHILDREN). The
/// difference around one command is what that command's whole tree used, as long as each process in it waited for
/// its own children (the launcher, mpiexec and multiprocessing all do).
/// </summary>
internal static partial class ChildCpu
{
    private const int RusageChildren = -1;

    public static unsafe double Milliseconds()
    {
        // struct rusage: two struct timevals (seconds, microseconds) then 14 longs.
        var usage = stackalloc long[18];
        if (getrusage(RusageChildren, usage) != 0)
        {
            return double.NaN;
        }

        return (usage[0] * 1e3) + (usage[1] / 1e3) + (usage[2] * 1e3) + (usage[3] / 1e3);
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static unsafe partial int getrusage(int who, long* usage);
}
