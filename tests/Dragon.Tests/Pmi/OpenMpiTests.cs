using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Pmi;

/// <summary>
/// Open MPI jobs as process groups under the real launcher: real Open MPI 4.1 ranks (tests/mpi/mpitest.c built with
/// mpicc.openmpi) served PMIx by the node service's embedded libpmix, with no mpirun, prterun or orted.
/// </summary>
public sealed class OpenMpiTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(180);
    private readonly DragonRun _dragon = new();
    private readonly string[] _shmBefore = Directory.GetFiles("/dev/shm");
    private readonly string[] _tmpBefore = Directory.GetFileSystemEntries(Path.GetTempPath());

    private static string OpenMpiTest => Repo.MpiProgram("mpitest-openmpi");

    private RunResult Scenario(params string[] args)
    {
        var result = _dragon.RunScenario(s_timeout, ["--local-nodes", "1", Repo.TestApp, .. args]);
        AssertNoOpenMpiLeftovers();
        return result;
    }

    [Theory]
    [InlineData("Pmix")]
    [InlineData("Auto")]
    public void Allreduce_TwoRanksOnOneNode_OneJobOfSizeTwoWithTheRightSumAndNoLauncher(string pmi)
    {
        var stdout = Scenario("openmpi-allreduce", OpenMpiTest, pmi).Stdout;
        Assert.Contains("member 0 on", stdout, StringComparison.Ordinal);
        Assert.Contains("says 'rank=0 size=2 sum=3'", stdout, StringComparison.Ordinal);
        Assert.Contains("says 'rank=1 size=2 sum=3'", stdout, StringComparison.Ordinal);
        Assert.Contains("CHECK no MPI launcher process ran during the job", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void BesideMpich_BothJobsAtOnce_EachFormsItsOwnJob()
    {
        var stdout = Scenario("openmpi-beside-mpich", Repo.MpiProgram("mpitest"), OpenMpiTest).Stdout;
        Assert.Contains("MPICH member 1 says 'rank=1 size=2 sum=3'", stdout, StringComparison.Ordinal);
        Assert.Contains("Open MPI member 1 says 'rank=1 size=2 sum=3'", stdout, StringComparison.Ordinal);
        Assert.Contains("CHECK every rank of both jobs exited 0", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Failures_AbortEarlyExitAndDeath_EndTheJobWithinTwoSecondsWithReasons()
    {
        var stdout = Scenario("openmpi-failures", OpenMpiTest).Stdout;
        Assert.Contains("aborted (MPI_Abort with code 7)", stdout, StringComparison.Ordinal);
        Assert.Contains("exited with code 3 before MPI_Init", stdout, StringComparison.Ordinal);
        Assert.Contains("killed by signal 9 (SIGKILL) after MPI_Init", stdout, StringComparison.Ordinal);
        Assert.Equal(3, stdout.Split('\n').Count(l => l.EndsWith("within 2 s", StringComparison.Ordinal)));
        Assert.Equal(3, stdout.Split('\n').Count(l => l.Contains("the exception's context is rank 1, node 0", StringComparison.Ordinal)));
        Assert.Contains("the other job was unaffected", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_ProgramWithoutMpiLibrary_IsRefusedNamingTheFile()
    {
        var stdout = Scenario("mpi-auto-unknown").Stdout;
        Assert.Contains("cannot tell which MPI library /bin/true uses", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void DragonN_OpenMpiProgram_RunsAsOneJobServedPmix()
    {
        var result = _dragon.Run(s_timeout, "-n", "2", OpenMpiTest, "allreduce");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("rank=0 size=2 sum=3", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("rank=1 size=2 sum=3", result.Stdout, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
        AssertNoOpenMpiLeftovers();
    }

    /// <summary>Open MPI's shared-memory segments and session directory, and the PMIx server's directory, are gone.</summary>
    private void AssertNoOpenMpiLeftovers()
    {
        var shm = Directory.GetFiles("/dev/shm").Except(_shmBefore).Where(f => Path.GetFileName(f).StartsWith("vader_segment", StringComparison.Ordinal)).ToArray();
        Assert.True(shm.Length == 0, $"Open MPI shared-memory segments left: {string.Join(", ", shm)}");
        var tmp = Directory.GetFileSystemEntries(Path.GetTempPath()).Except(_tmpBefore)
            .Where(f => Path.GetFileName(f).StartsWith("ompi.", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith("dragon-pmix-", StringComparison.Ordinal))
            .ToArray();
        Assert.True(tmp.Length == 0, $"Open MPI or PMIx directories left in {Path.GetTempPath()}: {string.Join(", ", tmp)}");
    }

    public void Dispose() => _dragon.Dispose();
}
