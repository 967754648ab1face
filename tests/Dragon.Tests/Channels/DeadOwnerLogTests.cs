using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Channels;

/// <summary>
/// The home node service logs what a dead process's death did to an object: a lock whose owner was killed is released
/// and its waiters woken (the next one takes it), and the node's log (kept with <c>--log-level</c>) says so with the
/// dead owner's puid and the lock's name.
/// </summary>
public sealed class DeadOwnerLogTests : IDisposable
{
    private readonly DragonRun _dragon = new();
    private readonly string _cwd = Directory.CreateTempSubdirectory("dragon-owner-log-").FullName;

    [Fact]
    public async Task LockHost_OwnerKilledWhileAnotherWaits_HomeNodeLogsTheReleaseAsAWarning()
    {
        // The contract's holder-killed case alone: the lock lives on node 1, its holder and waiter on node 0.
        var result = Path.Combine(_cwd, "result.json");
        var info = new System.Diagnostics.ProcessStartInfo(Repo.Dragon, ["-l", "information", "--local-nodes", "2", Repo.TestApp, "contract", "sync", "two-nodes", "sync", result, "lock-holder-killed"])
        {
            WorkingDirectory = _cwd,
            RedirectStandardOutput = true,
            Environment = { ["DRAGON_RUN_BASE"] = _dragon.RunBase },
        };
        using var process = System.Diagnostics.Process.Start(info)!;
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var stdout = await process.StandardOutput.ReadToEndAsync(deadline.Token);
        await process.WaitForExitAsync(deadline.Token);
        Assert.True(process.ExitCode == 0, stdout);

        var logs = Directory.GetDirectories(_cwd, "dragon-logs-*").Single();
        var home = File.ReadAllLines(Path.Combine(logs, "node1.log"));
        var line = Assert.Single(home, l => l.Contains("exited holding it; released, and its waiters woken", StringComparison.Ordinal));
        Assert.Contains("Warning", line, StringComparison.Ordinal);
        Assert.Matches(@"lock 'lock-[0-9a-f]+': owner puid \d+ exited holding it; released, and its waiters woken", line);
        _dragon.AssertNothingLeft();
    }

    public void Dispose()
    {
        Directory.Delete(_cwd, recursive: true);
        _dragon.Dispose();
    }
}
