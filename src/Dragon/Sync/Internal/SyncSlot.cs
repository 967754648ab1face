using System.Runtime.InteropServices;

namespace Dragon.Sync.Internal;

// The shared state of one event, lock or semaphore: a 64-byte slot (one cache line) in a slab file of its home node.
// (A barrier takes a block of whole slots in the same files: BarrierSlot.cs.)
//
// Slab: the node service hosting the objects keeps files /dev/shm/<run prefix>-n<node>-sync<k>, each of
// SlotsPerSegment slots, created as objects need them and removed when the run ends. An object's descriptor names
// the file and the slot's byte offset in it. A process on the home node maps each file once (and closes its fd right
// away), then operates on its objects' slots with atomics: no request to the node service on any path. A process on
// another node sends requests, and the home node service performs them on the same slot, so both paths agree.
//
// Slot: ObjectId says which object lives there (0: free, or destroyed); every operation checks it, and the host
// clears it on destroy, then wakes every sleeper so it leaves with "destroyed". State is the object's value: the
// event's flag (0/1), the lock's holder (the puid, 0 when free; puids are never 0), the semaphore's value. Bound is
// a bounded semaphore's ceiling (long.MaxValue otherwise). Depth is a recursive lock's depth, touched only by its
// holder (or by the home node on behalf of a holder on another node).
//
// Waiting: Seq is a 32-bit futex word, and Waiting a flag saying "somebody may sleep on it". A waiter reads Seq,
// raises Waiting (a full fence), re-checks its condition, then sleeps while Seq is unchanged. A changer updates State
// (a full fence) and, only if Waiting is up, lowers it, bumps Seq and wakes every sleeper (each re-checks and raises
// the flag again before sleeping again; a lock has one winner). Either the waiter sees the change, or the changer sees
// the flag and moves Seq after the waiter read it, so no wake is lost, and the path without waiters makes no system
// call. Sleeps last at most 100 ms (20 ms when the token can be cancelled), so a waker killed between its change and
// its wake delays, never strands, a waiter.
//
// Death: a lock records its holder's puid, so the home node service, which hears of every exit of a process of its
// node (and of any process that used its objects from another node), releases the lock of a dead holder with a
// compare-and-swap and wakes the waiters. A process killed while sleeping leaves the flag up: the next change makes
// one needless FUTEX_WAKE and lowers it, nothing worse.

/// <summary>The shared layout of one synchronization object's slot (see the design comment above).</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct SyncSlot
{
    public const int Size = 64;

    /// <summary>Slots per slab file: 4096 x 64 B = 256 KiB, so 100,000 objects take 25 files and 6.4 MB.</summary>
    public const int SlotsPerSegment = 4096;

    public const long SegmentBytes = (long)SlotsPerSegment * Size;

    /// <summary>Futex word bumped by every change that may release a waiter.</summary>
    [FieldOffset(0)]
    public int Seq;

    /// <summary>1 when somebody may be sleeping on <see cref="Seq"/>.</summary>
    [FieldOffset(4)]
    public int Waiting;

    /// <summary>The object living in this slot, 0 when free or destroyed.</summary>
    [FieldOffset(8)]
    public ulong ObjectId;

    /// <summary>Event flag, lock holder puid, or semaphore value.</summary>
    [FieldOffset(16)]
    public long State;

    /// <summary>A bounded semaphore's ceiling; <see cref="long.MaxValue"/> for others.</summary>
    [FieldOffset(24)]
    public long Bound;

    /// <summary>A held lock's recursion depth.</summary>
    [FieldOffset(32)]
    public int Depth;
}

/// <summary>What a blocking slot operation waits for.</summary>
internal enum SyncWaitKind
{
    EventSet,
    LockAcquire,
    SemaphoreAcquire,
}

/// <summary>How a blocking slot operation ended.</summary>
internal enum SyncWaitResult
{
    Ok,
    TimedOut,
    Cancelled,
    Destroyed,
}
