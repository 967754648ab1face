using System.Diagnostics;
using System.Globalization;

namespace Dragon.TestApp;

/// <summary>Work at the scale of a cluster on one machine; prints one <c>key=value</c> line the test parses.</summary>
public static class NodeScaleScenarios
{
    /// <summary>A group of <paramref name="count"/> <c>/bin/true</c> spread round-robin over every node, joined.</summary>
    public static int TrueGroup(int count)
    {
        var clock = Stopwatch.StartNew();
        using var group = new ProcessGroup();
        group.AddProcess(count, ProcessTemplate.Executable("/bin/true") with { Policy = Policy.RoundRobin });
        group.Start();
        var started = clock.Elapsed;
        Check.That(group.TryJoin(TimeSpan.FromMinutes(5)), $"the group of {count} joined within 5 minutes");
        var joined = clock.Elapsed;
        var status = group.GetStatus();
        var nodes = group.GetProcesses().Select(p => p.Node.Index).Distinct().Count();
        var failed = status.ExitStatus.Count(e => e.ExitCode != 0);
        group.Close();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"members={status.Puids.Count} exited={status.ExitStatus.Count} failed={failed} nodes={nodes} start_ms={started.TotalMilliseconds:F0} join_ms={joined.TotalMilliseconds:F0}"));
        return 0;
    }
}
