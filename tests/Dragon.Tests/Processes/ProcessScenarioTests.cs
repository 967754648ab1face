using Xunit;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Processes;

/// <summary>
/// Runs the scenarios of Dragon.TestApp under the real launcher. Each scenario asserts inside the runtime (CHECK
/// lines); here we assert it passed, that the key checks ran, and that nothing of the run is left.
/// </summary>
public sealed class ProcessScenarioTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);
    private readonly DragonRun _dragon = new();

    private RunResult Scenario(int nodes, string scenario)
    {
        return _dragon.RunScenario(s_timeout, "--local-nodes", nodes.ToString(System.Globalization.CultureInfo.InvariantCulture), Repo.TestApp, scenario);
    }

    [Fact]
    public void Group_ExecutablesAndMethodsOverThreeNodes_AllLinesInOrderAndExitCodes()
    {
        var result = Scenario(3, "group-mixed");
        Assert.Contains("CHECK the run has 3 nodes", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(8, result.Lines.Count(l => l.EndsWith("lines in order", StringComparison.Ordinal)));
        Assert.Equal(12, result.Lines.Count(l => l.Contains("ExitCode", StringComparison.Ordinal)));
        Assert.Contains(result.Lines, l => l.StartsWith("CHECK multi-join round 2", StringComparison.Ordinal));
        Assert.Contains("CHECK join-any returned while others still ran", result.Stdout, StringComparison.Ordinal);
        Assert.Contains(result.Lines, l => l.Contains("ran on node local2", StringComparison.Ordinal));
    }

    [Fact]
    public void Group_CloseThenDispose_DisposeDoesNothingAndNeverWaitsSeconds() =>
        RunResultChecks.AssertHas(
            Scenario(1, "group-close-dispose"),
            "Dispose after Close does nothing",
            "no multi-second escalation",
            "Dispose twice does nothing");

    [Fact]
    public void Group_Restart_RespawnsUntilStopped() => Assert.Contains("members were restarted", Scenario(2, "restart").Stdout, StringComparison.Ordinal);

    [Fact]
    public void Group_IgnoreErrorOnExit_JoinsAndRecordsCodes() => Assert.Contains("exit codes recorded: -15,3,3,3", Scenario(1, "ignore-error").Stdout, StringComparison.Ordinal);

    [Fact]
    public void Group_Walltime_FailsAndStopsMembers() => Assert.Contains("the reason names the walltime", Scenario(2, "walltime").Stdout, StringComparison.Ordinal);

    [Fact]
    public void Group_StopEscalation_KillsMembersThatIgnoreIntAndTerm() => Assert.Contains("they needed SIGKILL", Scenario(2, "stop-escalation").Stdout, StringComparison.Ordinal);

    [Fact]
    public void Group_MemberFailure_ReasonNamesMemberNodeCodeOrSignal()
    {
        var stdout = Scenario(3, "failure-reasons").Stdout;
        Assert.Contains("the message names member, puid, node and code", stdout, StringComparison.Ordinal);
        Assert.Contains("killed by signal 11 (SIGSEGV)", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void BadInput_EachGivesAClearErrorAndTheRuntimeGoesOn()
    {
        var stdout = Scenario(2, "bad-input").Stdout;
        Assert.Contains("the runtime still serves other processes afterwards", stdout, StringComparison.Ordinal);
        Assert.Equal(21, stdout.Split('\n').Count(l => l.StartsWith("CHECK", StringComparison.Ordinal)));
    }

    [Fact]
    public void RuntimeObjects_PassedToAMethodInAnotherProcess_WorkThere() =>
        RunResultChecks.AssertHas(Scenario(2, "pass-objects"), "the group was stopped from the other process", "a 100 kB argument arrived whole",
            "a method child sees DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0", "a method child sees DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=35",
            "a method child sees DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=unset");

    public void Dispose() => _dragon.Dispose();
}
