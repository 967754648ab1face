using System.Diagnostics;

namespace Dragon.TestApp;

/// <summary>Scenarios for runs over several nodes: placement, and what the run sees when a node is lost.</summary>
public static class NodeScenarios
{
    /// <summary>A template pinned by name, round-robin of 8 over every node, and an unknown host name.</summary>
    public static int Placement(string pinned)
    {
        var nodes = SystemInfo.Nodes;
        var one = DragonProcess.Start(ProcessTemplate.Executable("/bin/true") with { Policy = Policy.OnNode(pinned) });
        Check.That(one.Node.Name == pinned && one.Join(TimeSpan.FromSeconds(30)) == 0, $"a template pinned to {pinned} ran on {one.Node.Name}");
        var group = new ProcessGroup();
        group.AddProcess(2 * nodes.Count, ProcessTemplate.Executable("/bin/hostname") with { Policy = Policy.RoundRobin, Stdout = Stdio.Pipe });
        group.Start();
        var members = group.GetProcesses();
        var perNode = members.GroupBy(m => m.Node.Name).ToDictionary(g => g.Key, g => g.Count());
        Check.That(nodes.All(n => perNode.GetValueOrDefault(n.Name) == 2), $"round-robin of {members.Count} put 2 on each node ({string.Join(", ", perNode.Select(kv => $"{kv.Key}={kv.Value}"))})");
        foreach (var member in members)
        {
            var host = member.Stdout!.Receive<string>(TimeSpan.FromSeconds(30));
            Check.That(host == member.Node.Host, $"puid {member.Puid} placed on {member.Node.Name} really ran on host {host}");
        }

        Check.That(group.TryJoin(TimeSpan.FromSeconds(30)), "the group finished");
        group.Close();
        var bound = DragonProcess.Start(ProcessTemplate.Executable("/bin/grep", "Cpus_allowed_list", "/proc/self/status") with { Policy = Policy.OnNode(pinned).WithCpus(1), Stdout = Stdio.Pipe });
        var allowed = bound.Stdout!.Receive<string>(TimeSpan.FromSeconds(30));
        Check.That(allowed.EndsWith("\t1", StringComparison.Ordinal), $"CPU affinity applied on {bound.Node.Name}: '{allowed}'");
        var e = Check.Throws<ProcessStartException>(() => DragonProcess.Start(ProcessTemplate.Executable("/bin/true") with { Policy = Policy.OnNode("no-such-host") }), "an unknown host name fails at start");
        Check.That(e.Message.Contains("no-such-host", StringComparison.Ordinal), "the error names the host");
        return 0;
    }

    /// <summary>
    /// Sleepers on every node and a group spanning them; prints READY, then waits for the test to take a node
    /// away, and checks that joins return and the group fails with "node lost" within the bound.
    /// </summary>
    public static int LoseNode(int victim)
    {
        var nodes = SystemInfo.Nodes;
        var group = new ProcessGroup();
        group.AddProcess(nodes.Count, ProcessTemplate.Executable("/bin/sleep", "300") with { Policy = Policy.RoundRobin });
        group.Start();

        // The spread starts at the least busy node, so which member lands on the victim is asked, not assumed.
        var memberOnVictim = group.GetProcesses().Select(p => p.Node.Index).ToList().IndexOf(victim);
        var lone = DragonProcess.Start(ProcessTemplate.Executable("/bin/sleep", "300") with { Policy = Policy.OnNode(victim) });
        Console.WriteLine($"READY {nodes[victim].Name}");
        Console.Out.Flush();
        var clock = Stopwatch.StartNew();
        var joined = DragonProcess.MultiJoin([lone.Puid], timeout: TimeSpan.FromSeconds(60));
        var detected = clock.Elapsed;
        Check.That(joined.Exited.Count == 1, $"the join on a process of the lost node returned after {detected.TotalSeconds:F1} s");
        Check.That(lone.GetStatus().ExitReason?.Contains("node lost", StringComparison.Ordinal) == true, $"its reason: {lone.GetStatus().ExitReason}");
        var e = Check.Throws<ProcessGroupException>(() => group.Join(TimeSpan.FromSeconds(30)), "the group with a member there fails");
        Check.That(e.Message.Contains("node lost", StringComparison.Ordinal), $"with reason node lost: {e.Message}");
        Check.That(e.NodeIndex == victim && e.Rank == memberOnVictim && e.Puid is not null && e.ExitCode is null && e.Signal is null,
            $"its context names member {memberOnVictim} on node {victim}, with no code or signal (node {e.NodeIndex}, rank {e.Rank}, code {e.ExitCode}, signal {e.Signal})");
        var after = DragonProcess.Start(ProcessTemplate.Executable("/bin/sh", "-c", "exit 6") with { Policy = Policy.OnNode((victim + 1) % nodes.Count) });
        Check.That(after.Join(TimeSpan.FromSeconds(30)) == 6, "the rest of the run goes on");
        group.Stop(TimeSpan.FromMilliseconds(200));
        group.Close();
        PlaceAfterLoss(victim, nodes.Count);
        Console.WriteLine($"DETECTED {detected.TotalSeconds:F2}");
        return 0;
    }

