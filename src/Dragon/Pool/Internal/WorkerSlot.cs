using System.Threading.Channels;

namespace Dragon.Pool;

/// <summary>
/// One worker as the pool sees it: its process, the queue it takes work from (on the worker's node, so the worker
/// reads shared memory), the messages it holds unanswered, and its outbox. One sender per worker drains the outbox in
/// order, so a put that waits for room (a message larger than the ring streams through it as the worker reads) holds
/// up that worker only, never the pool's lock or the result reader.
/// </summary>
internal sealed class WorkerSlot(int slot, int nodeIndex, DragonProcess process, DragonQueue<ReadOnlyMemory<byte>> tasks)
{
    public int Slot { get; } = slot;

    public int NodeIndex { get; } = nodeIndex;

    public DragonProcess Process { get; } = process;

    public DragonQueue<ReadOnlyMemory<byte>> Tasks { get; } = tasks;

    /// <summary>Work messages assigned and not yet answered (guarded by the pool's lock).</summary>
    public int InFlight { get; set; }

    /// <summary>False once its exit was seen or a put to it failed (guarded by the pool's lock).</summary>
    public bool Alive { get; set; } = true;

    /// <summary>Messages assigned to this worker, in the order its sender puts them.</summary>
    public Channel<Dispatch> Outbox { get; } = Channel.CreateUnbounded<Dispatch>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Cancelled when the worker is gone or the pool disposed: a put waiting for room gives up.</summary>
    public CancellationTokenSource Stopping { get; } = new();

    /// <summary>Methods whose descriptor this worker was sent (touched by its sender only).</summary>
    public HashSet<int> MethodsKnown { get; } = [];

    public Task? Sender { get; set; }

    public PoolWorkerInfo Info => new(Slot, Process.Puid, NodeIndex);
}
