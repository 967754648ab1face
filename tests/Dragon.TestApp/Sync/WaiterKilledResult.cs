namespace Dragon.TestApp;

/// <summary>
/// What the waiter-killed scenario saw, written as JSON for the test to read (this file is compiled into both the
/// scenario program and the test project): one case per node the killed waiter ran on.
/// </summary>
public sealed record WaiterKilledResult(WaiterKilledCase[] Cases);

/// <summary>
/// A process waiting for a lock and a semaphore unit homed on node 1 was killed on <paramref name="WaiterNode"/>; then
/// the head let go of both: were they free for the head again (not taken by the dead waiter's waits)?
/// </summary>
public sealed record WaiterKilledCase(int WaiterNode, string? WaiterExitReason, bool LockFreeAfterwards, bool UnitFreeAfterwards);
