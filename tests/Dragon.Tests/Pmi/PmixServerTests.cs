using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.Versioning;
using Dragon.Services.Global;
using Dragon.Services.Pmi;
using Dragon.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Dragon.Tests.Pmi;

/// <summary>
/// The embedded PMIx server in this test process against real Open MPI ranks (artifacts/mpi/mpitest-openmpi) started
/// with the environment libpmix prepared for them: rank events, abort, the one-namespace rule, and one server serving
/// job after job. Every rank started is killed and every scratch directory removed.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class PmixServerTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private static int s_nextJob;
    private readonly List<Process> _ranks = [];
    private readonly string _scratch = Directory.CreateTempSubdirectory("dragon-pmix-test").FullName;

    [Fact]
    public async Task Allreduce_TwoRanksTwiceWithTheServerReleasedBetween_EventsConnectedInitializedFinalized()
    {
        PmixServer? first = null;
        for (var round = 0; round < 2; round++)
        {
            // Released and acquired again, the process keeps its one server: libpmix cannot start a second.
            var server = PmixServer.Acquire(NullLogger.Instance, "local0");
            Assert.Same(first ?? server, server);
            first = server;
            try
            {
                using var job = await RegisterAsync(server);
                var events = Record(job);
                var ranks = new[] { Start(job, 0, "allreduce"), Start(job, 1, "allreduce") };
                for (var rank = 0; rank < 2; rank++)
                {
                    var output = await ranks[rank].StandardOutput.ReadToEndAsync().WaitAsync(s_timeout);
                    await ranks[rank].WaitForExitAsync().WaitAsync(s_timeout);
                    Assert.True(ranks[rank].ExitCode == 0, $"round {round} rank {rank} exited {ranks[rank].ExitCode}: {output}{await ranks[rank].StandardError.ReadToEndAsync()}");
                    Assert.Contains($"rank={rank} size=2 sum=3", output, StringComparison.Ordinal);
                    Assert.Equal([PmiRankEventKind.Connected, PmiRankEventKind.Initialized, PmiRankEventKind.Finalized], events.Where(e => e.Rank == rank).Select(e => e.Kind));
                    Assert.Equal(PmiRankState.Finalized, job.GetRankState(rank));
                }
            }
            finally
            {
                PmixServer.Release();
            }
        }
    }

    [Fact]
    public async Task Abort_RankOne_RaisesAbortedWithItsCodeAndTheRankWaitsToBeKilled()
    {
        var server = PmixServer.Acquire(NullLogger.Instance, "local0");
        try
        {
            using var job = await RegisterAsync(server);
            var events = Record(job);
            var ranks = new[] { Start(job, 0, "abort", "1", "7"), Start(job, 1, "abort", "1", "7") };
            var clock = Stopwatch.StartNew();
            while (!events.Any(e => e.Kind == PmiRankEventKind.Aborted) && clock.Elapsed < s_timeout)
            {
                await Task.Delay(10);
            }
            var aborted = Assert.Single(events, e => e.Kind == PmiRankEventKind.Aborted);
            Assert.Equal(1, aborted.Rank);
            Assert.Equal(7, aborted.ExitCode);
            Assert.Equal(PmiRankState.Aborted, job.GetRankState(1));

            // As under hydra the aborting rank is not answered: it stays in MPI_Abort until the job kills it.
            await Task.Delay(500);
            Assert.False(ranks[1].HasExited, "the aborting rank returned from MPI_Abort instead of waiting to be killed");
        }
        finally
        {
            KillRanks();
            PmixServer.Release();
        }
    }

    [Fact]
    public async Task Register_SameNamespaceTwiceInOneProcess_RefusedNamingTheReason()
    {
        var server = PmixServer.Acquire(NullLogger.Instance, "local0");
        try
        {
            using var job = await RegisterAsync(server);
            var e = await Assert.ThrowsAsync<ServiceException>(() => PmixJob.RegisterAsync(
                server, job.Nspace, [0, 1], ["local0", "local1"], 1, null, new Dictionary<string, string>(), NullLogger.Instance));
            Assert.Contains($"PMIx namespace {job.Nspace} is already served by this process", e.Message, StringComparison.Ordinal);
            Assert.Contains("--local-nodes", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            PmixServer.Release();
        }
    }

    public void Dispose()
    {
        KillRanks();
        Directory.Delete(_scratch, recursive: true);
    }

    private Task<PmixJob> RegisterAsync(PmixServer server) => PmixJob.RegisterAsync(
        server,
        $"dragon_pmixtest_{Environment.ProcessId}_{Interlocked.Increment(ref s_nextJob)}",
        [0, 0],
        ["local0"],
        0,
        null,
        new Dictionary<string, string>
        {
            [PmixKeys.ResourceManagerHint] = "pmix-test",
            ["OMPI_MCA_orte_tmpdir_base"] = _scratch,
            ["OMPI_MCA_btl_vader_backing_directory"] = _scratch,
        },
        NullLogger.Instance);

    private static ConcurrentQueue<PmixRankEvent> Record(PmixJob job)
    {
        var events = new ConcurrentQueue<PmixRankEvent>();
        job.RankEvent += events.Enqueue;
        return events;
    }

    private Process Start(PmixJob job, int rank, params string[] args)
    {
        var start = new ProcessStartInfo(Repo.MpiProgram("mpitest-openmpi"), args) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var name in start.Environment.Keys.Where(PmiEnvironment.IsInherited).ToList())
        {
            start.Environment.Remove(name);
        }
        foreach (var (name, value) in job.EnvironmentFor(rank))
        {
            start.Environment[name] = value;
        }
        var process = Process.Start(start)!;
        _ranks.Add(process);
        return process;
    }

    private void KillRanks()
    {
        foreach (var rank in _ranks)
        {
            if (!rank.HasExited)
            {
                rank.Kill(entireProcessTree: true);
            }
            rank.WaitForExit(5000);
            Assert.True(rank.HasExited, $"rank pid {rank.Id} still running");
        }
    }
}
