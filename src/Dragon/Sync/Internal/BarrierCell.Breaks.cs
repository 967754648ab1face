using System.Globalization;
using Dragon.Channels.Internal;

namespace Dragon.Sync.Internal;

/// <summary>What ends a barrier's round other than its last arrival: an abort, a reset, the death of a party, destruction.</summary>
internal sealed unsafe partial class BarrierCell
{
    /// <summary>Breaks the barrier (an abort, or a timeout before arriving); false if it was destroyed.</summary>
    public bool Break(BarrierBreak reason, ulong by, long owner)
    {
        if (!Enter(owner))
        {
            return false;
        }

        try
        {
            BreakLocked(reason, by);
        }
        finally
        {
            Leave();
        }

        Signal();
        return true;
    }

    /// <summary>Returns the barrier to its first state; waiters of the round get Broken (reset). False if destroyed.</summary>
    public bool Reset(long owner)
    {
        if (!Enter(owner))
        {
            return false;
        }

        try
        {
            if (_slot->Count > 0)
            {
                BreakLocked(BarrierBreak.Reset, 0);
            }

            _slot->Broken = 0;
            _slot->BrokenBy = 0;
            _slot->Count = 0;
            _slot->Generation++;
        }
        finally
        {
            Leave();
        }

        Signal();
        return true;
    }

    /// <summary>
    /// The process <paramref name="puid"/> exited (the home node service): breaks the barrier if it was waiting (or
    /// died holding the lock, which is taken over), and with <paramref name="reclaim"/> frees its entries, which it
    /// will never read. Returns how many other waiting parties the break ended, -1 if the barrier did not break, or
    /// <see cref="Busy"/> when another process holds the lock (perhaps one that died too, whose exit is not handled
    /// yet): the caller tries again later rather than wait here.
    /// </summary>
    public int OnProcessExited(ulong puid, bool reclaim)
    {
        if (!HasTrace(puid))
        {
            return -1;
        }

        var tookOver = Interlocked.CompareExchange(ref _slot->Lock, BarrierSlot.ServiceOwner, (long)puid) == (long)puid;
        if (!tookOver && Interlocked.CompareExchange(ref _slot->Lock, BarrierSlot.ServiceOwner, 0) != 0)
        {
            return IsLive ? Busy : -1;
        }

        var broke = false;
        var others = 0;
        try
        {
            for (var i = 0; i < _entryCount; i++)
            {
                if (_entries[i].Status == (int)BarrierEntryStatus.Waiting)
                {
                    broke |= _entries[i].Puid == puid;
                    others += _entries[i].Puid == puid ? 0 : 1;
                }
            }

            // Holding the lock, it was arriving, passing or giving up: whatever it left half done, it was at the barrier.
            if (broke || (tookOver && _slot->Broken == 0))
            {
                broke = true;
                BreakLocked(BarrierBreak.PartyDied, puid);
            }

            for (var i = 0; reclaim && i < _entryCount; i++)
            {
                if (_entries[i].Puid == puid)
                {
                    Volatile.Write(ref _entries[i].Status, (int)BarrierEntryStatus.Free);
                }
            }
        }
        finally
        {
            Leave();
        }

        if (!broke)
        {
            return -1;
        }

        Signal();
        return others;
    }

    /// <summary>
    /// Whether the dead process left anything here: the lock, or an entry. Read without the lock: a dead process writes
    /// nothing more, and what it wrote before it died was published by its last unlock.
    /// </summary>
    private bool HasTrace(ulong puid)
    {
        if (Volatile.Read(ref _slot->Lock) == (long)puid)
        {
            return true;
        }

        for (var i = 0; i < _entryCount; i++)
        {
            if (Volatile.Read(ref _entries[i].Status) != (int)BarrierEntryStatus.Free && _entries[i].Puid == puid)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Marks the barrier destroyed (the home node service) and wakes every sleeper, which then leaves.</summary>
    public void MarkDestroyed()
    {
        Interlocked.CompareExchange(ref _slot->ObjectId, 0, Id);
        Interlocked.Increment(ref _slot->Seq);
        Futex.Wake(&_slot->Seq, int.MaxValue);
    }

    /// <summary>Why the barrier broke, in words: <c>party puid 42 died while waiting</c>.</summary>
    public string Explain(BarrierBreak reason)
    {
        var by = Volatile.Read(ref _slot->BrokenBy).ToString(CultureInfo.InvariantCulture);
        return reason switch
        {
            BarrierBreak.TimedOut => $"the wait of puid {by} timed out",
            BarrierBreak.Aborted => "it was aborted",
            BarrierBreak.Reset => "it was reset while this party waited",
            BarrierBreak.PartyDied => $"party puid {by} died while waiting",
            _ => "it broke",
        };
    }

    private void BreakLocked(BarrierBreak reason, ulong by)
    {
        if (_slot->Broken == 0 || reason == BarrierBreak.Reset)
        {
            _slot->Broken = (int)reason;
            _slot->BrokenBy = by;
        }

        for (var i = 0; i < _entryCount; i++)
        {
            if (_entries[i].Status == (int)BarrierEntryStatus.Waiting)
            {
                _entries[i].Index = (int)reason;
                Volatile.Write(ref _entries[i].Status, (int)BarrierEntryStatus.Broken);
            }
        }

        _slot->Count = 0;
    }
}
