using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Dragon.Channels.Internal;

// A bounded multi-producer multi-consumer message channel in a shared-memory file.
//
// Layout: a 1 KiB header (ShmRingHeader) then SlotCount slots, each a 16-byte ShmSlotHeader and
// SlotSize payload bytes. Tail counts slots ever published and Head slots ever consumed (64-bit,
// never wrap); slot i lives at index i % SlotCount. A message is one or more chunks in consecutive
// slots, flagged First (carrying the whole length) and Last, so messages larger than the ring
// stream through it while the consumer drains.
//
// Locking: one lock for producers and one for consumers, each a 32-bit word holding the owner's
// pid (bit 30 = "someone may sleep on it"). Between the two sides the ring is single-producer /
// single-consumer: the producer-lock holder alone writes slots at Tail and advances Tail; the
// consumer-lock holder alone reads at Head and advances Head. A whole message, every chunk, is
// sent under one hold of the producer lock and received under one hold of the consumer lock, so
// messages are never interleaved or split between consumers, and per-producer order is kept.
// Blocking is a short spin, then a shared (non-private) futex wait. Each futex word has a
// "waiting" flag that the sleeper sets before its final re-check, so a waker makes the FUTEX_WAKE
// syscall only when somebody may sleep; the uncontended path is atomics only, no syscalls.
//
// Robustness against SIGKILL: lock waiters sleep in slices of at most 100 ms and, when a slice
// runs out, test the owner pid with kill(pid, 0) (and /proc for zombies); a dead owner's lock is
// taken over by compare-and-swap. Nothing needs rolling back:
//  * a producer killed before publishing a chunk leaves Tail unchanged; the slot is overwritten;
//  * a producer killed (or timed out, or hit by Close) after publishing some chunks of a message
//    leaves a message without Last. A consumer in the middle of it notices, while waiting, that
//    the producer lock is free or its owner dead and discards the partial message; a consumer that
//    meets a new First before a Last discards the partial one too. Partial data is written into
//    the destination buffer but never committed (IBufferWriter.Advance happens after Last);
//  * a consumer killed mid-message has consumed its chunks; the next consumer skips chunks that
//    are not First until the next message starts. The message is lost with the process that was
//    receiving it, never delivered twice; a consumer killed before advancing Head leaves the
//    chunk in place for the next one.
// So survivors carry on within about 100-200 ms. Limits: pids must be from one pid namespace; a
// pid reused within a slice by an unrelated process would keep a dead owner's lock looking held;
// and a receive that has taken a message's first chunk finishes it whatever its timeout, so a
// producer stopped (SIGSTOP, debugger) mid-message, alive but silent, holds that receiver.
//
// Cancellation: every wait takes a CancellationToken. A waiter whose token can be cancelled sleeps in slices of at
// most 20 ms and checks it between them (and while spinning), so a cancel takes effect within a slice. A cancel is
// honoured only where nothing was taken: waiting for a lock, for data before a message's first chunk (Head
// untouched, the lock released on the way out), or for space (a partly sent message is withdrawn, as on timeout).
// Nothing is checked on the path that does not wait.
//
// Joinable rings count unfinished items in the header (Unfinished): the producer-lock holder raises it before
// publishing a message's last chunk, so no receiver can hold an item before it is counted; TaskDone lowers it with a
// compare-and-swap that never goes below zero, and wakes joiners (a futex on JoinEvent) when it reaches zero.
//
// Close sets State; senders then throw, and a receiver that finds the ring empty, the state
// closed and the producer lock free (or owned by a dead pid) gets EndOfStreamException. Senders
// re-check State after taking the producer lock, so nothing is published behind a receiver that
// already saw the end.

/// <summary>
/// A bounded multi-producer multi-consumer channel of byte messages in a shared-memory file,
/// usable across processes. Instances are thread-safe except for <see cref="Dispose"/>.
/// </summary>
internal sealed unsafe partial class ShmRing : IDisposable
{
    /// <summary>Largest message accepted when <see cref="Create"/> is not told otherwise: 64 MiB.</summary>
    public const int DefaultMaxMessageSize = 64 * 1024 * 1024;

    private const int StateOpen = 0;
    private const int StateClosed = 1;
    private const int SlotAlignment = 64;

    /// <summary>Bytes of slots backed at creation; the rest is backed as it is first used.</summary>
    private const int InitialBackedBytes = 64 * 1024;

    private readonly string _path;
    private readonly long _length;
    private readonly byte* _base;
    private readonly ShmRingHeader* _header;
    private readonly int _slotCount;
    private readonly int _slotSize;
    private readonly int _slotStride;
    private readonly int _maxMessageSize;
    private readonly ulong _slotMask; // SlotCount - 1 when a power of two, else 0
    private readonly bool _joinable;

    // Hints that only lag the shared value: Head and Tail only grow, so a stale copy is
    // conservative. Each is touched only under its side's lock, so threads do not race on it.
    private long _producerHeadCache;
    private long _consumerTailCache;
    private int _disposed;

