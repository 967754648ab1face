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

    /// <summary>Environment variable that moves every run directory elsewhere (tests use it).</summary>
    public const string BaseVariable = "DRAGON_RUN_BASE";

    public static string BaseDirectory() =>
        Environment.GetEnvironmentVariable(BaseVariable) is { Length: > 0 } custom
            ? custom
            : Path.Combine(Path.GetTempPath(), $"dragon-{Native.getuid()}");

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
