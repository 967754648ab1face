using System.Globalization;

namespace Dragon.Bench.Driver;

/// <summary>
/// Finds what the benchmark's runs left behind: processes of our runs (by their DRAGON_RUN_ID), peer processes
/// started since the driver began (Python multiprocessing children and trackers, Hydra proxies), shared-memory
/// files of our runs or of Python's multiprocessing, and run directories.
/// </summary>
internal sealed class LeakCheck
{
    private static readonly string[] s_peerMarkers = ["bench/peers/", "multiprocessing", "hydra_pmi_proxy", "mpiexec"];
    private static readonly string[] s_pythonShmPrefixes = ["sem.mp-", "psm_", "wnsm_", "mp-"];

    private readonly HashSet<string> _runIds = new(StringComparer.Ordinal);
    private readonly HashSet<string> _runDirs = new(StringComparer.Ordinal);
    private readonly long _driverStart = Stat("self").Start;
    private readonly DateTime _wallStart = DateTime.UtcNow;

    public void AddRun(string? runId, string? runDir)
    {
        if (!string.IsNullOrEmpty(runId))
        {
            _runIds.Add(runId);
        }

        if (!string.IsNullOrEmpty(runDir))
        {
            _runDirs.Add(runDir);
        }
    }

    public int RunCount => _runIds.Count;

    /// <summary>Leftovers, polled for up to <paramref name="grace"/> since trackers and reapers exit a moment late.</summary>
    public IReadOnlyList<string> Find(TimeSpan grace)
    {
        var deadline = DateTime.UtcNow + grace;
        while (true)
        {
            var found = FindNow();
            if (found.Count == 0 || DateTime.UtcNow >= deadline)
            {
                return found;
            }

            Thread.Sleep(100);
        }
    }

    private List<string> FindNow()
    {
        var found = new List<string>();
        foreach (var file in Directory.EnumerateFileSystemEntries("/dev/shm"))
        {
            var name = Path.GetFileName(file);
            if (_runIds.Any(id => name.StartsWith("dragon-" + id, StringComparison.Ordinal))
                || (s_pythonShmPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)) && File.GetLastWriteTimeUtc(file) >= _wallStart))
            {
                found.Add($"shared-memory file {file}");
            }
        }

        found.AddRange(_runDirs.Where(Directory.Exists).Select(d => $"run directory {d}"));
        var self = Environment.ProcessId;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == self)
            {
                continue;
            }

            try
            {
                var environ = File.ReadAllText(Path.Combine(dir, "environ"));
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim();
                var ours = _runIds.Any(id => environ.Contains("DRAGON_RUN_ID=" + id + "\0", StringComparison.Ordinal));
                // A leaked peer process is an orphan (or still our child); others' live processes are neither.
                var (start, parent) = Stat(pid.ToString(CultureInfo.InvariantCulture));
                var peer = start >= _driverStart && (parent == 1 || parent == self)
                    && s_peerMarkers.Any(m => cmdline.Contains(m, StringComparison.Ordinal));
                if (ours || peer)
                {
                    found.Add($"process {pid}: {cmdline}");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or a kernel thread.
            }
        }

        return found;
    }

    /// <summary>
    /// Start time in clock ticks since boot and parent pid (fields 22 and 4 of /proc/PID/stat);
    /// (long.MaxValue, 0) when unreadable.
    /// </summary>
    private static (long Start, int Parent) Stat(string pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[19], CultureInfo.InvariantCulture), int.Parse(fields[1], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return (long.MaxValue, 0);
        }
    }
}
