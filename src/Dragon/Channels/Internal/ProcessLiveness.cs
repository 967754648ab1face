using System.Runtime.InteropServices;

namespace Dragon.Channels.Internal;

/// <summary>
/// Tells whether a process id still names a running process, so a lock left by a killed holder
/// can be taken over.
/// </summary>
internal static partial class ProcessLiveness
{
    private const int ESrch = 3;

    /// <summary>
    /// True unless the process is gone or is a zombie. A killed child stays a zombie until its
    /// parent reaps it, and kill(pid, 0) still succeeds on a zombie, hence the /proc check.
    /// </summary>
    public static bool IsAlive(int pid)
    {
        if (pid <= 0)
        {
            return false;
        }

        if (Kill(pid, 0) != 0 && Marshal.GetLastPInvokeError() == ESrch)
        {
            return false;
        }

        return !IsZombie(pid);
    }

    private static bool IsZombie(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            // The process went away between kill() and the read.
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }

        // Format: "pid (comm) S ..."; comm may itself contain ") ", so look after the last one.
        var close = stat.LastIndexOf(')');
        if (close < 0 || close + 2 >= stat.Length)
        {
            return false;
        }

        var state = stat[close + 2];
        return state is 'Z' or 'X';
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
