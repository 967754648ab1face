using System.Globalization;

namespace Dragon.Bench.Driver;

/// <summary>
/// <c>scripts/bench scale</c>: the node service at cluster scale on this machine. Groups of N <c>/bin/true</c> over 1,
/// 4 and 64 node services that are separate processes (<c>--wlm fork</c>, as on a cluster), the whole command with
/// the Native AOT head, against <c>mpiexec.mpich -n N /bin/true</c> (to 1,024) and Python's Popen+wait; bring-up and
/// teardown of 1 to 256 node services; Event set+clear and Lock acquire+release against Python's multiprocessing.
/// With <c>--cluster</c>, <c>dragon --hosts n1..n4 /bin/true</c> against <c>srun -N 4 /bin/true</c> on the fake cluster.
/// </summary>
internal static class ScaleBench
{
    private static readonly (int Count, int Nodes)[] s_groups = [(64, 1), (1024, 1), (64, 4), (1024, 4), (10_000, 4), (64, 64), (1024, 64), (10_000, 64)];
    private static readonly int[] s_bringUp = [1, 16, 64, 256];

    public static string Run(BenchContext context)
    {
        var samples = new Samples();
        var steps = new List<Action>();
        foreach (var (count, nodes) in s_groups)
        {
            steps.Add(() =>
            {
                var run = context.Command(context.Launcher, "--wlm", "fork", "--local-nodes", Text(nodes), context.AotHead, "true-group", Text(count));
                samples.Add($"whole_{count}_{nodes}", run?.WallMs);
                samples.Add($"group_{count}_{nodes}", run?.Value("group_ms"));
            });
        }

        foreach (var count in new[] { 64, 1024 })
        {
            steps.Add(() => samples.Add($"mpiexec_{count}", context.Command("mpiexec.mpich", "-n", Text(count), "/bin/true")?.WallMs));
        }

        foreach (var count in new[] { 64, 1024, 10_000 })
        {
            steps.Add(() => samples.Add($"popen_{count}", context.Peer("scale_peers.py", "popen", Text(count))?.Value("popen_ms")));
        }

        foreach (var nodes in s_bringUp)
        {
            steps.Add(() => samples.Add($"bringup_{nodes}", context.Command(context.Launcher, "--wlm", "fork", "--local-nodes", Text(nodes), "/bin/true")?.WallMs));
        }

        // The floor of a node service's bring-up: the same executable started and doing nothing (--version), 256
        // times from two threads of a C program, so its cost per start is what no node service started as its own
        // process of this executable can go below on this machine.
        var floor = Path.Combine(context.Root, "artifacts", "bench", "spawn_floor");
        steps.Add(() => samples.Add("exec_floor_256", context.Command(floor, "2", "256", context.Launcher, "--version")?.Value("floor_c_ms")));

        steps.Add(() =>
        {
            // The same count as the peer: 2,000 pairs of a few hundredths of a microsecond made a window of 100 us,
            // which a single interrupt could double.
            var ours = context.Ours(1, "sync-ops", "20000");
            samples.Add("event_ours", ours?.Value("event_us"));
            samples.Add("lock_ours", ours?.Value("lock_us"));
            samples.Add("barrier_ours", ours?.Value("barrier_us"));
            var peer = context.Peer("scale_peers.py", "sync", "20000");
            samples.Add("event_peer", peer?.Value("event_us"));
            samples.Add("lock_peer", peer?.Value("lock_us"));
            samples.Add("barrier_peer", peer?.Value("barrier_us"));
        });

        if (context.Cluster)
        {
            var cluster = Path.Combine(context.Root, "tests", "cluster", "cluster.sh");
            steps.Add(() => samples.Add("srun_4", context.Command("bash", cluster, "head", "srun", "-N", "4", "/bin/true")?.WallMs));
            steps.Add(() => samples.Add("hosts_4", context.Command("bash", cluster, "head", context.Launcher, "--hosts", "n1,n2,n3,n4", "/bin/true")?.WallMs));
        }

        Alternation.Run("scale", context.RoundsAtLeast(3, 3), [.. steps]);

        var table = new ResultTable("scale: node services as separate processes (--wlm fork), groups of /bin/true, whole command with a Native AOT head", samples);
        foreach (var (count, nodes) in s_groups)
        {
            var peer = count <= 1024 ? $"mpiexec_{count}" : $"popen_{count}";
            table.Compare($"{count} over {nodes} node service(s), whole command (peer: {(count <= 1024 ? "mpiexec.mpich" : "Python Popen+wait")})", "ms", $"whole_{count}_{nodes}", peer, count == 1024 && nodes == 4 ? "<= 0.5" : string.Empty);
        }

        foreach (var count in new[] { 64, 1024, 10_000 })
        {
            table.Compare($"{count} inside the run over 64 nodes (peer: Python Popen+wait, one process)", "ms", $"group_{count}_64", $"popen_{count}", "per-process cost flat");
        }

        foreach (var nodes in s_bringUp)
        {
            table.Single($"dragon --wlm fork --local-nodes {nodes} /bin/true", "ms", $"bringup_{nodes}");
        }

        table.Single("floor: 256 starts of the dragon executable alone (dragon --version), two at a time (bench/peers/spawn_floor.c)", "ms", "exec_floor_256");
        table.Compare("Event set+clear, one node (peer: multiprocessing.Event)", "us", "event_ours", "event_peer", "<= 1");
        table.Compare("Lock acquire+release, one node (peer: multiprocessing.Lock)", "us", "lock_ours", "lock_peer", "<= 1");
        table.Compare("Barrier round of 2 processes, one node, median (peer: multiprocessing.Barrier)", "us", "barrier_ours", "barrier_peer", "<= 1");
        var ratioSrun = double.NaN;
        if (context.Cluster)
        {
            ratioSrun = table.Compare("dragon --hosts n1..n4 /bin/true (peer: srun -N 4 /bin/true, fake cluster)", "ms", "hosts_4", "srun_4", "<= 2");
        }

        table.Print();
        var perProcFlat = (samples.Median("group_10000_64") / 10_000) / (samples.Median("group_64_64") / 64);
        var ratio1024 = samples.Median("whole_1024_4") / samples.Median("mpiexec_1024");
        var perNode = (samples.Median("bringup_256") - samples.Median("bringup_1")) / 255;
        var ratioEvent = samples.Median("event_ours") / samples.Median("event_peer");
        Console.WriteLine($"  per added node service: {ResultTable.Format(perNode, "0.00")} ms; the floor, one start of the executable alone over two CPUs: {ResultTable.Format(samples.Median("exec_floor_256") / 256, "0.00")} ms");
        Console.WriteLine($"  per-process cost inside the run over 64 nodes: {Per(samples, 64)} us at 64, {Per(samples, 1024)} us at 1,024, {Per(samples, 10_000)} us at 10,000");
        return
            $"scale per_proc_flat={ResultTable.Format(perProcFlat, "0.00")} ratio_1024={ResultTable.Format(ratio1024, "0.00")} " +
            $"per_node_ms={ResultTable.Format(perNode, "0.00")} ratio_srun={ResultTable.Format(ratioSrun, "0.00")} ratio_event={ResultTable.Format(ratioEvent, "0.000")}";
    }

    private static string Per(Samples samples, int count) => ResultTable.Format(samples.Median($"group_{count}_64") * 1000 / count, "0");

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
