using System.Numerics;
using System.Runtime.InteropServices;

namespace Dragon.Dictionary.Internal;

/// <summary>
/// The header at the start of a dictionary shard's file (<c>/dev/shm/&lt;run&gt;-n&lt;node&gt;-dd&lt;id&gt;</c>).
/// After it come the key table (<see cref="DictSlot"/>s, open addressing with linear probing) and the heap of
/// entries (<see cref="DictEntry"/> plus key and value bytes, in size-classed blocks). Words written on every
/// change (the lock, the sequence) share one cache line; the geometry is read once by each process at open.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = DictLayout.HeaderBytes)]
internal unsafe struct DictHeader
{
    [FieldOffset(0)] public ulong Magic;
    [FieldOffset(8)] public int Version;
    [FieldOffset(12)] public int ManagerIndex;
    [FieldOffset(16)] public long TotalBytes;
    [FieldOffset(24)] public long SlotCount;
    [FieldOffset(32)] public long HeapStart;
    [FieldOffset(40)] public long WorkingSet;

    /// <summary>The writers' lock: the holder's pid, with a contended bit (see ShmRing's robust lock).</summary>
    [FieldOffset(64)] public int Lock;

    /// <summary>Odd while a writer changes the shard: readers that saw it change read again.</summary>
    [FieldOffset(68)] public int Seq;

    /// <summary>Bumped after every change; the futex word of those who wait for a key or a checkpoint.</summary>
    [FieldOffset(72)] public int ChangeSeq;
    [FieldOffset(76)] public int Waiters;
    [FieldOffset(80)] public int Frozen;
    [FieldOffset(84)] public int Destroyed;
    [FieldOffset(88)] public long Top;
    [FieldOffset(96)] public long Backed;
    [FieldOffset(104)] public long LiveKeys;
    [FieldOffset(112)] public long UsedSlots;
    [FieldOffset(120)] public long BytesInUse;
    [FieldOffset(128)] public long Oldest;
    [FieldOffset(136)] public long Newest;
    [FieldOffset(144)] public long Puts;
    [FieldOffset(152)] public long Removes;

    /// <summary>Heads of the free lists, one per size class (<see cref="DictLayout.ClassSize"/>).</summary>
    [FieldOffset(512)] public fixed long FreeLists[DictLayout.ClassCount];
}

/// <summary>One entry of the key table: 0 empty, 1 deleted (probing goes on past it), else a tag of the key's hash.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct DictSlot
{
    public ulong Tag;

    /// <summary>Offset of the newest version of the key's value.</summary>
    public long Head;
}

/// <summary>
/// One version of a key's value: the checkpoint it was written in and the next older version, then the key's and
/// the value's bytes. A value length of -1 marks a removal. A free block keeps its next free block in <see cref="Next"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct DictEntry
{
    public long Next;
    public long Checkpoint;
    public int KeyLength;
    public int ValueLength;
    public int Class;
    public int Reserved;
}

internal static class DictLayout
{
    public const ulong Magic = 0x5443_4944_4e47_5244; // "DRGNDICT"
    public const int Version = 1;
    public const int HeaderBytes = 4096;
    public const int EntryBytes = 32;
    public const int SlotBytes = 16;
    public const ulong EmptyTag = 0;
    public const ulong DeletedTag = 1;
    public const int Tombstone = -1;

    /// <summary>Four size classes per power of two from 64 bytes: a block wastes at most a fifth of itself.</summary>
    public const int ClassCount = 160;
    private const int SmallestShift = 6;

    /// <summary>The key table is at most three quarters full, so probes stay short.</summary>
    public static long MaxKeys(long slotCount) => slotCount / 4 * 3;

    /// <summary>Slots for <paramref name="keys"/> keys: a power of two at least 4/3 of it.</summary>
    public static long SlotsFor(long keys) => (long)BitOperations.RoundUpToPowerOf2((ulong)Math.Max(1024, keys + keys / 3 + 1));

    public static long ClassSize(int cls)
    {
        var power = 1L << (SmallestShift + cls / 4);
        return power + power / 4 * (cls % 4);
    }

    /// <summary>The smallest class whose blocks hold <paramref name="bytes"/>.</summary>
    public static int ClassOf(long bytes)
    {
        if (bytes <= 64)
        {
            return 0;
        }

        var shift = 63 - BitOperations.LeadingZeroCount((ulong)bytes - 1); // floor(log2(bytes - 1))
        var power = 1L << shift;
        var quarter = (int)((bytes - 1 - power) / (power / 4)) + 1; // 1..4 quarters above power
        return quarter == 4 ? (shift + 1 - SmallestShift) * 4 : ((shift - SmallestShift) * 4) + quarter;
    }

    /// <summary>A tag never 0 or 1, so it cannot be read as an empty or deleted slot.</summary>
    public static ulong TagOf(ulong hash) => hash | 0x8000_0000_0000_0000UL;
}
