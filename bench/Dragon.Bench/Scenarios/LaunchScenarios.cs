using System.Diagnostics;

namespace Dragon.Bench.Scenarios;

/// <summary>Process start-up inside the runtime: groups of executables and of C# methods, started and joined.</summary>
public static class LaunchScenarios
{
    private const int GroupSize = 64;

    /// <summary>
    /// The head of the whole-command measurement: one group of 64 <c>/bin/true</c> in a fresh runtime. Also prints
    /// that first (cold) group's time from Start to all joined, and clock readings (CLOCK_MONOTONIC, which the
    /// driver shares) that split the command into bring-up, connection, group and teardown.
    /// </summary>
    public static int Group64(long mainTimestamp)
    {
        Report.Value("t_main", mainTimestamp);
        Report.RunId(); // the first request: connects to the node service
        Report.Value("t_connected", Stopwatch.GetTimestamp());
        Report.Value("group_cold_ms", TimeGroup(GroupSize, ProcessTemplate.Executable("/bin/true")).Total);
        Report.Value("t_end", Stopwatch.GetTimestamp());
        return 0;
    }

    /// <summary>
    /// A group of 64 <c>/bin/true</c> in a running runtime, after one group has warmed the head's code paths.
    /// With <paramref name="repeats"/> above 1 (for profiling), the medians of that many groups.
    /// </summary>
    public static int GroupWarm(int repeats)
    {
        Report.RunId();
        var template = ProcessTemplate.Executable("/bin/true");
        _ = TimeGroup(GroupSize, template);
        var times = Enumerable.Range(0, repeats).Select(_ => TimeGroup(GroupSize, template)).ToArray();
        Report.Value("group_ms", Percentile.Median(times.Select(t => t.Total)));
        Report.Value("group_start_ms", Percentile.Median(times.Select(t => t.Started)));
        return 0;
    }

    /// <summary>64 processes each running <see cref="NoOp"/>, after 2 such processes have warmed up.</summary>
    public static int Functions()
    {
        Report.RunId();
        var template = ProcessTemplate.FromMethod(NoOp);
        _ = TimeGroup(2, template);
        var (started, total) = TimeGroup(GroupSize, template);
        Report.Value("functions_ms", total);
        Report.Value("functions_start_ms", started);
        return 0;
    }

#if !NATIVE_AOT_HEAD
    /// <summary>
    /// Diagnosis of <see cref="Functions"/>: 64 executables that are this same program doing nothing, so each pays
    /// the .NET host's start-up but not the method-target machinery (startup hook, runtime connection, invoke).
    /// </summary>
    public static int DotnetGroup()
    {
        Report.RunId();
        var (host, hostArgs) = (Environment.ProcessPath!, new[] { typeof(LaunchScenarios).Assembly.Location, "startup-noop" });
        var template = ProcessTemplate.Executable(host, hostArgs);
        _ = TimeGroup(2, template);
        Report.Value("dotnet_group_ms", TimeGroup(GroupSize, template).Total);
        return 0;
    }
#endif

    /// <summary>The target of the function-launch benchmark: does nothing.</summary>
    public static void NoOp()
    {
    }

    /// <summary>Milliseconds from Start until it returned (every member spawned), and until all were joined.</summary>
    private static (double Started, double Total) TimeGroup(int count, ProcessTemplate template)
    {
        using var group = new ProcessGroup();
        group.AddProcess(count, template);
        var start = Stopwatch.GetTimestamp();
        group.Start();
        var started = Stopwatch.GetTimestamp();
        group.Join();
        var end = Stopwatch.GetTimestamp();
        return (Report.Milliseconds(start, started), Report.Milliseconds(start, end));
    }
}