    private ShmRing(string path, long length, byte* mapped)
    {
        _path = path;
        _length = length;
        _base = mapped;
        _header = (ShmRingHeader*)mapped;
        _slotCount = _header->SlotCount;
        _slotSize = _header->SlotSize;
        _slotStride = _header->SlotStride;
        _maxMessageSize = _header->MaxMessageSize;
        _slotMask = BitOperations.IsPow2(_slotCount) ? (ulong)_slotCount - 1 : 0;
        _joinable = _header->Joinable != 0;
    }

    /// <summary>The ring file's path.</summary>
    public string Path => _path;

    /// <summary>Number of slots.</summary>
    public int SlotCount => _slotCount;

    /// <summary>Payload bytes per slot; larger messages take several slots.</summary>
    public int SlotSize => _slotSize;

    /// <summary>Largest message the ring accepts at all.</summary>
    public int MaxMessageSize => _maxMessageSize;

    /// <summary>Whether the ring counts unfinished items (see <see cref="TaskDone"/>).</summary>
    public bool Joinable => _joinable;

    /// <summary>True once any process called <see cref="Close"/>.</summary>
    public bool IsClosed
    {
        get
        {
            ThrowIfDisposed();
            return Volatile.Read(ref _header->State) != StateOpen;
        }
    }

    /// <summary>
    /// Traffic counters for metrics (messages and bytes sent, messages received, messages waiting), read without
    /// a lock: each is written by one lock holder, so a reading may lag by a message but never tears.
    /// </summary>
    internal ShmRingTraffic Traffic
    {
        get
        {
            ThrowIfDisposed();
            var received = Volatile.Read(ref _header->MessagesReceived);
            var sent = Volatile.Read(ref _header->MessagesSent);
            var requeued = Volatile.Read(ref _header->MessagesRequeued);
            return new ShmRingTraffic(sent, Volatile.Read(ref _header->BytesSent), received, Math.Max(0, sent + requeued - received));
        }
    }

    /// <summary>
    /// The traffic counters of the ring at <paramref name="path"/>, read from its file's header without mapping it
    /// (for a ring this process does not keep mapped); null when the file is gone or too short.
    /// </summary>
    internal static ShmRingTraffic? ReadTraffic(string path)
    {
        Span<byte> bytes = stackalloc byte[ShmRingHeader.Size];
        if (!SharedMapping.TryReadStart(path, bytes))
        {
            return null;
        }

        var header = System.Runtime.InteropServices.MemoryMarshal.Read<ShmRingHeader>(bytes);
        var sent = header.MessagesSent;
        return new ShmRingTraffic(sent, header.BytesSent, header.MessagesReceived, Math.Max(0, sent + header.MessagesRequeued - header.MessagesReceived));
    }

    /// <summary>Slots published and not yet consumed, a snapshot for diagnostics and tests.</summary>
    internal long PendingSlots
    {
        get
        {
            ThrowIfDisposed();
            return Volatile.Read(ref _header->Tail) - Volatile.Read(ref _header->Head);
        }
    }

    /// <summary>Pid holding the producer lock, 0 when free; for diagnostics and tests.</summary>
    internal int ProducerLockOwner
    {
        get
        {
            ThrowIfDisposed();
            return Volatile.Read(ref _header->ProducerLock) & LockPidMask;
        }
    }

    /// <summary>Pid holding the consumer lock, 0 when free; for diagnostics and tests.</summary>
    internal int ConsumerLockOwner
    {
        get
        {
            ThrowIfDisposed();
            return Volatile.Read(ref _header->ConsumerLock) & LockPidMask;
        }
    }

    /// <summary>
    /// Creates the ring file (exclusively, mode 0600) and maps it shared. A <paramref name="joinable"/> ring counts
    /// every message sent until a <see cref="TaskDone"/> marks it finished.
    /// </summary>
    /// <exception cref="IOException">The file exists or cannot be created or mapped.</exception>
    public static ShmRing Create(string path, int slotCount, int slotSize, int maxMessageSize = DefaultMaxMessageSize, bool joinable = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(slotCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(slotSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxMessageSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slotSize, int.MaxValue / 2);

        var stride = AlignUp(sizeof(ShmSlotHeader) + slotSize, SlotAlignment);
        var length = ShmRingHeader.Size + ((long)slotCount * stride);

        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew, // O_CREAT | O_EXCL
            Access = FileAccess.ReadWrite,
            // Not FileShare.None: on Unix that takes an exclusive flock that Open would trip on.
            Share = FileShare.ReadWrite | FileShare.Delete,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        FileStream stream;
        try
        {
            stream = new FileStream(path, options);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot create shared-memory ring '{path}': {ex.Message}", ex);
        }

        try
        {
            // Sparse: the header and the first slots are backed now, the rest as the producer first reaches them.
            stream.SetLength(length);
            var ring = Map(path, stream, length);
            var initial = Math.Min(slotCount, Math.Max(1, InitialBackedBytes / stride));
            if (!SharedMapping.TryBack(ring._base, 0, ShmRingHeader.Size + ((long)initial * stride)))
            {
                ring.Dispose();
                throw new IOException($"no room in shared memory for the ring's first {ShmRingHeader.Size + ((long)initial * stride)} bytes (is /dev/shm full?)");
            }

            var header = ring._header;
            header->BackedSlots = initial;
            header->Version = ShmRingHeader.CurrentVersion;
            header->SlotCount = slotCount;
            header->SlotSize = slotSize;
            header->SlotStride = stride;
            header->MaxMessageSize = maxMessageSize;
            header->CreatorPid = Environment.ProcessId;
            header->Joinable = joinable ? 1 : 0;
            // Magic last, so Open never accepts a half-written header.
            Volatile.Write(ref header->Magic, ShmRingHeader.ExpectedMagic);
            ring.Dispose();
            return Open(path);
        }
        catch (Exception ex)
        {
            stream.Dispose();
            TryDelete(path);
            if (ex is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"cannot create shared-memory ring '{path}' ({length} bytes): {ex.Message}", ex);
            }

            throw;
        }
    }

