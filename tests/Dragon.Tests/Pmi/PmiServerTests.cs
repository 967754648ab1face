using System.Diagnostics;
using System.Runtime.Versioning;
using Dragon.Services.Pmi;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using Xunit.Abstractions;

namespace Dragon.Tests.Pmi;

/// <summary>
/// The PMI server against real MPICH ranks (artifacts/mpi/mpitest, built on demand) and raw
/// clients on the ranks' ends of their socketpairs. Each test runs its own server and kills every
/// process it started.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class PmiServerTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private readonly ITestOutputHelper _output;
    private readonly List<RankProcess> _ranks = [];
    private readonly List<RawPmiClient> _clients = [];
    private PmiServer _server = null!;

    public PmiServerTests(ITestOutputHelper output) => _output = output;

    public Task InitializeAsync()
    {
        _server = new PmiServer(NullLogger.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }
        foreach (var rank in _ranks)
        {
            rank.Kill();
        }
        await _server.DisposeAsync();
        Assert.All(_ranks, r => Assert.True(r.Process.HasExited, $"rank {r.Rank} (pid {r.Process.Id}) still running"));
        foreach (var rank in _ranks)
        {
            rank.Process.Dispose();
        }
    }

    [Fact]
    public async Task Hello_TwoRanks_BothReportSizeTwoAndDistinctRanks()
    {
        var job = _server.CreateJob(size: 2);
        var events = new RankEventLog(job);

        var ranks = new[] { StartRank(job, 0, "hello"), StartRank(job, 1, "hello") };
        foreach (var rank in ranks)
        {
            Assert.Equal(0, await rank.WaitForExitAsync(s_timeout));
        }

        var reported = ranks.Select(r => ParseHello(r.Stdout)).OrderBy(h => h.Rank).ToArray();
        Assert.Equal([0, 1], reported.Select(h => h.Rank));
        Assert.All(reported, h => Assert.Equal(2, h.Size));
        foreach (int rank in new[] { 0, 1 })
        {
            Assert.Equal(
                [PmiRankEventKind.Connected, PmiRankEventKind.Initialized, PmiRankEventKind.Finalized],
                events.KindsOf(rank));
            Assert.Equal(PmiRankState.Finalized, job.GetRankState(rank));
        }
        _output.WriteLine($"{job.CompletedBarriers} barriers; rank 0 said: {ranks[0].Stdout.Trim()}");
    }

    [Fact]
    public async Task CreateJob_TwoJobsAtOnce_BothCompleteWithTheirOwnRanks()
    {
        var jobs = new[] { _server.CreateJob(size: 2), _server.CreateJob(size: 2) };
        Assert.NotEqual(jobs[0].KvsName, jobs[1].KvsName);
        var logs = jobs.Select(j => new RankEventLog(j)).ToArray();

        // Both jobs' MPICH ranks put the same keys: mixing the KVSs would break or hang MPI_Init.
        var ranks = jobs.SelectMany(j => new[] { StartRank(j, 0, "hello"), StartRank(j, 1, "hello") }).ToArray();
        foreach (var rank in ranks)
        {
            Assert.Equal(0, await rank.WaitForExitAsync(s_timeout));
        }

        for (int j = 0; j < jobs.Length; j++)
        {
            var reported = ranks.Where(r => r.Job == jobs[j]).Select(r => ParseHello(r.Stdout)).OrderBy(h => h.Rank).ToArray();
            Assert.Equal([0, 1], reported.Select(h => h.Rank));
            Assert.All(reported, h => Assert.Equal(2, h.Size));
            Assert.All(new[] { 0, 1 }, r => Assert.Equal(PmiRankEventKind.Finalized, logs[j].KindsOf(r)[^1]));
        }
    }

    [Fact]
    public async Task Abort_RankCallsMpiAbort_RaisesAbortedWithExitCodeAndKeepsRankWaiting()
    {
        var job = _server.CreateJob(size: 2);
        var events = new RankEventLog(job);
        StartRank(job, 0, "abort", "1", "7");
        var aborting = StartRank(job, 1, "abort", "1", "7");

        var aborted = await events.WaitForAsync(e => e.Kind == PmiRankEventKind.Aborted, s_timeout);
        Assert.Equal(1, aborted.Rank);
        Assert.Equal(7, aborted.ExitCode);
        Assert.Equal(PmiRankState.Aborted, job.GetRankState(1));

        // The server keeps the socket open: MPI_Abort must not return, the launcher kills the rank.
        await Task.Delay(300);
        Assert.False(aborting.Process.HasExited, $"MPI_Abort returned; stderr: {aborting.Stderr}");
    }

    [Fact]
    public async Task ExitBeforeInit_OtherRankWaitsInBarrier_ReportsNeverConnectedThenDisconnectedWhenKilled()
    {
        var job = _server.CreateJob(size: 2);
        var events = new RankEventLog(job);
        var waiting = StartRank(job, 0, "exit-before-init", "1", "3");
        var leaving = StartRank(job, 1, "exit-before-init", "1", "3");

        Assert.Equal(3, await leaving.WaitForExitAsync(s_timeout));
        await events.WaitForAsync(e => e.Rank == 0 && e.Kind == PmiRankEventKind.Initialized, s_timeout);
        await Task.Delay(300);
        Assert.False(waiting.Process.HasExited);
        Assert.Equal(PmiRankState.NotConnected, job.GetRankState(1));
        Assert.Equal(PmiRankState.Initialized, job.GetRankState(0));
        Assert.Empty(events.KindsOf(1));

        waiting.Kill();
        await events.WaitForAsync(e => e.Rank == 0 && e.Kind == PmiRankEventKind.Disconnected, s_timeout);
        Assert.Equal(PmiRankState.Disconnected, job.GetRankState(0));
    }

    [Fact]
    public async Task DieAfterInit_RankKillsItself_RaisesDisconnectedForThatRank()
    {
        var job = _server.CreateJob(size: 2);
        var events = new RankEventLog(job);
        StartRank(job, 0, "die-after-init", "1");
        var dying = StartRank(job, 1, "die-after-init", "1");

        Assert.Equal(128 + 9, await dying.WaitForExitAsync(s_timeout));
        await events.WaitForAsync(e => e.Rank == 1 && e.Kind == PmiRankEventKind.Disconnected, s_timeout);
        Assert.Equal(PmiRankState.Initialized, job.GetRankState(0));
    }

    [Fact]
    public async Task BadClients_MalformedOversizeUnknownOrSilent_OnlyTheirConnectionsFailWhileRealJobCompletes()
    {
        var fake = _server.CreateJob(size: 4);
        var fakeEvents = new RankEventLog(fake);
        var silent = Open(fake, 3); // never sends: must not hold anyone up
        var job = _server.CreateJob(size: 2);
        var ranks = new[] { StartRank(job, 0, "hello"), StartRank(job, 1, "hello") };

        var malformed = Open(fake, 0);
        await malformed.SendAsync("this is not pmi\n");
        var oversize = Open(fake, 1);
        await oversize.SendAsync("cmd=put kvsname=" + fake.KvsName + " key=k value=" + new string('x', 2000) + "\n");
        var unknown = Open(fake, 2);
        await unknown.SendAsync("cmd=frobnicate\n");

        foreach (var client in new[] { malformed, oversize, unknown })
        {
            Assert.True(await client.WaitForCloseAsync(s_timeout), "the server left a bad connection open");
        }
        Assert.Contains("malformed", (await fakeEvents.WaitForAsync(e => e.Rank == 0 && e.Kind == PmiRankEventKind.ProtocolError, s_timeout)).Message);
        Assert.Contains("exceeds", (await fakeEvents.WaitForAsync(e => e.Rank == 1 && e.Kind == PmiRankEventKind.ProtocolError, s_timeout)).Message);
        Assert.Contains("unknown command", (await fakeEvents.WaitForAsync(e => e.Rank == 2 && e.Kind == PmiRankEventKind.ProtocolError, s_timeout)).Message);
        Assert.Equal(PmiRankState.Failed, fake.GetRankState(0));

        foreach (var rank in ranks)
        {
            Assert.Equal(0, await rank.WaitForExitAsync(s_timeout));
        }
        Assert.Equal([0, 1], ranks.Select(r => ParseHello(r.Stdout).Rank).Order());
        Assert.False(await silent.WaitForCloseAsync(TimeSpan.FromMilliseconds(50)));
        Assert.Equal(PmiRankState.NotConnected, fake.GetRankState(3));
    }

    [Fact]
    public async Task OpenRank_TakenOrNotLocalRank_IsRefusedAndTheFirstConnectionServes()
    {
        var job = _server.CreateJob(size: 3, mapping: PmiProcessMapping.FromNodeOfRank([0, 0, 1]), localRanks: [0, 1]);
        var first = Open(job, 0);

        Assert.Contains("already has its PMI connection", Assert.Throws<InvalidOperationException>(() => job.OpenRank(0)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => job.OpenRank(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => job.OpenRank(-1));
        Assert.Equal("cmd=appnum appnum=0", await first.RequestAsync("cmd=get_appnum"));
        job.Dispose();
        Assert.Throws<InvalidOperationException>(() => job.OpenRank(1));
    }

    [Fact]
    public async Task OpenRank_EndClosedBeforeAnyRequest_RaisesNothingAndStaysNotConnected()
    {
        var job = _server.CreateJob(size: 2);
        var events = new RankEventLog(job);
        Open(job, 0).Dispose();
        var spoke = Open(job, 1);
        Assert.Equal("cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0", await spoke.RequestAsync("cmd=init pmi_version=1 pmi_subversion=1"));
        spoke.Dispose();

        await events.WaitForAsync(e => e.Rank == 1 && e.Kind == PmiRankEventKind.Disconnected, s_timeout);
        Assert.Empty(events.KindsOf(0));
        Assert.Equal(PmiRankState.NotConnected, job.GetRankState(0));
        Assert.Equal([PmiRankEventKind.Connected, PmiRankEventKind.Disconnected], events.KindsOf(1));
    }

    [Fact]
    public void Environment_FdMode_NamesTheInheritedDescriptorAndNoPort()
    {
        var environment = _server.CreateJob(size: 2).EnvironmentFor(1);
        Assert.Equal("3", environment[PmiEnvironment.Fd]);
        Assert.Equal("1", environment[PmiEnvironment.Rank]);
        Assert.Equal("2", environment[PmiEnvironment.Size]);
        Assert.Equal("2", environment[PmiEnvironment.LocalRankCount]);
        Assert.Equal("1", environment[PmiEnvironment.LocalRankId]);
        Assert.DoesNotContain("PMI_PORT", environment.Keys);
        Assert.DoesNotContain("PMI_ID", environment.Keys);
    }

    [Fact]
    public async Task Commands_RawClient_AnswersThePmi1Table()
    {
        var job = _server.CreateJob(size: 1);
        var events = new RankEventLog(job);
        var client = Open(job, 0);

        string kvs = job.KvsName;
        Assert.Equal("cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0", await client.RequestAsync("cmd=init pmi_version=1 pmi_subversion=1"));
        Assert.Equal("cmd=maxes kvsname_max=256 keylen_max=64 vallen_max=1024", await client.RequestAsync("cmd=get_maxes"));
        Assert.Equal("cmd=appnum appnum=0", await client.RequestAsync("cmd=get_appnum"));
        Assert.Equal($"cmd=my_kvsname kvsname={kvs}", await client.RequestAsync("cmd=get_my_kvsname"));
        Assert.Equal("cmd=universe_size size=1", await client.RequestAsync("cmd=get_universe_size"));
        Assert.Equal("cmd=get_result rc=0 msg=success value=(vector,(0,1,1))", await client.RequestAsync($"cmd=get kvsname={kvs} key=PMI_process_mapping"));
        Assert.Equal("cmd=get_result rc=-1 msg=key_card_not_found value=unknown", await client.RequestAsync($"cmd=get kvsname={kvs} key=card"));
        Assert.Equal("cmd=put_result rc=0 msg=success", await client.RequestAsync($"cmd=put kvsname={kvs} key=card value=0a1b2c"));
        Assert.Equal("cmd=get_result rc=0 msg=success value=0a1b2c", await client.RequestAsync($"cmd=get kvsname={kvs} key=card"));
        Assert.StartsWith("cmd=get_result rc=-1", await client.RequestAsync("cmd=get kvsname=other key=card"), StringComparison.Ordinal);
        Assert.Equal("cmd=barrier_out", await client.RequestAsync("cmd=barrier_in"));
        Assert.Equal("cmd=publish_result info=ok rc=0 msg=success", await client.RequestAsync("cmd=publish_name service=svc port=tag#1"));
        Assert.Equal("cmd=lookup_result port=tag#1 info=ok rc=0 msg=success", await client.RequestAsync("cmd=lookup_name service=svc"));
        Assert.StartsWith("cmd=unpublish_result info=ok rc=0", await client.RequestAsync("cmd=unpublish_name service=svc"), StringComparison.Ordinal);
        Assert.Contains("rc=1 msg=service_not_found", await client.RequestAsync("cmd=lookup_name service=svc"), StringComparison.Ordinal);
        await client.SendAsync("mcmd=spawn\nnprocs=1\nexecname=/bin/true\nendcmd\n");
        Assert.Equal("cmd=spawn_result rc=-1", await client.ReadLineAsync(s_timeout));
        Assert.Equal("cmd=finalize_ack", await client.RequestAsync("cmd=finalize"));

        client.Dispose();
        await Task.Delay(100);
        Assert.Equal([PmiRankEventKind.Connected, PmiRankEventKind.Initialized, PmiRankEventKind.Finalized], events.KindsOf(0));
    }

    [Fact]
    public async Task Get_TwoJobsSameKey_EachSeesOnlyItsOwnValue()
    {
        var a = _server.CreateJob(size: 1);
        var b = _server.CreateJob(size: 1);
        var clientA = Open(a, 0);
        var clientB = Open(b, 0);

        await clientA.RequestAsync($"cmd=put kvsname={a.KvsName} key=k value=a");
        Assert.Equal("cmd=get_result rc=-1 msg=key_k_not_found value=unknown", await clientB.RequestAsync($"cmd=get kvsname={b.KvsName} key=k"));
        Assert.StartsWith("cmd=get_result rc=-1", await clientB.RequestAsync($"cmd=get kvsname={a.KvsName} key=k"), StringComparison.Ordinal);
        await clientB.RequestAsync($"cmd=put kvsname={b.KvsName} key=k value=b");
        Assert.Equal("cmd=get_result rc=0 msg=success value=a", await clientA.RequestAsync($"cmd=get kvsname={a.KvsName} key=k"));
        Assert.Equal("cmd=get_result rc=0 msg=success value=b", await clientB.RequestAsync($"cmd=get kvsname={b.KvsName} key=k"));
    }

    [Fact]
    public async Task Barrier_WithExchangeHook_HandsOverLocalPutsAndServesOtherNodesPuts()
    {
        var exchanged = new List<Dictionary<string, string>>();
        var job = _server.CreateJob(
            size: 2,
            mapping: PmiProcessMapping.FromNodeOfRank([0, 1]),
            localRanks: [0],
            exchange: (localPuts, _) =>
            {
                exchanged.Add(new Dictionary<string, string>(localPuts));
                var all = new Dictionary<string, string>(localPuts) { [$"remote{exchanged.Count}"] = "from-node-1" };
                return Task.FromResult<IReadOnlyDictionary<string, string>>(all);
            });
        Assert.Throws<ArgumentOutOfRangeException>(() => job.EnvironmentFor(1));
        Assert.Equal("1", job.EnvironmentFor(0)[PmiEnvironment.LocalRankCount]);

        var client = Open(job, 0);
        string kvs = job.KvsName;
        Assert.Equal("cmd=get_result rc=0 msg=success value=(vector,(0,2,1))", await client.RequestAsync($"cmd=get kvsname={kvs} key=PMI_process_mapping"));
        await client.RequestAsync($"cmd=put kvsname={kvs} key=card0 value=abc");
        Assert.Equal("cmd=get_result rc=-1 msg=key_remote1_not_found value=unknown", await client.RequestAsync($"cmd=get kvsname={kvs} key=remote1"));
        Assert.Equal("cmd=barrier_out", await client.RequestAsync("cmd=barrier_in"));
        Assert.Equal("cmd=get_result rc=0 msg=success value=from-node-1", await client.RequestAsync($"cmd=get kvsname={kvs} key=remote1"));
        Assert.Equal("cmd=barrier_out", await client.RequestAsync("cmd=barrier_in"));

        Assert.Equal(2, exchanged.Count);
        Assert.Equal(new Dictionary<string, string> { ["card0"] = "abc" }, exchanged[0]);
        Assert.Empty(exchanged[1]);
        Assert.Equal(2, job.CompletedBarriers);
    }

    [Fact]
    public async Task Barrier_ExchangeThrows_FailsWaitingRanksWithProtocolError()
    {
        var job = _server.CreateJob(size: 2, localRanks: [0], exchange: (_, _) => throw new InvalidOperationException("node n1 unreachable"));
        var events = new RankEventLog(job);
        var client = Open(job, 0);
        await client.SendAsync("cmd=barrier_in\n");

        Assert.True(await client.WaitForCloseAsync(s_timeout));
        var failed = await events.WaitForAsync(e => e.Kind == PmiRankEventKind.ProtocolError, s_timeout);
        Assert.Contains("node n1 unreachable", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_RoundTrip_TakesWellUnderATenthOfAMillisecond()
    {
        var job = _server.CreateJob(size: 1);
        var client = Open(job, 0);
        string get = $"cmd=get kvsname={job.KvsName} key=PMI_process_mapping";
        for (int i = 0; i < 2000; i++)
        {
            await client.RequestAsync(get);
        }

        const int Count = 20000;
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < Count; i++)
        {
            await client.RequestAsync(get);
        }
        double microseconds = watch.Elapsed.TotalMicroseconds / Count;
        _output.WriteLine($"PMI get round trip over a socketpair: {microseconds:F1} us mean over {Count}");
        Assert.True(microseconds < 1000, $"mean round trip {microseconds:F1} us"); // generous: the box is shared
    }

    [Fact]
    public void ProcessMapping_Layouts_EncodeAsMpichReadsThem()
    {
        Assert.Equal("(vector,(0,1,4))", PmiProcessMapping.SingleNode(4).Value);
        Assert.Equal("(vector,(0,2,2))", PmiProcessMapping.FromNodeOfRank([0, 0, 1, 1]).Value);
        Assert.Equal("(vector,(0,2,1))", PmiProcessMapping.FromNodeOfRank([0, 1, 0, 1]).Value);
        Assert.Equal("(vector,(0,1,2),(1,1,1))", PmiProcessMapping.FromNodeOfRank([0, 0, 1]).Value);
        Assert.Equal("(vector,(1,1,1),(0,1,1))", PmiProcessMapping.FromNodeOfRank([1, 0]).Value);
        Assert.Equal(3, PmiProcessMapping.FromNodeOfRank([0, 1, 2, 0, 1, 2]).NodeCount);
    }

    [Fact]
    public void Environment_InheritedLauncherVariables_AreRecognized()
    {
        Assert.True(PmiEnvironment.IsInherited("PMI_FD"));
        Assert.True(PmiEnvironment.IsInherited("HYDI_CONTROL_FD"));
        Assert.True(PmiEnvironment.IsInherited("MPI_LOCALRANKID"));
        Assert.False(PmiEnvironment.IsInherited("PATH"));
        Assert.False(PmiEnvironment.IsInherited("MPIR_CVAR_CH4_NETMOD"));
    }

    private static (int Rank, int Size) ParseHello(string stdout)
    {
        string line = stdout.Split('\n').Single(l => l.StartsWith("rank=", StringComparison.Ordinal));
        var fields = line.Split(' ').Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1]);
        return (int.Parse(fields["rank"], System.Globalization.CultureInfo.InvariantCulture), int.Parse(fields["size"], System.Globalization.CultureInfo.InvariantCulture));
    }

    private RankProcess StartRank(PmiJob job, int rank, params string[] arguments)
    {
        var process = RankProcess.Start(job, rank, MpiPrograms.MpiTest, arguments);
        _ranks.Add(process);
        return process;
    }

    private RawPmiClient Open(PmiJob job, int rank)
    {
        var client = RawPmiClient.Open(job, rank);
        _clients.Add(client);
        return client;
    }
}
