using System.Runtime.InteropServices;

namespace Dragon.Services.Spawning;

/// <summary>
/// The libc calls the node service needs that .NET does not expose: posix_spawn, waitpid, kill, pipes, socketpairs,
/// and the event loop's epoll, eventfd and pidfds.
/// </summary>
internal static unsafe partial class Native
{
    private const string Libc = "libc";

    public const int O_RDONLY = 0x0;
    public const int O_WRONLY = 0x1;
    public const int O_RDWR = 0x2;
    public const int O_CREAT = 0x40;
    public const int O_TRUNC = 0x200;
    public const int O_CLOEXEC = 0x80000;

    public const short POSIX_SPAWN_SETSIGDEF = 0x04;
    public const short POSIX_SPAWN_SETSIGMASK = 0x08;
    public const short POSIX_SPAWN_SETSID = 0x80;

    public const int X_OK = 1;
    public const int EINTR = 4;
    public const int ESRCH = 3;
    public const int ECHILD = 10;

    /// <summary>glibc's posix_spawn_file_actions_t is 80 bytes and posix_spawnattr_t 336; room to spare.</summary>
    public const int SpawnStructBytes = 1024;

    /// <summary>The real group id (with <see cref="getuid"/>, what the PMIx server checks its ranks against).</summary>
    [LibraryImport(Libc)]
    public static partial uint getgid();

    /// <summary>signal(2); with <see cref="SIG_DFL"/>, restores a signal's default disposition.</summary>
    [LibraryImport(Libc, EntryPoint = "signal")]
    public static partial nint signal(int signum, nint handler);

    public const nint SIG_DFL = 0;
    public const nint SIG_IGN = 1;

    public const int CLOCK_BOOTTIME = 7;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport(Libc)]
    public static partial int clock_gettime(int clock, out Timespec time);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint getrandom(byte* buffer, nuint length, uint flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int posix_spawn(out int pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_init(void* fileActions);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_destroy(void* fileActions);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_adddup2(void* fileActions, int fd, int newFd);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_addchdir_np(void* fileActions, byte* path);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_init(void* attr);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setflags(void* attr, short flags);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setsigmask(void* attr, void* sigset);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setsigdefault(void* attr, void* sigset);

    [LibraryImport(Libc)]
    public static partial int sigemptyset(void* set);

    [LibraryImport(Libc)]
    public static partial int sigfillset(void* set);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int waitpid(int pid, out int status, int options);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int kill(int pid, int signal);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_CLOEXEC = 0x80000;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int socketpair(int domain, int type, int protocol, int* fds);

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, int mode);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int access(string path, int mode);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int sched_setaffinity(int pid, nint size, byte* mask);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int sched_getaffinity(int pid, nint size, byte* mask);

    [LibraryImport(Libc)]
    public static partial int getuid();

    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const uint STATX_BASIC_STATS = 0x7ff;
    public const int S_IFMT = 0xf000;
    public const int S_IFDIR = 0x4000;
    public const int S_IFLNK = 0xa000;
    public const int ENOENT = 2;

    /// <summary>The head of struct statx (the same layout on every architecture, unlike struct stat).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    public struct Statx
    {
        [FieldOffset(20)]
        public uint Uid;

        [FieldOffset(28)]
        public ushort Mode;
    }

    [LibraryImport(Libc, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statx(int dirFd, string path, int flags, uint mask, out Statx result);

    public const int EAGAIN = 11;
    public const int F_GETFL = 3;
    public const int F_SETFL = 4;
    public const int O_NONBLOCK = 0x800;
    public const int WNOHANG = 1;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fcntl(int fd, int command, int argument);

    /// <summary>Makes reads of a descriptor return EAGAIN instead of blocking (its open file only, not the other end of a pipe).</summary>
    public static bool SetNonBlocking(int fd)
    {
        var flags = fcntl(fd, F_GETFL, 0);
        return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
    }

    public const int EFD_NONBLOCK = 0x800;
    public const int EFD_CLOEXEC = 0x80000;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int eventfd(uint initial, int flags);

    /// <summary>pidfd_open(2), by number (the same on every architecture; glibc before 2.36 has no wrapper).</summary>
    public static int PidfdOpen(int pid) => (int)syscall(434, pid, 0);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial long syscall(long number, int pid, uint flags);

    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const uint EPOLLIN = 0x001;

    /// <summary>
    /// struct epoll_event: packed (12 bytes, data at 4) on x86-64 only; elsewhere the u64 is aligned (16 bytes, data
    /// at 8). Read and written through <see cref="EpollEventBytes"/> and <see cref="EpollData"/>.
    /// </summary>
    public static readonly int EpollEventBytes = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    private static readonly int s_epollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    /// <summary>The data word of event <paramref name="index"/> in a buffer that epoll_wait filled.</summary>
    public static ulong EpollData(byte* events, int index) => *(ulong*)(events + (index * EpollEventBytes) + s_epollDataOffset);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport(Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int EpollCtlRaw(int epoll, int op, int fd, byte* ev);

    /// <summary>epoll_ctl with an event of <paramref name="events"/> carrying <paramref name="data"/> (ignored for DEL).</summary>
    public static int EpollCtl(int epoll, int op, int fd, uint events, ulong data)
    {
        var ev = stackalloc byte[16];
        *(uint*)ev = events;
        *(ulong*)(ev + s_epollDataOffset) = data;
        return EpollCtlRaw(epoll, op, fd, ev);
    }

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int epoll_wait(int epoll, byte* events, int maxEvents, int timeoutMs);

    /// <summary>Decodes a waitpid status into (exit code, signal); exactly one is meaningful.</summary>
    public static (int Code, int Signal) DecodeWaitStatus(int status)
    {
        var signal = status & 0x7f;
        return signal == 0 ? ((status >> 8) & 0xff, 0) : (-signal, signal);
    }

    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>Writes all of a buffer to a file descriptor, retrying on EINTR and short writes.</summary>
    public static bool WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            var offset = 0;
            while (offset < data.Length)
            {
                var n = write(fd, p + offset, data.Length - offset);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == EINTR)
                    {
                        continue;
                    }

                    return false;
                }

                offset += (int)n;
            }
        }

        return true;
    }
}
