using System.Text.Json;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Cluster;

public sealed partial class MultiNodeTests
{
    /// <summary>
    /// <c>dragon ps --json</c> from another process on the launcher's host, during a run over the four hosts with an
    /// MPI job of 4 ranks: every node and every rank is listed, running; a wrong secret is refused.
    /// </summary>
    [Fact]
    public void Ps_DuringFourHostMpiJob_ListsEveryNodeAndRunningRank()
    {
        var dir = Directory.CreateTempSubdirectory("dragon-ps").FullName;
        try
        {
            var go = Path.Combine(dir, "go");
            var output = Path.Combine(dir, "run.out");
            var env = $"DRAGON_RUN_BASE={_dragon.RunBase}";
            var script = $"""
                cd {Repo.Root}
                {env} {Repo.Dragon} --hosts {AllHosts} {Repo.TestApp} observe-mpi {Repo.MpiProgram("mpitest")} 4 {go} > {output} 2>&1 &
                launcher=$!
                for i in $(seq 1 900); do grep -q '^READY' {output} && break; kill -0 $launcher 2>/dev/null || break; sleep 0.1; done
                env -u DRAGON_SECRET {env} {Repo.Dragon} ps --json > {dir}/ps.json 2> {dir}/ps.err; echo "ps-exit=$?"
                {env} DRAGON_SECRET=0123456789abcdef0123456789abcdef {Repo.Dragon} ps --json > {dir}/refused.json 2> {dir}/refused.err; echo "refused-exit=$?"
                touch {go}
                wait $launcher; echo "dragon-exit=$?"
                """;
            var result = _cluster.RunInHead(script, s_timeout);
            var because = $"{result}\n--- run\n{ReadOr(output)}\n--- ps stderr\n{ReadOr(Path.Combine(dir, "ps.err"))}";
            Assert.True(result.Stdout.Contains("ps-exit=0", StringComparison.Ordinal), because);
            Assert.True(result.Stdout.Contains("dragon-exit=0", StringComparison.Ordinal), because);

            using var status = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "ps.json")));
            var root = status.RootElement;
            var nodes = root.GetProperty("nodes").EnumerateArray().ToArray();
            Assert.Equal(_cluster.Hosts, nodes.Select(n => n.GetProperty("host").GetString()!));
            Assert.All(nodes, n => Assert.False(n.GetProperty("lost").GetBoolean()));
            Assert.All(nodes, n => Assert.True(n.GetProperty("cpus").GetInt32() > 0 && n.GetProperty("memoryBytes").GetInt64() > 0));

            var group = Assert.Single(root.GetProperty("groups").EnumerateArray().ToArray());
            Assert.True(group.GetProperty("mpi").GetBoolean());
            Assert.Equal(4, group.GetProperty("running").GetInt32());

            // The ranks 0..3, one per host, each running with a pid on its host.
            var ranks = root.GetProperty("processes").EnumerateArray()
                .Where(p => p.TryGetProperty("rank", out _))
                .OrderBy(p => p.GetProperty("rank").GetInt32())
                .ToArray();
            Assert.Equal([0, 1, 2, 3], ranks.Select(p => p.GetProperty("rank").GetInt32()));
            Assert.All(ranks, p => Assert.Equal("running", p.GetProperty("state").GetString()));
            Assert.All(ranks, p => Assert.True(p.GetProperty("pid").GetInt32() > 0));
            Assert.Equal([0, 1, 2, 3], ranks.Select(p => p.GetProperty("node").GetInt32()).Order());

            Assert.True(result.Stdout.Contains("refused-exit=1", StringComparison.Ordinal), because);
            Assert.Equal(string.Empty, File.ReadAllText(Path.Combine(dir, "refused.json")));
            Assert.Contains("refused", File.ReadAllText(Path.Combine(dir, "refused.err")), StringComparison.Ordinal);
            AssertClusterClean();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string ReadOr(string path) => File.Exists(path) ? File.ReadAllText(path) : "(none)";
}
