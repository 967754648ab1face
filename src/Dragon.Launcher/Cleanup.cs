using Dragon.Services.Runtime;
using Dragon.Services.Spawning;

namespace Dragon.Launcher;

/// <summary><c>dragon cleanup</c>: removes what runs whose launcher is gone left behind.</summary>
internal static class Cleanup
{
    public static int Run(IReadOnlyList<string> args)
    {
        var dryRun = false;
        foreach (var arg in args)
        {
            dryRun = arg switch
            {
                "--dry-run" or "-n" => true,
                _ => throw new UsageException($"unknown cleanup option '{arg}'"),
            };
        }

        var root = RunLayout.BaseDirectory();
        if (!Directory.Exists(root))
        {
            Console.WriteLine("nothing to clean up");
            return 0;
        }

        var found = 0;
        foreach (var runDir in Directory.EnumerateDirectories(root))
        {
            var owner = Path.Combine(runDir, RunLayout.OwnerFile);
            if (File.Exists(owner) && ProcessIdentity.IsAlive(File.ReadAllText(owner).Trim(), out _))
            {
                continue;
            }

            found++;
            var runId = Path.GetFileName(runDir);
            var processes = File.Exists(Path.Combine(runDir, RunLayout.ProcessesFile))
                ? File.ReadAllLines(Path.Combine(runDir, RunLayout.ProcessesFile))
                : [];
            var alive = processes.Select(line => ProcessIdentity.IsAlive(line, out var pid) ? pid : 0).Where(pid => pid > 0).ToArray();
            Console.WriteLine($"run {runId}: {alive.Length} process(es) alive, run directory {runDir}");
            if (dryRun)
            {
                foreach (var pid in alive)
                {
                    Console.WriteLine($"  would kill process group {pid}");
                }

                continue;
            }

            foreach (var pid in alive)
            {
                // Each child leads its own session: kill the whole group, then the pid itself in case it left it.
                _ = Native.kill(-pid, Signals.SIGKILL);
                _ = Native.kill(pid, Signals.SIGKILL);
            }

            RunLayout.RemoveShm(runId);
            Directory.Delete(runDir, recursive: true);
        }

        if (found == 0)
        {
            Console.WriteLine("nothing to clean up");
        }

        return 0;
    }
}
