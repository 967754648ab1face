using System.Diagnostics;
using System.Globalization;

namespace Dragon.TestApp;

/// <summary>Scenarios that hold many children on one node, so a test can weigh that node's service between steps.</summary>
public static class ScaleScenarios
{
    /// <summary>
    /// Takes commands, one a line, from <paramref name="control"/> (a FIFO the test writes: a head program on a node
    /// away from the launcher has no terminal to read), each answered by one line: <c>start N inherit|pipe</c> starts N sleeping children
    /// on node <paramref name="node"/> with their output so wired (STARTED total); <c>launch N</c> starts and joins a
    /// group of N <c>/bin/true</c> there (LAUNCH_MS ms); <c>stop</c> kills every sleeper, waits for each exit (STOPPED
    /// count) and ends the scenario.
    /// </summary>
    public static int Children(int node, string control)
    {
        var groups = new List<ProcessGroup>();
        var started = 0;
        Console.WriteLine("READY");
        Console.Out.Flush();
        using var commands = new StreamReader(control);
        while (commands.ReadLine() is { } command)
        {
            var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            switch (words)
            {
                case ["start", var count, var wiring]:
                    var n = int.Parse(count, CultureInfo.InvariantCulture);
                    var stdio = wiring == "pipe" ? Stdio.Pipe : Stdio.Inherit;
                    // Killed at the end on purpose: their deaths are not errors to the group.
                    var group = new ProcessGroup(ignoreErrorOnExit: true);
                    group.AddProcess(n, ProcessTemplate.Executable("/bin/sleep", "600") with { Policy = Policy.OnNode(node), Stdout = stdio, Stderr = stdio });
                    group.Start();
                    groups.Add(group);
                    started += n;
                    Console.WriteLine($"STARTED {started}");
                    break;
                case ["launch", var count]:
                    var clock = Stopwatch.StartNew();
                    using (var launch = new ProcessGroup())
                    {
                        launch.AddProcess(int.Parse(count, CultureInfo.InvariantCulture), ProcessTemplate.Executable("/bin/true") with { Policy = Policy.OnNode(node) });
                        launch.Start();
                        if (!launch.TryJoin(TimeSpan.FromSeconds(300)))
                        {
                            Console.WriteLine($"FAIL a group of {count} /bin/true did not end");
                            return 1;
                        }
                    }

                    Console.WriteLine($"LAUNCH_MS {clock.Elapsed.TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture)}");
                    break;
                case ["stop"]:
                    foreach (var sleepers in groups)
                    {
                        sleepers.Kill();
                    }

                    var joined = groups.Count(g => g.TryJoin(TimeSpan.FromSeconds(120)));
                    if (joined != groups.Count)
                    {
                        Console.WriteLine($"FAIL {groups.Count - joined} of {groups.Count} groups of sleepers did not end after the kill");
                        return 1;
                    }

                    foreach (var sleepers in groups)
                    {
                        sleepers.Dispose();
                    }

                    Console.WriteLine($"STOPPED {started}");
                    return 0;
                default:
                    Console.WriteLine($"FAIL unknown command '{command}'");
                    return 1;
            }

            Console.Out.Flush();
        }

        return 0;
    }
}
