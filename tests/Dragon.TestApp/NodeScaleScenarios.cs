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

    /// <summary>
    /// A group of <paramref name="count"/> sleepers round-robin over every node, then one member on node 1 whose program
    /// does not exist. The node services start members in batches: the failing member ends one, so the start must fail
    /// naming that program, and every sleeper already started, in that batch as in the others, must be stopped.
    /// </summary>
    public static int PartialStart(int count)
    {
        var marker = string.Create(CultureInfo.InvariantCulture, $"{600 + (Environment.ProcessId % 1000)}.25");
        using var group = new ProcessGroup();
        group.AddProcess(count, ProcessTemplate.Executable("/bin/sleep", marker) with { Policy = Policy.RoundRobin });
        group.AddProcess(1, ProcessTemplate.Executable("/no/such/program-in-a-batch") with { Policy = Policy.OnNode(1) });
        var clock = Stopwatch.StartNew();
        var message = string.Empty;
        try
        {
            group.Start();
        }
        catch (ProcessStartException e)
        {
            message = e.Message;
        }

        Check.That(message.Contains("/no/such/program-in-a-batch", StringComparison.Ordinal), $"the start failed naming the missing program (got '{message}')");
        var alive = Sleepers(marker);
        while (alive > 0 && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            Thread.Sleep(100);
            alive = Sleepers(marker);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"partial_start sleepers_left={alive} seconds={clock.Elapsed.TotalSeconds:F1}"));
        return alive == 0 ? 0 : 1;
    }

    /// <summary>Live processes running <c>sleep MARKER</c> (zombies do not count).</summary>
    private static int Sleepers(string marker)
    {
        var count = 0;
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (cmdline == $"/bin/sleep\0{marker}\0" && !File.ReadAllText(Path.Combine(dir, "stat")).Split(')')[^1].TrimStart().StartsWith('Z'))
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return count;
    }

    /// <summary>
    /// <paramref name="count"/> small queues alternating over two nodes, all alive at once: each ring is backed only
    /// for what it holds and no process keeps a descriptor per ring; a sample carries a message; all released at the end.
    /// </summary>
    public static int ManyQueues(int count)
    {
        var clock = Stopwatch.StartNew();
        var before = Directory.GetFiles("/dev/shm", $"dragon-{SystemInfo.RunId}*").Length;
        var queues = new DragonQueue<int>[count];
        for (var i = 0; i < count; i++)
        {
            queues[i] = new DragonQueue<int>(maxSize: 8, node: i % SystemInfo.Nodes.Count);
        }

        var created = clock.Elapsed;
        var files = Directory.GetFiles("/dev/shm", $"dragon-{SystemInfo.RunId}*").Length - before;
        var fds = Directory.GetFiles("/proc/self/fd").Length;
        var serviceFds = NodeServicePids().Select(pid => Directory.GetFiles($"/proc/{pid}/fd").Length).DefaultIfEmpty(0).Max();

        // Mappings (each an entry of vm.max_map_count): this process's, and the most of any process that runs node
        // services (the launcher itself when they run inside it).
        var maps = File.ReadAllLines("/proc/self/maps").Length;
        var servicePids = NodeServicePids().DefaultIfEmpty(ParentPid()).ToArray();
        var serviceMaps = servicePids.Select(pid => File.ReadAllLines($"/proc/{pid}/maps").Length).Max();
        // A hundred queues in use, on every node in turn (so over two nodes half of them go through the other node's
        // service).
        var step = Math.Max(1, count / 100);
        for (var k = 0; k < 100 && (k * step) + (k % SystemInfo.Nodes.Count) < count; k++)
        {
            var i = (k * step) + (k % SystemInfo.Nodes.Count);
            queues[i].Put(i);
            Check.That(queues[i].Get(TimeSpan.FromSeconds(10)) == i, $"queue {i} on node {i % SystemInfo.Nodes.Count} carries a message");
        }

        foreach (var queue in queues)
        {
            queue.Dispose();
        }

        var released = clock.Elapsed;
        var left = 0;
        for (var wait = Stopwatch.StartNew(); wait.Elapsed < TimeSpan.FromSeconds(60); Thread.Sleep(100))
        {
            left = Directory.GetFiles("/dev/shm", $"dragon-{SystemInfo.RunId}*").Length - before;
            if (left <= 0)
            {
                break;
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"queues={count} ring_files={files} fds={fds} service_fds={serviceFds} maps={maps} service_maps={serviceMaps} left={left} create_ms={created.TotalMilliseconds:F0} release_ms={released.TotalMilliseconds:F0}"));
        return 0;
    }

    /// <summary>This process's parent: its node service (the launcher, when the node services run inside it).</summary>
    private static int ParentPid()
    {
        // /proc/self/stat: "pid (comm) state ppid ..."; the command name may hold spaces, so count from its ')'.
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[1], CultureInfo.InvariantCulture);
    }

    /// <summary>The node services of this run that are processes of their own (<c>--wlm fork</c>).</summary>
    private static IEnumerable<int> NodeServicePids()
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            string command;
            try
            {
                command = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            if (command.Contains(" _node ", StringComparison.Ordinal) && command.Contains(SystemInfo.RunId, StringComparison.Ordinal)
                && int.TryParse(Path.GetFileName(dir), out var pid))
            {
                yield return pid;
            }
        }
    }
}
