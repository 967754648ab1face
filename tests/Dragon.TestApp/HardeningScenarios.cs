using System.Diagnostics;

namespace Dragon.TestApp;

/// <summary>
/// Heads for the tests that attack a run from outside: each prints READY, waits until the test has done its damage
/// (the file named by its argument appears), then checks that the run still works.
/// </summary>
public static class HardeningScenarios
{
    /// <summary>After the attack, starts processes that connect to the runtime (method targets) and joins them.</summary>
    public static int StartAfter(string goFile)
    {
        WaitForGo(goFile);
        var clock = Stopwatch.StartNew();
        var children = Enumerable.Range(0, 3).Select(i => DragonProcess.Start(ProcessTemplate.FromMethod(CountNodes, i))).ToArray();
        foreach (var child in children)
        {
            Check.That(child.Join(TimeSpan.FromSeconds(90)) == 0, $"a process started after the attack used the runtime and exited 0 (puid {child.Puid})");
        }

        Console.WriteLine($"STARTED {clock.Elapsed.TotalSeconds:F2}");
        return 0;
    }

    /// <summary>A child that talks to its node service (so it needs the control socket to accept it).</summary>
    public static int CountNodes(int index) => SystemInfo.Nodes.Count > 0 ? 0 : 10 + index;

    /// <summary>
    /// An event homed on node 1, used once (so node 0 holds a link to node 1); after the test killed node 1's
    /// service, the next operations on the event must fail at once with "lost", never hang.
    /// </summary>
    public static int ObjectOnLostNode(string goFile)
    {
        var remote = new DragonEvent(node: 1);
        remote.Set();
        Check.That(remote.IsSet(), "an event on node 1 works while node 1 is up");
        WaitForGo(goFile);
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var clock = Stopwatch.StartNew();
            var e = Check.Throws<NodeLostException>(() => _ = remote.IsSet(), $"request {attempt} to the event on the lost node fails");
            Check.That(e.NodeIndex == 1, $"the error's NodeIndex is the lost node: {e.NodeIndex}");
            Check.That(clock.Elapsed < TimeSpan.FromSeconds(10), $"request {attempt} failed after {clock.Elapsed.TotalSeconds:F2} s, not a hang");
            Check.That(e.Message.Contains("lost", StringComparison.Ordinal) || e.Message.Contains("cannot be reached", StringComparison.Ordinal), $"the error says the node is gone: {e.Message}");
        }

        var dispose = Stopwatch.StartNew();
        remote.Dispose();
        Check.That(dispose.Elapsed < TimeSpan.FromSeconds(10), $"disposing the event took {dispose.Elapsed.TotalSeconds:F2} s");
        var after = DragonProcess.Start(ProcessTemplate.Executable("/bin/sh", "-c", "exit 5") with { Policy = Policy.OnNode(0) });
        Check.That(after.Join(TimeSpan.FromSeconds(30)) == 5, "the rest of the run goes on");
        return 0;
    }

    /// <summary>
    /// One message of <paramref name="megabytes"/> MiB from the head on node 0 to a queue on node 1, read there by a
    /// process on node 1 (one crossing of the link); prints the launcher's peak resident memory (the node services of
    /// a one-machine run live in it).
    /// </summary>
    public static int BigMessage(int megabytes)
    {
        using var queue = new DragonQueue<byte[]>(maxSize: 4, node: 1, maxMessageBytes: (megabytes + 1) << 20);
        var reader = DragonProcess.Start(ProcessTemplate.FromMethod(ReadBigMessage, queue, megabytes) with { Policy = Policy.OnNode(1) });
        var payload = new byte[megabytes << 20];
        payload.AsSpan().Fill(7);
        queue.Put(payload, timeout: TimeSpan.FromSeconds(120));
        Check.That(reader.Join(TimeSpan.FromSeconds(120)) == 0, $"a {megabytes} MiB message went from node 0 to a reader on node 1 intact");
        var launcher = File.ReadAllText("/proc/self/stat").Split(") ")[1].Split(' ')[1];
        var peak = File.ReadAllLines($"/proc/{launcher}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        Console.WriteLine($"LAUNCHER_PEAK_KB {peak.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]}");
        return 0;
    }

    public static int ReadBigMessage(DragonQueue<byte[]> queue, int megabytes)
    {
        var message = queue.Get(timeout: TimeSpan.FromSeconds(120));
        return message.Length == megabytes << 20 && !message.AsSpan().ContainsAnyExcept((byte)7) ? 0 : 1;
    }

    private static void WaitForGo(string goFile)
    {
        Console.WriteLine("READY");
        Console.Out.Flush();
        var clock = Stopwatch.StartNew();
        while (!File.Exists(goFile))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(120))
            {
                throw new CheckFailedException("the test did not say go within 120 s");
            }

            Thread.Sleep(20);
        }
    }
}
