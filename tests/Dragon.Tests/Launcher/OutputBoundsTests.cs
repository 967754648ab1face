using Xunit;
using System.Diagnostics;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Launcher;

/// <summary>
/// Output is bounded in bytes everywhere and its back-pressure reaches the child that writes it: a terminal that
/// does not read for a while slows the writer but never gets a node lost, and output nobody reads yet costs the
/// launcher a bounded amount of memory.
/// </summary>
public sealed class OutputBoundsTests : IDisposable
{
    private readonly DragonRun _dragon = new();

    /// <summary>Starts dragon, reads nothing of its stdout for <paramref name="stall"/>, then counts its lines.</summary>
    private (int Lines, bool AllWhole, int ExitCode, string Stderr) RunBehindSlowReader(TimeSpan stall, Func<string, bool> isWhole, params string[] args)
    {
        using var dragon = _dragon.StartDragon(args);
        var stderr = dragon.StandardError.ReadToEndAsync();
        Thread.Sleep(stall);
        var lines = 0;
        var whole = true;
        while (dragon.StandardOutput.ReadLine() is { } line)
        {
            lines++;
            whole &= isWhole(line);
        }

        Assert.True(dragon.WaitForExit(120_000), "dragon did not end");
        return (lines, whole, dragon.ExitCode, stderr.Result);
    }

    [Fact]
    public void FarNodeOutput_TerminalStallsEightSeconds_EveryLineArrivesAndNoNodeIsLost()
    {
        var (lines, whole, code, stderr) = RunBehindSlowReader(
            TimeSpan.FromSeconds(8), line => line.Length == 1000, "--wlm", "fork", "--local-nodes", "1", "/usr/bin/perl", "-e", "print \"x\" x 1000, \"\\n\" for 1..200000");
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Equal(200_000, lines);
        Assert.True(whole, "every line arrived whole");
        Assert.DoesNotContain("lost", stderr, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void LabelledOutputOnOneMachine_TerminalStalls_EveryLineArrives()
    {
        var (lines, whole, code, stderr) = RunBehindSlowReader(
            TimeSpan.FromSeconds(3), IsLabelled, "--label", "/usr/bin/perl", "-e", "print \"x\" x 1000, \"\\n\" for 1..50000");
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Equal(50_000, lines);
        Assert.True(whole, "every line arrived whole, labelled");
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void PipedOutput_NoOneReadsLargeLines_LauncherMemoryStaysBounded()
    {
        using var dragon = _dragon.StartDragon([Repo.TestApp, "unread-output", "6000", "65000"]);
        Assert.Equal("READY", dragon.StandardOutput.ReadLine());

        // The writer fills what the node service keeps for the pipe, then blocks: the launcher stops growing.
        var peak = 0L;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(4))
        {
            peak = Math.Max(peak, ResidentBytes(dragon.Id));
            Thread.Sleep(100);
        }

        dragon.StandardInput.WriteLine("go");
        dragon.StandardInput.Flush();
        var stdout = dragon.StandardOutput.ReadToEnd();
        Assert.True(dragon.WaitForExit(120_000), "dragon did not end");
        Assert.True(dragon.ExitCode == 0, $"exit {dragon.ExitCode}\n{stdout}\n{dragon.StandardError.ReadToEnd()}");
        Assert.Contains("CHECK all 6000 lines of 65000 bytes arrived", stdout, StringComparison.Ordinal);

        // 6,000 lines of 65 KB is 390 MB; kept for a reader, at most 1 MiB plus the launcher itself.
        Assert.True(peak < 80L << 20, $"the launcher grew to {peak >> 20} MiB while the output was unread");
        _dragon.AssertNothingLeft();
    }

    private static bool IsLabelled(string line) =>
        line.StartsWith("[4294967296@", StringComparison.Ordinal) && line.EndsWith("] " + new string('x', 1000), StringComparison.Ordinal);

    /// <summary>VmRSS of a process, in bytes.</summary>
    internal static long ResidentBytes(int pid) => StatusBytes(pid, "VmRSS:");

    /// <summary>
    /// The anonymous part of the resident set (heap, stacks): what a process keeps of its own. Pages of its
    /// executable and libraries come and go with use and with the kernel's reclaim, and are left out.
    /// </summary>
    internal static long AnonymousResidentBytes(int pid) => StatusBytes(pid, "RssAnon:");

    private static long StatusBytes(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    public void Dispose() => _dragon.Dispose();
}
