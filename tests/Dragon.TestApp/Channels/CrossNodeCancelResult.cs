namespace Dragon.TestApp;

/// <summary>
/// What the cross-node cancel scenario saw, written as JSON for the test to read (this file is compiled into both
/// the scenario program and the test project). Cancel delays are in milliseconds, from Cancel() to the task's end.
/// </summary>
public sealed record CrossNodeCancelResult(
    double[] QueueCancelMs,
    bool QueueGetsEndedCancelled,
    int? ItemAfterCancel,
    double[] LockCancelMs,
    bool LockFreeAfterCancel,
    double[] SemaphoreCancelMs,
    bool SemaphoreFreeAfterCancel,
    double[] EventCancelMs,
    double[] BarrierCancelMs,
    bool BarrierCountedCancelledWait);
