using System.Buffers;
using System.Buffers.Binary;

namespace Dragon.Dictionary.Internal;

// Whole-shard reads: pages of keys (and values) for enumeration and checkpoints, counts and figures.
internal sealed unsafe partial class DictShard
{
    private const int ScanChunk = 4096;

    /// <summary>
    /// Appends the keys (with <paramref name="withValues"/>, the values too) visible at <paramref name="checkpoint"/>
    /// from slot <paramref name="cursor"/> on, as <see cref="DictWire"/> pairs, until about <paramref name="maxBytes"/>
    /// are written. Returns the slot to go on from, or -1 at the end. The lock is held for a chunk of slots at a time,
    /// so writers go on between chunks (a key written meanwhile may or may not be seen, as with any concurrent dictionary).
    /// </summary>
    public long Scan(long cursor, long checkpoint, bool withValues, ArrayBufferWriter<byte> output, int maxBytes, out int count)
    {
        count = 0;
        var start = output.WrittenCount;
        while (cursor >= 0 && cursor < SlotCount && output.WrittenCount - start < maxBytes)
        {
            var end = Math.Min(SlotCount, cursor + ScanChunk);
            LockForWrite();
            try
            {
                for (; cursor < end && output.WrittenCount - start < maxBytes; cursor++)
                {
                    var slot = &_slots[cursor];
                    if (slot->Tag <= DictLayout.DeletedTag || slot->Head == 0)
                    {
                        continue;
                    }

                    var at = Visible(slot->Head, checkpoint);
                    if (at == 0)
                    {
                        continue;
                    }

                    var entry = Entry(at);
                    DictWire.WritePair(
                        output,
                        new ReadOnlySpan<byte>(KeyOf(at), entry->KeyLength),
                        withValues ? new ReadOnlySpan<byte>(ValueOf(at), entry->ValueLength) : default,
                        withValues);
                    count++;
                }
            }
            finally
            {
                UnlockAfterWrite(changed: false);
            }
        }

        return cursor >= SlotCount ? -1 : cursor;
    }

    /// <summary>How many keys have a value at <paramref name="checkpoint"/> (the newest: a counter; older: a scan).</summary>
    public long Count(long checkpoint)
    {
        var (oldest, newest) = Checkpoints;
        if (checkpoint >= newest)
        {
            return Volatile.Read(ref _header->LiveKeys);
        }

        if (checkpoint < oldest)
        {
            return 0;
        }

        long count = 0;
        for (long cursor = 0; cursor < SlotCount; cursor += ScanChunk)
        {
            var end = Math.Min(SlotCount, cursor + ScanChunk);
            LockForWrite();
            try
            {
                for (var i = cursor; i < end; i++)
                {
                    if (_slots[i].Tag > DictLayout.DeletedTag && _slots[i].Head != 0 && Visible(_slots[i].Head, checkpoint) != 0)
                    {
                        count++;
                    }
                }
            }
            finally
            {
                UnlockAfterWrite(changed: false);
            }
        }

        return count;
    }

    private long Visible(long head, long checkpoint)
    {
        for (var at = head; at != 0; at = Entry(at)->Next)
        {
            if (Entry(at)->Checkpoint <= checkpoint)
            {
                return Entry(at)->ValueLength == DictLayout.Tombstone ? 0 : at;
            }
        }

        return 0;
    }

    /// <summary>The shard's figures, read without the lock (each one exact, together a moment's view).</summary>
    public DictShardStats Stats() => new(
        ManagerIndex,
        Volatile.Read(ref _header->LiveKeys),
        DictLayout.MaxKeys(SlotCount),
        HeapBytes,
        Volatile.Read(ref _header->BytesInUse),
        Volatile.Read(ref _header->Oldest),
        Volatile.Read(ref _header->Newest),
        Volatile.Read(ref _header->Frozen) != 0,
        Volatile.Read(ref _header->Puts),
        Volatile.Read(ref _header->Removes));

    /// <summary>The figures as one <see cref="DictWire"/> record (the reply to a remote stats request).</summary>
    public static void WriteStats(DictShardStats stats, ArrayBufferWriter<byte> output)
    {
        var span = output.GetSpan(8 * 10);
        BinaryPrimitives.WriteInt64LittleEndian(span, stats.Manager);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], stats.Keys);
        BinaryPrimitives.WriteInt64LittleEndian(span[16..], stats.MaxKeys);
        BinaryPrimitives.WriteInt64LittleEndian(span[24..], stats.Bytes);
        BinaryPrimitives.WriteInt64LittleEndian(span[32..], stats.BytesInUse);
        BinaryPrimitives.WriteInt64LittleEndian(span[40..], stats.OldestCheckpoint);
        BinaryPrimitives.WriteInt64LittleEndian(span[48..], stats.NewestCheckpoint);
        BinaryPrimitives.WriteInt64LittleEndian(span[56..], stats.Frozen ? 1 : 0);
        BinaryPrimitives.WriteInt64LittleEndian(span[64..], stats.Puts);
        BinaryPrimitives.WriteInt64LittleEndian(span[72..], stats.Removes);
        output.Advance(80);
    }

    public static DictShardStats ReadStats(ReadOnlySpan<byte> data)
    {
        if (data.Length != 80)
        {
            throw new InvalidDataException($"a dictionary manager's figures are 80 bytes, not {data.Length}");
        }

        Span<long> at = stackalloc long[10];
        for (var i = 0; i < at.Length; i++)
        {
            at[i] = BinaryPrimitives.ReadInt64LittleEndian(data[(i * 8)..]);
        }

        return new((int)at[0], at[1], at[2], at[3], at[4], at[5], at[6], at[7] != 0, at[8], at[9]);
    }
}

/// <summary>One manager's figures (see <see cref="DictShard.Stats"/>).</summary>
internal readonly record struct DictShardStats(int Manager, long Keys, long MaxKeys, long Bytes, long BytesInUse, long OldestCheckpoint, long NewestCheckpoint, bool Frozen, long Puts, long Removes);
