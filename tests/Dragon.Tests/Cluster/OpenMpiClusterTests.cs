using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Cluster;

/// <summary>An Open MPI job over two fake-cluster hosts: each host's node service serves PMIx from its own libpmix, and the fences cross between them over the runtime's links.</summary>
[Collection(ClusterCollection.Name)]
public sealed class OpenMpiClusterTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);
    private readonly FakeCluster _cluster;
    private readonly DragonRun _dragon = new();

    public OpenMpiClusterTests(FakeCluster cluster) => _cluster = cluster;

    private string Dragon(string args) => $"cd {Repo.Root} && DRAGON_RUN_BASE={_dragon.RunBase} {Repo.Dragon} {args}";

    [Fact]
    public void OpenMpi_TwoRanksOnDifferentHosts_FormOneJobAndReduce()
    {
        var result = _cluster.RunInHead(Dragon($"--hosts n1,n2 {Repo.TestApp} openmpi-allreduce {Repo.MpiProgram("mpitest-openmpi")} Pmix spread"), s_timeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("FAIL", result.Stdout, StringComparison.Ordinal);
        // The spread starts at the least busy node: n2, since the head runs on n1.
        Assert.Contains("member 0 on n2 says 'rank=0 size=2 sum=3'", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("member 1 on n1 says 'rank=1 size=2 sum=3'", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("CHECK ranks ran on 2 node(s)", result.Stdout, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
        foreach (var host in new[] { "n1", "n2" })
        {
            var shm = _cluster.RunInHostNamespaces(host, "ls /dev/shm | grep -E '^(dragon-|vader_segment)' || true", TimeSpan.FromSeconds(30));
            Assert.True(shm.Stdout.Trim().Length == 0, $"{host} still has /dev/shm files: {shm.Stdout}");
        }
    }

    public void Dispose() => _dragon.Dispose();
}
