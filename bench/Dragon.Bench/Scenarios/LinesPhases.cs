using System.Diagnostics;
using System.Globalization;

namespace Dragon.Bench.Scenarios;

/// <summary>
/// Diagnosis of the piped-output benchmark (<see cref="RemoteLines"/>), for a child on each node: how long the start
/// takes, how long until the first line, and the whole read of <c>seq COUNT</c>; then the read alone, of
/// <c>seq FITS</c> that fits the node service's queue and has exited before the first receive (no child, no pump in
/// the way: the requests and the reader's own work per line).
/// </summary>
public static class LinesPhases
{
    public static int Run(int count, int fits)
    {
        // What the benchmark's deadline check costs per line.
        var clockStart = Stopwatch.GetTimestamp();
        for (var i = 0; i < 1_000_000; i++)
        {
            _ = Stopwatch.GetTimestamp();
        }

        Report.Value("clock_read_ns", Report.Milliseconds(clockStart, Stopwatch.GetTimestamp()) * 1e6 / 1_000_000);

        // Starting a process is warm, as in the benchmark (which starts several before it reads output).
        _ = DragonProcess.Start(ProcessTemplate.Executable("/bin/true")).Join();

        // Twice over: the first round includes the first use (JIT, tiering) of the reading path, as the benchmark's does.
        for (var round = 0; round < 2; round++)
        {
            for (var node = 0; node < Math.Min(2, SystemInfo.Nodes.Count); node++)
            {
                RunOnce(count, fits, node, $"round{round}_node{node}");
            }
        }

        return 0;
    }

    private static void RunOnce(int count, int fits, int node, string name)
    {
        var start = Stopwatch.GetTimestamp();
        var child = DragonProcess.Start(Seq(count, node));
        var started = Stopwatch.GetTimestamp();
        var stdout = child.Stdout!;
        _ = stdout.Receive<string>();
        var first = Stopwatch.GetTimestamp();
        var lines = 1 + ReadToEnd(stdout);
        var end = Stopwatch.GetTimestamp();
        _ = child.Join();
        Report.Value($"{name}_start_ms", Report.Milliseconds(start, started));
        Report.Value($"{name}_first_line_ms", Report.Milliseconds(started, first));
        Report.Value($"{name}_lines_per_s", lines / (Report.Milliseconds(start, end) / 1000));

        var exited = DragonProcess.Start(Seq(fits, node));
        _ = exited.Join();
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        var readStart = Stopwatch.GetTimestamp();
        var read = ReadToEnd(exited.Stdout!);
        Report.Value($"{name}_read_only_lines_per_s", read / (Report.Milliseconds(readStart, Stopwatch.GetTimestamp()) / 1000));
        Report.Value($"{name}_read_only_cpu_ns_per_line", (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalNanoseconds / read);
    }

    private static ProcessTemplate Seq(int count, int node) =>
        ProcessTemplate.Executable("/usr/bin/seq", count.ToString(CultureInfo.InvariantCulture)) with { Stdout = Stdio.Pipe, Policy = Policy.OnNode(node) };

    private static long ReadToEnd(Connection stdout)
    {
        long lines = 0;
        foreach (var _ in stdout.ReadAllAsync<string>().ToBlockingEnumerable())
        {
            lines++;
        }

        return lines;
    }
}
