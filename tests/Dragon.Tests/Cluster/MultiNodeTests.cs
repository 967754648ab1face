using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Dragon.Tests.Infrastructure;
using Xunit;
using OsProcess = System.Diagnostics.Process;

namespace Dragon.Tests.Cluster;

/// <summary>
/// Runs over the fake cluster's four hosts (SSH and Slurm): the reference workflow, objects and an MPI job spanning
/// hosts, placement, lost nodes and a killed launcher, and links that cannot prove the run's secret. After each
/// test nothing of the run is left on any host.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed partial class MultiNodeTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);
    private readonly FakeCluster _cluster;
    private readonly DragonRun _dragon = new();

    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public MultiNodeTests(FakeCluster cluster, Xunit.Abstractions.ITestOutputHelper output)
    {
        _cluster = cluster;
        _output = output;
    }

    private string AllHosts => string.Join(',', _cluster.Hosts);

    private string Dragon(string args) => $"cd {Repo.Root} && DRAGON_RUN_BASE={_dragon.RunBase} {Repo.Dragon} {args}";

    private static string Workflow => Repo.Built("MpiWorkflow");

    private const string QuickMpi = "--producers 5 --concurrent 2 --ranks 2 --mpi-args '--warmup 5 -i 50'";

    [Fact]
    public void Ssh_WorkflowOverFourHosts_AllResultsArriveAndRanksSpread()
    {
        var result = _cluster.RunInHead(Dragon($"--hosts {AllHosts} {Workflow} {QuickMpi}"), s_timeout);
        AssertWorkflow(result);
    }

    [Fact]
    public void Ssh_WorkflowWithOpenMpiBenchmarkOverFourHosts_AllResultsArriveAndRanksSpread()
    {
        var result = _cluster.RunInHead(Dragon($"--hosts {AllHosts} {Workflow} {QuickMpi} --mpi-exe {Repo.MpiProgram("alltoall-openmpi")}"), s_timeout);
        AssertWorkflow(result);
    }

    [Fact]
    public void Slurm_SallocWorkflow_UsesEveryAllocatedNode()
    {
        var dir = Directory.CreateTempSubdirectory("dragon-salloc").FullName;
        try
        {
            var script = Path.Combine(dir, "run.sh");
            File.WriteAllText(script, $"#!/bin/bash\n{Dragon($"{Workflow} {QuickMpi}")}\n");
            AssertWorkflow(_cluster.RunInHead($"salloc -N 4 bash {script}", s_timeout));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Slurm_SbatchScriptCallingDragon_RunsTheWorkflow()
    {
        var dir = Directory.CreateTempSubdirectory("dragon-sbatch").FullName;
        try
        {
            var script = Path.Combine(dir, "job.sh");
            File.WriteAllText(script, $"#!/bin/bash\n{Dragon($"{Workflow} {QuickMpi}")}\n");
            // sbatch --wait polls slowly; watching the queue is quicker. A job still queued after 100 s fails with what
            // Slurm says about it and its nodes, rather than with a bare timeout.
            var result = _cluster.RunInHead(
                $"id=$(sbatch --parsable -N 4 -o {dir}/out.txt {script}) || exit 1; end=$((SECONDS + 100)); " +
                "while squeue -h -j $id 2>/dev/null | grep -q .; do " +
                "if [ $SECONDS -ge $end ]; then echo \"job $id still queued after 100 s\"; squeue -j $id -o '%i %T %r %N'; scontrol show job $id; sinfo -N -l; exit 1; fi; " +
                "sleep 0.2; done; echo sbatch-submitted=$id",
                s_timeout);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("sbatch-submitted=", result.Stdout, StringComparison.Ordinal);
            AssertWorkflow(new ClusterCommandResult(0, File.ReadAllText(Path.Combine(dir, "out.txt")), result.Stderr));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Slurm_PoolInsideAnAllocation_IsSizedFromTheGrantedCpus()
    {
        // Each fake host has 2 CPUs; -n 2 over 2 nodes grants one core on each (select/cons_tres, CR_Core), and
        // task/none sets no affinity mask, so only SLURM_CPUS_ON_NODE says what was granted: 2 workers, not 4.
        var dir = Directory.CreateTempSubdirectory("dragon-salloc-pool").FullName;
        try
        {
            var script = Path.Combine(dir, "run.sh");
            File.WriteAllText(script, $"#!/bin/bash\n{Dragon($"{Repo.TestApp} pool-sizing 2")}\n");
            var result = _cluster.RunInHead($"salloc -N 2 -n 2 bash {script}", s_timeout);
            AssertPassed(result);
            Assert.Contains("the default pool has 2 workers, one per granted CPU", result.Stdout, StringComparison.Ordinal);
            Assert.Contains("workers on every node", result.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Objects_QueueEventBarrierUsedOnAllFourHosts()
    {
        var result = _cluster.RunInHead(Dragon($"--hosts {AllHosts} {Repo.TestApp} objects-all-nodes"), s_timeout);
        AssertPassed(result);
        Assert.Contains("100 items from every node", result.Stdout, StringComparison.Ordinal);
        foreach (var host in _cluster.Hosts)
        {
            Assert.Contains($"worker on {host} exited 0", result.Stdout, StringComparison.Ordinal);
        }
    }

    /// <summary>The cancel property (no loss, no duplicate, per-producer order) with the queue on another host.</summary>
    [Fact]
    public void Queue_RandomPutGetCancelAcrossTwoHosts_NoLossNoDuplicatePerProducerOrder()
    {
        var directory = Path.Combine(Repo.Root, "artifacts", "cluster-plans");
        Directory.CreateDirectory(directory);
        Channels.CancelPropertyTests.CheckPlans(
            10,
            (planPath, resultPath) => AssertPassed(_cluster.RunInHead(Dragon($"--hosts n1,n2 {Repo.TestApp} cancel-plan {planPath} {resultPath}"), TimeSpan.FromSeconds(240))),
            directory,
            _output);
    }

    [Fact]
    public void Mpi_TwoRanksOnDifferentHosts_FormOneJob()
    {
        var result = _cluster.RunInHead(Dragon($"--hosts n1,n2 {Repo.TestApp} mpi-hello {Repo.MpiProgram("mpitest")} spread"), s_timeout);
        AssertPassed(result);
        // The spread starts at the least busy node: n2, since the head runs on n1.
        Assert.Contains("member 0 on n2 says 'rank=0 size=2 host=n2'", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("member 1 on n1 says 'rank=1 size=2 host=n1'", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Placement_PinnedRoundRobinAndUnknownHost()
    {
        var result = _cluster.RunInHead(Dragon($"--hosts {AllHosts} {Repo.TestApp} placement n3"), s_timeout);
        AssertPassed(result);
        Assert.Contains("a template pinned to n3 ran on n3", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("put 2 on each node (", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("really ran on host n4", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("CPU affinity applied on n3", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("no node named 'no-such-host'", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_OfEveryNode_ReachesTheLauncherLabelled()
    {
        var result = _cluster.RunInHead(Dragon($"--label --hosts {AllHosts} {Repo.TestApp} output-every-node"), s_timeout);
        AssertPassed(result);
        foreach (var host in _cluster.Hosts)
        {
            Assert.Matches($@"\[\d+@{host}\] hello from {host}", result.Stdout);
        }
    }

    [Fact]
    public void HeadNodeLost_RunEndsWithAMessageAndNothingLeft()
    {
        using var dragon = StartInHead(Dragon($"--hosts {AllHosts} {Repo.TestApp} sleepers 4"));
        WaitForLine(dragon, "READY");
        Assert.True(_cluster.KillOnHost("n1", "dragon _node") >= 1, "no node service on n1");
        Assert.True(dragon.WaitForExit(30_000), "the run did not end after its head's node was lost");
        Assert.NotEqual(0, dragon.ExitCode);
        Assert.Contains("the head program's node n1 was lost", dragon.StandardError.ReadToEnd(), StringComparison.Ordinal);
        var cleanup = _cluster.RunInHead(Dragon($"cleanup --hosts {AllHosts}"), s_timeout);
        Assert.True(cleanup.ExitCode == 0, cleanup.ToString());
        AssertClusterClean();
    }

    [Fact]
    public void Ssh_FanOutTree_EveryHostComesUpThroughAnother()
    {
        // Width 1: the launcher starts n1, n1 starts n2, n2 starts n3, n3 starts n4.
        var result = _cluster.RunInHead($"export DRAGON_FANOUT=1; {Dragon($"--hosts {AllHosts} {Repo.TestApp} system-info")}", s_timeout);
        AssertPassed(result);
        foreach (var (host, index) in _cluster.Hosts.Select((h, i) => (h, i)))
        {
            Assert.Contains($"NODE {index} {host} cpus=", result.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Hosts_UnknownHost_FailsBringUpNamingIt()
    {
        var result = _cluster.RunInHead(Dragon("--hosts n1,nosuchhost /bin/true"), s_timeout);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("nosuchhost", result.Stderr, StringComparison.Ordinal);
        AssertClusterClean();
    }

    [Fact]
    public void Ssh_FanOutTree_UnknownHostBelowTheFirstLevel_FailsAtOnceNamingIt()
    {
        // Width 1: n1 starts nosuchhost, so its failure reaches the launcher only through n1.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = _cluster.RunInHead($"export DRAGON_FANOUT=1; {Dragon("--hosts n1,nosuchhost /bin/true")}", s_timeout);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("did not come up on nosuchhost", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("ssh from n1 exited with code", result.Stderr, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed.TotalSeconds:F1} s; the bring-up timeout is 60 s");
        AssertClusterClean();
    }

    [Fact]
    public void NodeServiceKilled_ReportedAsNodeLostWithinFiveSeconds() =>
        LoseNode(host => Assert.True(_cluster.KillOnHost(host, "dragon _node") >= 1, "no node service to kill"));

    [Fact]
    public void HostLinkDown_ReportedAsNodeLostWithinFiveSeconds() => LoseNode(_cluster.SetLinkDown);

    private void LoseNode(Action<string> takeAway)
    {
        using var dragon = StartInHead(Dragon($"--hosts {AllHosts} {Repo.TestApp} lose-node 2"));
        WaitForLine(dragon, "READY n3");
        try
        {
            takeAway("n3");
            var output = dragon.StandardOutput.ReadToEnd();
            Assert.True(dragon.WaitForExit(60_000), "dragon did not finish");
            Assert.True(dragon.ExitCode == 0, output + dragon.StandardError.ReadToEnd());
            Assert.DoesNotContain("FAIL", output, StringComparison.Ordinal);
            var detected = double.Parse(DetectedLine().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.True(detected < 5.0, $"the loss was reported after {detected} s");
            Assert.Contains("node lost: n3", output, StringComparison.Ordinal);
        }
        finally
        {
            _cluster.SetLinkUp("n3");
        }

        // What ran on the lost host ended with its node service (it stops everything when the launcher is gone);
        // cleanup reaches every host for whatever a killed service could not stop.
        var cleanup = _cluster.RunInHead(Dragon($"cleanup --hosts {AllHosts}"), s_timeout);
        Assert.True(cleanup.ExitCode == 0, cleanup.ToString());
        AssertClusterClean();
    }

    [Fact]
    public void LauncherKilled_CleanupOnEveryHostLeavesNothing()
    {
        using var dragon = StartInHead(Dragon($"--hosts {AllHosts} {Repo.TestApp} sleepers 8"));
        WaitForLine(dragon, "READY");
        Assert.True(_dragon.LiveProcessesOfRuns().Length >= 9, "the sleepers should be running on the hosts");
        Assert.True(KillLauncher(dragon), "no launcher to kill");
        dragon.WaitForExit(30_000);
        var cleanup = _cluster.RunInHead(Dragon($"cleanup --hosts {AllHosts}"), s_timeout);
        Assert.True(cleanup.ExitCode == 0, cleanup.ToString());
        // The launcher's own run directory is on the head; a cleanup there removes it.
        Assert.Equal(0, _cluster.RunInHead(Dragon("cleanup"), s_timeout).ExitCode);
        AssertClusterClean();
    }

    [Fact]
    public void Link_WithoutTheSecret_IsRefusedLoggedAndCannotAct()
    {
        var cwd = Directory.CreateTempSubdirectory("dragon-security").FullName;
        try
        {
            using var dragon = StartInHead($"cd {cwd} && DRAGON_RUN_BASE={_dragon.RunBase} {Repo.Dragon} -l warning --hosts {AllHosts} {Repo.TestApp} sleepers 4");
            WaitForLine(dragon, "READY");
            var ports = _cluster.RunOnHost("n2", "ss -ltnpH | grep '\"dragon\"' | awk '{print $4}' | sed 's/.*://'", s_timeout).Lines;
            Assert.NotEmpty(ports);
            foreach (var port in ports)
            {
                // A client that answers the challenge with garbage, and one that skips it and sends a control frame.
                var probe = _cluster.RunInHead(
                    $"python3 -c \"import socket,os\nfor payload in (os.urandom(68), bytes([40,0,0,0])+bytes(8)+bytes([4])+bytes(31)):\n s=socket.create_connection(('{_cluster.AddressOf("n2")}',{port}),5); s.settimeout(20)\n try:\n  s.recv(32); s.sendall(payload); print('closed' if s.recv(100)==b'' else 'answered')\n except (ConnectionResetError, socket.timeout) as e: print('closed' if isinstance(e, ConnectionResetError) else 'timeout')\n s.close()\"",
                    s_timeout);
                Assert.True(probe.Lines.Length == 2 && probe.Lines.All(l => l == "closed"), $"port {port}: {probe}");
            }

            Assert.False(dragon.HasExited, "the run must go on after refused connections");
            KillLauncher(dragon, signal: 15);
            Assert.True(dragon.WaitForExit(60_000));
            var logs = Directory.GetDirectories(cwd, "dragon-logs-*").Single();
            var refused = Directory.GetFiles(logs).Select(File.ReadAllText).Where(t => t.Contains("refused a link", StringComparison.Ordinal)).ToArray();
            Assert.NotEmpty(refused);
            AssertClusterClean();
        }
        finally
        {
            Directory.Delete(cwd, recursive: true);
        }
    }

    private void AssertWorkflow(ClusterCommandResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        var rows = ResultRow().Matches(result.Stdout).Select(m => (Producer: int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Size: int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))).ToList();
        for (var producer = 0; producer < 5; producer++)
        {
            Assert.True(rows.Count(r => r.Producer == producer) == 13, $"producer {producer}: {rows.Count(r => r.Producer == producer)} results\n{result}");
            var nodes = NodeLine().Matches(result.Stdout).Where(m => m.Groups[1].Value == producer.ToString(CultureInfo.InvariantCulture)).Select(m => m.Groups[2].Value).Distinct().Count();
            Assert.True(nodes > 1, $"producer {producer}'s ranks were on {nodes} node(s)\n{result}");
        }

        Assert.Contains("main: all 5 producers finished", result.Stdout, StringComparison.Ordinal);
        AssertClusterClean();
    }

    private void AssertPassed(ClusterCommandResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("FAIL", result.Stdout, StringComparison.Ordinal);
        AssertClusterClean();
    }

    /// <summary>No process, run directory or shared-memory file of this test's runs on any host.</summary>
    private void AssertClusterClean()
    {
        _dragon.AssertNothingLeft();
        foreach (var host in _cluster.Hosts)
        {
            var shm = _cluster.RunInHostNamespaces(host, "ls /dev/shm | grep '^dragon-' || true", TimeSpan.FromSeconds(30));
            Assert.True(shm.Stdout.Trim().Length == 0, $"{host} still has /dev/shm files: {shm.Stdout}");
        }
    }

    private static OsProcess StartInHead(string command)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(Repo.Root, "tests", "cluster", "cluster.sh"), "head", "bash", "-c", command])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        return OsProcess.Start(start)!;
    }

    private static void WaitForLine(OsProcess process, string prefix)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            var line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("dragon ended early: " + process.StandardError.ReadToEnd());
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return;
            }
        }

        throw new TimeoutException($"no line starting with '{prefix}'");
    }

    /// <summary>Signals the launcher (the dragon process under the `cluster.sh head` wrapper).</summary>
    private static bool KillLauncher(OsProcess wrapper, int signal = 9)
    {
        var launchers = Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
            .Where(pid => pid > 0 && IsLauncherUnder(pid, wrapper.Id))
            .ToArray();
        foreach (var pid in launchers)
        {
            _ = Launcher.Native.Kill(pid, signal);
        }

        return launchers.Length > 0;
    }

    private static bool IsLauncherUnder(int pid, int ancestor)
    {
        try
        {
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
            if (!cmdline.StartsWith(Repo.Dragon + " ", StringComparison.Ordinal) || cmdline.Contains(" _node ", StringComparison.Ordinal))
            {
                return false;
            }

            if (pid == ancestor)
            {
                return true;
            }

            for (var p = pid; p > 1;)
            {
                var stat = File.ReadAllText($"/proc/{p}/stat");
                p = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                if (p == ancestor)
                {
                    return true;
                }
            }
        }
        catch (IOException)
        {
        }

        return false;
    }

    public void Dispose() => _dragon.Dispose();

    [GeneratedRegex(@"producer=(\d+) size=(\d+) latency_us=[\d.]+")]
    private static partial Regex ResultRow();

    [GeneratedRegex(@"producer (\d+): node (\S+) has \d+ ranks")]
    private static partial Regex NodeLine();

    [GeneratedRegex(@"DETECTED ([\d.]+)")]
    private static partial Regex DetectedLine();
}
