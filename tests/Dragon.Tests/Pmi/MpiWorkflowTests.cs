using System.Text.RegularExpressions;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Pmi;

/// <summary>The reference workflow (examples/MpiWorkflow) end to end on this machine.</summary>
public sealed partial class MpiWorkflowTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(300);
    private readonly DragonRun _dragon = new();

    private static string Workflow => Repo.Built("MpiWorkflow");

    [Fact]
    public void Workflow_FiveProducersTwoAtATime_AllResultsArriveAndExitZero()
    {
        var result = _dragon.Run(s_timeout, Workflow, "--producers", "5", "--concurrent", "2", "--ranks", "2", "--mpi-args", "--warmup 5 -i 50");
        AssertEveryResult(result, producers: 5);
        for (var producer = 0; producer < 5; producer++)
        {
            Assert.Contains($"producer {producer}: node ", result.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Workflow_OpenMpiBuildOfTheBenchmark_AllResultsArriveAndExitZero()
    {
        // The same workflow with the benchmark built by mpicc.openmpi: Pmi.Auto serves it PMIx instead of PMI-1.
        var result = _dragon.Run(s_timeout, Workflow, "--producers", "3", "--concurrent", "2", "--ranks", "2", "--mpi-exe", Repo.MpiProgram("alltoall-openmpi"), "--mpi-args", "--warmup 5 -i 50");
        AssertEveryResult(result, producers: 3);
    }

    /// <summary>The run exited 0, every producer logged all 13 message sizes, main said so, and nothing is left.</summary>
    private void AssertEveryResult(RunResult result, int producers)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        var rows = ResultRow().Matches(result.Stdout).Select(m => (Producer: int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), Size: int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture))).ToList();
        var expectedSizes = Enumerable.Range(0, 13).Select(k => 1 << k).ToArray();
        for (var producer = 0; producer < producers; producer++)
        {
            var sizes = rows.Where(r => r.Producer == producer).Select(r => r.Size).OrderBy(s => s).ToArray();
            Assert.True(expectedSizes.SequenceEqual(sizes), $"producer {producer} logged sizes {string.Join(",", sizes)}\n{result}");
        }

        Assert.Contains($"main: all {producers} producers finished", result.Stdout, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Workflow_MpiJobFails_MainReportsTheProducerAndExitsNonZero()
    {
        var result = _dragon.Run(s_timeout, Workflow, "--producers", "2", "--concurrent", "2", "--ranks", "2", "--mpi-exe", Repo.MpiProgram("mpitest"), "--mpi-args", "abort 1 5");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Matches(@"main: producer [01] failed: .*rank 1 .*aborted \(MPI_Abort with code 5\)", result.Stderr);
        Assert.Contains("main: 2 of 2 producers failed", result.Stdout, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Workflow_MpiExePointingNowhere_FailsWithAClearError()
    {
        var result = _dragon.Run(s_timeout, Workflow, "--mpi-exe", "/no/such/benchmark");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--mpi-exe /no/such/benchmark does not exist", result.Stderr, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Workflow_BadOption_FailsNamingIt()
    {
        var result = _dragon.Run(s_timeout, Workflow, "--producers", "zero");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--producers takes a whole number of at least 1, not 'zero'", result.Stderr, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
    }

    public void Dispose() => _dragon.Dispose();

    [GeneratedRegex(@"producer=(\d+) size=(\d+) latency_us=[\d.]+")]
    private static partial Regex ResultRow();
}
