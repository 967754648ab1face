using System.Diagnostics;

namespace Dragon.TestApp;

public static class GroupScenarios
{
    public static int Restart()
    {
        var group = new ProcessGroup(restart: true, ignoreErrorOnExit: true);
        group.AddProcess(2, ProcessTemplate.Executable("/bin/sh", "-c", "sleep 0.1; exit 3"));
        group.Start();
        var first = group.GetStatus().Puids.ToArray();
        var deadline = Stopwatch.StartNew();
        while (group.GetStatus().InactivePuids.Count < 6 && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            Thread.Sleep(50);
        }

        var inactive = group.GetStatus().InactivePuids;
        Check.That(inactive.Count >= 6, $"members were restarted: {inactive.Count} incarnations exited");
        Check.That(group.GetStatus().IsRunning, "the group still runs under restart");
        var now = group.GetStatus().Puids;
        Check.That(now.Count == 2 && !now.SequenceEqual(first), $"the group has 2 members with new puids ({string.Join(",", now)})");
        Check.That(group.GetStatus().ExitStatus.All(s => s.ExitCode == 3), "every exited incarnation exited 3");
        group.Stop(TimeSpan.FromSeconds(1));
        Check.That(group.TryJoin(TimeSpan.FromSeconds(10)), "after Stop the group joins");
        Check.That(!group.GetStatus().IsRunning, "after Stop nothing is restarted");
        group.Close();
        return 0;
    }

    /// <summary>Close then Dispose (the using pattern), Dispose twice, and a Dispose that must not wait seconds.</summary>
    public static int CloseThenDispose()
    {
        using (var group = new ProcessGroup())
        {
            group.AddProcess(2, ProcessTemplate.Executable("/bin/true"));
            group.Start();
            Check.That(group.TryJoin(TimeSpan.FromSeconds(30)), "the group ran to its end");
            group.Close();
            group.Close();
            Check.That(true, "a second Close does nothing");
        }

        Check.That(true, "Dispose after Close does nothing");

        var stubborn = new ProcessGroup();
        stubborn.AddProcess(1, ProcessTemplate.Executable("/bin/sh", "-c", "trap '' INT TERM; sleep 60"));
        stubborn.Start();
        Thread.Sleep(300);
        var clock = Stopwatch.StartNew();
        stubborn.Dispose();
        Check.That(clock.Elapsed < TimeSpan.FromSeconds(1.5), $"Dispose of a group whose member ignores SIGINT and SIGTERM took {clock.Elapsed.TotalMilliseconds:F0} ms (no multi-second escalation)");
        stubborn.Dispose();
        Check.That(true, "Dispose twice does nothing");

        var neverStarted = new ProcessGroup();
        neverStarted.Dispose();
        Check.That(true, "Dispose of a group never initialized does nothing");
        return 0;
    }

    public static int IgnoreError()
    {
        var group = new ProcessGroup(ignoreErrorOnExit: true);
        group.AddProcess(3, ProcessTemplate.Executable("/bin/sh", "-c", "exit 3"));
        group.AddProcess(1, ProcessTemplate.Executable("/bin/sh", "-c", "kill -TERM $$"));
        group.Start();
        Check.That(group.TryJoin(TimeSpan.FromSeconds(30)), "the group joins without an exception");
        var codes = group.GetStatus().ExitStatus.Select(s => s.ExitCode).OrderBy(c => c).ToArray();
        Check.That(codes.SequenceEqual([-15, 3, 3, 3]), $"exit codes recorded: {string.Join(",", codes)}");
        group.Close();

        var strict = new ProcessGroup();
        strict.AddProcess(1, ProcessTemplate.Executable("/bin/sh", "-c", "exit 3"));
        strict.Start();
        Check.Throws<ProcessGroupException>(() => strict.Join(TimeSpan.FromSeconds(30)), "without ignoreErrorOnExit the same exit is an error");
        strict.Close();
        return 0;
    }

