using Xunit;
using System.Diagnostics;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Cluster;

/// <summary>Proves the fake cluster is what the multi-node tests assume: distinct hosts, ssh, Slurm, pullable cables.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterSmokeTests(FakeCluster cluster)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void RunOnHost_EveryHost_PrintsItsHostname()
    {
        foreach (var host in cluster.Hosts)
        {
            var result = cluster.RunOnHost(host, "hostname", s_timeout);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal(host, result.Stdout.Trim());
        }
    }

    [Fact]
    public void RunInHead_SrunOnFourNodes_RunsOnceOnEveryHost()
    {
        var result = cluster.RunInHead("srun -N 4 hostname", s_timeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(cluster.Hosts, result.Lines.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Hosts_Identity_OwnBootIdMachineIdAndShmButSharedFilesystem()
    {
        var marker = "smoke-" + Guid.NewGuid().ToString("N");
        var created = cluster.RunOnHost("n1", $"touch /dev/shm/{marker}", s_timeout);
        Assert.True(created.ExitCode == 0, created.ToString());
        try
        {
            var identities = cluster.Hosts
                .Select(host => cluster.RunOnHost(
                    host,
                    $"cat /proc/sys/kernel/random/boot_id /etc/machine-id; ls /dev/shm/{marker} 2>/dev/null; test -f {Repo.Root}/Dragon.slnx",
                    s_timeout))
                .ToArray();
            // exit 0: the last command found the repository, the filesystem is shared
            Assert.All(identities, r => Assert.True(r.ExitCode == 0, r.ToString()));
            Assert.Equal(cluster.Hosts.Count, identities.Select(r => r.Lines[0]).Distinct().Count());
            Assert.Equal(cluster.Hosts.Count, identities.Select(r => r.Lines[1]).Distinct().Count());
            // lines: boot_id, machine-id, and the marker on n1 only: /dev/shm is per host
            Assert.Equal(new[] { 3, 2, 2, 2 }, identities.Select(r => r.Lines.Length));
            Assert.DoesNotContain(File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(), identities.Select(r => r.Lines[0]));
        }
        finally
        {
            cluster.RunOnHost("n1", $"rm -f /dev/shm/{marker}", s_timeout);
        }
    }

    [Fact]
    public void SetLinkDown_Host_SshFailsWithinSecondsAndLinkUpRestoresIt()
    {
        cluster.SetLinkDown("n3");
        try
        {
            var clock = Stopwatch.StartNew();
            var cut = cluster.RunOnHost("n3", "hostname", s_timeout);
            Assert.True(cut.ExitCode != 0, cut.ToString());
            Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(8));
            var fromInside = cluster.RunInHostNamespaces("n3", "ssh -o ConnectTimeout=1 n1 true", s_timeout);
            Assert.True(fromInside.ExitCode != 0, fromInside.ToString());
            var other = cluster.RunOnHost("n1", "hostname", s_timeout);
            Assert.True(other.ExitCode == 0, other.ToString());
        }
        finally
        {
            cluster.SetLinkUp("n3");
        }

        var restored = cluster.RunOnHost("n3", "hostname", s_timeout);
        Assert.True(restored.ExitCode == 0, restored.ToString());
        Assert.Equal("n3", restored.Stdout.Trim());
    }

    [Fact]
    public void KillOnHost_Pattern_KillsOnlyThatHostsProcesses()
    {
        // the same command line on two hosts: only the one on n2 may die
        const string sleeper = "sleep 86399";
        foreach (var host in new[] { "n1", "n2" })
        {
            var started = cluster.RunOnHost(host, $"setsid {sleeper} </dev/null >/dev/null 2>&1 &", s_timeout);
            Assert.True(started.ExitCode == 0, started.ToString());
        }

        Assert.Equal(1, cluster.KillOnHost("n2", sleeper));
        Assert.Equal(0, cluster.KillOnHost("n2", sleeper));
        Assert.Equal(1, cluster.KillOnHost("n1", sleeper));
    }
}
