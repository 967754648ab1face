using System.Runtime.CompilerServices;
using Dragon.Channels.Internal;

namespace Dragon.Sync.Internal;

/// <summary>
/// One object's slot (see <see cref="SyncSlot"/>) and the operations on it, used alike by a process of the home node
/// (for itself) and by the home node service (for a process of another node). Thread-safe; the slot's memory stays
/// mapped for as long as the cell's owner lives.
/// </summary>
internal sealed unsafe class SyncCell
{
    // The longest sleep without re-checking: bounds the delay a waker killed between change and wake can cause.
    private const long SliceNanoseconds = 100_000_000;

    // The longest sleep of a waiter whose token can be cancelled: the bound on a cancel's delay.
    private const long CancelSliceNanoseconds = 20_000_000;

    private readonly SyncSlot* _slot;

    public SyncCell(SyncSlot* slot, ulong id)
    {
        _slot = slot;
        Id = id;
    }

    /// <summary>The object's id, as written in the slot while the object lives.</summary>
    public ulong Id { get; }

    /// <summary>False once the object was destroyed (its slot cleared, perhaps reused).</summary>
    public bool IsLive
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _slot->ObjectId) == Id;
    }

    /// <summary>The event's flag, the lock's holder (0: free) or the semaphore's value.</summary>
    public long State => Volatile.Read(ref _slot->State);

    /// <summary>Sets the event; wakes its waiters when it was clear.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void EventSet()
    {
        // Already set: nothing to do (the set is ordered before any clear that follows the read).
        if (Volatile.Read(ref _slot->State) == 0 && Interlocked.Exchange(ref _slot->State, 1) == 0)
        {
            Signal();
        }
    }

    /// <summary>Clears the event (a plain store: nobody waits for an event to clear).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void EventClear() => Volatile.Write(ref _slot->State, 0);

    /// <summary>Takes the lock for <paramref name="puid"/> if it is free (or held by it, when recursive).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool LockTryTake(ulong puid, bool recursive)
    {
        if (Interlocked.CompareExchange(ref _slot->State, (long)puid, 0) == 0)
        {
            if (recursive)
            {
                Volatile.Write(ref _slot->Depth, 1);
            }

            return true;
        }

        if (recursive && Volatile.Read(ref _slot->State) == (long)puid)
        {
            Interlocked.Increment(ref _slot->Depth);
            return true;
        }

        return false;
    }

    /// <summary>
    /// Releases one level of <paramref name="puid"/>'s hold; false (and nothing changed) when it does not hold the lock,
    /// with the holder (0: none) in <paramref name="holder"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool LockRelease(ulong puid, bool recursive, out ulong holder)
    {
        holder = (ulong)Volatile.Read(ref _slot->State);
        if (holder != puid)
        {
            return false;
        }

        if (recursive && Interlocked.Decrement(ref _slot->Depth) > 0)
        {
            return true;
        }

        if (Interlocked.CompareExchange(ref _slot->State, 0, (long)puid) == (long)puid)
        {
            Signal();
        }

        return true;
    }

    /// <summary>Releases the lock if <paramref name="puid"/> holds it, whatever the depth (the holder died); true if it did.</summary>
    public bool LockReleaseAll(ulong puid)
    {
        if (Interlocked.CompareExchange(ref _slot->State, 0, (long)puid) != (long)puid)
        {
            return false;
        }

        Signal();
        return true;
    }

    /// <summary>Takes one unit if the value is above zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool SemaphoreTryTake()
    {
        var value = Volatile.Read(ref _slot->State);
        while (value > 0)
        {
            var seen = Interlocked.CompareExchange(ref _slot->State, value - 1, value);
            if (seen == value)
            {
                return true;
            }

            value = seen;
        }

        return false;
    }

    /// <summary>
    /// Gives back <paramref name="count"/> units; false (and nothing changed) when a bounded semaphore would pass its
    /// bound. <paramref name="value"/> is the value before the release.
    /// </summary>
    public bool SemaphoreRelease(long count, out long value, out long bound)
    {
        bound = Volatile.Read(ref _slot->Bound);
        value = Volatile.Read(ref _slot->State);
        while (true)
        {
            if (value + count > bound)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _slot->State, value + count, value);
            if (seen == value)
            {
                Signal();
                return true;
            }

            value = seen;
        }
    }

    /// <summary>Tries the operation once, without waiting.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public bool TryOnce(SyncWaitKind kind, ulong puid, bool recursive) => kind switch
    {
        SyncWaitKind.EventSet => Volatile.Read(ref _slot->State) != 0,
        SyncWaitKind.LockAcquire => LockTryTake(puid, recursive),
        _ => SemaphoreTryTake(),
    };

    /// <summary>
    /// Waits until the event is set, or takes the lock or a unit, up to <paramref name="timeout"/>. A wait that ends
    /// other than <see cref="SyncWaitResult.Ok"/> took nothing; one that took something returns Ok even if the token
    /// was cancelled meanwhile.
    /// </summary>
    public SyncWaitResult Wait(SyncWaitKind kind, ulong puid, bool recursive, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = WaitDeadline.From(timeout);
        while (true)
        {
            if (!IsLive)
            {
                return SyncWaitResult.Destroyed;
            }

            if (TryOnce(kind, puid, recursive))
            {
                return SyncWaitResult.Ok;
            }

            var remaining = deadline.RemainingNanoseconds();
            if (remaining == 0)
            {
                return SyncWaitResult.TimedOut;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return SyncWaitResult.Cancelled;
            }

            // Seq, then the flag (a full fence), then the re-check: see the design comment in SyncSlot.cs.
            var observed = Volatile.Read(ref _slot->Seq);
            Interlocked.Exchange(ref _slot->Waiting, 1);
            if (TryOnce(kind, puid, recursive))
            {
                return SyncWaitResult.Ok;
            }

            if (!IsLive)
            {
                return SyncWaitResult.Destroyed;
            }

            var slice = cancellationToken.CanBeCanceled ? CancelSliceNanoseconds : SliceNanoseconds;
            Futex.Wait(&_slot->Seq, observed, Math.Min(remaining, slice));
        }
    }

    /// <summary>Writes a new object into a free slot (the home node service, at creation); the id goes last.</summary>
    public static void Initialize(SyncSlot* slot, ulong id, long state, long bound)
    {
        slot->State = state;
        slot->Bound = bound;
        slot->Depth = 0;
        Volatile.Write(ref slot->ObjectId, id);
    }

    /// <summary>Marks the object destroyed (the home node service) and wakes every sleeper, which then leaves.</summary>
    public void MarkDestroyed()
    {
        Interlocked.CompareExchange(ref _slot->ObjectId, 0, Id);
        Interlocked.Increment(ref _slot->Seq);
        Futex.Wake(&_slot->Seq, int.MaxValue);
    }

    /// <summary>
    /// After a change (made with a full fence): when somebody may sleep, lowers the flag, bumps the futex word and
    /// wakes every sleeper (each raises the flag again before it sleeps again). With the flag down, a waiter that
    /// raises it later re-checks the state and sees the change, so nothing is needed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Signal()
    {
        if (Volatile.Read(ref _slot->Waiting) != 0 && Interlocked.Exchange(ref _slot->Waiting, 0) != 0)
        {
            Interlocked.Increment(ref _slot->Seq);
            Futex.Wake(&_slot->Seq, int.MaxValue);
        }
    }
}
