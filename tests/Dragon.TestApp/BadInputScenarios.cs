namespace Dragon.TestApp;

public static class BadInputScenarios
{
    public static int All()
    {
        var e1 = Check.Throws<ProcessStartException>(() => DragonProcess.Start(ProcessTemplate.Executable("/no/such/program")), "missing executable");
        Check.That(e1.Message.Contains("/no/such/program", StringComparison.Ordinal), "the error names the path");

        var file = Path.Combine(Path.GetTempPath(), $"dragon-noexec-{Environment.ProcessId}");
        File.WriteAllText(file, "#!/bin/sh\necho hi\n");
        try
        {
            var e2 = Check.Throws<ProcessStartException>(() => DragonProcess.Start(ProcessTemplate.Executable(file)), "non-executable file");
            Check.That(e2.Message.Contains(file, StringComparison.Ordinal) && e2.Message.Contains("not executable", StringComparison.Ordinal), "the error names the file and why");
        }
        finally
        {
            File.Delete(file);
        }

        var e3 = Check.Throws<ProcessStartException>(() => DragonProcess.Start(ProcessTemplate.Executable("/bin/true") with { Cwd = "/no/such/dir" }), "bad cwd");
        Check.That(e3.Message.Contains("/no/such/dir", StringComparison.Ordinal), "the error names the directory");

        var e4 = Check.Throws<ArgumentException>(() => ProcessTemplate.FromMethod(typeof(InstanceWorker), "Run"), "non-static method target");
        Check.That(e4.Message.Contains("not static", StringComparison.Ordinal), "the error says it is not static");
        var e5 = Check.Throws<ArgumentException>(() => ProcessTemplate.FromMethod(typeof(Workers), "NoSuchMethod"), "missing method target");
        Check.That(e5.Message.Contains("NoSuchMethod", StringComparison.Ordinal), "the error names the method");
        var captured = 3;
        var e6 = Check.Throws<ArgumentException>(() => ProcessTemplate.FromMethod(() => captured), "a lambda capturing state");
        Check.That(e6.Message.Contains("lambda", StringComparison.Ordinal), "the error says lambda");
        var e7 = Check.Throws<ArgumentException>(() => ProcessTemplate.FromMethod(Holder.Take, new Unserializable()), "an argument that cannot be serialized");
        Check.That(e7.Message.Contains(nameof(Unserializable), StringComparison.Ordinal), "the error names the argument's type");
        var e8 = Check.Throws<ProcessNotFoundException>(() => DragonProcess.MultiJoin([12345678901UL], timeout: TimeSpan.FromSeconds(1)), "joining a puid that does not exist");
        Check.That(e8.Message.Contains("12345678901", StringComparison.Ordinal), "the error names the puid");
        Check.Throws<ProcessNotFoundException>(() => DragonProcess.Attach(98765432101UL), "attaching to a puid that does not exist");
        var e9 = Check.Throws<ProcessStartException>(() => DragonProcess.Start(ProcessTemplate.Executable("/bin/true") with { Policy = Policy.OnNode("no-such-node") }), "an unknown node name");
        Check.That(e9.Message.Contains("no-such-node", StringComparison.Ordinal), "the error names the node");
        Check.Throws<ProcessStartException>(() => DragonProcess.Start(ProcessTemplate.Executable("/bin/true") with { Policy = Policy.OnNode(0).WithCpus(4096) }), "a CPU the node does not have");

        var after = DragonProcess.Start(ProcessTemplate.Executable("/bin/sh", "-c", "exit 4"));
        Check.That(after.Join(TimeSpan.FromSeconds(30)) == 4, "the runtime still serves other processes afterwards");
        return 0;
    }
}

public static class Holder
{
    public static int Take(Unserializable value) => value.Handle.CanRead ? 0 : 1;
}
