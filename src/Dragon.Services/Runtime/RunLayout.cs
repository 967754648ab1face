using Dragon.Runtime;
using Dragon.Services.Spawning;

namespace Dragon.Services.Runtime;

/// <summary>Where runs keep their files, shared by the launcher, the node services and <c>dragon cleanup</c>.</summary>
internal static class RunLayout
{
    /// <summary>Holds "pid starttime" of the launcher that owns the run.</summary>
    public const string OwnerFile = "owner";

    /// <summary>The host (name and boot id) whose processes the run directory records; /tmp may be shared.</summary>
    public const string HostFile = "host";

    /// <summary>This host, as written in <see cref="HostFile"/>.</summary>
    public static string ThisHost()
    {
        var bootId = File.Exists("/proc/sys/kernel/random/boot_id") ? File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim() : "unknown";
        return $"{Environment.MachineName} {bootId}";
    }

    /// <summary>One "pid starttime" line per process the run started.</summary>
    public const string ProcessesFile = "processes";

    /// <summary>The launcher's socket for <c>dragon ps</c> (mode 0600), in the run directory.</summary>
    public const string StatusSocket = "status.sock";

    /// <summary>
    /// A credential (mode 0600) that lets the user's own <c>dragon ps</c> read the run's status and nothing else:
    /// it is not the run's secret, which starts processes and opens channels.
    /// </summary>
    public const string StatusTokenFile = "status.token";

    /// <summary>Environment variable that moves every run directory elsewhere (tests use it).</summary>
    public const string BaseVariable = "DRAGON_RUN_BASE";

    /// <summary>The base directory set with <see cref="BaseVariable"/>, or null when each host chooses its own.</summary>
    public static string? ExplicitBase() => Environment.GetEnvironmentVariable(BaseVariable) is { Length: > 0 } custom ? custom : null;

    /// <summary>
    /// Where this user's runs keep their directories: <see cref="BaseVariable"/> if set, else
    /// <c>$XDG_RUNTIME_DIR/dragon</c> when the runtime directory exists, is the user's and is private (mode 0700),
    /// else <c>/tmp/dragon-UID</c>. Every host applies the same rule, so a node service finds its own.
    /// </summary>
    public static string BaseDirectory()
    {
        if (ExplicitBase() is { } custom)
        {
            return custom;
        }

        if (Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } runtime
            && Path.IsPathRooted(runtime)
            && Inspect(runtime) is { } info
            && (info.Mode & Native.S_IFMT) == Native.S_IFDIR
            && info.Uid == (uint)Native.getuid()
            && (info.Mode & 0x1ff) == 0x1c0 /* 0700 */)
        {
            return Path.Combine(runtime, "dragon");
        }

        return Path.Combine(Path.GetTempPath(), $"dragon-{Native.getuid()}");
    }

    /// <summary>Creates the base directory (mode 0700) if it is missing, then checks it as <see cref="CheckBaseDirectory"/> does.</summary>
    public static void EnsureBaseDirectory(string path)
    {
        if (Inspect(path) is null)
        {
            try
            {
                Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UnsafeRunBaseException($"cannot create the run base directory {path}: {e.Message}");
            }
        }

        CheckBaseDirectory(path);
    }

    /// <summary>
    /// Refuses a base directory another user could tamper with: it must be a real directory (a symbolic link is not
    /// followed), owned by this user, and writable by no one else. Whoever controls it could rename a run's files,
    /// plant a run whose recorded pids <c>dragon cleanup</c> would kill, or unlink a live run's shared memory.
    /// </summary>
    public static void CheckBaseDirectory(string path)
    {
        var info = Inspect(path) ?? throw new UnsafeRunBaseException($"the run base directory {path} does not exist");
        var uid = (uint)Native.getuid();
        var type = info.Mode & Native.S_IFMT;
        var mode = info.Mode & 0xfff;
        string? reason = type == Native.S_IFLNK ? "is a symbolic link"
            : type != Native.S_IFDIR ? "is not a directory"
            : info.Uid != uid ? $"is owned by uid {info.Uid}, not by you (uid {uid})"
            : (mode & 0x12) != 0 ? "is writable by other users"
            : null;
        if (reason is not null)
        {
            throw new UnsafeRunBaseException(
                $"refusing the run base directory {path}: it {reason} (owner uid {info.Uid}, mode {Convert.ToString(mode, 8).PadLeft(4, '0')}); "
                + $"another user could tamper with your runs through it. Remove it, or set {BaseVariable} to a directory only you can write");
        }
    }

    /// <summary>True if anything (even a dangling symbolic link) is at <paramref name="path"/>.</summary>
    public static bool Exists(string path) => Inspect(path) is not null;

    /// <summary>lstat of a path (owner and mode), or null when it does not exist.</summary>
    private static (uint Uid, int Mode)? Inspect(string path)
    {
        if (Native.statx(Native.AT_FDCWD, path, Native.AT_SYMLINK_NOFOLLOW, Native.STATX_BASIC_STATS, out var stat) == 0)
        {
            return (stat.Uid, stat.Mode);
        }

        var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        return errno == Native.ENOENT
            ? null
            : throw new UnsafeRunBaseException($"cannot inspect the run base directory {path}: {Native.ErrorText(errno)}");
    }

    public static string NodeSocket(string runDir, int nodeIndex) => Path.Combine(runDir, $"node{nodeIndex}.sock");

    public static void RemoveShm(string runId)
    {
        var prefix = RuntimeEnvironment.ShmPrefix(runId);
        if (!Directory.Exists("/dev/shm"))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles("/dev/shm", prefix + "*"))
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}

