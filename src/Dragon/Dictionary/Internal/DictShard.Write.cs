using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Dragon.Channels.Internal;

namespace Dragon.Dictionary.Internal;

// Writers: each change under the lock, made visible by one store; blocks from size-classed free lists or the top.
internal sealed unsafe partial class DictShard
{
    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/> at <paramref name="checkpoint"/>.</summary>
    /// <remarks>
    /// A <paramref name="prefix"/> (0-255) is stored as the value's first byte, before <paramref name="value"/>: a
    /// value encoded as a tag and a caller's bytes is copied once, from those bytes, not first into an encoding.
    /// <para>
    /// The copy is made outside the lock: the block is taken under it, filled without it (no reader can reach a
    /// block that is not linked, and one that was freed was freed by a write the readers' sequence saw), then linked
    /// under it. Writing a block that has not been in this CPU's cache (a fresh one from the top of the heap) costs
    /// microseconds here, and under the lock every other writer waited for it. A writer killed while it fills the
    /// block leaves that block unused.
    /// </para>
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public DictStatus Put(ReadOnlySpan<byte> key, ulong hash, ReadOnlySpan<byte> value, long checkpoint, int prefix = -1)
    {
        var need = (long)DictLayout.EntryBytes + key.Length + value.Length + (prefix >= 0 ? 1 : 0);
        LockForAllocate();
        long block;
        var status = DictStatus.Ok;
        try
        {
            status = _header->Frozen != 0 ? DictStatus.Frozen
                : checkpoint < _header->Oldest ? DictStatus.Retired
                : need > HeapBytes ? DictStatus.TooLarge
                : DictStatus.Ok;
            block = status == DictStatus.Ok ? Allocate(need, out status) : 0;
        }
        finally
        {
            ShmRing.ReleaseLock(&_header->Lock);
        }

        if (block == 0)
        {
            return status;
        }

        WriteEntry(block, key, value, tombstone: false, checkpoint, next: 0, prefix);
        LockForWrite();
        try
        {
            status = _header->Frozen != 0 ? DictStatus.Frozen : PutLocked(key, hash, value, tombstone: false, checkpoint, out _, prefix, block);
            if (status != DictStatus.Ok)
            {
                Free(block);
            }
        }
        finally
        {
            UnlockAfterWrite(status == DictStatus.Ok);
        }

        return status;
    }

    /// <summary>Removes <paramref name="key"/> as of <paramref name="checkpoint"/>: Ok when it had a value, NotFound when not.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public DictStatus Remove(ReadOnlySpan<byte> key, ulong hash, long checkpoint)
    {
        LockForWrite();
        var status = DictStatus.Frozen;
        try
        {
            if (_header->Frozen == 0)
            {
                status = PutLocked(key, hash, default, tombstone: true, checkpoint, out _);
            }
        }
        finally
        {
            UnlockAfterWrite(status == DictStatus.Ok);
        }

        return status;
    }

    /// <summary>
    /// Puts a batch (<see cref="DictWire"/>'s pairs) under one hold of the lock, in order; stops at the first that
    /// fails and says how many went in.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public DictStatus PutMany(ReadOnlySpan<byte> batch, long checkpoint, out int done)
    {
        // As Put, a chunk of pairs at a time: their blocks taken under one hold of the lock, filled without it, then
        // linked under another.
        done = 0;
        Span<long> blocks = stackalloc long[ManyChunk];
        var reader = new DictWire.PairReader(batch);
        while (true)
        {
            // Every pair in: the batch succeeded, whatever has happened to the shard since (a freeze after the last
            // chunk must not fail a batch that went in whole).
            var rest = reader;
            if (!rest.Next(out _, out _))
            {
                return DictStatus.Ok;
            }

            var taken = 0;
            var status = DictStatus.Ok;
            LockForAllocate();
            try
            {
                status = _header->Frozen != 0 ? DictStatus.Frozen : checkpoint < _header->Oldest ? DictStatus.Retired : DictStatus.Ok;
                var scan = reader;
                while (status == DictStatus.Ok && taken < blocks.Length && scan.Next(out var key, out var value))
                {
                    var need = (long)DictLayout.EntryBytes + key.Length + value.Length;
                    var block = need > HeapBytes ? 0 : Allocate(need, out status);
                    if (block == 0)
                    {
                        status = need > HeapBytes ? DictStatus.TooLarge : status;
                        break;
                    }

                    blocks[taken++] = block;
                }
            }
            catch (InvalidDataException)
            {
                // A malformed pair: give back what this chunk took.
                for (var i = 0; i < taken; i++)
                {
                    Free(blocks[i]);
                }

                throw;
            }
            finally
            {
                ShmRing.ReleaseLock(&_header->Lock);
            }

            if (taken == 0)
            {
                return status;
            }

            var fill = reader;
            for (var i = 0; i < taken && fill.Next(out var key, out var value); i++)
            {
                WriteEntry(blocks[i], key, value, tombstone: false, checkpoint, next: 0);
            }

            var linked = 0;
            var linkStatus = DictStatus.Frozen;
            LockForWrite();
            try
            {
                if (_header->Frozen == 0)
                {
                    linkStatus = DictStatus.Ok;
                    while (linked < taken && reader.Next(out var key, out var value))
                    {
                        linkStatus = PutLocked(key, DictHash.Of(key), value, tombstone: false, checkpoint, out _, -1, blocks[linked]);
                        if (linkStatus != DictStatus.Ok)
                        {
                            break;
                        }

                        linked++;
                    }
                }

                for (var i = linked; i < taken; i++)
                {
                    Free(blocks[i]);
                }
            }
            finally
            {
                UnlockAfterWrite(linked > 0);
            }

            done += linked;
            if (linkStatus != DictStatus.Ok)
            {
                return linkStatus;
            }

            if (status != DictStatus.Ok)
            {
                return status;
            }
        }
    }

