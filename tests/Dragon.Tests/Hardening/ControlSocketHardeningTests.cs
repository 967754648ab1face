using System.Net.Sockets;
using Dragon.Tests.Infrastructure;
using Dragon.Tests.Runtime;
using Xunit;

namespace Dragon.Tests.Hardening;

/// <summary>
/// Attacks on a run's control socket by a local process that does not hold the run's secret: the run survives,
/// the head completes, nothing is left behind.
/// </summary>
public sealed class ControlSocketHardeningTests : IDisposable
{
    private static readonly TimeSpan s_runTimeout = TimeSpan.FromSeconds(120);
    private readonly DragonRun _dragon = new();

    public void Dispose() => _dragon.Dispose();

    [Fact]
    public void ControlSocket_HelloWithHugeStringLength_RunSurvivesAndHeadCompletes()
    {
        using var run = new HostileRun(_dragon, [], "start-after");
        foreach (var length in new[] { unchecked((int)0x80000000), -2, int.MaxValue, 5 })
        {
            using var socket = run.Connect();
            socket.Send(Hostile.HelloWithStringLength(length));
            var closedAfter = HostileRun.TimeUntilClosed(socket, TimeSpan.FromSeconds(10));
            Assert.True(closedAfter < TimeSpan.FromSeconds(3), $"the service refused the hostile hello at once (after {closedAfter.TotalSeconds:F1} s)");
        }

        Assert.True(run.Finish(s_runTimeout) == 0, run.Output);
        Assert.Contains("STARTED", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("FAIL", run.Output, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void ControlSocket_PreAuthLengthPrefixOf256MiB_RefusedAtOnceWithoutAllocating()
    {
        using var run = new HostileRun(_dragon, [], "start-after");
        var before = ResidentBytes(run.LauncherPid);
        for (var i = 0; i < 40; i++)
        {
            using var socket = run.Connect();
            socket.Send(Hostile.Header((256 * 1024 * 1024) - 1));
            var closedAfter = HostileRun.TimeUntilClosed(socket, TimeSpan.FromSeconds(10));
            Assert.True(closedAfter < TimeSpan.FromSeconds(3), $"a 256 MiB length prefix was refused from the header (after {closedAfter.TotalSeconds:F1} s)");
        }

        var grown = ResidentBytes(run.LauncherPid) - before;
        Assert.True(grown < 64L * 1024 * 1024, $"40 hostile length prefixes grew the launcher by {grown / (1024 * 1024)} MiB");
        Assert.True(run.Finish(s_runTimeout) == 0, run.Output);
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public async Task ControlSocket_ConnectionThatNeverProvesTheSecret_IsClosedAfterTheDeadline()
    {
        using var run = new HostileRun(_dragon, [], "start-after");
        using var silent = run.Connect();
        using var halfHeader = run.Connect();
        halfHeader.Send(new byte[] { 20, 0, 0, 0, 0, 0 });
        var silentClosed = Task.Run(() => HostileRun.TimeUntilClosed(silent, TimeSpan.FromSeconds(30)));
        var halfClosed = Task.Run(() => HostileRun.TimeUntilClosed(halfHeader, TimeSpan.FromSeconds(30)));
        foreach (var (what, closed) in new[] { ("a silent connection", await silentClosed), ("half a header", await halfClosed) })
        {
            Assert.True(closed > TimeSpan.FromSeconds(3) && closed < TimeSpan.FromSeconds(15), $"{what} was closed after {closed.TotalSeconds:F1} s (deadline 5 s)");
        }

        Assert.True(run.Finish(s_runTimeout) == 0, run.Output);
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void ControlSocket_ManyIdleConnectionsUnderLowFdLimit_LaterProcessesStillStart()
    {
        // With logging on: a log opening its file while descriptors are exhausted must not end the accept loop.
        using var run = new HostileRun(_dragon, ["-l", "debug"], "start-after");
        using (var prlimit = System.Diagnostics.Process.Start("prlimit", ["--pid", run.LauncherPid.ToString(System.Globalization.CultureInfo.InvariantCulture), "--nofile=256:256"]))
        {
            prlimit.WaitForExit();
            Assert.Equal(0, prlimit.ExitCode);
        }

        // More idle connections than the launcher has descriptors: its accept fails with "too many open files"
        // until the pre-authentication deadline closes the idle ones.
        var idle = new List<Socket>();
        try
        {
            for (var i = 0; i < 400; i++)
            {
                idle.Add(run.Connect());
            }

            // Past the 5 s deadline: the first idle connections are closed, the accept loop has met EMFILE and
            // must still be accepting (the rest of the idle ones, then the head's new processes).
            Thread.Sleep(7000);
            Assert.True(run.Finish(s_runTimeout) == 0, run.Output);
            Assert.Contains("STARTED", run.Output, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var socket in idle)
            {
                socket.Dispose();
            }
        }

        _dragon.AssertNothingLeft();
    }

    private static long ResidentBytes(int pid)
    {
        var line = File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}
