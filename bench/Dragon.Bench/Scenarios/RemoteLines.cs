using System.Diagnostics;

namespace Dragon.Bench.Scenarios;

/// <summary>
/// A child's piped output read by the head on node 0 through <see cref="DragonProcess.Stdout"/>, one line per
/// receive: <c>seq COUNT</c> on the head's node or on another. Timed from just before the start to the end of the
/// stream, as the Python peer (<c>bench/peers/popen_lines.py</c>) times <c>Popen</c> to the child's exit.
/// </summary>
internal static class RemoteLines
{
    /// <summary>Reads up to <paramref name="count"/> lines, or what came within the budget; prints NAME and NAME_per_s.</summary>
    public static void Read(int count, int node, int budgetMs, string name)
    {
        var start = Stopwatch.GetTimestamp();
        var deadline = start + budgetMs * Stopwatch.Frequency / 1000;
        var template = ProcessTemplate.Executable("/usr/bin/seq", count.ToString(System.Globalization.CultureInfo.InvariantCulture))
            with { Stdout = Stdio.Pipe, Policy = Policy.OnNode(node) };
        var child = DragonProcess.Start(template);
        var (lines, ended) = ReadAsync(child.Stdout!, deadline).GetAwaiter().GetResult();
        var end = Stopwatch.GetTimestamp();
        if (!ended)
        {
            // Out of budget: the child is blocked on a full pipe.
            child.Kill();
            _ = child.Join(TimeSpan.FromSeconds(30));
        }
        else if (child.Join(TimeSpan.FromSeconds(30)) is var code and not 0 || lines != count)
        {
            throw new InvalidOperationException($"seq ({child}) exited with {child.Join()} after {lines} of {count} lines");
        }

        Report.Value(name, lines);
        Report.Value(name + "_per_s", lines / ((end - start) / (double)Stopwatch.Frequency));
    }

    /// <summary>Counts lines to the end of the stream, or until the deadline (then <c>Ended</c> is false).</summary>
    private static async Task<(long Lines, bool Ended)> ReadAsync(Connection stdout, long deadline)
    {
        long lines = 0;
        await foreach (var _ in stdout.ReadAllAsync<string>())
        {
            // The clock is read every 4,096 lines: a read costs about as much as receiving a line (120-140 ns on the
            // VM's kvm-clock), and the peer reads no clock per line.
            lines++;
            if ((lines & 4095) == 0 && Stopwatch.GetTimestamp() >= deadline)
            {
                return (lines, false);
            }
        }

        return (lines, true);
    }
}
