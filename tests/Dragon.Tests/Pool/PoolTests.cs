using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Pool;

/// <summary>
/// DragonPool under the real launcher on two local nodes (scenarios in Dragon.TestApp/PoolScenarios.cs): each run must
/// pass its checks and leave no process, socket or shared-memory file behind.
/// </summary>
public sealed class PoolTests : IDisposable
{
    private readonly DragonRun _dragon = new();

    [Fact]
    public void MapAsync_HundredThousandTasksOnTwoNodesWithAWorkerKilled_ReturnsEveryResultInOrderAndReportsTheReplacement()
    {
        var result = _dragon.RunScenario(TimeSpan.FromSeconds(300), "--local-nodes", "2", Repo.TestApp, "pool-map-kill");
        RunResultChecks.AssertHas(
            result,
            "workers on every node",
            "100000 results of 100000",
            "every result present and in input order",
            "killed by signal 9 (SIGKILL)",
            "a replacement took slot",
            "its in-flight tasks were retried",
            "the unordered map after the replacement returns every result");
    }

    [Fact]
    public void Meter_SubmitsAFailureAndAMap_CountsEveryTaskByOutcomeWithALatency()
    {
        var result = _dragon.RunScenario(TimeSpan.FromSeconds(180), Repo.TestApp, "pool-metrics");
        RunResultChecks.AssertHas(result, "111 tasks submitted", "110 finished ok", "1 failed", "nothing retried or replaced", "a latency per task");
    }

    [Fact]
    public void SubmitAsync_TaskThrows_CallerGetsRemoteTypeMessageStackAndNode_PoolGoesOn()
    {
        var result = _dragon.RunScenario(TimeSpan.FromSeconds(180), "--local-nodes", "2", Repo.TestApp, "pool-failures");
        RunResultChecks.AssertHas(
            result,
            "remote type and message: System.InvalidOperationException: unlucky 13",
            "remote stack:",
            "a later task succeeds",
            "the map's error names the task",
            "a later map succeeds",
            "a lambda is refused",
            "a task past the timeout",
            "the pool's replacement worker runs the next task");
        Assert.Contains(result.Lines, l => l.Contains("PoolTasks.Fail(Int32 x)", StringComparison.Ordinal));
    }

    [Fact]
    public void MapAsync_Cancelled_StopsPromptlyAndThePoolStaysUsable()
    {
        var result = _dragon.RunScenario(TimeSpan.FromSeconds(180), "--local-nodes", "2", Repo.TestApp, "pool-cancel");
        RunResultChecks.AssertHas(result, "the cancelled map", "it stopped within", "the pool runs the next task", "the stream ended after", "a map after both cancels completes");
    }

    [Fact]
    public void DisposeAsync_AfterWork_LeavesNoWorkerAndNoSharedMemoryFile()
    {
        var result = _dragon.RunScenario(TimeSpan.FromSeconds(180), "--local-nodes", "2", Repo.TestApp, "pool-shutdown");
        RunResultChecks.AssertHas(result, "workers ran a map", "exited by itself: exited with code 0", "no shared-memory file left by the pool", "a submit after dispose");
    }

    [Fact]
    public void Workers_OwnerKilled_ExitByThemselves()
    {
        var result = _dragon.RunScenario(TimeSpan.FromSeconds(180), "--local-nodes", "2", Repo.TestApp, "pool-owner-killed");
        RunResultChecks.AssertHas(result, "the owner's pool runs workers", "exited by itself (76) after its owner was killed");
    }

    public void Dispose() => _dragon.Dispose();
}
