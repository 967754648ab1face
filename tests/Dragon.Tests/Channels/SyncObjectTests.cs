using Xunit;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Channels;

/// <summary>
/// Event, Barrier, Lock and Semaphore between processes on three nodes (the object on node 1, processes spread
/// over all three), with the runtime's real processes and links; each run must leave nothing behind.
/// </summary>
public sealed class SyncObjectTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);
    private readonly DragonRun _dragon = new();

    [Fact]
    public void Barrier_SixPartiesOnThreeNodes_HundredRoundsEachWithArrivalIndicesZeroToFive() =>
        RunResultChecks.AssertHas(Scenario("sync-barrier"), "passed 100 rounds; every round the arrival indices were 0..5", "a lone waiter that times out gets TimeoutException and breaks the barrier: TimeoutException", "and it stays broken: BrokenBarrierException");

    [Fact]
    public void Lock_SixProcessesOnThreeNodesIncrementAFile_FinalValueExactAndNeverTwoInside()
    {
        var result = Scenario("sync-lock");
        RunResultChecks.AssertHas(result, "x 50 increments under the lock: the file says 300", "Acquire with a timeout on a held lock is false", "releasing a lock held by another process: InvalidOperationException");
        Assert.Contains(result.Lines, l => l.Contains("on nodes 0,1,2,0,1,2", StringComparison.Ordinal));
    }

    [Fact]
    public void Lock_HolderKilledWithSigkill_WaiterOnAnotherNodeGetsItWithin2s() =>
        RunResultChecks.AssertHas(Scenario("sync-lock-kill"), "the waiter got the lock within 2 s", "the lock is free again for the head");

    [Fact]
    public void Semaphore_BoundedOfTwoSharedBySixProcesses_NeverMoreThanTwoInsideAndReleaseAboveBoundRefused() =>
        RunResultChecks.AssertHas(
            Scenario("sync-semaphore"),
            "never more than 2 inside at once",
            "releasing a bounded semaphore above its initial value: InvalidOperationException",
            "the error gives the bound",
            "Acquire with a timeout at value 0 is false");

    [Fact]
    public void Event_SetClearWaitAcrossNodes_WaitersReleasedAndTimeoutsHonoured() =>
        RunResultChecks.AssertHas(
            Scenario("sync-event"),
            "node 0: Wait returned true when another process set the event",
            "node 2: Wait returned true when another process set the event",
            "Wait on a clear event with a timeout is false",
            "Wait with a zero timeout on a clear event is false",
            "Clear makes it clear");

    public void Dispose() => _dragon.Dispose();

    private RunResult Scenario(string scenario)
    {
        return _dragon.RunScenario(s_timeout, "--local-nodes", "3", Repo.TestApp, scenario);
    }
}
