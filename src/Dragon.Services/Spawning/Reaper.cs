using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Dragon.Services.Spawning;

/// <summary>
/// Reaps every child of this process from one thread: each child's pidfd (readable once it exits) sits in one
/// epoll set, and an exit is collected with <c>waitpid(pid, WNOHANG)</c>, so no other child (nor a child of
/// System.Diagnostics.Process) is touched. One thread for all children instead of one per child: starting a
/// thread per spawn was most of the spawning thread's own cost.
/// </summary>
internal sealed unsafe partial class Reaper
{
    private const int SysPidfdOpen = 434;
    private const int EpollCtlAdd = 1;
    private const int EpollCtlDel = 2;
    private const uint EpollIn = 0x001;
    private const int WNOHANG = 1;

    private static readonly Lazy<Reaper?> s_shared = new(Create);

    private readonly int _epoll;
    private readonly ConcurrentDictionary<int, (int Pidfd, Action<int, int> OnExit)> _children = new();

    private Reaper(int epoll)
    {
        _epoll = epoll;
        new Thread(Run, maxStackSize: 256 * 1024) { IsBackground = true, Name = "reaper" }.Start();
    }

    /// <summary>The reaper of this process, or null where pidfds are not available (then a thread per child reaps).</summary>
    public static Reaper? Shared => s_shared.Value;

    private static Reaper? Create()
    {
        var epoll = EpollCreate1(Native.O_CLOEXEC);
        return epoll < 0 ? null : new Reaper(epoll);
    }

    /// <summary>Watches a child; <paramref name="onExit"/> gets (code, signal) once it is reaped. False if it cannot be watched.</summary>
    public bool Watch(int pid, Action<int, int> onExit)
    {
        var pidfd = (int)Syscall(SysPidfdOpen, pid, 0);
        if (pidfd < 0)
        {
            return false;
        }

        _children[pid] = (pidfd, onExit);
        var ev = new EpollEvent { Events = EpollIn, Data = (ulong)pid };
        if (EpollCtl(_epoll, EpollCtlAdd, pidfd, &ev) != 0)
        {
            _children.TryRemove(pid, out _);
            _ = Native.close(pidfd);
            return false;
        }

        return true;
    }

    private void Run()
    {
        const int MaxEvents = 64;
        var events = stackalloc EpollEvent[MaxEvents];
        while (true)
        {
            var n = EpollWait(_epoll, events, MaxEvents, -1);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == Native.EINTR)
                {
                    continue;
                }

                return;
            }

            for (var i = 0; i < n; i++)
            {
                var pid = (int)events[i].Data;
                if (Native.waitpid(pid, out var status, WNOHANG) != pid || !_children.TryRemove(pid, out var child))
                {
                    continue;
                }

                _ = EpollCtl(_epoll, EpollCtlDel, child.Pidfd, null);
                _ = Native.close(child.Pidfd);
                var (code, signal) = Native.DecodeWaitStatus(status);
                child.OnExit(code, signal);
            }
        }
    }

    [StructLayout(LayoutKind.Sequential, Pack = 1)]
    private struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, int pid, uint flags);

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int EpollCtl(int epoll, int op, int fd, EpollEvent* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static partial int EpollWait(int epoll, EpollEvent* events, int max, int timeout);
}
