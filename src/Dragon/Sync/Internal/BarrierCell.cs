using System.Runtime.CompilerServices;
using Dragon.Channels.Internal;

namespace Dragon.Sync.Internal;

/// <summary>
/// One barrier's block (see <see cref="BarrierSlot"/>) and the operations on it, used alike by a process of the home
/// node (for itself, owner tag its puid) and by the home node service (for a process of another node, owner tag
/// <see cref="BarrierSlot.ServiceOwner"/>). Thread-safe.
/// </summary>
internal sealed unsafe partial class BarrierCell
{
    /// <summary>The most parties a barrier's block holds within one slab file; larger barriers are served by requests.</summary>
    public const int MaxParties = (int)((SyncSlot.SegmentBytes - SyncSlot.Size) / (2 * BarrierEntry.Size));

    // As in SyncCell: the longest sleep without re-checking, and that of a waiter whose token can be cancelled.
    private const long SliceNanoseconds = 100_000_000;
    private const long CancelSliceNanoseconds = 20_000_000;

    /// <summary>What <see cref="OnProcessExited"/> returns when the lock is held by another process.</summary>
    public const int Busy = -2;

    private readonly BarrierSlot* _slot;
    private readonly BarrierEntry* _entries;
    private readonly int _entryCount;

    public BarrierCell(BarrierSlot* slot, ulong id, int parties)
    {
        _slot = slot;
        _entries = (BarrierEntry*)((byte*)slot + SyncSlot.Size);
        _entryCount = 2 * parties;
        Id = id;
    }

    /// <summary>The barrier's id, as written in the block while it lives.</summary>
    public ulong Id { get; }

