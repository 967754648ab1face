using System.Runtime.InteropServices;

namespace Dragon.Channels.Internal;

/// <summary>
/// The header at offset 0 of a ring file. Words written by producers, by consumers and by both sit
/// on separate 128-byte blocks so that a producer and a consumer on different cores do not steal
/// each other's cache lines (128 rather than 64 because of the adjacent-line prefetcher).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct ShmRingHeader
{
    /// <summary>Bytes reserved for the header; slots start here.</summary>
    public const int Size = 1024;

    /// <summary>"DRGNRING" in little-endian ASCII; written last at creation.</summary>
    public const ulong ExpectedMagic = 0x474E_4952_4E47_5244;

    /// <summary>Layout version; bump on any change to this struct or to <see cref="ShmSlotHeader"/>.</summary>
    public const int CurrentVersion = 4;

    /// <summary>Identifies the file as a ring.</summary>
    [FieldOffset(0)] public ulong Magic;

    /// <summary>Layout version, <see cref="CurrentVersion"/>.</summary>
    [FieldOffset(8)] public int Version;

    /// <summary>Number of slots.</summary>
    [FieldOffset(12)] public int SlotCount;

    /// <summary>Payload bytes per slot.</summary>
    [FieldOffset(16)] public int SlotSize;

    /// <summary>Distance between slot starts, header included, a multiple of 64.</summary>
    [FieldOffset(20)] public int SlotStride;

    /// <summary>Largest message accepted.</summary>
    [FieldOffset(24)] public int MaxMessageSize;

    /// <summary>0 open, 1 closed.</summary>
    [FieldOffset(28)] public int State;

    /// <summary>Pid of the creating process, for diagnostics.</summary>
    [FieldOffset(32)] public int CreatorPid;

    /// <summary>1 when the ring counts unfinished items (a joinable queue): see <see cref="Unfinished"/>.</summary>
    [FieldOffset(36)] public int Joinable;

    /// <summary>Robust lock serialising producers: 0 free, else owner pid, plus the contended bit.</summary>
    [FieldOffset(128)] public int ProducerLock;

    /// <summary>Robust lock serialising consumers, same encoding as <see cref="ProducerLock"/>.</summary>
    [FieldOffset(256)] public int ConsumerLock;

    /// <summary>Count of slots ever published; written only by the producer-lock holder.</summary>
    [FieldOffset(384)] public long Tail;

    /// <summary>1 while the consumer-lock holder sleeps for data; tells producers to wake it.</summary>
    [FieldOffset(392)] public int DataWaiting;

    /// <summary>Futex word bumped to wake a consumer waiting for data (or for close).</summary>
    [FieldOffset(396)] public int DataEvent;

    /// <summary>Messages ever sent (requeues not counted); written only by the producer-lock holder, read by metrics.</summary>
    [FieldOffset(400)] public long MessagesSent;

    /// <summary>Payload bytes of <see cref="MessagesSent"/>; written only by the producer-lock holder.</summary>
    [FieldOffset(408)] public long BytesSent;

    /// <summary>Messages put back (a receive whose process went away); written only by the producer-lock holder.</summary>
    [FieldOffset(416)] public long MessagesRequeued;

    /// <summary>
    /// Slots backed by memory so far, from the first: the file is sparse and grows with use, doubling, as the producer
    /// first reaches a slot; written only by the producer-lock holder (and the creator).
    /// </summary>
    [FieldOffset(424)] public long BackedSlots;

    /// <summary>Count of slots ever consumed; written only by the consumer-lock holder.</summary>
    [FieldOffset(512)] public long Head;

    /// <summary>1 while the producer-lock holder sleeps for space; tells consumers to wake it.</summary>
    [FieldOffset(520)] public int SpaceWaiting;

    /// <summary>Futex word bumped to wake a producer waiting for space (or for close).</summary>
    [FieldOffset(524)] public int SpaceEvent;

    /// <summary>Messages ever received whole; written only by the consumer-lock holder, read by metrics.</summary>
    [FieldOffset(528)] public long MessagesReceived;

    /// <summary>
    /// Items published and not yet marked done (joinable rings only): raised by the producer-lock holder before it
    /// publishes a message's last chunk, lowered by TaskDone from any process.
    /// </summary>
    [FieldOffset(640)] public long Unfinished;

    /// <summary>Processes (threads) waiting for <see cref="Unfinished"/> to reach zero; tells TaskDone to wake them.</summary>
    [FieldOffset(648)] public int JoinWaiters;

    /// <summary>Futex word bumped when <see cref="Unfinished"/> reaches zero with joiners waiting.</summary>
    [FieldOffset(652)] public int JoinEvent;
}

/// <summary>The 16 bytes in front of each slot's payload: one chunk of one message.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ShmSlotHeader
{
    /// <summary>This chunk starts a message; <see cref="MessageLength"/> is the whole message.</summary>
    public const int FirstFlag = 1;

    /// <summary>This chunk ends a message.</summary>
    public const int LastFlag = 2;

    /// <summary>Payload bytes in this slot.</summary>
    public int ChunkLength;

    /// <summary><see cref="FirstFlag"/> and/or <see cref="LastFlag"/>.</summary>
    public int Flags;

    /// <summary>Length of the whole message this chunk belongs to.</summary>
    public int MessageLength;

    /// <summary>Unused; keeps the payload 16-byte aligned.</summary>
    public int Reserved;
}

/// <summary>A ring's traffic so far, as metrics report it.</summary>
internal readonly record struct ShmRingTraffic(long MessagesSent, long BytesSent, long MessagesReceived, long Depth);