/// <summary>A run base directory that is not safe to use; the message names it, the reason and what to do.</summary>
internal sealed class UnsafeRunBaseException(string message) : Exception(message);

/// <summary>A process named by pid and start time, so a recycled pid is never mistaken for it.</summary>
internal static class ProcessIdentity
{
    public static string Describe(int pid) => $"{pid} {StartTime(pid)}";

    /// <summary>
    /// A child described without reading /proc: its start time (which the kernel takes from CLOCK_BOOTTIME at
    /// fork, in clock ticks) lies between <paramref name="bootTicksBefore"/> and <paramref name="bootTicksAfter"/>,
    /// read around the spawn. A recycled pid starts later than that window.
    /// </summary>
    public static string DescribeSpawned(int pid, long bootTicksBefore, long bootTicksAfter) => $"{pid} {bootTicksBefore} {bootTicksAfter}";

    /// <summary>CLOCK_BOOTTIME in clock ticks (USER_HZ, 100 on Linux), the unit of /proc/pid/stat's start time.</summary>
    public static long BootTicks()
    {
        _ = Native.clock_gettime(Native.CLOCK_BOOTTIME, out var now);
        return (now.Seconds * 1_000_000_000 + now.Nanoseconds) / 10_000_000;
    }

    /// <summary>Start time in clock ticks since boot (field 22 of /proc/pid/stat), or 0 if the process is gone.</summary>
    public static long StartTime(int pid)
    {
        // Read into a stack buffer and parse the bytes: this runs for every process started (the cleanup record),
        // where File.ReadAllText and Split cost about 20 us each time.
        Span<byte> stat = stackalloc byte[1024];
        int length;
        try
        {
            using var handle = File.OpenHandle($"/proc/{pid}/stat");
            length = RandomAccess.Read(handle, stat, 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        // After the command name (which may hold spaces and parentheses) come fields 3, 4, ...; field 22 is the
        // start time, the 20th after the name.
        stat = stat[..length];
        var field = stat.LastIndexOf((byte)')') + 2;
        for (var skip = 0; skip < 19 && field > 1; skip++)
        {
            var space = stat[field..].IndexOf((byte)' ');
            field = space < 0 ? -1 : field + space + 1;
        }

        if (field <= 1)
        {
            return 0;
        }

        var end = stat[field..].IndexOf((byte)' ');
        return System.Buffers.Text.Utf8Parser.TryParse(end < 0 ? stat[field..] : stat.Slice(field, end), out long ticks, out _) ? ticks : 0;
    }

    /// <summary>True if the process described by a "pid starttime" line is still that same process.</summary>
    public static bool IsAlive(string description, out int pid)
    {
        // "pid start" (an exact start time) or "pid earliest latest" (a window read around the spawn).
        var parts = description.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        pid = 0;
        if (parts.Length is < 2 or > 3 || !int.TryParse(parts[0], out pid) || !long.TryParse(parts[1], out var earliest))
        {
            return false;
        }

        var latest = earliest;
        if (parts.Length == 3 && !long.TryParse(parts[2], out latest))
        {
            return false;
        }

        var now = StartTime(pid);
        return now != 0 && now >= earliest && now <= latest;
    }
}
