using System.Runtime.InteropServices;
using Dragon.Services.Spawning;

namespace Dragon.Services.Node;

/// <summary>
/// A child's exit, watched by the <see cref="ChildIo"/> loop through its pidfd (readable once the child exits) and
/// collected with <c>waitpid(pid, WNOHANG)</c>, so no other child (nor one of System.Diagnostics.Process) is touched.
/// </summary>
internal sealed class ChildIoExit : ChildIoEntry
{
    private readonly int _pid;
    private readonly Action<int, int> _onExit;

    private ChildIoExit(int pid, int pidfd, Action<int, int> onExit)
    {
        _pid = pid;
        Fd = pidfd;
        _onExit = onExit;
    }

    /// <summary>
    /// Watches a child; <paramref name="onExit"/> gets (code, signal) once it is reaped: on the loop thread, so it
    /// must not block. Where pidfds are not available (Linux before 5.3) a thread of the child's own reaps it.
    /// </summary>
    public static void Watch(int pid, Action<int, int> onExit)
    {
        var pidfd = Native.PidfdOpen(pid);
        if (pidfd < 0)
        {
            ReapOnThread(pid, onExit);
            return;
        }

        ChildIo.Shared.Add(new ChildIoExit(pid, pidfd, onExit));
    }

    public override void OnReady(ChildIo loop)
    {
        int reaped;
        int status;
        while ((reaped = Native.waitpid(_pid, out status, Native.WNOHANG)) < 0 && Marshal.GetLastPInvokeError() == Native.EINTR)
        {
        }

        if (reaped == 0)
        {
            // Not exited yet (a pidfd is readable only once it has; nothing else to wait for).
            return;
        }

        loop.Remove(this);
        if (reaped < 0)
        {
            // Not ours to reap any more (ECHILD): report it as lost rather than never.
            _onExit(-1, 0);
            return;
        }

        var (code, signal) = Native.DecodeWaitStatus(status);
        _onExit(code, signal);
    }

    public override void OnFailed(ChildIo loop, int errno)
    {
        loop.Remove(this);
        ReapOnThread(_pid, _onExit);
    }

    /// <summary>Waits for the child on a thread of its own: the fallback, so an exit is never left unreported.</summary>
    private static void ReapOnThread(int pid, Action<int, int> onExit) =>
        new Thread(
            () =>
            {
                int status;
                while (Native.waitpid(pid, out status, 0) < 0)
                {
                    if (Marshal.GetLastPInvokeError() != Native.EINTR)
                    {
                        // Not ours to reap any more (ECHILD): report it as lost rather than hang.
                        onExit(-1, 0);
                        return;
                    }
                }

                var (code, signal) = Native.DecodeWaitStatus(status);
                onExit(code, signal);
            },
            maxStackSize: 128 * 1024)
        { IsBackground = true, Name = $"reap {pid}" }.Start();
}
