using Xunit;

namespace Dragon.Tests.Pool;

/// <summary>Where a pool's workers go and how many there are by default (DragonPool.PlanWorkers, a pure function of the nodes).</summary>
public sealed class PoolSizingTests
{
    private static Node LocalNode(int index, int cpus, string boot = "boot-a") => new(index, $"local{index}", "host", cpus, 1L << 30, $"{boot}/local{index}");

    [Fact]
    public void GrantedCpus_LocalNodesOfOneMachine_ShareItsCpus()
    {
        Assert.Equal(2, DragonPool.GrantedCpus([LocalNode(0, 2), LocalNode(1, 2)]));
        Assert.Equal(8, DragonPool.GrantedCpus([LocalNode(0, 4, "boot-a"), LocalNode(1, 4, "boot-b")]));
    }

    [Fact]
    public void PlanWorkers_Default_FollowsGrantedCpusRoundRobin()
    {
        var plan = DragonPool.PlanWorkers(new DragonPoolOptions(), [LocalNode(0, 3, "a"), LocalNode(1, 3, "b")]);
        Assert.Equal([0, 1, 0, 1, 0, 1], plan.Select(p => p.Node));
    }

    [Fact]
    public void PlanWorkers_PerNodeAndPlacement_OverrideTheDefault()
    {
        Node[] nodes = [LocalNode(0, 8, "a"), LocalNode(1, 8, "b")];
        Assert.Equal([0, 0, 1, 1], DragonPool.PlanWorkers(new DragonPoolOptions { WorkersPerNode = 2 }, nodes).Select(p => p.Node));
        var placed = DragonPool.PlanWorkers(new DragonPoolOptions { Placement = [Policy.OnNode(1).WithCpus(3), Policy.OnNode(1), new Policy()] }, nodes);
        Assert.Equal([1, 1, 0], placed.Select(p => p.Node));
        Assert.Equal([3], placed[0].Cpus!);
    }

    [Fact]
    public void PlanWorkers_BadOptions_NameWhatIsWrong()
    {
        Node[] nodes = [LocalNode(0, 2)];
        Assert.Contains("node 5", Assert.Throws<ArgumentException>(() => DragonPool.PlanWorkers(new DragonPoolOptions { Placement = [Policy.OnNode(5)] }, nodes)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => DragonPool.PlanWorkers(new DragonPoolOptions { Workers = 0 }, nodes));
        Assert.Throws<ArgumentOutOfRangeException>(() => DragonPool.PlanWorkers(new DragonPoolOptions { MaxRetries = -1 }, nodes));
        Assert.Throws<ArgumentOutOfRangeException>(() => DragonPool.PlanWorkers(new DragonPoolOptions { TaskTimeout = TimeSpan.Zero }, nodes));
    }
}
