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

    /// <summary>
    /// A sleeper on every node, then READY; after the test killed a node service in the middle of the run's tree, the
    /// head ends normally and leaves the sleepers to the end of the run, which must reach the nodes below the lost one.
    /// </summary>
    public static int SleepersThenEnd(string goFile)
    {
        var sleepers = SystemInfo.Nodes.Select(n => DragonProcess.Start(ProcessTemplate.Executable("/bin/sleep", "300") with { Policy = Policy.OnNode(n.Index) })).ToArray();
        Check.That(sleepers.Select(s => s.Node.Index).Distinct().Count() == SystemInfo.Nodes.Count, "a sleeper runs on every node");
        WaitForGo(goFile);
        Console.WriteLine("ENDING");
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
        var dict = new DragonDictionary<string, int>();
        var onLost = Enumerable.Range(0, 100).Select(i => $"key-{i}").First(k => dict.ManagerOf(k) == 1);
        var onLive = Enumerable.Range(0, 100).Select(i => $"key-{i}").First(k => dict.ManagerOf(k) == 0);
        dict[onLost] = 1;
        dict[onLive] = 2;
        Check.That(dict[onLost] == 1 && dict[onLive] == 2, "a dictionary with a manager on each node works while node 1 is up");
        WaitForGo(goFile);
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var clock = Stopwatch.StartNew();
            var e = Check.Throws<NodeLostException>(() => _ = remote.IsSet(), $"request {attempt} to the event on the lost node fails");
            Check.That(e.NodeIndex == 1, $"the error's NodeIndex is the lost node: {e.NodeIndex}");
            Check.That(clock.Elapsed < TimeSpan.FromSeconds(10), $"request {attempt} failed after {clock.Elapsed.TotalSeconds:F2} s, not a hang");
            Check.That(e.Message.Contains("lost", StringComparison.Ordinal) || e.Message.Contains("cannot be reached", StringComparison.Ordinal), $"the error says the node is gone: {e.Message}");
        }

        var lost = Check.Throws<DictionaryManagerLostException>(() => _ = dict[onLost], "a read of a key on the lost node's manager fails");
        Check.That(
            lost.Message.Contains("manager 1 on node 1 is lost, and the keys it held with it", StringComparison.Ordinal),
            $"the error names the manager, its node and the keys lost: {lost.Message}");
        Check.Throws<DictionaryManagerLostException>(() => dict[onLost] = 3, "a write of a key on the lost node's manager fails");
        dict[onLive] = 4;
        Check.That(dict[onLive] == 4, "the manager on the live node keeps working");
        var disposeDict = Stopwatch.StartNew();
        dict.Dispose();
        Check.That(disposeDict.Elapsed < TimeSpan.FromSeconds(10), $"disposing the dictionary took {disposeDict.Elapsed.TotalSeconds:F2} s");
        var dispose = Stopwatch.StartNew();
        remote.Dispose();
        Check.That(dispose.Elapsed < TimeSpan.FromSeconds(10), $"disposing the event took {dispose.Elapsed.TotalSeconds:F2} s");
        var after = DragonProcess.Start(ProcessTemplate.Executable("/bin/sh", "-c", "exit 5") with { Policy = Policy.OnNode(0) });
        Check.That(after.Join(TimeSpan.FromSeconds(30)) == 5, "the rest of the run goes on");
        return 0;
    }

    /// <summary>
    /// Puts in flight to a queue on node 1 when node 1's service is killed: a queue of 16 is filled (and flushed: all
    /// 16 arrived), 16 more are accepted and wait in node 1's inbox for room; then node 1 is killed. The next put and a
    /// flush fail naming node 1 within seconds, and nothing was reported delivered that was not (the flush of the
    /// first 16 returned before the kill, the second flush throws).
    /// </summary>
    public static int PutsToLostNode(string goFile)
    {
        var queue = new DragonQueue<int>(maxSize: 16, node: 1);
        for (var i = 0; i < 16; i++)
        {
            queue.Put(i);
        }

        queue.Flush(TimeSpan.FromSeconds(30));
        for (var i = 16; i < 32; i++)
        {
            Check.That(queue.TryPut(i, TimeSpan.FromSeconds(5)), $"put {i} is accepted while the queue is full (it waits in flight)");
        }

        var extra = Stopwatch.StartNew();
        Check.That(!queue.TryPut(32, TimeSpan.FromMilliseconds(300)) && extra.ElapsedMilliseconds >= 250, "put 32 finds the window full and times out, taking nothing");
        WaitForGo(goFile);
        var clock = Stopwatch.StartNew();
        var flush = Check.Throws<NodeLostException>(() => queue.Flush(TimeSpan.FromSeconds(30)), "the flush of the puts in flight fails with node lost");
        Check.That(flush.NodeIndex == 1, $"the flush's error names node 1: {flush.NodeIndex}");
        Check.That(flush.Message.Contains("16 message(s)", StringComparison.Ordinal), $"the error says how many were not delivered: {flush.Message}");
        Check.That(clock.Elapsed < TimeSpan.FromSeconds(15), $"the senders heard within {clock.Elapsed.TotalSeconds:F1} s, not a hang");
        Check.Throws<NodeLostException>(() => queue.Put(99, TimeSpan.FromSeconds(5)), "a later put fails with node lost too");
        var after = DragonProcess.Start(ProcessTemplate.Executable("/bin/sh", "-c", "exit 5") with { Policy = Policy.OnNode(0) });
        Check.That(after.Join(TimeSpan.FromSeconds(30)) == 5, "the rest of the run goes on");
        return 0;
    }

    /// <summary>
    /// 1,000,000 attempted puts (try-once) from the head on node 0 into a queue of 16 on node 1 with one consumer on
    /// node 1: a full queue pushes back (the attempts find the window full), memory stays flat in the head
    /// and in the launcher (which hosts both node services), and every accepted message arrives once, in order.
    /// </summary>
    public static int RemotePutFlood()
    {
        const int Attempts = 1_000_000;
        using var queue = new DragonQueue<int>(maxSize: 16, node: 1);
        using var counts = new DragonQueue<long>(maxSize: 4, node: 0);
        var consumer = DragonProcess.Start(ProcessTemplate.FromMethod(ConsumeSlowly, queue, counts) with { Policy = Policy.OnNode(1) });
        Check.That(counts.Get(TimeSpan.FromSeconds(60)) == -1, "the consumer is ready");
        var launcher = int.Parse(File.ReadAllText("/proc/self/stat").Split(") ")[1].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        long accepted = 0, headStart = 0, launcherStart = 0, headPeak = 0, launcherPeak = 0;
        for (var i = 0; i < Attempts; i++)
        {
            if (queue.TryPut((int)accepted, TimeSpan.Zero))
            {
                accepted++;
            }
            else
            {
                // Refused: the window is full. Give the CPU to the services and the consumer (two cores here).
                Thread.Yield();
            }

            if (i % 50_000 == 0)
            {
                var head = RssKb(Environment.ProcessId);
                var host = RssKb(launcher);
                if (i == 100_000)
                {
                    (headStart, launcherStart) = (head, host);
                }

                (headPeak, launcherPeak) = (Math.Max(headPeak, head), Math.Max(launcherPeak, host));
            }
        }

        queue.Put(-1, TimeSpan.FromSeconds(60));
        queue.Flush(TimeSpan.FromSeconds(60));
        Console.WriteLine($"FLOOD accepted={accepted} head_kb={headStart}->{headPeak} launcher_kb={launcherStart}->{launcherPeak}");
        Check.That(accepted > 1000 && accepted < Attempts, $"messages flowed and the full queue pushed back: {accepted} of {Attempts} attempts were accepted");
        Check.That(headPeak - headStart < 32 * 1024, $"the head's memory stayed flat: {headStart} KiB -> {headPeak} KiB");
        Check.That(launcherPeak - launcherStart < 32 * 1024, $"the launcher's memory (both node services) stayed flat: {launcherStart} KiB -> {launcherPeak} KiB");
        var received = counts.Get(TimeSpan.FromSeconds(120));
        var inOrder = counts.Get(TimeSpan.FromSeconds(10));
        Check.That(received == accepted, $"every accepted message arrived once: {received} of {accepted}");
        Check.That(inOrder == 1, "they arrived in the order they were put");
        Check.That(consumer.Join(TimeSpan.FromSeconds(60)) == 0, "the consumer ended cleanly");
        return 0;
    }

    public static int ConsumeSlowly(DragonQueue<int> queue, DragonQueue<long> counts)
    {
        long received = 0;
        var inOrder = 1L;
        var next = 0;
        counts.Put(-1);
        while (true)
        {
            var value = queue.Get(TimeSpan.FromSeconds(120));
            if (value < 0)
            {
                break;
            }

            inOrder &= value == next ? 1 : 0;
            next = value + 1;
            received++;
        }

        counts.Put(received);
        counts.Put(inOrder);
        return 0;
    }

    private static long RssKb(int pid) =>
        long.Parse(File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);

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
