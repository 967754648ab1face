namespace Dragon.TestApp;

/// <summary>Input the runtime must refuse with an error naming the thing, instead of accepting it silently.</summary>
public static class RefusedInputScenarios
{
    public static int All()
    {
        NulCharacters();
        WorkingDirectoryIsAFile();
        NodeIndexes();
        MaxMessageSize();
        SignalNumbers();

        var after = DragonProcess.Start(ProcessTemplate.Executable("/bin/sh", "-c", "exit 5"));
        Check.That(after.Join(TimeSpan.FromSeconds(30)) == 5, "the runtime still serves other processes afterwards");
        return 0;
    }

    private static void NulCharacters()
    {
        var program = Check.Throws<ArgumentException>(() => ProcessTemplate.Executable("/bin/echo\0-n"), "a NUL in the program");
        Check.That(program.Message.Contains("the program contains a NUL", StringComparison.Ordinal), "the error says the program holds a NUL");
        var argument = Check.Throws<ArgumentException>(() => ProcessTemplate.Executable("/bin/echo", "fine", "cut\0here"), "a NUL in an argument");
        Check.That(argument.Message.Contains("argument 2 contains a NUL", StringComparison.Ordinal), "the error names argument 2");
        var value = Check.Throws<ArgumentException>(
            () => DragonProcess.Start(ProcessTemplate.Executable("/bin/true") with { Env = new Dictionary<string, string?> { ["GREETING"] = "hello\0world" } }),
            "a NUL in an environment value");
        Check.That(value.Message.Contains("environment variable GREETING contains a NUL", StringComparison.Ordinal), "the error names the variable");
        var key = Check.Throws<ArgumentException>(
            () => DragonProcess.Start(ProcessTemplate.Executable("/bin/true") with { Env = new Dictionary<string, string?> { ["A\0B"] = "x" } }),
            "a NUL in an environment variable name");
        Check.That(key.Message.Contains("NUL", StringComparison.Ordinal), "the error says NUL");
        var cwd = Check.Throws<ArgumentException>(() => DragonProcess.Start(ProcessTemplate.Executable("/bin/true") with { Cwd = "/tmp\0/elsewhere" }), "a NUL in the working directory");
        Check.That(cwd.Message.Contains("the working directory contains a NUL", StringComparison.Ordinal), "the error names the working directory");
    }

    private static void WorkingDirectoryIsAFile()
    {
        var file = Path.Combine(Path.GetTempPath(), $"dragon-cwd-file-{Environment.ProcessId}");
        File.WriteAllText(file, "not a directory\n");
        try
        {
            var e = Check.Throws<ProcessStartException>(() => DragonProcess.Start(ProcessTemplate.Executable("/bin/true") with { Cwd = file }), "a working directory that is a file");
            Check.That(e.Message.Contains($"{file} is not a directory", StringComparison.Ordinal), "the error says it is not a directory");
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static void NodeIndexes()
    {
        var negative = Check.Throws<ArgumentOutOfRangeException>(() => Policy.OnNode(-1), "Policy.OnNode(-1)");
        Check.That(negative.Message.Contains("-1", StringComparison.Ordinal), "the error names the index");
        Check.Throws<ArgumentOutOfRangeException>(() => _ = new Policy { NodeIndex = -2 }, "a policy built with a negative node index");
        var count = SystemInfo.Nodes.Count;
        var beyond = Check.Throws<ProcessStartException>(() => DragonProcess.Start(ProcessTemplate.Executable("/bin/true") with { Policy = Policy.OnNode(count + 4) }), "a node index beyond the run");
        Check.That(
            beyond.Message.Contains($"node index {count + 4}", StringComparison.Ordinal) && beyond.Message.Contains($"{count} node(s)", StringComparison.Ordinal),
            "the error names the index and the node count");
    }

    private static void MaxMessageSize()
    {
        var e = Check.Throws<ArgumentOutOfRangeException>(() => new DragonQueue<int>(maxMessageBytes: -1), "a queue with a negative largest message");
        Check.That(e.ParamName == "maxMessageBytes", $"the error names the parameter ({e.ParamName})");
        using var fine = new DragonQueue<int>(maxMessageBytes: 64);
        fine.Put(7);
        Check.That(fine.Get(timeout: TimeSpan.FromSeconds(10)) == 7, "a queue with a positive largest message works");
    }

    private static void SignalNumbers()
    {
        var sleeper = DragonProcess.Start(ProcessTemplate.Executable("/bin/sleep", "60"));
        var group = new ProcessGroup();
        group.AddProcess(1, ProcessTemplate.Executable("/bin/sleep", "60"));
        group.Start();
        foreach (var number in new[] { 999, 0, -9, 65 })
        {
            var e = Check.Throws<ArgumentOutOfRangeException>(() => sleeper.Signal(number), $"Process.Signal({number})");
            Check.That(e.Message.Contains($"signal {number} ", StringComparison.Ordinal), "the error names the number");
            Check.Throws<ArgumentOutOfRangeException>(() => group.Signal(number), $"ProcessGroup.Signal({number})");
        }

        Check.That(!sleeper.GetStatus().HasExited && group.GetStatus().IsRunning, "nothing was signalled");
        sleeper.Signal(64);
        Check.That(sleeper.TryJoin(TimeSpan.FromSeconds(30), out _) && sleeper.GetStatus().ExitReason?.Contains("signal 64", StringComparison.Ordinal) == true, $"signal 64 is accepted: {sleeper.GetStatus().ExitReason}");
        group.Stop(TimeSpan.FromMilliseconds(200));
        group.Close();
    }
}
