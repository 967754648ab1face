using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Hardening;

/// <summary>A node service killed under a run whose head holds an object on it: requests fail at once, never hang.</summary>
public sealed class NodeLossTests : IDisposable
{
    private readonly DragonRun _dragon = new();

    public void Dispose() => _dragon.Dispose();

    [Fact]
    public void ObjectRequest_HomeNodeServiceKilled_FailsAtOnceWithNodeLost()
    {
        using var run = new HostileRun(_dragon, ["--wlm", "fork", "--local-nodes", "2"], "object-on-lost-node");
        var victim = NodeServicePid(1);
        System.Diagnostics.Process.GetProcessById(victim).Kill();

        // Let node 0's link reader see the end first: the request then meets a link that is already gone.
        Thread.Sleep(1000);
        run.Finish(TimeSpan.FromSeconds(120));
        var output = run.Output;
        Assert.False(output.Contains("FAIL", StringComparison.Ordinal), output);
        Assert.True(output.Contains("CHECK request 2 to the event on the lost node fails", StringComparison.Ordinal), output);
        Assert.True(output.Contains("CHECK the error names the manager, its node and the keys lost", StringComparison.Ordinal), output);
        Assert.True(output.Contains("CHECK the manager on the live node keeps working", StringComparison.Ordinal), output);
        Assert.True(output.Contains("CHECK the rest of the run goes on", StringComparison.Ordinal), output);
    }

    [Fact]
    public void QueuePut_HomeNodeLostWithPutsInFlight_SendersFailNamingTheNode()
    {
        using var run = new HostileRun(_dragon, ["--wlm", "fork", "--local-nodes", "2"], "puts-to-lost-node");
        System.Diagnostics.Process.GetProcessById(NodeServicePid(1)).Kill();
        run.Finish(TimeSpan.FromSeconds(120));
        var output = run.Output;
        Assert.False(output.Contains("FAIL", StringComparison.Ordinal), output);
        Assert.True(output.Contains("CHECK put 32 finds the window full", StringComparison.Ordinal), output);
        Assert.True(output.Contains("CHECK the flush of the puts in flight fails with node lost", StringComparison.Ordinal), output);
        Assert.True(output.Contains("CHECK a later put fails with node lost too", StringComparison.Ordinal), output);
        Assert.True(output.Contains("CHECK the rest of the run goes on", StringComparison.Ordinal), output);
    }

    [Fact]
    public void EndOfRun_ANodeInTheMiddleOfTheTreeLost_TheNodesBelowItAreToldDirectlyAndNothingIsLeft()
    {
        // Fan-out 2 over 7 node services: the launcher tells nodes 0 and 1, node 0 tells 2 and 3, node 2 tells 6.
        using var run = new HostileRun(_dragon, ["--wlm", "fork", "--local-nodes", "7"], "sleepers-then-end", new Dictionary<string, string> { ["DRAGON_FANOUT"] = "2" });
        System.Diagnostics.Process.GetProcessById(NodeServicePid(2)).Kill();
        Thread.Sleep(1000);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        run.Finish(TimeSpan.FromSeconds(120));
        var took = clock.Elapsed;
        Assert.True(run.Output.Contains("ENDING", StringComparison.Ordinal), run.Output);

        // Node 0 cannot pass the end to node 2, so the launcher tells node 2's subtree itself and node 6's service
        // ends at once (its sleeper was already stopped with the run's processes). Had nobody told it, the launcher
        // would wait for it until its patience for the node services ran out (ten seconds and more; 21 s measured
        // with the direct telling taken out) and then kill it.
        Assert.True(took < TimeSpan.FromSeconds(12), $"the run took {took.TotalSeconds:F1} s to end\n{run.Output}");
        _dragon.AssertNothingLeft();
    }

    /// <summary>The pid of this test's node service of the given index (a `dragon _node` process).</summary>
    private int NodeServicePid(int index)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                var at = Array.IndexOf(args, "--index");
                if (args.Contains("_node") && args.Contains(_dragon.RunBase) && at > 0 && at + 1 < args.Length && args[at + 1] == index.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    return pid;
                }
            }
            catch (IOException)
            {
            }
        }

        throw new InvalidOperationException($"no node service {index} of this test is running");
    }
}
