using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Processes;

/// <summary>Default spreads start at the least busy nodes (Dragon.TestApp/PlacementScenarios.cs).</summary>
public sealed class PlacementTests : IDisposable
{
    private readonly DragonRun _dragon = new();

    [Fact]
    public void RoundRobin_TwoConcurrentTwoMemberGroupsOnFourNodes_UseAllFourNodes()
    {
        var result = _dragon.RunScenario(TimeSpan.FromSeconds(120), "--local-nodes", "4", Repo.TestApp, "concurrent-spreads");
        var line = result.Lines.Single(l => l.StartsWith("first=", StringComparison.Ordinal));
        var parts = line.Split(' ').Select(p => p.Split('=')[1].Split(',').Select(int.Parse).ToArray()).ToArray();
        var (first, second) = (parts[0], parts[1]);

        // The head runs on node 0: the first spread starts at the idle nodes, the second at what the first left.
        Assert.Equal([1, 2], first);
        Assert.Equal([0, 3], second);
        Assert.Equal([0, 1, 2, 3], first.Concat(second).Order());
    }

    public void Dispose() => _dragon.Dispose();
}
