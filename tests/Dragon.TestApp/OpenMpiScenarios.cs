namespace Dragon.TestApp;

/// <summary>Open MPI jobs as process groups, served PMIx by the node services (tests/mpi/mpitest.c built with mpicc.openmpi).</summary>
public static class OpenMpiScenarios
{
    // What would mean the job was wired up by a launcher of Open MPI's or MPICH's own, not by the runtime.
    private static readonly string[] s_launchers = ["mpirun", "mpiexec", "orterun", "orted", "prterun", "prted", "prte", "hydra_pmi_proxy"];

    /// <summary>A 2-rank allreduce on one node (or spread over two): one job of size 2, the sum right, no launcher process ever seen.</summary>
    public static int Allreduce(string mpitest, Pmi pmi, bool spread)
    {
        var group = new ProcessGroup(pmi: pmi);
        group.AddProcess(2, ProcessTemplate.Executable(mpitest, "allreduce") with { Stdout = Stdio.Pipe, Policy = spread ? Policy.RoundRobin : Policy.OnNode(0) });
        using var watch = new LauncherWatch();
        group.Start();
        var members = group.GetProcesses();
        for (var rank = 0; rank < 2; rank++)
        {
            var lines = members[rank].Stdout!.ReadAllAsync<string>().ToBlockingEnumerable().ToList();
            var line = lines.SingleOrDefault(l => l.StartsWith("rank=", StringComparison.Ordinal)) ?? string.Join(" | ", lines);
            Check.That(line == $"rank={rank} size=2 sum=3", $"member {rank} on {members[rank].Node.Name} says '{line}'");
        }

        Check.That(group.TryJoin(TimeSpan.FromSeconds(60)), "the job finished");
        Check.That(group.GetStatus().ExitStatus.All(s => s.ExitCode == 0), "every rank exited 0");
        var nodes = members.Select(m => m.Node.Index).Distinct().Count();
        Check.That(nodes == (spread ? 2 : 1), $"ranks ran on {nodes} node(s)");
        group.Close();
        Check.That(watch.Seen.Count == 0, $"no MPI launcher process ran during the job ({watch.Scans} /proc scans; seen: {string.Join(", ", watch.Seen)})");
        return 0;
    }

    /// <summary>An MPICH job (PMI-1) and an Open MPI job (PMIx) at once, both chosen by Pmi.Auto: each forms its own job of size 2.</summary>
    public static int BesideMpich(string mpichTest, string openMpiTest)
    {
        var mpich = new ProcessGroup(pmi: Pmi.Auto);
        mpich.AddProcess(2, ProcessTemplate.Executable(mpichTest, "allreduce") with { Stdout = Stdio.Pipe, Policy = Policy.OnNode(0) });
        var openMpi = new ProcessGroup(pmi: Pmi.Auto);
        openMpi.AddProcess(2, ProcessTemplate.Executable(openMpiTest, "allreduce") with { Stdout = Stdio.Pipe, Policy = Policy.OnNode(0) });
        mpich.Start();
        openMpi.Start();
        foreach (var (name, group) in new[] { ("MPICH", mpich), ("Open MPI", openMpi) })
        {
            var members = group.GetProcesses();
            for (var rank = 0; rank < 2; rank++)
            {
                var lines = members[rank].Stdout!.ReadAllAsync<string>().ToBlockingEnumerable().ToList();
                var line = lines.SingleOrDefault(l => l.StartsWith("rank=", StringComparison.Ordinal)) ?? string.Join(" | ", lines);
                Check.That(line == $"rank={rank} size=2 sum=3", $"{name} member {rank} says '{line}'");
            }
        }

        Check.That(mpich.TryJoin(TimeSpan.FromSeconds(60)) && openMpi.TryJoin(TimeSpan.FromSeconds(60)), "both jobs finished");
        Check.That(mpich.GetStatus().ExitStatus.Concat(openMpi.GetStatus().ExitStatus).All(s => s.ExitCode == 0), "every rank of both jobs exited 0");
        mpich.Close();
        openMpi.Close();
        return 0;
    }

    /// <summary>Pmi.Auto on a program that links no MPI library: a clear error naming the file, and nothing started.</summary>
    public static int AutoUnknown()
    {
        var group = new ProcessGroup(pmi: Pmi.Auto);
        group.AddProcess(2, ProcessTemplate.Executable("/bin/true"));
        var e = Check.Throws<ArgumentException>(group.Start, "Pmi.Auto refuses a program that links no MPI library");
        Check.That(e.Message.Contains("/bin/true", StringComparison.Ordinal) && e.Message.Contains("Pmi.Simple or Pmi.Pmix", StringComparison.Ordinal),
            $"the error names the file and the choices: {e.Message}");
        return 0;
    }

    /// <summary>Scans /proc every few milliseconds until disposed, recording any MPI launcher process it sees.</summary>
    private sealed class LauncherWatch : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly HashSet<string> _seen = [];

        public LauncherWatch() => _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Scan();
                Scans++;
                await Task.Delay(5).ConfigureAwait(false);
            }
        });

        public int Scans { get; private set; }

        public IReadOnlyCollection<string> Seen
        {
            get
            {
                _stop.Cancel();
                _loop.Wait();
                return _seen;
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _loop.Wait();
            _stop.Dispose();
        }

        private void Scan()
        {
            foreach (var directory in Directory.EnumerateDirectories("/proc"))
            {
                if (!char.IsAsciiDigit(Path.GetFileName(directory)[0]))
                {
                    continue;
                }
                try
                {
                    var comm = File.ReadAllText(Path.Combine(directory, "comm")).Trim();
                    if (s_launchers.Any(l => comm.StartsWith(l, StringComparison.Ordinal)))
                    {
                        _seen.Add($"{comm} (pid {Path.GetFileName(directory)})");
                    }
                }
                catch (IOException)
                {
                }
            }
        }
    }
}
