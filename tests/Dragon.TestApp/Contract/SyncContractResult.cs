namespace Dragon.TestApp;

/// <summary>What the sync-object contract measured in one run (one layout, one mode); a failed case is null and listed in <c>Failures</c>.</summary>
public sealed record SyncContractResult(
    string Layout,
    string Mode,
    EventResult? Event,
    LockCounterResult? LockCounter,
    LockTimeoutResult? LockTimeout,
    LockHolderKilledResult? LockHolderKilled,
    SemaphoreResult? Semaphore,
    BarrierResult? Barrier,
    CancelResult? CancelledEventWait,
    CancelResult? CancelledLockAcquire,
    CancelResult? CancelledSemaphoreAcquire,
    CaseFailure[] Failures);

/// <summary>An event: two waiter processes released by Set, then waits with timeouts on a clear and a set event.</summary>
public sealed record EventResult(
    bool ClearAtStart,
    bool[] WaitersReleased,
    double[] WaitersWaitedMs,
    bool SetAfterSet,
    bool ClearAfterClear,
    bool TimedWaitOnClear,
    double TimedWaitMs,
    double AskedMs,
    bool ZeroWaitOnClear,
    double ZeroWaitMs,
    bool ZeroWaitOnSet,
    bool TimedWaitOnSet);

/// <summary>Worker processes each added 1 to a number in a file under the lock; a marker file caught two holders at once.</summary>
public sealed record LockCounterResult(int Workers, int IncrementsEach, int FinalValue, int TwoInsideSeen, int?[] ExitCodes);

/// <summary>Another process holds the lock: try-acquires with zero and with a timeout, then releasing it from here.</summary>
public sealed record LockTimeoutResult(
    bool ZeroAcquired,
    double ZeroMs,
    bool TimedAcquired,
    double TimedMs,
    double AskedMs,
    string? ReleaseNotHeld,
    bool ReleaseNamesHolder,
    bool AcquiredAfterHolderReleased);

/// <summary>The holder of the lock was killed (SIGKILL) while another process waited for it.</summary>
public sealed record LockHolderKilledResult(bool WaiterHadItBeforeKill, bool WaiterGotIt, double WaiterMs, string? HolderExitReason, bool FreeAfterwards);

/// <summary>A bounded semaphore of 2 shared by worker processes that each recorded when they held it.</summary>
public sealed record SemaphoreResult(
    int Workers,
    int HoldsEach,
    int IntervalsReported,
    int MostInsideAtOnce,
    int ValueAfterWorkers,
    string? ReleaseAboveBound,
    int ValueAfterRefusedRelease,
    bool ZeroAcquireAtZero,
    bool TimedAcquireAtZero,
    double TimedAcquireMs,
    double AskedMs,
    int ValueAfterReleaseTwo);

/// <summary>
/// A barrier of <c>Parties</c> processes passed <c>Rounds</c> rounds; then a lone timed wait,
/// abort and reset. Exception fields name what the wait threw (null: it returned).
/// </summary>
/// <remarks>
/// RoundsWithIndicesZeroToN: Rounds whose arrival indices were exactly 0..Parties-1.
/// </remarks>
public sealed record BarrierResult(
    int Parties,
    int Rounds,
    int RoundsWithIndicesZeroToN,
    int?[] ExitCodes,
    string? LoneTimedWait,
    double LoneTimedWaitMs,
    double AskedMs,
    string? OtherWaiterAfterTimeout,
    string? WaitAfterTimeoutBroke,
    string? WaitAfterReset,
    string? WaitAfterAbort,
    string? BlockedWaiterOnAbort,
    int[] IndicesAfterReset);
