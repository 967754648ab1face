using System.Text.Json;

namespace Dragon.TestApp;

/// <summary>
/// Exceptions thrown in the user's process carry the context the services knew: a failed group member's puid,
/// node, member index, exit code or signal; a missing process's puid; a missing object's name. Writes a typed
/// result (JSON) for the test to judge; it judges nothing itself.
/// </summary>
public static class ErrorContextScenario
{
    public static int Run(string resultPath)
    {
        var last = SystemInfo.Nodes.Count - 1;

        using var byCode = new ProcessGroup();
        byCode.AddProcess(2, ProcessTemplate.Executable("/bin/sleep", "30") with { Policy = Policy.OnNode(0) });
        byCode.AddProcess(1, ProcessTemplate.Executable("/bin/sh", "-c", "exit 7") with { Policy = Policy.OnNode(last) });
        var codeError = FailedJoin(byCode, 2, last);

        using var bySignal = new ProcessGroup();
        bySignal.AddProcess(1, ProcessTemplate.Executable("/bin/sleep", "30") with { Policy = Policy.OnNode(0) });
        bySignal.AddProcess(1, ProcessTemplate.Executable("/bin/sh", "-c", "kill -9 $$") with { Policy = Policy.OnNode(last) });
        var signalError = FailedJoin(bySignal, 1, last);

        const ulong badPuid = 98765432101UL;
        var notFound = Check.Throws<ProcessNotFoundException>(() => DragonProcess.Attach(badPuid), "attaching to a puid that does not exist");
        var missing = Check.Throws<ObjectNotFoundException>(() => DragonQueue<int>.Attach("no-such-queue"), "attaching a queue that was never created");

        var result = new ErrorContextResult(codeError, signalError, CaughtError.From(notFound, badPuid), CaughtError.From(missing));
        File.WriteAllText(resultPath, JsonSerializer.Serialize(result));
        return 0;
    }

    private static CaughtError FailedJoin(ProcessGroup group, int failingSlot, int node)
    {
        group.Start();
        var failing = group.GetStatus().Puids[failingSlot];
        var e = Check.Throws<ProcessGroupException>(() => group.Join(TimeSpan.FromSeconds(30)), $"member {failingSlot} fails the group");
        group.Stop(TimeSpan.FromMilliseconds(200));
        return CaughtError.From(e, failing, node);
    }
}