    // Pairs of a batch whose blocks are taken at once.
    private const int ManyChunk = 64;

    /// <summary>
    /// Adds <paramref name="delta"/> to the 64-bit integer value of <paramref name="key"/> (a missing key counts as 0),
    /// atomically, and returns the new value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public DictStatus Add(ReadOnlySpan<byte> key, ulong hash, long delta, long checkpoint, out long result)
    {
        result = 0;
        LockForWrite();
        var status = DictStatus.Frozen;
        try
        {
            if (_header->Frozen != 0)
            {
                return status;
            }

            var at = Find(key, hash, checkpoint, out _, out _);
            long current = 0;
            if (at != 0)
            {
                var value = new ReadOnlySpan<byte>(ValueOf(at), Entry(at)->ValueLength);
                if (value.Length != 1 + sizeof(long) || value[0] != DictWire.Int64Tag)
                {
                    status = DictStatus.NotInteger;
                    return status;
                }

                current = BinaryPrimitives.ReadInt64LittleEndian(value[1..]);
            }

            result = unchecked(current + delta);
            Span<byte> encoded = stackalloc byte[1 + sizeof(long)];
            encoded[0] = DictWire.Int64Tag;
            BinaryPrimitives.WriteInt64LittleEndian(encoded[1..], result);
            status = PutLocked(key, hash, encoded, tombstone: false, checkpoint, out _);
        }
        finally
        {
            UnlockAfterWrite(status == DictStatus.Ok);
        }

        return status;
    }

    /// <summary>Makes <paramref name="checkpoint"/> the newest held, if it is past it (a restore starts there).</summary>
    public void AdvanceTo(long checkpoint)
    {
        LockForWrite();
        try
        {
            Advance(checkpoint);
        }
        finally
        {
            UnlockAfterWrite(changed: true);
        }
    }

    /// <summary>Removes every key of every checkpoint; the checkpoints held stay as they were.</summary>
    public void Clear()
    {
        LockForWrite();
        try
        {
            new Span<byte>(_slots, checked((int)Math.Min(int.MaxValue, SlotCount * DictLayout.SlotBytes))).Clear();
            if (SlotCount * DictLayout.SlotBytes > int.MaxValue)
            {
                for (long i = int.MaxValue / DictLayout.SlotBytes; i < SlotCount; i++)
                {
                    _slots[i] = default;
                }
            }

            for (var i = 0; i < DictLayout.ClassCount; i++)
            {
                _header->FreeLists[i] = 0;
            }

            _header->Top = _heapStart;
            _header->LiveKeys = 0;
            _header->UsedSlots = 0;
            _header->BytesInUse = 0;
        }
        finally
        {
            UnlockAfterWrite(changed: true);
        }
    }

    /// <summary>Freezes (no writes; reads skip the sequence check) or thaws the shard.</summary>
    public void SetFrozen(bool frozen)
    {
        LockForWrite();
        try
        {
            _header->Frozen = frozen ? 1 : 0;
        }
        finally
        {
            UnlockAfterWrite(changed: true);
        }
    }