    public static int Walltime()
    {
        var group = new ProcessGroup(walltime: TimeSpan.FromSeconds(1));
        group.AddProcess(2, ProcessTemplate.Executable("/bin/sleep", "60"));
        var clock = Stopwatch.StartNew();
        group.Start();
        var e = Check.Throws<ProcessGroupException>(() => group.Join(TimeSpan.FromSeconds(30)), "walltime fails the group");
        Check.That(e.Message.Contains("walltime", StringComparison.Ordinal), "the reason names the walltime");
        Check.That(clock.Elapsed < TimeSpan.FromSeconds(10), $"reported after {clock.Elapsed.TotalSeconds:F1} s");
        var deadline = Stopwatch.StartNew();
        while (group.GetStatus().IsRunning && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(50);
        }

        Check.That(!group.GetStatus().IsRunning, "the members were stopped");
        var reasons = group.GetProcesses().Select(p => p.GetStatus().ExitReason ?? "running").ToArray();
        Check.That(reasons.All(r => r.Contains("walltime", StringComparison.Ordinal)), $"members' reasons: {string.Join(" | ", reasons)}");
        group.Close();
        return 0;
    }

    public static int StopEscalation()
    {
        var group = new ProcessGroup();
        // Ignored dispositions survive exec, so the shell's sleep children ignore INT and TERM too.
        group.AddProcess(2, ProcessTemplate.Executable("/bin/sh", "-c", "trap '' INT TERM; while :; do sleep 0.1; done"));
        group.Start();
        Thread.Sleep(300);
        var clock = Stopwatch.StartNew();
        group.Stop(TimeSpan.FromMilliseconds(500));
        Check.That(!group.GetStatus().IsRunning, $"members that ignore SIGINT and SIGTERM were stopped in {clock.Elapsed.TotalSeconds:F1} s");
        var reasons = group.GetProcesses().Select(p => p.GetStatus().ExitReason ?? "running").ToArray();
        Check.That(reasons.All(r => r.Contains("SIGKILL", StringComparison.Ordinal)), $"they needed SIGKILL: {string.Join(" | ", reasons)}");
        Check.That(clock.Elapsed >= TimeSpan.FromMilliseconds(900), "SIGINT and SIGTERM were each given their patience");
        group.Close();
        return 0;
    }

    public static int FailureReasons()
    {
        var byCode = new ProcessGroup();
        byCode.AddProcess(1, ProcessTemplate.Executable("/bin/sleep", "30") with { Policy = Policy.OnNode(0) });
        byCode.AddProcess(1, ProcessTemplate.Executable("/bin/sh", "-c", "exit 5") with { Policy = Policy.OnNode(SystemInfo.Nodes.Count - 1) });
        byCode.Start();
        var clock = Stopwatch.StartNew();
        var e = Check.Throws<ProcessGroupException>(() => byCode.Join(TimeSpan.FromSeconds(30)), "a member's exit code fails the group");
        var failing = byCode.GetStatus().Puids[1];
        var node = SystemInfo.Nodes[^1].Name;
        Check.That(e.Message.Contains("member 1", StringComparison.Ordinal) && e.Message.Contains($"puid {failing}", StringComparison.Ordinal)
            && e.Message.Contains($"node {node}", StringComparison.Ordinal) && e.Message.Contains("exited with code 5", StringComparison.Ordinal),
            $"the message names member, puid, node and code: {e.Message}");
        Check.That(clock.Elapsed < TimeSpan.FromSeconds(5), "reported at once, while another member still runs");
        byCode.Stop(TimeSpan.FromMilliseconds(200));
        byCode.Close();

        var bySignal = new ProcessGroup();
        bySignal.AddProcess(1, ProcessTemplate.Executable("/bin/sh", "-c", "kill -SEGV $$"));
        bySignal.Start();
        e = Check.Throws<ProcessGroupException>(() => bySignal.Join(TimeSpan.FromSeconds(30)), "a member's signal death fails the group");
        Check.That(e.Message.Contains("killed by signal 11 (SIGSEGV)", StringComparison.Ordinal), $"the message names the signal: {e.Message}");
        bySignal.Close();

        var method = new ProcessGroup();
        method.AddProcess(1, ProcessTemplate.FromMethod(Workers.Count, "m", 1, 9));
        method.Start();
        e = Check.Throws<ProcessGroupException>(() => method.Join(TimeSpan.FromSeconds(30)), "a C# method's return code fails the group");
        Check.That(e.Message.Contains("Workers.Count", StringComparison.Ordinal) && e.Message.Contains("code 9", StringComparison.Ordinal), $"names the method: {e.Message}");
        method.Close();
        return 0;
    }
}
