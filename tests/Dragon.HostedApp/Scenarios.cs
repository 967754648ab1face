namespace Dragon.HostedApp;

/// <summary>What a program that hosts its own runtime does; each scenario prints what the test checks.</summary>
public static class Scenarios
{
    /// <summary>Four C# method processes, round-robin over two hosted nodes, each reporting its node through a queue.</summary>
    public static async Task<int> GroupAcrossTwoNodesAsync()
    {
        await using var runtime = await LocalRuntime.StartAsync(nodes: 2);
        Console.WriteLine($"hosted={runtime.IsHosted} nodes={SystemInfo.Nodes.Count}");
        using var reports = new DragonQueue<string>(maxSize: 16);
        await using var group = new ProcessGroup();
        group.AddProcess(4, ProcessTemplate.FromMethod(Report, reports) with { Policy = Policy.RoundRobin });
        await group.StartAsync();
        var seen = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            seen.Add(await reports.GetAsync(TimeSpan.FromSeconds(60)));
        }

        await group.JoinAsync(TimeSpan.FromSeconds(60));
        var status = await group.GetStatusAsync();
        Console.WriteLine($"reports={string.Join(',', seen.Order(StringComparer.Ordinal))} exited={status.ExitStatus.Count} codes={string.Join(',', status.ExitStatus.Select(s => s.ExitCode))}");
        return 0;
    }

    /// <summary>A method target: runs in a child on some node and says which.</summary>
    public static void Report(DragonQueue<string> reports)
    {
        using var runtime = LocalRuntime.Start(nodes: 2); // in a child of the run: uses that run, starts nothing
        reports.Put($"node{Node.Current.Index}:hosted={runtime.IsHosted}");
    }

    /// <summary>The first runtime call without dragon and without a hosted runtime.</summary>
    public static int NoRuntime()
    {
        Console.WriteLine($"nodes={SystemInfo.Nodes.Count}");
        return 0;
    }

    /// <summary>Hosts a runtime with sleepers on both nodes, says so, and waits for Ctrl-C (SIGINT).</summary>
    public static async Task<int> WaitForInterruptAsync()
    {
        await using var runtime = await LocalRuntime.StartAsync(nodes: 2);
        var group = new ProcessGroup();
        group.AddProcess(2, ProcessTemplate.Executable("/bin/sleep", "600") with { Policy = Policy.RoundRobin });
        await group.StartAsync();
        var pids = (await group.GetProcessesAsync()).Select(p => p.Pid);
        Console.WriteLine($"ready pids={string.Join(',', pids)}");
        await Task.Delay(Timeout.Infinite);
        return 0;
    }
}
