using System.Globalization;
using System.Text.RegularExpressions;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Scale;

/// <summary>A cluster's worth of node services on this machine, each its own process, as on a real allocation.</summary>
public sealed partial class ManyNodeServicesTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(6);
    private readonly DragonRun _dragon = new();

    [Fact]
    public void Fork64_GroupOf10000True_EveryMemberExitsOnEveryNodeAndNothingIsLeft()
    {
        var result = _dragon.Run(s_timeout, "--wlm", "fork", "--local-nodes", "64", Repo.TestApp, "scale-true", "10000");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("FAIL", result.Stdout, StringComparison.Ordinal);
        var line = Summary().Match(result.Stdout);
        Assert.True(line.Success, result.ToString());
        int Figure(string name) => int.Parse(line.Groups[name].Value, CultureInfo.InvariantCulture);
        Assert.Equal(10_000, Figure("members"));
        Assert.Equal(10_000, Figure("exited"));
        Assert.Equal(0, Figure("failed"));
        Assert.Equal(64, Figure("nodes"));
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Fork2_GroupWhoseLastMemberCannotStart_FailsNamingItAndStopsEveryMemberStarted()
    {
        // 300 sleepers over 2 node services, and the missing program on node 1. On 2 CPUs its 151 members go in two
        // lanes of 76 and 75, and the first lane sends batches of 64 and 12, the last of which ends in the missing
        // program after its other 11 members have started (with more CPUs, more lanes and a shorter last batch).
        var result = _dragon.Run(TimeSpan.FromMinutes(2), "--wlm", "fork", "--local-nodes", "2", Repo.TestApp, "scale-partial-start", "300");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("partial_start sleepers_left=0", result.Stdout, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void LocalNodes_OverTheLimit_IsAUsageError()
    {
        var result = _dragon.Run(TimeSpan.FromSeconds(30), "--local-nodes", "1025", "/bin/true");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--local-nodes takes a number from 1 to 1024, not '1025'", result.Stderr, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"members=(?<members>\d+) exited=(?<exited>\d+) failed=(?<failed>\d+) nodes=(?<nodes>\d+)")]
    private static partial Regex Summary();

    public void Dispose() => _dragon.Dispose();
}
