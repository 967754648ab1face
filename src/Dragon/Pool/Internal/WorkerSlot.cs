namespace Dragon.Pool;

/// <summary>
/// One worker as the pool sees it: its process, the queue it takes work from (on the worker's node, so the worker
/// reads shared memory), the messages it holds unanswered, and the methods it was already described.
/// </summary>
internal sealed class WorkerSlot(int slot, int nodeIndex, DragonProcess process, DragonQueue<ReadOnlyMemory<byte>> tasks)
{
    public int Slot { get; } = slot;

    public int NodeIndex { get; } = nodeIndex;

    public DragonProcess Process { get; } = process;

    public DragonQueue<ReadOnlyMemory<byte>> Tasks { get; } = tasks;

    /// <summary>Work messages sent and not yet answered (guarded by the pool's lock).</summary>
    public int InFlight { get; set; }

    /// <summary>False once its exit was seen (guarded by the pool's lock).</summary>
    public bool Alive { get; set; } = true;

    /// <summary>Methods whose descriptor this worker was sent (guarded by the pool's lock).</summary>
    public HashSet<int> MethodsKnown { get; } = [];

    public PoolWorkerInfo Info => new(Slot, Process.Puid, NodeIndex);
}
