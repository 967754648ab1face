using System.Globalization;
using System.Text;

namespace Dragon.TestApp;

/// <summary>A child's piped stdout read in batches: every line once and in order, and a reader that stops for a while.</summary>
public static class PipedOutputScenarios
{
    /// <summary>
    /// Reads <c>seq <paramref name="lines"/></c> run on node <paramref name="node"/>, in turn through Receive&lt;string&gt;,
    /// TryReceive&lt;byte[]&gt; and ReceiveAsync&lt;string&gt;, checking each line's number; then end of stream.
    /// </summary>
    public static int Numbered(int lines, int node)
    {
        var writer = DragonProcess.Start(SeqOn(node, lines));
        var stdout = writer.Stdout!;
        for (var i = 1; i <= lines; i++)
        {
            var line = (i % 3) switch
            {
                0 => stdout.Receive<string>(TimeSpan.FromSeconds(60)),
                1 => stdout.TryReceive(out byte[] bytes, TimeSpan.FromSeconds(60)) ? Encoding.UTF8.GetString(bytes) : "(timed out)",
                _ => stdout.ReceiveAsync<string>(TimeSpan.FromSeconds(60)).AsTask().GetAwaiter().GetResult(),
            };
            if (line != i.ToString(CultureInfo.InvariantCulture))
            {
                throw new CheckFailedException($"line {i} from node {node} reads '{line}'");
            }
        }

        Check.That(true, $"all {lines} lines from node {node} arrived once, in order");
        Check.Throws<EndOfStreamException>(() => stdout.Receive<string>(TimeSpan.FromSeconds(60)), "end of stream after the last line");
        Check.That(writer.Join(TimeSpan.FromSeconds(30)) == 0, "the writer exited 0");
        return 0;
    }

    /// <summary>
    /// Waits for a line on stdin (the test weighs the runtime first), starts <c>seq <paramref name="lines"/></c> on node
    /// <paramref name="node"/> and reads nothing until the next line on stdin; then checks the writer is still
    /// writing (blocked), reads every line in order, and sees it exit.
    /// </summary>
    public static int Stalled(int lines, int node)
    {
        Say("READY");
        _ = Console.ReadLine();
        var writer = DragonProcess.Start(SeqOn(node, lines));
        Say("STARTED");
        _ = Console.ReadLine();
        Check.That(writer.TryJoin(TimeSpan.Zero, out _) is false, "the writer was still running while no one read");
        var expected = 1;
        foreach (var line in writer.Stdout!.ReadAllAsync<string>().ToBlockingEnumerable())
        {
            if (line != expected.ToString(CultureInfo.InvariantCulture))
            {
                throw new CheckFailedException($"line {expected} reads '{line}'");
            }

            expected++;
        }

        Check.That(expected - 1 == lines, $"all {lines} lines arrived once, in order, after the stall ({expected - 1} lines)");
        Check.That(writer.Join(TimeSpan.FromSeconds(30)) == 0, "the writer exited 0");
        return 0;
    }

    private static ProcessTemplate SeqOn(int node, int lines) =>
        ProcessTemplate.Executable("/usr/bin/seq", lines.ToString(CultureInfo.InvariantCulture)) with { Stdout = Stdio.Pipe, Policy = Policy.OnNode(node) };

    private static void Say(string what)
    {
        Console.WriteLine(what);
        Console.Out.Flush();
    }
}
