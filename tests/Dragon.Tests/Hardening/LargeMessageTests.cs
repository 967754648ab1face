using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Hardening;

/// <summary>A 100 MiB message across nodes: the launcher (which hosts both node services here) stays below 3 copies of it.</summary>
public sealed class LargeMessageTests : IDisposable
{
    private readonly DragonRun _dragon = new();

    public void Dispose() => _dragon.Dispose();

    [Fact]
    public void Queue_100MiBMessageAcrossNodes_LauncherPeakStaysBounded()
    {
        var result = _dragon.RunScenario(TimeSpan.FromSeconds(180), "--local-nodes", "2", Repo.TestApp, "big-message", "100");
        var peak = long.Parse(result.Lines.Single(l => l.StartsWith("LAUNCHER_PEAK_KB ", StringComparison.Ordinal))["LAUNCHER_PEAK_KB ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(peak < PeakLimitKb, $"the launcher peaked at {peak / 1024} MiB for one 100 MiB message\n{result}");
    }

    // Measured about 215 MiB here (the body read from the sender's socket, whose payload is forwarded without a copy,
    // and the body joined from the link's chunks, written to the ring without a copy) over about 17 MiB with no
    // message; it was 614 MiB with a copy at every step, and the issue measured 870 MB before exact-size framing.
    // Three copies plus the baseline leaves room for the GC's timing.
    private const long PeakLimitKb = ((3 * 100) + 20) * 1024;
}