    /// <summary>Distributions skip a lost node; naming it fails at start.</summary>
    private static void PlaceAfterLoss(int victim, int nodeCount)
    {
        foreach (var (name, policy) in new[] { ("round-robin", Policy.RoundRobin), ("block", Policy.Block) })
        {
            var spread = new ProcessGroup();
            spread.AddProcess(2 * nodeCount, ProcessTemplate.Executable("/bin/true") with { Policy = policy });
            spread.Start();
            var used = spread.GetProcesses().Select(p => p.Node.Index).Distinct().Order().ToArray();
            Check.That(!used.Contains(victim) && used.Length == nodeCount - 1, $"{name} placement skips lost node {victim}: used nodes {string.Join(",", used)}");
            Check.That(spread.TryJoin(TimeSpan.FromSeconds(30)), $"{name}: every member ran");
            spread.Close();
        }

        var named = Check.Throws<ProcessStartException>(() => DragonProcess.Start(ProcessTemplate.Executable("/bin/true") with { Policy = Policy.OnNode(victim) }), "a start on the lost node");
        Check.That(named.Message.Contains($"node {victim} is lost", StringComparison.Ordinal), "the error says the node is lost");
        Check.That(named.NodeIndex == victim, $"the start error's NodeIndex is the lost node ({named.NodeIndex})");
        var group = new ProcessGroup();
        group.AddProcess(1, ProcessTemplate.Executable("/bin/true") with { Policy = Policy.OnNode(victim) });
        var inGroup = Check.Throws<ProcessStartException>(group.Start, "a group member placed on the lost node");
        Check.That(inGroup.Message.Contains($"node {victim} is lost", StringComparison.Ordinal), "the group's error says the node is lost");
        Check.That(inGroup.NodeIndex == victim, $"the group's start error's NodeIndex is the lost node ({inGroup.NodeIndex})");
        group.Close();
    }

    /// <summary>A queue, an event and a barrier used by processes on every node.</summary>
    public static int ObjectsOnAllNodes()
    {
        var nodes = SystemInfo.Nodes;
        using var queue = new DragonQueue<int>(maxSize: 64);
        using var go = new DragonEvent();
        using var barrier = new DragonBarrier(nodes.Count);
        var workers = nodes.Select(n => DragonProcess.Start(ProcessTemplate.FromMethod(ObjectsWorker, n.Index, queue, go, barrier) with { Policy = Policy.OnNode(n.Index) })).ToArray();
        go.Set();
        var next = new int[nodes.Count];
        for (var i = 0; i < 100 * nodes.Count; i++)
        {
            var item = queue.Get(timeout: TimeSpan.FromSeconds(60));
            var node = item / 1000;
            Check.That(item % 1000 == next[node]++, $"item {item} from node {node} in order");
        }

        foreach (var worker in workers)
        {
            Check.That(worker.Join(TimeSpan.FromSeconds(60)) == 0, $"worker on {worker.Node.Name} exited 0");
        }

        Check.That(next.All(n => n == 100), "100 items from every node");
        return 0;
    }

    public static int ObjectsWorker(int node, DragonQueue<int> queue, DragonEvent go, DragonBarrier barrier)
    {
        if (!go.TryWait(TimeSpan.FromSeconds(60)))
        {
            return 2;
        }

        for (var k = 0; k < 100; k++)
        {
            queue.Put((node * 1000) + k);
        }

        var arrival = barrier.Wait(TimeSpan.FromSeconds(60));
        Console.WriteLine($"worker on node {node} passed the barrier as {arrival}");
        return 0;
    }

    /// <summary>Each node runs a process whose output is left to the launcher (labelled with --label).</summary>
    public static int OutputFromEveryNode()
    {
        var group = new ProcessGroup();
        group.AddProcess(SystemInfo.Nodes.Count, ProcessTemplate.Executable("/bin/sh", "-c", "echo \"hello from $(hostname)\"") with { Policy = Policy.RoundRobin });
        group.Start();
        Check.That(group.TryJoin(TimeSpan.FromSeconds(30)), "every node's process finished");
        group.Close();
        return 0;
    }
}
