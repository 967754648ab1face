using Xunit;
using System.Diagnostics;
using System.Text;

namespace Dragon.Tests.Infrastructure;

/// <summary>The outcome of one <c>dragon</c> command.</summary>
internal sealed record RunResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public string[] Lines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Assertions on the CHECK lines a scenario of the test app prints.</summary>
internal static class RunResultChecks
{
    /// <summary>Every given text appears in some CHECK line.</summary>
    public static void AssertHas(RunResult result, params string[] checks)
    {
        foreach (var check in checks)
        {
            Assert.True(
                result.Lines.Any(l => l.StartsWith("CHECK", StringComparison.Ordinal) && l.Contains(check, StringComparison.Ordinal)),
                $"no CHECK line contains '{check}'\n{result}");
        }
    }
}

/// <summary>
/// Runs the real <c>dragon</c> launcher with its run directories under a private base directory, and checks
/// afterwards that the run left nothing: no run directory, no process, no shared-memory file.
/// </summary>
internal sealed class DragonRun : IDisposable
{
    private readonly HashSet<string> _shmBefore = ShmFiles();
    private readonly HashSet<string> _runIds = [];
    private readonly FileSystemWatcher _watcher;

    public DragonRun()
    {
        RunBase = Path.Combine(Path.GetTempPath(), "dragon-tests", Guid.NewGuid().ToString("N")[..12]);

        // dragon refuses a base directory others could write; make this one private whatever the umask.
        Directory.CreateDirectory(RunBase, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // Run ids of this test's runs (their directories appear here), so leaks are judged per run even when
        // other runs share the machine.
        _watcher = new FileSystemWatcher(RunBase) { NotifyFilter = NotifyFilters.DirectoryName, EnableRaisingEvents = true };
        _watcher.Created += (_, e) =>
        {
            lock (_runIds)
            {
                _runIds.Add(e.Name!.Split('.')[0]);
            }
        };
    }

    /// <summary>Where this test's runs keep their directories (DRAGON_RUN_BASE).</summary>
    public string RunBase { get; }

    public RunResult Run(TimeSpan timeout, params string[] args) => RunWithEnv(timeout, null, args);

    /// <summary>
    /// Runs a scenario program that checks itself: it must exit 0 without a FAIL line, and leave nothing behind.
    /// </summary>
    public RunResult RunScenario(TimeSpan timeout, params string[] args)
    {
        var result = Run(timeout, args);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("FAIL", result.Stdout, StringComparison.Ordinal);
        AssertNothingLeft();
        return result;
    }

    public RunResult RunWithEnv(TimeSpan timeout, IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        using var process = StartDragon(args, env);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        if (!process.WaitForExit(timeout))
        {
            // The launcher alone, as a crash would: its fences then stop the run and remove its files, where killing
            // the whole tree (fences included) would leave /dev/shm files that fail the tests after this one.
            process.Kill();
            process.WaitForExit();
            WaitForRunsToEnd(TimeSpan.FromSeconds(10));
            throw new TimeoutException($"dragon {string.Join(' ', args)} did not finish in {timeout}\n{stdout}\n{stderr}");
        }

        process.WaitForExit();
        return new RunResult(process.ExitCode, stdout.ToString(), stderr.ToString(), clock.Elapsed);
    }

    /// <summary>Starts dragon without waiting; the caller reads and ends it.</summary>
    public System.Diagnostics.Process StartDragon(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var info = new ProcessStartInfo(Repo.Dragon)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DRAGON_RUN_BASE"] = RunBase;
        foreach (var (key, value) in env ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return System.Diagnostics.Process.Start(info) ?? throw new InvalidOperationException("cannot start dragon");
    }

    /// <summary>
    /// Pids of live processes that belong to a run of this test: processes the runs started (their environment
    /// names a run directory under the run base), and the runs' node services and fences (named on their command line).
    /// </summary>
    public int[] LiveProcessesOfRuns()
    {
        var marker = Encoding.UTF8.GetBytes("DRAGON_RUN_DIR=" + RunBase + "/");
        var service = Encoding.UTF8.GetBytes(RunBase);
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var environ = File.ReadAllBytes(Path.Combine(dir, "environ"));
                var cmdline = File.ReadAllBytes(Path.Combine(dir, "cmdline"));
                var isRuntime = cmdline.AsSpan().IndexOf("\0_fence\0"u8) >= 0 || cmdline.AsSpan().IndexOf("\0_node\0"u8) >= 0;
                if ((environ.AsSpan().IndexOf(marker) >= 0 || (isRuntime && cmdline.AsSpan().IndexOf(service) >= 0)) && !IsZombie(pid))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return found.ToArray();
    }

    /// <summary>Waits (bounded) until no process of this test's runs is alive; what is left, Dispose kills.</summary>
    private void WaitForRunsToEnd(TimeSpan patience)
    {
        var deadline = Stopwatch.StartNew();
        while (LiveProcessesOfRuns().Length > 0 && deadline.Elapsed < patience)
        {
            Thread.Sleep(50);
        }
    }

    /// <summary>Asserts the runs of this test left nothing behind (waiting briefly for the kernel to reap).</summary>
    public void AssertNothingLeft()
    {
        var deadline = Stopwatch.StartNew();
        int[] alive;
        while ((alive = LiveProcessesOfRuns()).Length > 0 && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            Thread.Sleep(50);
        }

        Assert.True(alive.Length == 0, $"processes of the run still alive: {string.Join(", ", alive.Select(Describe))}");
        var dirs = Directory.Exists(RunBase) ? Directory.GetFileSystemEntries(RunBase) : [];
        Assert.True(dirs.Length == 0, $"run directories left: {string.Join(", ", dirs)}");
        string[] ids;
        lock (_runIds)
        {
            ids = _runIds.ToArray();
        }

        var leaked = ShmFiles().Except(_shmBefore).Where(f => ids.Any(id => f.StartsWith($"dragon-{id}-", StringComparison.Ordinal))).ToArray();
        Assert.True(leaked.Length == 0, $"shared-memory files left: {string.Join(", ", leaked)}");
    }

    /// <summary>Pids of the fences and node services of this test's runs (dragon _fence / _node with a run directory here).</summary>
    public int[] RuntimeProcesses(string command)
    {
        var argument = Encoding.UTF8.GetBytes("\0" + command + "\0");
        var service = Encoding.UTF8.GetBytes(RunBase);
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid))
            {
                try
                {
                    var cmdline = File.ReadAllBytes(Path.Combine(dir, "cmdline"));
                    if (cmdline.AsSpan().IndexOf(argument) >= 0 && cmdline.AsSpan().IndexOf(service) >= 0 && !IsZombie(pid))
                    {
                        found.Add(pid);
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                }
            }
        }

        return found.ToArray();
    }

    public void Dispose()
    {
        _watcher.Dispose();
        foreach (var pid in LiveProcessesOfRuns())
        {
            try
            {
                System.Diagnostics.Process.GetProcessById(pid).Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
            }
        }

        try
        {
            Directory.Delete(RunBase, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private static HashSet<string> ShmFiles() =>
        Directory.Exists("/dev/shm")
            ? Directory.EnumerateFiles("/dev/shm", "dragon-*").Select(Path.GetFileName).OfType<string>().ToHashSet()
            : [];

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] == 'Z';
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static string Describe(int pid)
    {
        try
        {
            return $"{pid} ({File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim()})";
        }
        catch (IOException)
        {
            return pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
