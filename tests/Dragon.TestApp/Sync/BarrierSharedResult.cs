namespace Dragon.TestApp;

/// <summary>
/// What the shared-barrier scenario saw, written as JSON for the test to read (this file is compiled into both the
/// scenario program and the test project).
/// </summary>
public sealed record BarrierSharedResult(BarrierRoundsCase Rounds, BarrierKilledCase Killed, BarrierCancelCase Cancelled);

/// <summary>
/// Two processes of the barrier's home node passed it <paramref name="Rounds"/> times: the rounds whose indices were
/// {0, 1}, the requests each process sent meanwhile, and the requests the child counted for one creation afterwards
/// (proof that its counter sees requests).
/// </summary>
public sealed record BarrierRoundsCase(int Rounds, int RoundsWithIndicesZeroAndOne, long HeadRequests, long ChildRequests, long ChildRequestsForACreation, int ChildExitCode);

/// <summary>
/// A party waiting in shared memory on the home node was killed; the head (home node) and a party on another node were
/// waiting too: what each wait threw, its message, and how long after the kill.
/// </summary>
public sealed record BarrierKilledCase(
    ulong VictimPuid, string? VictimExitReason, string? HeadThrown, string? HeadMessage, double HeadMsAfterKill, string? RemoteThrown, string? RemoteMessage,
    double RemoteMsAfterKill, int[] IndicesAfterReset);

/// <summary>
/// In a barrier of 3, a waiter of the home node that arrived first cancelled its wait; the head, arriving next, was
/// not let through by it; a replacement then completed the round: the cancelled wait's outcome and the round's indices.
/// </summary>
public sealed record BarrierCancelCase(string? CancelledThrown, bool HeadPassedBeforeReplacement, int[] Indices);
