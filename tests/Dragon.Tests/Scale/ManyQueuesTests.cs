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

        // The user process has 2,500 of the rings mapped and each node service its 2,500: descriptors stay at what a
        // process has anyway (a descriptor per ring, as a MemoryMappedFile keeps, would be thousands).
        Assert.InRange(Figure("fds"), 1, 400);
        Assert.InRange(Figure("servicefds"), 1, 400);
        Assert.Equal(0, Figure("left"));
        _dragon.AssertNothingLeft();
    }

    public void Dispose() => _dragon.Dispose();

    [GeneratedRegex(@"queues=\d+ ring_files=(?<files>\d+) fds=(?<fds>\d+) service_fds=(?<servicefds>\d+) left=(?<left>-?\d+)")]
    private static partial Regex Summary();
}
