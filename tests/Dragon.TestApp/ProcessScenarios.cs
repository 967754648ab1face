namespace Dragon.TestApp;

public static class ProcessScenarios
{
    /// <summary>8 executables and 4 C# methods over every node; some piped; read in order; multi-join any.</summary>
    public static int GroupMixed()
    {
        var nodes = SystemInfo.Nodes;
        Check.That(nodes.Count == 3, $"the run has 3 nodes ({string.Join(",", nodes.Select(n => n.Name))})");
        var processes = new List<(DragonProcess Process, int ExpectedCode, int Lines, bool Piped, int Node)>();
        var go = Path.Combine(Path.GetTempPath(), $"dragon-go-{Guid.NewGuid():N}");
        for (var i = 0; i < 8; i++)
        {
            var piped = i % 2 == 0;
            var node = i % 3;
            // The last one waits for the head's go-file, so it is surely running when the first join-any returns.
            var wait = i == 7 ? $"while [ ! -e {go} ]; do sleep 0.05; done" : $"sleep {(piped ? 0 : 0.3 * i).ToString(System.Globalization.CultureInfo.InvariantCulture)}";
            var template = ProcessTemplate.Executable("/bin/sh", "-c", $"for k in $(seq 1 {50 + i}); do echo exe{i}-line$k; done; {wait}; exit {i}") with
            {
                Stdout = piped ? Stdio.Pipe : Stdio.DevNull,
                Policy = Policy.OnNode(node),
            };
            processes.Add((DragonProcess.Start(template), i, 50 + i, piped, node));
        }

        for (var i = 0; i < 4; i++)
        {
            var node = (i + 1) % 3;
            var template = ProcessTemplate.FromMethod(Workers.Count, $"method{i}", 30 + i, 20 + i) with
            {
                Stdout = Stdio.Pipe,
                Policy = Policy.OnNode(nodes[node].Name),
            };
            processes.Add((DragonProcess.Start(template), 20 + i, 30 + i, true, node));
        }

        foreach (var (process, _, lines, piped, node) in processes.Where(p => p.Piped))
        {
            var got = new List<string>();
            foreach (var line in process.Stdout!.ReadAllAsync<string>().ToBlockingEnumerable())
            {
                got.Add(line);
            }

            Check.That(got.Count == lines, $"puid {process.Puid} sent {got.Count} of {lines} lines");
            Check.That(got.Select((l, k) => l.EndsWith($"line{k + 1}", StringComparison.Ordinal)).All(ok => ok), $"puid {process.Puid} lines in order");
            Check.Throws<EndOfStreamException>(() => process.Stdout.Receive<string>(), $"puid {process.Puid} end of stream again after the end");
        }

        var pending = processes.Select(p => p.Process.Puid).ToHashSet();
        var exitCodes = new Dictionary<ulong, int>();
        var rounds = 0;
        while (pending.Count > 0)
        {
            var result = DragonProcess.MultiJoin(pending, joinAll: false, timeout: TimeSpan.FromSeconds(30));
            Check.That(result.Exited.Count > 0, $"multi-join round {++rounds} returned {result.Exited.Count} exited, {result.Running.Count} running");
            if (rounds == 1)
            {
                Check.That(result.Running.Count > 0, "join-any returned while others still ran");
                File.WriteAllText(go, "go");
            }

            foreach (var (puid, code) in result.Exited)
            {
                exitCodes[puid] = code;
                pending.Remove(puid);
            }
        }

        File.Delete(go);
        foreach (var (process, expected, _, _, node) in processes)
        {
            Check.That(exitCodes[process.Puid] == expected, $"puid {process.Puid} exited {exitCodes[process.Puid]} (expected {expected})");
            Check.That(process.Node.Index == node, $"puid {process.Puid} ran on node {process.Node.Name}");
            Check.That(process.GetStatus().ExitCode == expected, $"puid {process.Puid} ExitCode {process.GetStatus().ExitCode}");
        }

        return 0;
    }

    /// <summary>Starts sleepers on every node, prints their pids, waits forever (to be killed by a test).</summary>
    public static int Sleepers(int count)
    {
        var group = new ProcessGroup();
        group.AddProcess(count, ProcessTemplate.Executable("/bin/sleep", "300") with { Policy = Policy.RoundRobin });
        group.Start();
        foreach (var process in group.GetProcesses())
        {
            Console.WriteLine($"PID {process.Pid}");
        }

        Console.WriteLine($"PID {Environment.ProcessId}");
        Console.WriteLine("READY");
        group.Join();
        return 0;
    }

