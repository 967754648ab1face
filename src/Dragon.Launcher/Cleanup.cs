using Dragon.Services.Runtime;
using Dragon.Services.Spawning;

namespace Dragon.Launcher;

/// <summary><c>dragon cleanup</c>: removes what runs whose launcher is gone left behind.</summary>
internal static class Cleanup
{
    /// <summary>Runs <c>dragon cleanup</c> on every host over SSH, in parallel; prints each host's report.</summary>
    private static int OnHosts(string[] hosts, bool dryRun)
    {
        var exe = Environment.GetEnvironmentVariable("DRAGON_REMOTE_EXE") ?? Environment.ProcessPath!;
        var runs = hosts.Select(host =>
        {
            // A run base set here is used on every host too; otherwise each host applies the same rule.
            var start = new System.Diagnostics.ProcessStartInfo("ssh", ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", host, "exec", "env", .. RunLayout.ExplicitBase() is { } runBase ? new[] { $"{RunLayout.BaseVariable}={runBase}" } : [], exe, "cleanup", .. dryRun ? new[] { "--dry-run" } : []])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            var process = System.Diagnostics.Process.Start(start)!;
            return (Host: host, Process: process, Output: process.StandardOutput.ReadToEndAsync(), Error: process.StandardError.ReadToEndAsync());
        }).ToArray();
        var failed = 0;
        foreach (var (host, process, output, error) in runs)
        {
            process.WaitForExit();
            foreach (var line in output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Console.WriteLine($"{host}: {line}");
            }

            if (process.ExitCode != 0)
            {
                failed++;
                Console.Error.WriteLine($"{host}: cleanup failed (exit {process.ExitCode}): {error.Result.Trim()}");
            }

            process.Dispose();
        }

        return failed == 0 ? 0 : 1;
    }

    private static string? ReadQuietly(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The processes a run directory records that are still those same processes (pid and start time).</summary>
    public static int[] AliveProcesses(string runDir)
    {
        var processes = ReadQuietly(Path.Combine(runDir, RunLayout.ProcessesFile))?.Split('\n', StringSplitOptions.RemoveEmptyEntries) ?? [];
        return processes.Select(line => ProcessIdentity.IsAlive(line, out var pid) ? pid : 0).Where(pid => pid > 0).ToArray();
    }

    /// <summary>Kills the process groups of <paramref name="alive"/>, then removes the run's shared memory and its directory.</summary>
    public static void RemoveRun(string runDir, int[] alive)
    {
        foreach (var pid in alive)
        {
            // Each child leads its own session: kill the whole group, then the pid itself in case it left it.
            _ = Native.kill(-pid, Signals.SIGKILL);
            _ = Native.kill(pid, Signals.SIGKILL);
        }

        // "RUN" holds a whole run's files on one machine, "RUN.nK" one node's (shared memory "RUN-nK-...").
        var runId = Path.GetFileName(runDir);
        RunLayout.RemoveShm(runId.Split('.')[0] + (runId.Contains('.', StringComparison.Ordinal) ? "-" + runId.Split('.')[1] : string.Empty));
        try
        {
            Directory.Delete(runDir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Removed meanwhile (by its owner at the end of the run, or by another cleanup).
        }
    }

    public static int Run(IReadOnlyList<string> args)
    {
        var dryRun = false;
        string[] hosts = [];
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--dry-run" or "-n":
                    dryRun = true;
                    break;
                case "--hosts" when i + 1 < args.Count:
                    hosts = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                default:
                    throw new UsageException($"unknown cleanup option '{args[i]}'");
            }
        }

        if (hosts.Length > 0)
        {
            return OnHosts(hosts, dryRun);
        }

        var root = RunLayout.BaseDirectory();
        if (!RunLayout.Exists(root))
        {
            Console.WriteLine("nothing to clean up");
            return 0;
        }

        // Only a base directory no one else can write holds run directories worth trusting (pids to kill).
        RunLayout.CheckBaseDirectory(root);

        var found = 0;
        var thisHost = RunLayout.ThisHost();
        foreach (var runDir in Directory.EnumerateDirectories(root))
        {
            // Run directories of other hosts (a shared /tmp) record pids that mean nothing here.
            var hostFile = Path.Combine(runDir, RunLayout.HostFile);
            if (File.Exists(hostFile) && ReadQuietly(hostFile) is { } host && host != thisHost)
            {
                continue;
            }

            var owner = Path.Combine(runDir, RunLayout.OwnerFile);
            if (File.Exists(owner) && ReadQuietly(owner) is { } ownerText && ProcessIdentity.IsAlive(ownerText, out _))
            {
                continue;
            }

            found++;
            var alive = AliveProcesses(runDir);
            Console.WriteLine($"run {Path.GetFileName(runDir)}: {alive.Length} process(es) alive, run directory {runDir}");
            if (dryRun)
            {
                foreach (var pid in alive)
                {
                    Console.WriteLine($"  would kill process group {pid}");
                }

                continue;
            }

            RemoveRun(runDir, alive);
        }

        if (found == 0)
        {
            Console.WriteLine("nothing to clean up");
        }

        return 0;
    }
}
