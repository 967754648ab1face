using System.Globalization;
using System.Text.RegularExpressions;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Scale;

/// <summary>Many queues alive at once over two node services that are processes of their own.</summary>
public sealed partial class ManyQueuesTests : IDisposable
{
    private readonly DragonRun _dragon = new();

    [Fact]
    public void FiveThousandQueues_OverTwoNodeServices_HoldNoDescriptorPerRingAndAreAllReleased()
    {
        var result = _dragon.Run(TimeSpan.FromMinutes(4), "--wlm", "fork", "--local-nodes", "2", Repo.TestApp, "scale-queues", "5000");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("FAIL", result.Stdout, StringComparison.Ordinal);
        var line = Summary().Match(result.Stdout);
        Assert.True(line.Success, result.ToString());
        int Figure(string name) => int.Parse(line.Groups[name].Value, CultureInfo.InvariantCulture);
        Assert.Equal(5_000, Figure("files"));

        // The user process maps only the rings it uses, each node service its 2,500: descriptors stay at what a
        // process has anyway (a descriptor per ring, as a MemoryMappedFile keeps, would be thousands).
        Assert.InRange(Figure("fds"), 1, 400);
        Assert.InRange(Figure("servicefds"), 1, 400);
        Assert.Equal(0, Figure("left"));
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void SeventyThousandQueues_NodeServiceInsideTheLauncher_PassTheMapCountAndAreAllReleased()
    {
        // One node, its service inside the launcher: every ring was mapped there, and past vm.max_map_count (65,530)
        // the creation failed. Now the service keeps at most 16,384 mapped and the head only those it uses.
        var result = _dragon.Run(TimeSpan.FromMinutes(8), Repo.TestApp, "scale-queues", "70000");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("FAIL", result.Stdout, StringComparison.Ordinal);
        var line = Summary().Match(result.Stdout);
        Assert.True(line.Success, result.ToString());
        int Figure(string name) => int.Parse(line.Groups[name].Value, CultureInfo.InvariantCulture);
        Assert.Equal(70_000, Figure("files"));
        Assert.InRange(Figure("servicemaps"), 1, 16_384 + 4_000);
        Assert.InRange(Figure("maps"), 1, 4_000);
        Assert.InRange(Figure("fds"), 1, 400);
        Assert.Equal(0, Figure("left"));
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void ThreeThousandQueues_ServiceKeepsSixtyFourMapped_EveryRemoteOperationStillServed()
    {
        // Both node services inside the launcher, which may keep 64 rings mapped: the head's puts and gets to the
        // queues of node 1 go through that service, to rings it unmapped long before and maps again.
        var result = _dragon.RunWithEnv(TimeSpan.FromMinutes(4), new Dictionary<string, string> { ["DRAGON_MAPPED_RINGS"] = "64" },
            "--local-nodes", "2", Repo.TestApp, "scale-queues", "3000");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("FAIL", result.Stdout, StringComparison.Ordinal);
        var checks = result.Stdout.Split('\n').Where(l => l.StartsWith("CHECK queue", StringComparison.Ordinal)).ToList();
        Assert.Equal(100, checks.Count);
        Assert.Equal(50, checks.Count(l => l.EndsWith("on node 1 carries a message", StringComparison.Ordinal)));
        var line = Summary().Match(result.Stdout);
        Assert.True(line.Success, result.ToString());
        int Figure(string name) => int.Parse(line.Groups[name].Value, CultureInfo.InvariantCulture);
        Assert.Equal(3_000, Figure("files"));
        Assert.InRange(Figure("servicemaps"), 1, 1_000);
        Assert.Equal(0, Figure("left"));
        _dragon.AssertNothingLeft();
    }

    public void Dispose() => _dragon.Dispose();

    [GeneratedRegex(@"queues=\d+ ring_files=(?<files>\d+) fds=(?<fds>\d+) service_fds=(?<servicefds>\d+) maps=(?<maps>\d+) service_maps=(?<servicemaps>\d+) left=(?<left>-?\d+)")]
    private static partial Regex Summary();
}