    /// <summary>Attaches to a ring another process (or this one) created.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not a ring of this layout version.</exception>
    public static ShmRing Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException ex)
        {
            throw new FileNotFoundException($"shared-memory ring '{path}' does not exist", path, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot open shared-memory ring '{path}': {ex.Message}", ex);
        }

        ShmRing? ring = null;
        try
        {
            var length = stream.Length;
            if (length < ShmRingHeader.Size)
            {
                throw NotARing(path, $"it is {length} bytes, smaller than the {ShmRingHeader.Size}-byte header");
            }

            ring = Map(path, stream, length);
            ring.Validate(length);
            return ring;
        }
        catch
        {
            if (ring is null)
            {
                stream.Dispose();
            }
            else
            {
                ring.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Marks the ring closed for every process: senders then throw, receivers drain what is left
    /// and then get <see cref="EndOfStreamException"/>. Idempotent.
    /// </summary>
    public void Close()
    {
        ThrowIfDisposed();
        if (Interlocked.Exchange(ref _header->State, StateClosed) == StateClosed)
        {
            return;
        }

        // Unconditional wakes: sleepers re-check State and leave.
        SignalData();
        SignalSpace();
    }

    /// <summary>Removes the ring file; processes that have it mapped keep working on it.</summary>
    public void Unlink() => File.Delete(_path);

    /// <summary>Unmaps the ring. Must not race with other calls on this instance.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        SharedMapping.Unmap(_base, _length);
    }

    /// <inheritdoc/>
    public override string ToString() => $"ShmRing({_path}, {_slotCount} x {_slotSize} B)";

    /// <summary>Maps the file and closes it: the mapping alone keeps the memory, so no descriptor is held per ring.</summary>
    private static ShmRing Map(string path, FileStream stream, long length)
    {
        using (stream)
        {
            return new ShmRing(path, length, SharedMapping.Map(stream.SafeFileHandle, length, path));
        }
    }

    private void Validate(long length)
    {
        var header = _header;
        var magic = Volatile.Read(ref header->Magic);
        if (magic != ShmRingHeader.ExpectedMagic)
        {
            throw NotARing(_path, magic == 0 ? "its header is blank (not a ring, or still being created)" : $"bad magic 0x{magic:x16}");
        }

        if (header->Version != ShmRingHeader.CurrentVersion)
        {
            throw NotARing(_path, $"layout version {header->Version}, this build reads version {ShmRingHeader.CurrentVersion}");
        }

        var expected = ShmRingHeader.Size + ((long)_slotCount * _slotStride);
        if (_slotCount < 1 || _slotSize < 1 || _maxMessageSize < 0
            || _slotStride < sizeof(ShmSlotHeader) + _slotSize || _slotStride % SlotAlignment != 0 || expected != length)
        {
            throw NotARing(_path, $"inconsistent header ({_slotCount} slots of {_slotSize} B, stride {_slotStride}) for a {length}-byte file");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ShmSlotHeader* SlotAt(long position)
    {
        var index = _slotMask != 0 ? (ulong)position & _slotMask : (ulong)position % (ulong)_slotCount;
        return (ShmSlotHeader*)(_base + ShmRingHeader.Size + ((long)index * _slotStride));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfDisposed()
    {
        if (_disposed != 0)
        {
            ThrowDisposed();
        }
    }

    private static int AlignUp(int value, int alignment) => (value + alignment - 1) / alignment * alignment;

    private static InvalidDataException NotARing(string path, string reason) =>
        new($"'{path}' is not a Dragon shared-memory ring: {reason}");

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the creation error is what the caller needs to see.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowDisposed() => throw new ObjectDisposedException(ToString());

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowCancelled(CancellationToken cancellationToken) => throw new OperationCanceledException(cancellationToken);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowClosed() => throw new InvalidOperationException($"channel '{_path}' is closed");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowEndOfStream() => throw new EndOfStreamException($"channel '{_path}' is closed and drained");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowCorrupt(long position, string reason) =>
        throw new InvalidDataException($"channel '{_path}': slot {position} is corrupt: {reason}");
}
