using Dragon.Services.Node;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Scale;

/// <summary>The run's tree, which spreads the node table and the end of the run over the node services.</summary>
public sealed class NodeTreeTests : IDisposable
{
    private readonly DragonRun _dragon = new();

    public void Dispose() => _dragon.Dispose();

    [Fact]
    public void Fork7_FanOut2_EveryNodeHoldsTheTableThatCameDownTheTree()
    {
        // Node 6 hangs from node 2, which hangs from node 0: it holds the node table only if it came down two links.
        // Its worker reaches the queue, event and barrier on node 0 through node 6's service, which needs the table.
        var result = _dragon.RunWithEnv(TimeSpan.FromMinutes(3), new Dictionary<string, string> { ["DRAGON_FANOUT"] = "2" }, "--wlm", "fork", "--local-nodes", "7", Repo.TestApp, "objects-all-nodes");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("FAIL", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(7, result.Stdout.Split('\n').Count(l => l.Contains("passed the barrier", StringComparison.Ordinal)));
        _dragon.AssertNothingLeft();
    }
}

/// <summary>The shape of the run's tree, without a run.</summary>
public sealed class NodeTreeShapeTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(16)]
    public void Subtrees_OfTheRoots_HoldEveryNodeExactlyOnceAndEachUnderItsParent(int width)
    {
        foreach (var count in Enumerable.Range(1, 300))
        {
            var reached = NodeTree.Roots(count, width).SelectMany(root => NodeTree.Subtree(root, count, width)).ToList();
            Assert.Equal(Enumerable.Range(0, count), reached.Order());
            foreach (var node in Enumerable.Range(0, count))
            {
                Assert.All(NodeTree.Children(node, count, width), child => Assert.Equal(node, (child / width) - 1));
            }
        }
    }
}
