using System.Runtime.InteropServices;
using Dragon.Runtime.Protocol;
using Dragon.Services.Spawning;

namespace Dragon.Launcher;

/// <summary>
/// <c>dragon _fence RUNDIR</c>: the watchdog of one run directory. The process that owns the directory (the
/// launcher on one machine, or a node service) starts it at once (a shell that waits, exec'ing the launcher only
/// when there is something to clean) and keeps the only write end of a pipe whose read end is the fence's stdin (close-on-exec everywhere, so no child holds it). When that pipe reaches end of file,
/// the owner is gone, however it died (SIGKILL included): the fence kills the process groups the directory records
/// (with the start-time check of <c>dragon cleanup</c>), removes the directory and its shared memory, and exits.
/// After a normal end the owner has already removed the directory, so the fence finds nothing and just exits.
/// </summary>
internal sealed class Fence : IDisposable
{
    public const string Command = "_fence";

    private readonly int _pid;
    private int _pipe;

    private Fence(int pid, int pipe)
    {
        _pid = pid;
        _pipe = pipe;
    }

    /// <summary>
    /// The shell's part ($0 is the command, so the fence is named on its command line): read the pipe to its end, and
    /// if the directory is still there, exec the launcher's fence with stdin at end of file.
    /// </summary>
    private const string WaitThenClean = "while read -r _; do :; done; [ -d \"$1\" ] || exit 0; exec \"$2\" \"$0\" \"$1\" </dev/null";

    /// <summary>Starts the fence of <paramref name="runDir"/>; keep it (and so the pipe) until the run directory is removed.</summary>
    public static Fence Start(string runDir)
    {
        var env = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(key => key != "DRAGON_SECRET")
            .Select(key => $"{key}={Environment.GetEnvironmentVariable(key)}")
            .ToArray();

        // Its own session (as every child): a terminal's ^C or hang-up reaches the run, never its fence. It holds
        // none of the launcher's output streams, so nothing reading them waits for it.
        // The waiting is done by a shell (about 1 ms of CPU to start, where this 19 MB executable costs 15-20 ms):
        // only when the pipe ends with the directory still there does it become `dragon _fence`, which cleans up.
        var child = Spawner.Spawn(
            "/bin/sh",
            ["/bin/sh", "-c", WaitThenClean, Command, runDir, Environment.ProcessPath!],
            env,
            "/",
            new StdioSpec(StdioKind.Pipe, null),
            new StdioSpec(StdioKind.DevNull, null),
            new StdioSpec(StdioKind.DevNull, null),
            captureInherited: false,
            cpus: null);
        return new Fence(child.Pid, child.StdinWrite);
    }

    /// <summary>
    /// The normal end: closes the pipe. The fence then finds nothing left to do and exits within milliseconds; it
    /// is not waited for (the run's end should not wait on it), only reaped if it is already gone, else by init
    /// once this process exits.
    /// </summary>
    public void Dispose()
    {
        if (_pipe < 0)
        {
            return;
        }

        _ = Native.close(_pipe);
        _pipe = -1;
        _ = Native.waitpid(_pid, out _, 1 /* WNOHANG */);
    }

    /// <summary>The fence itself: waits for end of file on stdin, then removes whatever the run directory's owner left.</summary>
    public static unsafe int Run(IReadOnlyList<string> args)
    {
        if (args.Count != 1 || !Path.IsPathRooted(args[0]))
        {
            throw new UsageException("the fence needs the absolute path of one run directory");
        }

        var buffer = stackalloc byte[64];
        while (true)
        {
            var n = Native.read(0, buffer, 64);
            if (n > 0 || (n < 0 && Marshal.GetLastPInvokeError() == Native.EINTR))
            {
                continue;
            }

            break;
        }

        var runDir = args[0];
        if (Directory.Exists(runDir))
        {
            Cleanup.RemoveRun(runDir, Cleanup.AliveProcesses(runDir));
        }

        return 0;
    }
}