    /// <summary>
    /// The one write: a new version of <paramref name="key"/> (a removal when <paramref name="tombstone"/>) at
    /// <paramref name="checkpoint"/>, replacing the version of that same checkpoint if there is one, then the versions
    /// no checkpoint held can see are freed. Nothing is changed when it fails.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private DictStatus PutLocked(ReadOnlySpan<byte> key, ulong hash, ReadOnlySpan<byte> value, bool tombstone, long checkpoint, out bool inserted, int prefix = -1, long filled = 0)
    {
        inserted = false;
        if (checkpoint < _header->Oldest)
        {
            return DictStatus.Retired;
        }

        var need = (long)DictLayout.EntryBytes + key.Length + (tombstone ? 0 : value.Length + (prefix >= 0 ? 1 : 0));
        if (need > HeapBytes)
        {
            return DictStatus.TooLarge;
        }

        var tag = DictLayout.TagOf(hash);
        var index = (long)hash & _slotMask;
        long insertAt = -1;
        for (long probe = 0; probe < SlotCount; probe++, index = (index + 1) & _slotMask)
        {
            var slot = &_slots[index];
            if (slot->Tag == DictLayout.EmptyTag)
            {
                if (insertAt < 0)
                {
                    insertAt = index;
                }

                break;
            }

            if (slot->Tag == DictLayout.DeletedTag)
            {
                if (insertAt < 0)
                {
                    insertAt = index;
                }

                continue;
            }

            if (slot->Tag == tag && slot->Head != 0 && KeyEquals(slot->Head, key))
            {
                return Update(slot, key, value, tombstone, checkpoint, need, prefix, filled);
            }
        }

        if (tombstone)
        {
            return DictStatus.NotFound;
        }

        if (insertAt < 0 || (_slots[insertAt].Tag == DictLayout.EmptyTag && _header->UsedSlots >= DictLayout.MaxKeys(SlotCount)))
        {
            return DictStatus.KeyTableFull;
        }

        var failure = DictStatus.Ok;
        var block = filled != 0 ? filled : Allocate(need, out failure);
        if (block == 0)
        {
            return failure;
        }

        Advance(checkpoint);
        if (filled == 0)
        {
            WriteEntry(block, key, value, tombstone: false, checkpoint, next: 0, prefix);
        }
        var target = &_slots[insertAt];
        var fresh = target->Tag == DictLayout.EmptyTag;
        Volatile.Write(ref target->Head, block);
        Volatile.Write(ref target->Tag, tag);
        if (fresh)
        {
            _header->UsedSlots++;
        }

        _header->LiveKeys++;
        _header->Puts++;
        inserted = true;
        return DictStatus.Ok;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private DictStatus Update(DictSlot* slot, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool tombstone, long checkpoint, long need, int prefix, long filled)
    {
        var wasLive = Entry(slot->Head)->ValueLength != DictLayout.Tombstone;

        // Versions run newest first: find where this checkpoint's goes.
        var link = &slot->Head;
        var current = *link;
        while (current != 0 && Entry(current)->Checkpoint > checkpoint)
        {
            link = &Entry(current)->Next;
            current = *link;
        }

        if (tombstone && (current == 0 || Entry(current)->ValueLength == DictLayout.Tombstone))
        {
            return DictStatus.NotFound;
        }

        if (tombstone && link == &slot->Head && checkpoint <= _header->Oldest)
        {
            // No version newer than this checkpoint and none older that a checkpoint still held could see: the
            // removal would leave nothing any checkpoint reads (Trim would free the chain, tombstone and all), so the
            // key goes at once, without a tombstone's block. A full manager can still have keys removed.
            Volatile.Write(ref slot->Head, 0);
            FreeChain(current);
            Volatile.Write(ref slot->Tag, DictLayout.DeletedTag);
            _header->LiveKeys -= wasLive ? 1 : 0;
            _header->Removes++;
            return DictStatus.Ok;
        }

        var failure = DictStatus.Ok;
        var block = filled != 0 ? filled : Allocate(need, out failure);
        if (block == 0)
        {
            return failure;
        }

        Advance(checkpoint);
        var replaced = current != 0 && Entry(current)->Checkpoint == checkpoint;
        var next = replaced ? Entry(current)->Next : current;
        if (filled != 0)
        {
            Entry(block)->Next = next;
        }
        else
        {
            WriteEntry(block, key, value, tombstone, checkpoint, next, prefix);
        }
        Volatile.Write(ref *link, block);
        if (replaced)
        {
            Free(current);
        }

        Trim(slot);
        var isLive = slot->Tag != DictLayout.DeletedTag && Entry(slot->Head)->ValueLength != DictLayout.Tombstone;
        _header->LiveKeys += (isLive ? 1 : 0) - (wasLive ? 1 : 0);
        if (tombstone)
        {
            _header->Removes++;
        }
        else
        {
            _header->Puts++;
        }

        return DictStatus.Ok;
    }

    /// <summary>A write at a checkpoint past the newest makes it the newest, retiring those beyond the working set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Advance(long checkpoint)
    {
        if (checkpoint <= _header->Newest)
        {
            return;
        }

        _header->Newest = checkpoint;
        var floor = checkpoint - _header->WorkingSet + 1;
        if (floor > _header->Oldest)
        {
            Volatile.Write(ref _header->Oldest, floor);
        }
    }

    /// <summary>
    /// Frees the versions of a key that no checkpoint held can see: below the newest one at or before the oldest
    /// checkpoint (which is kept, unless it is a removal). A key left with no version is deleted from the table.
    /// </summary>
    private void Trim(DictSlot* slot)
    {
        var oldest = _header->Oldest;
        var link = &slot->Head;
        var current = *link;
        while (current != 0 && Entry(current)->Checkpoint > oldest)
        {
            link = &Entry(current)->Next;
            current = *link;
        }

        if (current == 0)
        {
            return;
        }

        if (Entry(current)->ValueLength == DictLayout.Tombstone)
        {
            Volatile.Write(ref *link, 0);
            FreeChain(current);
        }
        else if (Entry(current)->Next != 0)
        {
            var rest = Entry(current)->Next;
            Volatile.Write(ref Entry(current)->Next, 0);
            FreeChain(rest);
        }

        if (slot->Head == 0)
        {
            Volatile.Write(ref slot->Tag, DictLayout.DeletedTag);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WriteEntry(long at, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool tombstone, long checkpoint, long next, int prefix = -1)
    {
        var entry = Entry(at);
        entry->Next = next;
        entry->Checkpoint = checkpoint;
        entry->KeyLength = key.Length;
        var start = prefix >= 0 ? 1 : 0;
        entry->ValueLength = tombstone ? DictLayout.Tombstone : start + value.Length;
        key.CopyTo(new Span<byte>(KeyOf(at), key.Length));
        if (!tombstone)
        {
            if (start != 0)
            {
                KeyOf(at)[key.Length] = (byte)prefix;
            }

            value.CopyTo(new Span<byte>(KeyOf(at) + key.Length + start, value.Length));
        }
    }

    /// <summary>A block of at least <paramref name="bytes"/>: from its class's free list, else from the top (backed now).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private long Allocate(long bytes, out DictStatus failure)
    {
        failure = DictStatus.Ok;
        var cls = DictLayout.ClassOf(bytes);
        var size = DictLayout.ClassSize(cls);
        var free = _header->FreeLists[cls];
        if (free != 0)
        {
            _header->FreeLists[cls] = Entry(free)->Next;
            Entry(free)->Class = cls;
            _header->BytesInUse += size;
            return free;
        }

        var top = _header->Top;
        if (size > TotalBytes - top)
        {
            failure = DictStatus.Full;
            return 0;
        }

        if (top + size > _header->Backed)
        {
            var backTo = Math.Min(TotalBytes, (top + size + BackStep - 1) / BackStep * BackStep);
            if (!SharedMapping.TryBack(_base, _header->Backed, backTo))
            {
                failure = DictStatus.NoShm;
                return 0;
            }

            _header->Backed = backTo;
        }

        _header->Top = top + size;
        Entry(top)->Class = cls;
        _header->BytesInUse += size;
        return top;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Free(long at)
    {
        var cls = Entry(at)->Class;
        Entry(at)->Next = _header->FreeLists[cls];
        _header->FreeLists[cls] = at;
        _header->BytesInUse -= DictLayout.ClassSize(cls);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FreeChain(long at)
    {
        while (at != 0)
        {
            var next = Entry(at)->Next;
            Free(at);
            at = next;
        }
    }

    /// <summary>What a failed write says, naming the manager and its sizes.</summary>
    public string Describe(DictStatus status, long checkpoint = 0, long need = 0) => status switch
    {
        DictStatus.Full => $"manager {ManagerIndex} is full: {HeapBytes} bytes for entries, {Volatile.Read(ref _header->BytesInUse)} in use, " +
            $"{TotalBytes - Volatile.Read(ref _header->Top)} never used; an entry of {need} bytes does not fit",
        DictStatus.NoShm => $"manager {ManagerIndex} cannot grow: /dev/shm has no room ({Volatile.Read(ref _header->Backed) - _heapStart} of its {HeapBytes} bytes backed)",
        DictStatus.KeyTableFull => $"manager {ManagerIndex} is full: its key table holds {DictLayout.MaxKeys(SlotCount)} keys",
        DictStatus.TooLarge => $"an entry of {need} bytes is larger than manager {ManagerIndex}'s {HeapBytes} bytes",
        DictStatus.Frozen => $"manager {ManagerIndex} is frozen (read-only)",
        DictStatus.Retired => $"checkpoint {checkpoint} was retired by manager {ManagerIndex}, which holds checkpoints {Checkpoints.Oldest} to {Checkpoints.Newest}",
        DictStatus.NotYet => $"checkpoint {checkpoint} is not there yet: manager {ManagerIndex} holds checkpoints {Checkpoints.Oldest} to {Checkpoints.Newest}",
        DictStatus.NotInteger => $"the value at manager {ManagerIndex} is not a 64-bit integer",
        _ => status.ToString(),
    };
}
