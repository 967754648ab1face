using System.Globalization;

namespace Dragon.Bench.Driver;

/// <summary>
/// <c>Dragon.Bench drive launch|queue|pingpong|remote|metrics|scale|all --root DIR [--rounds N] [--cluster]</c>: runs each benchmark, prints its table,
/// checks that nothing was left behind, and prints its summary line last. Targets are reported, never enforced: the
/// exit code is non-zero only when a run failed or leaked.
/// </summary>
internal static class BenchDriver
{
    public static int Run(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: Dragon.Bench drive launch|queue|pingpong|remote|metrics|scale|all --root DIR [--rounds N] [--cluster]");
            return 2;
        }

        var root = Directory.GetCurrentDirectory();
        int? rounds = null;
        var cluster = false;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--root" when i + 1 < args.Length:
                    root = args[++i];
                    break;
                case "--rounds" when i + 1 < args.Length:
                    rounds = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--cluster":
                    cluster = true;
                    break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'");
                    return 2;
            }
        }

        Func<BenchContext, string>[] benches = args[0] switch
        {
            "launch" => [LaunchBench.Run],
            "queue" => [QueueBench.Run],
            "pingpong" => [PingPongBench.Run],
            "remote" => [RemoteBench.Run],
            "metrics" => [MetricsBench.Run],
            "scale" => [ScaleBench.Run],
            "all" => [LaunchBench.Run, QueueBench.Run, PingPongBench.Run],
            _ => [],
        };
        if (benches.Length == 0)
        {
            Console.Error.WriteLine($"unknown benchmark '{args[0]}' (launch, queue, pingpong, remote, metrics, scale, all)");
            return 2;
        }

        var context = new BenchContext(Path.GetFullPath(root), rounds) { Cluster = cluster };
        Console.WriteLine(MachineInfo.Describe());
        var leaked = false;
        foreach (var bench in benches)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var summary = bench(context);
            Console.WriteLine($"took {clock.Elapsed.TotalSeconds:F0} s; load average now {MachineInfo.LoadAverage()}");
            var leaks = context.Leaks.Find(TimeSpan.FromSeconds(3));
            leaked |= leaks.Count > 0;
            Console.WriteLine(leaks.Count == 0
                ? $"cleanup: {context.Leaks.RunCount} runtime runs and every peer run left no process, run directory or /dev/shm file"
                : $"cleanup: LEFT BEHIND:\n  {string.Join("\n  ", leaks)}");
            if (context.Failures > 0)
            {
                Console.WriteLine($"{context.Failures} run(s) failed so far; their figures are missing from the medians");
            }

            // The summary line comes last, for scripts that read the last line.
            Console.WriteLine(summary);
        }

        return context.Failures == 0 && !leaked ? 0 : 1;
    }
}