    /// <summary>A process and a group are passed to a C# method in another process and used there.</summary>
    public static int PassObjects()
    {
        var sleeper = DragonProcess.Start(ProcessTemplate.Executable("/bin/sleep", "300"));
        var group = new ProcessGroup();
        group.AddProcess(2, ProcessTemplate.Executable("/bin/sleep", "300"));
        group.Start();
        var worker = DragonProcess.Start(ProcessTemplate.FromMethod(Workers.StopOthers, sleeper, group) with { Stdout = Stdio.Pipe });
        var report = worker.Stdout!.ReadAllAsync<string>().ToBlockingEnumerable().ToList();
        Check.That(worker.Join(TimeSpan.FromSeconds(30)) == 0, $"worker exited 0 ({string.Join(" | ", report)})");
        Check.That(sleeper.TryJoin(TimeSpan.FromSeconds(10), out _), "the sleeper was killed from the other process");
        Check.That(group.TryJoin(TimeSpan.FromSeconds(10)), "the group was stopped from the other process");

        // An argument too large for the environment: the child fetches its target from the node service.
        var large = new string('x', 100_000);
        var measurer = DragonProcess.Start(ProcessTemplate.FromMethod(Workers.Length, large) with { Stdout = Stdio.Pipe });
        var measured = measurer.Stdout!.Receive<string>(TimeSpan.FromSeconds(30));
        Check.That(measurer.Join(TimeSpan.FromSeconds(30)) == 0 && measured == "length 100000", $"a 100 kB argument arrived whole ({measured})");

        // A method's idle thread-pool threads do not spin, unless the template says otherwise.
        const string spin = "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit";
        foreach (var (env, expected) in new (Dictionary<string, string?>?, string)[] { (null, Environment.GetEnvironmentVariable(spin) ?? "0"), (new() { [spin] = "35" }, "35"), (new() { [spin] = null }, "unset") })
        {
            var child = DragonProcess.Start(ProcessTemplate.FromMethod(Workers.PrintVariable, spin) with { Stdout = Stdio.Pipe, Env = env });
            var seen = child.Stdout!.Receive<string>(TimeSpan.FromSeconds(30));
            Check.That(child.Join(TimeSpan.FromSeconds(30)) == 0 && seen == expected, $"a method child sees {spin}={expected} ({seen})");
        }

        return 0;
    }

    public static int PrintSystemInfo()
    {
        foreach (var node in SystemInfo.Nodes)
        {
            Console.WriteLine($"NODE {node.Index} {node.Name} cpus={node.Cpus} mem={node.MemoryBytes}");
        }

        Console.WriteLine($"CPUS {SystemInfo.CpuCount}");
        Console.WriteLine($"CURRENT {Node.Current.Name}");
        return 0;
    }
}

public static class Workers
{
    /// <summary>Prints the length of <paramref name="text"/>.</summary>
    public static void Length(string text) => Console.WriteLine($"length {text.Length}");

    public static void PrintVariable(string name) => Console.WriteLine(Environment.GetEnvironmentVariable(name) ?? "unset");

    /// <summary>Prints <paramref name="lines"/> numbered lines and exits with <paramref name="code"/>.</summary>
    public static int Count(string name, int lines, int code)
    {
        for (var k = 1; k <= lines; k++)
        {
            Console.WriteLine($"{name}-line{k}");
        }

        return code;
    }

    public static void StopOthers(DragonProcess sleeper, ProcessGroup group)
    {
        Console.WriteLine($"got process {sleeper.Puid} alive={!sleeper.GetStatus().HasExited} and group {group.Id} of {group.GetStatus().Puids.Count}");
        sleeper.Kill();
        group.Stop(TimeSpan.FromSeconds(1));
        Console.WriteLine("stopped both");
    }

    public static int Sleep(int seconds)
    {
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        return 0;
    }

}

public sealed class InstanceWorker
{
    public int Run() => GetHashCode() > 0 ? 0 : 1;
}

public sealed class Unserializable
{
    public Stream Handle { get; } = Stream.Null;
}
