using Dragon.TestApp;
using Xunit;
using Xunit.Abstractions;

namespace Dragon.Tests.Contract;

/// <summary>
/// The sync-object contract (Dragon.TestApp/Contract, <c>contract sync</c>): events, locks, semaphores and barriers
/// homed on the layout's home node and used by processes on the workers' node.
/// </summary>
public abstract class SyncObjectContract(ContractRunFixture fixture, ITestOutputHelper output, string layout, string mode)
    : ContractTests<SyncContractResult>(fixture, output, ContractArgs.SyncFamily, layout, mode)
{
    protected override CaseFailure[] Failures(SyncContractResult result) => result.Failures;

    [Fact]
    public void EventWait_SetByAnotherProcess_ReleasesEveryWaiter()
    {
        var @event = Case(r => r.Event, "event");
        Assert.True(@event.ClearAtStart);
        Assert.All(@event.WaitersReleased, Assert.True);

        // The head set the event 300 ms after both waiters were about to wait.
        Assert.All(@event.WaitersWaitedMs, ms => Assert.InRange(ms, 250, 2300));
    }

    [Fact]
    public void EventSetAndClear_ThenIsSet_FollowsThem()
    {
        var @event = Case(r => r.Event, "event");
        Assert.True(@event.SetAfterSet);
        Assert.True(@event.ClearAfterClear);
    }

    [Fact]
    public void EventTryWait_OnClear_FalseAtOnceWithZeroAndAfterAboutTheTimeout()
    {
        var @event = Case(r => r.Event, "event");
        Assert.False(@event.ZeroWaitOnClear);
        Expected.AtOnce(@event.ZeroWaitMs, "wait with a zero timeout on a clear event");
        Assert.False(@event.TimedWaitOnClear);
        Expected.AboutTheTimeout(@event.AskedMs, @event.TimedWaitMs, "wait on a clear event");
    }

    [Fact]
    public void EventTryWait_OnSet_True()
    {
        var @event = Case(r => r.Event, "event");
        Assert.True(@event.ZeroWaitOnSet);
        Assert.True(@event.TimedWaitOnSet);
    }

    [Fact]
    public void LockAcquire_ProcessesIncrementAFileUnderIt_FinalValueExactAndNeverTwoInside()
    {
        var counter = Case(r => r.LockCounter, "lock-counter");
        Assert.Equal(counter.Workers * counter.IncrementsEach, counter.FinalValue);
        Assert.Equal(0, counter.TwoInsideSeen);
        Assert.All(counter.ExitCodes, code => Assert.Equal(0, code));
    }

    [Fact]
    public void LockTryAcquire_HeldByAnotherProcess_FalseAtOnceWithZeroAndAfterAboutTheTimeout()
    {
        var timeout = Case(r => r.LockTimeout, "lock-timeout");
        Assert.False(timeout.ZeroAcquired);
        Expected.AtOnce(timeout.ZeroMs, "try-acquire of a held lock");
        Assert.False(timeout.TimedAcquired);
        Expected.AboutTheTimeout(timeout.AskedMs, timeout.TimedMs, "try-acquire of a held lock");
        Assert.True(timeout.AcquiredAfterHolderReleased, "the lock was not free once its holder released it");
    }

    [Fact]
    public void LockRelease_HeldByAnotherProcess_InvalidOperationNamingTheHolder()
    {
        var timeout = Case(r => r.LockTimeout, "lock-timeout");
        Assert.Equal(nameof(InvalidOperationException), timeout.ReleaseNotHeld);
        Assert.True(timeout.ReleaseNamesHolder);
    }

    [Fact]
    public void LockAcquire_HolderKilled_TheWaiterGetsItWithin2s()
    {
        var killed = Case(r => r.LockHolderKilled, "lock-holder-killed");
        Assert.False(killed.WaiterHadItBeforeKill, "the waiter had the lock while its holder lived");
        Assert.True(killed.WaiterGotIt);
        Expected.Within2s(killed.WaiterMs, "from the kill to the waiter having the lock");
        Assert.Equal("killed by signal 9 (SIGKILL)", killed.HolderExitReason);
        Assert.True(killed.FreeAfterwards);
    }

    [Fact]
    public void SemaphoreAcquire_BoundOfTwoSharedByProcesses_NeverMoreThanTwoInside()
    {
        var semaphore = Case(r => r.Semaphore, "semaphore");
        Assert.Equal(semaphore.Workers * semaphore.HoldsEach, semaphore.IntervalsReported);
        Assert.InRange(semaphore.MostInsideAtOnce, 1, 2);
        Assert.Equal(2, semaphore.ValueAfterWorkers);
    }

    [Fact]
    public void SemaphoreRelease_AboveTheBound_InvalidOperationAndTheValueUnchanged()
    {
        var semaphore = Case(r => r.Semaphore, "semaphore");
        Assert.Equal(nameof(InvalidOperationException), semaphore.ReleaseAboveBound);
        Assert.Equal(2, semaphore.ValueAfterRefusedRelease);
        Assert.Equal(2, semaphore.ValueAfterReleaseTwo);
    }

    [Fact]
    public void SemaphoreTryAcquire_AtZero_FalseWithZeroAndAfterAboutTheTimeout()
    {
        var semaphore = Case(r => r.Semaphore, "semaphore");
        Assert.False(semaphore.ZeroAcquireAtZero);
        Assert.False(semaphore.TimedAcquireAtZero);
        Expected.AboutTheTimeout(semaphore.AskedMs, semaphore.TimedAcquireMs, "try-acquire at value 0");
    }

    [Fact]
    public void BarrierWait_ThreeProcessesTwentyRounds_ArrivalIndicesZeroToTwoEveryRound()
    {
        var barrier = Case(r => r.Barrier, "barrier");
        Assert.Equal(barrier.Rounds, barrier.RoundsWithIndicesZeroToN);
        Assert.All(barrier.ExitCodes, code => Assert.Equal(0, code));
    }

    [Fact]
    public void BarrierWait_TimesOut_ThisWaiterAfterAboutTheTimeoutAndTheBarrierBrokenForOthersUntilReset()
    {
        var barrier = Case(r => r.Barrier, "barrier");
        Assert.Equal(Expected.TimedOut.BarrierWait, barrier.LoneTimedWait);
        Expected.AboutTheTimeout(barrier.AskedMs, barrier.LoneTimedWaitMs, "barrier wait with a party missing");
        Assert.Equal(nameof(BrokenBarrierException), barrier.OtherWaiterAfterTimeout);
        Assert.Equal(nameof(BrokenBarrierException), barrier.WaitAfterTimeoutBroke);
    }

    [Fact]
    public void BarrierReset_AfterItBroke_PartiesPassAgainWithIndicesZeroToTwo()
    {
        var barrier = Case(r => r.Barrier, "barrier");
        Assert.Null(barrier.WaitAfterReset);
        Assert.Equal([0, 1, 2], barrier.IndicesAfterReset);
    }

    [Fact]
    public void BarrierAbort_WithAWaiter_TheWaiterAndLaterWaitsSeeItBroken()
    {
        var barrier = Case(r => r.Barrier, "barrier");
        Assert.Equal(nameof(BrokenBarrierException), barrier.BlockedWaiterOnAbort);
        Assert.Equal(nameof(BrokenBarrierException), barrier.WaitAfterAbort);
    }

    [Fact]
    public void EventWait_Cancelled_EndsAndTheNextWaitSeesTheSet()
    {
        AssertCancelled(Case(r => r.CancelledEventWait, "cancelled-event-wait"), "Event.Wait");
    }

    [Fact]
    public void LockAcquire_Cancelled_LeavesTheLockToTheNextAcquire()
    {
        AssertCancelled(Case(r => r.CancelledLockAcquire, "cancelled-lock-acquire"), "Lock.Acquire");
    }

    [Fact]
    public void SemaphoreAcquire_Cancelled_LeavesThePermitToTheNextAcquire()
    {
        AssertCancelled(Case(r => r.CancelledSemaphoreAcquire, "cancelled-semaphore-acquire"), "Semaphore.Acquire");
    }

    private static void AssertCancelled(CancelResult cancelled, string what)
    {
        Assert.Equal(Expected.Cancelled, cancelled.Ended);
        Expected.PromptCancel(cancelled.CancelMs, what);
        Assert.True(cancelled.NextCallerGotIt, $"after a cancelled {what}, the next caller did not get it");
    }
}

public sealed class SyncObjectContractOneNodeSync(ContractRunFixture fixture, ITestOutputHelper output)
    : SyncObjectContract(fixture, output, ContractArgs.OneNode, ContractArgs.SyncMode);

public sealed class SyncObjectContractOneNodeAsync(ContractRunFixture fixture, ITestOutputHelper output)
    : SyncObjectContract(fixture, output, ContractArgs.OneNode, ContractArgs.AsyncMode);

public sealed class SyncObjectContractTwoNodesSync(ContractRunFixture fixture, ITestOutputHelper output)
    : SyncObjectContract(fixture, output, ContractArgs.TwoNodes, ContractArgs.SyncMode);

public sealed class SyncObjectContractTwoNodesAsync(ContractRunFixture fixture, ITestOutputHelper output)
    : SyncObjectContract(fixture, output, ContractArgs.TwoNodes, ContractArgs.AsyncMode);
