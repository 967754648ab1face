using Xunit;
using System.Diagnostics;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Launcher;

/// <summary>A run ends with nothing left: when interrupted, and when its launcher is killed and cleanup runs.</summary>
public sealed class TeardownTests : IDisposable
{
    private readonly DragonRun _dragon = new();

    private (System.Diagnostics.Process Dragon, List<int> Pids) StartSleepers(int count)
    {
        var dragon = _dragon.StartDragon(["--local-nodes", "2", Repo.TestApp, "sleepers", count.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        var pids = new List<int>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            var line = dragon.StandardOutput.ReadLine() ?? throw new InvalidOperationException("dragon ended early: " + dragon.StandardError.ReadToEnd());
            if (line == "READY")
            {
                return (dragon, pids);
            }

            if (line.StartsWith("PID ", StringComparison.Ordinal))
            {
                pids.Add(int.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        throw new TimeoutException("the sleepers did not start");
    }

    [Fact]
    public void Dragon_KilledWithSigkill_CleanupRemovesEverything()
    {
        var (dragon, pids) = StartSleepers(4);
        Assert.Equal(5, pids.Count);

        // The fence would remove the run at once (FenceTests); without it, cleanup is what remains.
        var fence = Assert.Single(_dragon.RuntimeProcesses("_fence"));
        Assert.Equal(0, Native.Kill(fence, 9));
        dragon.Kill();
        dragon.WaitForExit();
        Assert.All(pids, pid => Assert.True(Directory.Exists($"/proc/{pid}"), $"pid {pid} should outlive a killed launcher until cleanup"));
        Assert.Single(Directory.GetDirectories(_dragon.RunBase));

        var dryRun = _dragon.Run(TimeSpan.FromSeconds(30), "cleanup", "--dry-run");
        Assert.Equal(0, dryRun.ExitCode);
        Assert.Contains("5 process(es) alive", dryRun.Stdout, StringComparison.Ordinal);
        Assert.Single(Directory.GetDirectories(_dragon.RunBase));

        var cleanup = _dragon.Run(TimeSpan.FromSeconds(30), "cleanup");
        Assert.Equal(0, cleanup.ExitCode);
        _dragon.AssertNothingLeft();
        dragon.Dispose();
    }

    [Theory]
    [InlineData(2, 130)]
    [InlineData(15, 143)]
    public void Dragon_Signal_StopsEveryProcessExitsWith128PlusSignalAndCleansUp(int signal, int exitCode)
    {
        var (dragon, pids) = StartSleepers(4);
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, Native.Kill(dragon.Id, signal));
        Assert.True(dragon.WaitForExit(30_000), $"dragon did not end after signal {signal}");
        Assert.Equal(exitCode, dragon.ExitCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        Assert.All(pids, pid => Assert.False(Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z", StringComparison.Ordinal), $"pid {pid} survived"));
        _dragon.AssertNothingLeft();
        dragon.Dispose();
    }

    [Fact]
    public void Dragon_SigtermDuringMpiJob_StopsTheRanksAndExits143()
    {
        var dragon = _dragon.StartDragon(["-n", "2", Repo.MpiProgram("mpitest"), "sleep", "60"]);
        var initialized = 0;
        var clock = Stopwatch.StartNew();
        while (initialized < 2 && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            var line = dragon.StandardOutput.ReadLine() ?? throw new InvalidOperationException("dragon ended early: " + dragon.StandardError.ReadToEnd());
            initialized += line.StartsWith("initialized rank=", StringComparison.Ordinal) ? 1 : 0;
        }

        Assert.Equal(2, initialized);
        Assert.Equal(0, Native.Kill(dragon.Id, 15));
        Assert.True(dragon.WaitForExit(30_000), "dragon did not end after SIGTERM");
        Assert.Equal(143, dragon.ExitCode);
        _dragon.AssertNothingLeft();
        dragon.Dispose();
    }

    [Fact]
    public void Cleanup_LeavesLiveRunsAlone()
    {
        var (dragon, _) = StartSleepers(1);
        var cleanup = _dragon.Run(TimeSpan.FromSeconds(30), "cleanup");
        Assert.Equal(0, cleanup.ExitCode);
        Assert.Single(Directory.GetDirectories(_dragon.RunBase));
        Assert.False(dragon.HasExited);
        Native.Kill(dragon.Id, 15);
        Assert.True(dragon.WaitForExit(30_000));
        _dragon.AssertNothingLeft();
        dragon.Dispose();
    }

    public void Dispose() => _dragon.Dispose();
}

internal static partial class Native
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int KillNative(int pid, int signal);

    public static int Kill(int pid, int signal) => KillNative(pid, signal);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "chown", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int ChownNative(string path, int owner, int group);

    public static int Chown(string path, int owner, int group) => ChownNative(path, owner, group);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "getuid")]
    private static partial int GetUidNative();

    public static int GetUid() => GetUidNative();
}
