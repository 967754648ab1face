using System.Runtime.InteropServices;

namespace Dragon.Sync.Internal;

// The shared state of one barrier: a block of whole 64-byte slots in its home node's slab (see SyncSlot.cs), a
// header slot followed by a table of 2 x parties waiter entries of 16 bytes (a barrier of 2 takes 2 slots).
//
// Header: Seq, Waiting and ObjectId as in an event's slot (same offsets, same futex protocol). The rest changes only
// under Lock, a spin lock holding its owner's tag (the puid of a process of the home node, or ServiceOwner for the
// home node service): every section under it is a few stores, never a sleep. Count is the number of parties waiting
// in the current round, Generation the number of rounds ended (passed or reset), Broken the reason the barrier is
// broken (0: it is not), BrokenBy the puid whose timeout or death broke it.
//
// Entries: a party that arrives and is not the last takes a free entry (Status Waiting, its puid, its arrival index)
// and sleeps until its own entry changes: the last arrival turns every waiting entry to Passed and starts the next
// round; a break (a timeout, an abort, a reset with waiters, a party's death) turns them to Broken, the reason in
// Index. The waiter reads its entry and frees it. So a waiter of round k looks at nothing round k+1 writes: its entry
// is its round, and the generation is only a count. A cancelled waiter withdraws under the lock: its entry is freed,
// Count drops, and the parties that arrived after it move one place earlier, so the indices of a round that passes are
// always 0..parties-1. There are twice as many entries as parties can wait at once, so that entries passed but not yet
// read by waiters still waking do not stall a new arrival; if they are all taken anyway, the arrival retries.
//
// Death: the home node service hears of every exit. It breaks the barrier if the dead process has a waiting entry
// (naming its puid), frees its other entries, and takes over the lock if the dead process held it (its section may be
// half done: the barrier is broken, which a party dying at the barrier means anyway). Processes of other nodes go by
// request, and the home node service performs their arrivals and waits on the same block (owner ServiceOwner).

/// <summary>The header slot of a barrier's block (see the design comment above).</summary>
[StructLayout(LayoutKind.Explicit, Size = SyncSlot.Size)]
internal struct BarrierSlot
{
    /// <summary>The lock owner tag of the home node service (puids never reach it).</summary>
    public const long ServiceOwner = -1;

    /// <summary>Futex word bumped by every change that may end a wait.</summary>
    [FieldOffset(0)]
    public int Seq;

    /// <summary>1 when somebody may be sleeping on <see cref="Seq"/>.</summary>
    [FieldOffset(4)]
    public int Waiting;

    /// <summary>The barrier living in this block, 0 when free or destroyed.</summary>
    [FieldOffset(8)]
    public ulong ObjectId;

    /// <summary>The spin lock: 0 when free, else its owner's tag.</summary>
    [FieldOffset(16)]
    public long Lock;

    /// <summary>How many parties must arrive.</summary>
    [FieldOffset(24)]
    public int Parties;

    /// <summary>Parties waiting in the current round.</summary>
    [FieldOffset(28)]
    public int Count;

    /// <summary>Rounds ended so far (passed, or ended by a reset).</summary>
    [FieldOffset(32)]
    public long Generation;

    /// <summary>Why the barrier is broken (a <see cref="BarrierBreak"/>), 0 when it is not.</summary>
    [FieldOffset(40)]
    public int Broken;

    /// <summary>The puid whose timeout or death broke the barrier.</summary>
    [FieldOffset(48)]
    public ulong BrokenBy;
}

/// <summary>One waiter's entry in a barrier's table.</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct BarrierEntry
{
    public const int Size = 16;

    /// <summary>A <see cref="BarrierEntryStatus"/>.</summary>
    [FieldOffset(0)]
    public int Status;

    /// <summary>The arrival index while Waiting or Passed; the <see cref="BarrierBreak"/> when Broken.</summary>
    [FieldOffset(4)]
    public int Index;

    /// <summary>The waiting process (the home node service waits under the puid of a process of another node).</summary>
    [FieldOffset(8)]
    public ulong Puid;
}

/// <summary>The state of a barrier entry.</summary>
internal enum BarrierEntryStatus
{
    Free = 0,
    Waiting = 1,
    Passed = 2,
    Broken = 3,
}

/// <summary>Why a barrier broke.</summary>
internal enum BarrierBreak
{
    None = 0,
    TimedOut = 1,
    Aborted = 2,
    Reset = 3,
    PartyDied = 4,
}

/// <summary>How a barrier arrival or wait ended.</summary>
internal enum BarrierOutcome
{
    Passed,
    Waiting,
    TimedOut,
    Cancelled,
    Broken,
    Destroyed,
}