    /// <summary>False once the barrier was destroyed.</summary>
    public bool IsLive
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _slot->ObjectId) == Id;
    }

    /// <summary>Rounds ended so far (for tests and diagnostics).</summary>
    public long Generation => Volatile.Read(ref _slot->Generation);

    /// <summary>The slab slots a barrier of <paramref name="parties"/> takes.</summary>
    public static int SlotsFor(int parties) => (SyncSlot.Size + (2 * parties * BarrierEntry.Size) + SyncSlot.Size - 1) / SyncSlot.Size;

    /// <summary>Writes a new barrier into a free block (the home node service, at creation); the id goes last.</summary>
    public static void Initialize(BarrierSlot* slot, ulong id, int parties)
    {
        new Span<byte>((byte*)slot + SyncSlot.Size, 2 * parties * BarrierEntry.Size).Clear();
        slot->Lock = 0;
        slot->Parties = parties;
        slot->Count = 0;
        slot->Generation = 0;
        slot->Broken = 0;
        slot->BrokenBy = 0;
        Volatile.Write(ref slot->ObjectId, id);
    }

    /// <summary>
    /// Arrives for <paramref name="puid"/>: Passed for the last party (its index in <paramref name="detail"/>), Waiting
    /// with its entry in <paramref name="detail"/> (then <see cref="Await"/> it), Broken with the reason, or Destroyed.
    /// TimedOut or Cancelled only when no entry came free in time (waiters still waking hold them all).
    /// </summary>
    public BarrierOutcome Arrive(ulong puid, long owner, ref WaitDeadline deadline, CancellationToken cancellationToken, out int detail)
    {
        while (true)
        {
            if (!Enter(owner))
            {
                detail = 0;
                return BarrierOutcome.Destroyed;
            }

            BarrierOutcome outcome;
            bool room;
            try
            {
                outcome = ArriveLocked(puid, out detail, out room);
            }
            finally
            {
                Leave();
            }

            if (outcome == BarrierOutcome.Passed)
            {
                Signal();
            }

            if (room)
            {
                return outcome;
            }

            if (deadline.RemainingNanoseconds() == 0)
            {
                detail = 0;
                Break(BarrierBreak.TimedOut, puid, owner);
                return BarrierOutcome.TimedOut;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                detail = 0;
                return BarrierOutcome.Cancelled;
            }

            Thread.Sleep(1);
        }
    }

    /// <summary>
    /// Waits on entry <paramref name="entry"/> (from <see cref="Arrive"/>) until its round passes or the barrier
    /// breaks, up to the deadline: a timeout breaks the barrier for the others, a cancel withdraws this party. A wait
    /// whose round passed returns Passed even if it timed out or was cancelled meanwhile.
    /// </summary>
    public BarrierOutcome Await(int entry, long owner, ref WaitDeadline deadline, CancellationToken cancellationToken, out int detail)
    {
        while (true)
        {
            if (!IsLive)
            {
                detail = 0;
                return BarrierOutcome.Destroyed;
            }

            if (TryFinish(entry, out var outcome, out detail))
            {
                return outcome;
            }

            var remaining = deadline.RemainingNanoseconds();
            if (remaining == 0 || cancellationToken.IsCancellationRequested)
            {
                return GiveUp(entry, owner, timedOut: remaining == 0, out detail);
            }

            // Seq, then the flag (a full fence), then the re-check: see the design comment in SyncSlot.cs.
            var observed = Volatile.Read(ref _slot->Seq);
            Interlocked.Exchange(ref _slot->Waiting, 1);
            if (TryFinish(entry, out outcome, out detail))
            {
                return outcome;
            }

            var slice = cancellationToken.CanBeCanceled ? CancelSliceNanoseconds : SliceNanoseconds;
            Futex.Wait(&_slot->Seq, observed, Math.Min(remaining, slice));
        }
    }

    private BarrierOutcome ArriveLocked(ulong puid, out int detail, out bool room)
    {
        room = true;
        if (_slot->Broken != 0)
        {
            detail = _slot->Broken;
            return BarrierOutcome.Broken;
        }

        var index = _slot->Count;
        if (index + 1 >= _slot->Parties)
        {
            for (var i = 0; i < _entryCount; i++)
            {
                if (_entries[i].Status == (int)BarrierEntryStatus.Waiting)
                {
                    Volatile.Write(ref _entries[i].Status, (int)BarrierEntryStatus.Passed);
                }
            }

            _slot->Count = 0;
            _slot->Generation++;
            detail = index;
            return BarrierOutcome.Passed;
        }

        for (var i = 0; i < _entryCount; i++)
        {
            if (_entries[i].Status == (int)BarrierEntryStatus.Free)
            {
                _entries[i].Puid = puid;
                _entries[i].Index = index;
                Volatile.Write(ref _entries[i].Status, (int)BarrierEntryStatus.Waiting);
                _slot->Count = index + 1;
                detail = i;
                return BarrierOutcome.Waiting;
            }
        }

        room = false;
        detail = 0;
        return BarrierOutcome.Waiting;
    }

    /// <summary>The entry's round ended (passed or broken): read it, free it.</summary>
    private bool TryFinish(int entry, out BarrierOutcome outcome, out int detail)
    {
        ref var e = ref _entries[entry];
        switch ((BarrierEntryStatus)Volatile.Read(ref e.Status))
        {
            case BarrierEntryStatus.Waiting:
                outcome = BarrierOutcome.Waiting;
                detail = 0;
                return false;
            case BarrierEntryStatus.Passed:
                outcome = BarrierOutcome.Passed;
                detail = e.Index;
                break;
            case BarrierEntryStatus.Broken:
                outcome = BarrierOutcome.Broken;
                detail = e.Index;
                break;
            default:
                // Freed by the home node: it took this waiter for dead.
                outcome = BarrierOutcome.Broken;
                detail = (int)BarrierBreak.PartyDied;
                return true;
        }

        Volatile.Write(ref e.Status, (int)BarrierEntryStatus.Free);
        return true;
    }

    /// <summary>A timeout breaks the barrier for the others; a cancel withdraws this party (those behind move up).</summary>
    private BarrierOutcome GiveUp(int entry, long owner, bool timedOut, out int detail)
    {
        if (!Enter(owner))
        {
            detail = 0;
            return BarrierOutcome.Destroyed;
        }

        ref var e = ref _entries[entry];
        BarrierOutcome outcome;
        try
        {
            if (e.Status != (int)BarrierEntryStatus.Waiting)
            {
                outcome = BarrierOutcome.Waiting;
            }
            else if (timedOut)
            {
                Volatile.Write(ref e.Status, (int)BarrierEntryStatus.Free);
                BreakLocked(BarrierBreak.TimedOut, e.Puid);
                outcome = BarrierOutcome.TimedOut;
            }
            else
            {
                var index = e.Index;
                Volatile.Write(ref e.Status, (int)BarrierEntryStatus.Free);
                _slot->Count--;
                for (var i = 0; i < _entryCount; i++)
                {
                    if (_entries[i].Status == (int)BarrierEntryStatus.Waiting && _entries[i].Index > index)
                    {
                        _entries[i].Index--;
                    }
                }

                outcome = BarrierOutcome.Cancelled;
            }
        }
        finally
        {
            Leave();
        }

        if (outcome == BarrierOutcome.Waiting)
        {
            // The round ended first: its outcome stands.
            TryFinish(entry, out outcome, out detail);
            return outcome;
        }

        if (outcome == BarrierOutcome.TimedOut)
        {
            Signal();
        }

        detail = 0;
        return outcome;
    }

    /// <summary>Takes the spin lock (sections under it are a few stores); false once the barrier is destroyed.</summary>
    private bool Enter(long owner)
    {
        if (!IsLive)
        {
            return false;
        }

        if (Interlocked.CompareExchange(ref _slot->Lock, owner, 0) == 0)
        {
            return true;
        }

        // Held by a process that died there, the lock is taken over by the home node service when it hears of the exit.
        var spin = default(SpinWait);
        while (true)
        {
            spin.SpinOnce();
            if (!IsLive)
            {
                return false;
            }

            if (Volatile.Read(ref _slot->Lock) == 0 && Interlocked.CompareExchange(ref _slot->Lock, owner, 0) == 0)
            {
                return true;
            }
        }
    }

    // A full fence, not a release store: Signal's read of the flag that follows must not pass the section's stores, or
    // a waiter that raised the flag and re-checked its entry just before them would sleep out a whole slice.
    private void Leave() => Interlocked.Exchange(ref _slot->Lock, 0);

    /// <summary>After a change: wakes the sleepers if the flag says some may sleep (see SyncCell.Signal).</summary>
    private void Signal()
    {
        if (Volatile.Read(ref _slot->Waiting) != 0 && Interlocked.Exchange(ref _slot->Waiting, 0) != 0)
        {
            Interlocked.Increment(ref _slot->Seq);
            Futex.Wake(&_slot->Seq, int.MaxValue);
        }
    }
}
