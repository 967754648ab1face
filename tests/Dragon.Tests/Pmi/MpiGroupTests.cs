using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Pmi;

/// <summary>MPI jobs as process groups under the real launcher, with real MPICH ranks and no mpiexec.</summary>
public sealed class MpiGroupTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(180);
    private readonly DragonRun _dragon = new();

    private RunResult Scenario(int nodes, params string[] args)
    {
        var result = _dragon.Run(s_timeout, ["--local-nodes", nodes.ToString(System.Globalization.CultureInfo.InvariantCulture), Repo.TestApp, .. args]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("FAIL", result.Stdout, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
        return result;
    }

    [Fact]
    public void Hello_TwoRanksOnOneNode_EachReportsSizeTwoAndItsRank()
    {
        var stdout = Scenario(1, "mpi-hello", Repo.MpiProgram("mpitest")).Stdout;
        Assert.Contains("says 'rank=0 size=2", stdout, StringComparison.Ordinal);
        Assert.Contains("says 'rank=1 size=2", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Hello_TwoRanksOverTwoNodes_EachReportsSizeTwoAndItsRank()
    {
        var stdout = Scenario(2, "mpi-hello", Repo.MpiProgram("mpitest"), "spread").Stdout;
        // The spread starts at the least busy node: node 1, since the head runs on node 0.
        Assert.Contains("member 0 on local1 says 'rank=0 size=2", stdout, StringComparison.Ordinal);
        Assert.Contains("member 1 on local0 says 'rank=1 size=2", stdout, StringComparison.Ordinal);
        Assert.Contains("ranks ran on 2 node(s)", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Failures_AbortEarlyExitAndDeath_EndTheJobWithinTwoSecondsWithReasons()
    {
        var stdout = Scenario(1, "mpi-failures", Repo.MpiProgram("mpitest")).Stdout;
        Assert.Contains("aborted (MPI_Abort with code 7)", stdout, StringComparison.Ordinal);
        Assert.Contains("exited with code 3 before MPI_Init", stdout, StringComparison.Ordinal);
        Assert.Contains("killed by signal 9 (SIGKILL) after MPI_Init", stdout, StringComparison.Ordinal);
        Assert.Equal(3, stdout.Split('\n').Count(l => l.EndsWith("within 2 s", StringComparison.Ordinal)));
        Assert.Equal(3, stdout.Split('\n').Count(l => l.Contains("the exception's context is rank 1, node 0", StringComparison.Ordinal)));
        Assert.Contains("the other job was unaffected", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void NotMpi_ProgramThatNeverConnects_IsReportedWithoutHanging()
    {
        var stdout = Scenario(2, "mpi-not-mpi").Stdout;
        Assert.Contains("without ever connecting to PMI", stdout, StringComparison.Ordinal);
    }

    public void Dispose() => _dragon.Dispose();
}
