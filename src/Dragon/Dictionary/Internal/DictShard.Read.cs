using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using Dragon.Channels.Internal;

namespace Dragon.Dictionary.Internal;

/// <summary>Makes a value out of its encoded bytes (which may be shared memory: read them, do not keep them).</summary>
internal delegate T SpanDecoder<T>(ReadOnlySpan<byte> encoded);

/// <summary>
/// What a read does with a value's bytes, inside the seqlock window: the bytes may be changing under it, so what it
/// makes counts only once the read is known whole (it may be called again for the same read).
/// </summary>
internal interface IValueReader<out T>
{
    T Read(ReadOnlySpan<byte> encoded);
}

/// <summary>A <see cref="SpanDecoder{T}"/> as a reader.</summary>
internal readonly struct DecoderReader<T>(SpanDecoder<T> decode) : IValueReader<T>
{
    public T Read(ReadOnlySpan<byte> encoded) => decode(encoded);
}

/// <summary>Copies the bytes into a caller's buffer, grown when too small; the result is their length.</summary>
internal ref struct BufferReader : IValueReader<int>
{
    private ref byte[] _buffer;

    public BufferReader(ref byte[] buffer) => _buffer = ref buffer;

    public readonly int Read(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > _buffer.Length)
        {
            _buffer = new byte[Math.Max(encoded.Length, _buffer.Length * 2)];
        }

        encoded.CopyTo(_buffer);
        return encoded.Length;
    }
}

// Readers: no lock, a seqlock read, a frozen shard read without it, and waits for a key or a checkpoint.
internal sealed unsafe partial class DictShard
{
    // A version chain longer than this is not one a writer made: the reader saw memory being reused.
    private const int MaxChain = 4096;

    /// <summary>
    /// Copies the value <paramref name="key"/> had at <paramref name="checkpoint"/> into <paramref name="buffer"/>
    /// (grown when too small). NotFound when it had none; Retired or NotYet when the shard holds no such checkpoint.
    /// </summary>
    /// <remarks>
    /// With <paramref name="ahead"/>, a checkpoint past the newest is read as it stands (the value written at the
    /// newest checkpoint up to it so far) instead of NotYet: what a wait for a key wants, since the key may have been
    /// written long before and the checkpoint never reached on this manager.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public DictStatus TryGet(ReadOnlySpan<byte> key, ulong hash, long checkpoint, ref byte[] buffer, out int length, bool ahead = false)
    {
        var reader = new BufferReader(ref buffer);
        return Read<int, BufferReader>(key, hash, checkpoint, ref reader, out length, ahead);
    }

    /// <summary>
    /// Like <see cref="TryGet"/>, but decodes the value straight out of shared memory with <paramref name="decode"/>
    /// (one copy, into the caller's object, instead of a copy into a buffer and another out of it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public DictStatus TryDecode<T>(ReadOnlySpan<byte> key, ulong hash, long checkpoint, SpanDecoder<T> decode, out T value)
    {
        var reader = new DecoderReader<T>(decode);
        return Read<T, DecoderReader<T>>(key, hash, checkpoint, ref reader, out value, ahead: false);
    }

    /// <summary>
    /// The one read of a value: <paramref name="reader"/> makes the result out of the value's bytes in shared memory.
    /// A read that saw a writer's half-made change is thrown away and made again: the reader's result, or the
    /// exception it threw, counts only when the sequence word shows no writer came by. A frozen shard is read once,
    /// without the sequence.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private DictStatus Read<T, TReader>(ReadOnlySpan<byte> key, ulong hash, long checkpoint, ref TReader reader, out T value, bool ahead)
        where TReader : IValueReader<T>, allows ref struct
    {
        value = default!;
        if (CheckpointStatus(checkpoint) is var window and not DictStatus.Ok && !(ahead && window == DictStatus.NotYet))
        {
            return window;
        }

        if (Volatile.Read(ref _header->Frozen) != 0)
        {
            // Nothing changes a frozen shard: one look, no sequence to check (unless it was thawed meanwhile).
            var at = Find(key, hash, checkpoint, out _, out var torn);
            if (!torn && Volatile.Read(ref _header->Frozen) != 0)
            {
                if (at == 0)
                {
                    return DictStatus.NotFound;
                }

                var encoded = ValueSpan(at, out torn);
                if (!torn)
                {
                    try
                    {
                        value = reader.Read(encoded);
                    }
                    catch (Exception e) when (Retryable(e) && Volatile.Read(ref _header->Frozen) == 0)
                    {
                        // Thawed and written meanwhile: read again under the sequence below.
                        torn = true;
                    }
                }

                if (!torn && Volatile.Read(ref _header->Frozen) != 0)
                {
                    return DictStatus.Ok;
                }

                value = default!;
            }
        }

        var spins = 0;
        while (true)
        {
            var seq = Volatile.Read(ref _header->Seq);
            if ((seq & 1) != 0)
            {
                WaitForWriter(ref spins);
                continue;
            }

            var at = Find(key, hash, checkpoint, out _, out var torn);
            var status = at != 0 && !torn ? DictStatus.Ok : DictStatus.NotFound;
            Exception? failed = null;
            if (status == DictStatus.Ok)
            {
                try
                {
                    var encoded = ValueSpan(at, out torn);
                    value = torn ? default! : reader.Read(encoded);
                }
                catch (Exception e) when (Retryable(e))
                {
                    failed = e;
                }
            }

            if (!X86)
            {
                Interlocked.MemoryBarrier();
            }

            if (Volatile.Read(ref _header->Seq) == seq)
            {
                if (torn)
                {
                    throw new InvalidDataException($"dictionary shard '{Path}' is corrupt: an entry points outside its file");
                }

                if (failed is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failed);
                }

                return status;
            }

            value = default!;
        }
    }

    // How far ahead of the read in hand a batch asks for memory: the slots of the keys this many on, the entries
    // (header, key and the start of the value) of the keys fewer on, so a slot is in the cache when its entry is asked
    // for. A read of a 1 KB value in the cache takes about 230 ns here, a miss about 100-150 ns.
    private const int SlotsAhead = 8;
    private const int EntriesAhead = 4;
    private const int ValuesAhead = 2;

    /// <summary>
    /// Before the read of key <paramref name="i"/> of a batch whose keys have <paramref name="hashes"/>: asks the
    /// memory for what the reads a few keys on will touch, so that their cache misses overlap the reads in between
    /// instead of following one another (a lone read waits for its slot, then for its entry, then for its value).
    /// Prefetches are hints: they never fault and change nothing, so a slot a writer is changing costs at most a
    /// useless prefetch, and no sequence is needed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public void PrefetchAhead(ReadOnlySpan<ulong> hashes, int i)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        if (i == 0)
        {
            for (var k = 0; k < Math.Min(SlotsAhead, hashes.Length); k++)
            {
                Sse.Prefetch0(&_slots[(long)hashes[k] & _slotMask]);
            }

            for (var k = 0; k < Math.Min(EntriesAhead, hashes.Length); k++)
            {
                PrefetchEntry(hashes[k]);
            }
        }

        if (i + SlotsAhead < hashes.Length)
        {
            Sse.Prefetch0(&_slots[(long)hashes[i + SlotsAhead] & _slotMask]);
        }

        if (i + EntriesAhead < hashes.Length)
        {
            PrefetchEntry(hashes[i + EntriesAhead]);
        }

        if (i + ValuesAhead < hashes.Length)
        {
            PrefetchValue(hashes[i + ValuesAhead]);
        }
    }

    /// <summary>
    /// The rest of a small entry (its value past what <see cref="PrefetchEntry"/> asked for, up to 4 KiB), its
    /// length read from the entry's header, which that prefetch brought in.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PrefetchValue(ulong hash)
    {
        var slot = &_slots[(long)hash & _slotMask];
        var head = slot->Head;
        if (slot->Tag != DictLayout.TagOf(hash) || head < _heapStart || head > TotalBytes - 4096)
        {
            return;
        }

        var entry = Entry(head);
        var end = Math.Min(DictLayout.EntryBytes + (long)entry->KeyLength + Math.Max(0, entry->ValueLength), 4096);
        for (var offset = 256L; offset < end; offset += 64)
        {
            Sse.Prefetch0(_base + head + offset);
        }
    }

    /// <summary>The entry the key's first slot names, if that slot bears the key's tag (the usual case).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PrefetchEntry(ulong hash)
    {
        var slot = &_slots[(long)hash & _slotMask];
        if (slot->Tag != DictLayout.TagOf(hash))
        {
            return;
        }

        var head = slot->Head;
        if (head < _heapStart || head > TotalBytes - 256)
        {
            return;
        }

        var entry = _base + head;
        Sse.Prefetch0(entry);
        Sse.Prefetch0(entry + 64);
        Sse.Prefetch0(entry + 128);
        Sse.Prefetch0(entry + 192);
    }

    /// <summary>Whether a key has a value at the checkpoint (the same read, without the copy).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public DictStatus Contains(ReadOnlySpan<byte> key, ulong hash, long checkpoint)
    {
        if (CheckpointStatus(checkpoint) is var window and not DictStatus.Ok)
        {
            return window;
        }

        var spins = 0;
        while (true)
        {
            var seq = Volatile.Read(ref _header->Seq);
            if ((seq & 1) != 0)
            {
                WaitForWriter(ref spins);
                continue;
            }

            var at = Find(key, hash, checkpoint, out _, out var torn);
            if (Volatile.Read(ref _header->Seq) == seq && !torn)
            {
                return at != 0 ? DictStatus.Ok : DictStatus.NotFound;
            }
        }
    }

    /// <summary>
    /// What a reader may throw on bytes a writer was changing (a torn tag or length, a destination refusing a size):
    /// thrown away when the read turns out torn, thrown to the caller when it was whole.
    /// </summary>
    private static bool Retryable(Exception e) =>
        e is InvalidDataException or InvalidCastException or System.Text.Json.JsonException or ArgumentException or IndexOutOfRangeException
            or OverflowException or InvalidOperationException or OutOfMemoryException;

    private static readonly bool X86 = System.Runtime.Intrinsics.X86.X86Base.IsSupported;

    /// <summary>
    /// The value bytes of the entry at <paramref name="at"/>, its lengths read once and checked against the file (a
    /// writer may be reusing the block under a reader): torn, and empty, when they do not fit.
    /// </summary>
    private ReadOnlySpan<byte> ValueSpan(long at, out bool torn)
    {
        var entry = Entry(at);
        long keyLength = Volatile.Read(ref entry->KeyLength);
        long valueLength = Volatile.Read(ref entry->ValueLength);
        var cls = Volatile.Read(ref entry->Class);
        var start = at + DictLayout.EntryBytes + keyLength;
        // Within the file and within the entry's own block: a length a writer is changing never asks a reader (or
        // the caller's buffer it copies into) for more than the block could hold.
        torn = keyLength < 0 || valueLength < 0 || start + valueLength > TotalBytes
            || cls < 0 || cls >= DictLayout.ClassCount || DictLayout.EntryBytes + keyLength + valueLength > DictLayout.ClassSize(cls);
        return torn ? default : new ReadOnlySpan<byte>(_base + start, (int)valueLength);
    }

    /// <summary>Retired below the oldest checkpoint held; NotYet above the newest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private DictStatus CheckpointStatus(long checkpoint) =>
        checkpoint < Volatile.Read(ref _header->Oldest) ? DictStatus.Retired
        : checkpoint > Volatile.Read(ref _header->Newest) ? DictStatus.NotYet
        : DictStatus.Ok;

    /// <summary>The checkpoints the shard holds: [oldest, newest].</summary>
    public (long Oldest, long Newest) Checkpoints => (Volatile.Read(ref _header->Oldest), Volatile.Read(ref _header->Newest));

    /// <summary>
    /// The offset of the version of <paramref name="key"/> visible at <paramref name="checkpoint"/> (the newest written
    /// at or before it), or 0 when it has none or that version is a removal. <paramref name="torn"/>: a reader met an
    /// offset outside the heap (a writer was changing what it read).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private long Find(ReadOnlySpan<byte> key, ulong hash, long checkpoint, out long slotIndex, out bool torn)
    {
        torn = false;
        var tag = DictLayout.TagOf(hash);
        var index = (long)hash & _slotMask;
        for (long probe = 0; probe < SlotCount; probe++, index = (index + 1) & _slotMask)
        {
            var slot = &_slots[index];
            var seen = Volatile.Read(ref slot->Tag);
            if (seen == DictLayout.EmptyTag)
            {
                break;
            }

            if (seen != tag)
            {
                continue;
            }

            var head = Volatile.Read(ref slot->Head);
            if (head == 0)
            {
                continue;
            }

            if (!InHeap(head))
            {
                torn = true;
                break;
            }

            if (!KeyEquals(head, key))
            {
                continue;
            }

            slotIndex = index;
            var at = head;
            for (var steps = 0; at != 0; steps++)
            {
                if (steps == MaxChain || !InHeap(at))
                {
                    torn = true;
                    return 0;
                }

                var entry = Entry(at);
                if (entry->Checkpoint <= checkpoint)
                {
                    return entry->ValueLength == DictLayout.Tombstone ? 0 : at;
                }

                at = entry->Next;
            }

            return 0;
        }

        slotIndex = -1;
        return 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private bool KeyEquals(long at, ReadOnlySpan<byte> key) =>
        Entry(at)->KeyLength == key.Length && new ReadOnlySpan<byte>(KeyOf(at), key.Length).SequenceEqual(key);

    /// <summary>
    /// A reader found a writer inside: spin, then yield; a writer that stays inside long may have died, so look at the
    /// lock's holder now and then and, if it is gone, take the lock over (which repairs the shard).
    /// </summary>
    private void WaitForWriter(ref int spins)
    {
        spins++;
        if (spins < 64)
        {
            Thread.SpinWait(16);
            return;
        }

        if (spins % 256 == 0)
        {
            var holder = Volatile.Read(ref _header->Lock) & ShmRing.LockPidMask;
            if (holder != 0 && !ProcessLiveness.IsAlive(holder))
            {
                LockForWrite();
                UnlockAfterWrite(changed: false);
                return;
            }
        }

        Thread.Yield();
    }

    /// <summary>
    /// Waits until <paramref name="key"/> has a value visible at <paramref name="checkpoint"/> (written at it or before;
    /// the shard need not have reached it), then copies it. NotFound when <paramref name="timeout"/> passed first.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public DictStatus WaitFor(ReadOnlySpan<byte> key, ulong hash, long checkpoint, ref byte[] buffer, out int length, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = WaitDeadline.From(timeout);
        while (true)
        {
            var observed = Volatile.Read(ref _header->ChangeSeq);
            if (IsDestroyed)
            {
                length = 0;
                return DictStatus.Destroyed;
            }

            var status = TryGet(key, hash, checkpoint, ref buffer, out length, ahead: true);
            if (status != DictStatus.NotFound)
            {
                return status;
            }

            if (!SleepForChange(observed, ref deadline, cancellationToken))
            {
                return status;
            }
        }
    }

    /// <summary>
    /// Waits until the shard holds <paramref name="checkpoint"/> (a write brought it there), up to
    /// <paramref name="timeout"/>: Ok, NotYet when the time ran out, Retired when it is already past it.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public DictStatus WaitForCheckpoint(long checkpoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = WaitDeadline.From(timeout);
        while (true)
        {
            var observed = Volatile.Read(ref _header->ChangeSeq);
            if (IsDestroyed)
            {
                return DictStatus.Destroyed;
            }

            var status = CheckpointStatus(checkpoint);
            if (status != DictStatus.NotYet)
            {
                return status;
            }

            if (!SleepForChange(observed, ref deadline, cancellationToken))
            {
                return status;
            }
        }
    }

    /// <summary>
    /// Sleeps until a writer changes the shard after <paramref name="observed"/> (or a slice passes: the caller looks
    /// again); false when the deadline has passed. A cancellable wait sleeps in short slices, so a cancel takes effect
    /// within 20 ms.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    private bool SleepForChange(int observed, ref WaitDeadline deadline, CancellationToken cancellationToken)
    {
        deadline.Start();
        var remaining = deadline.RemainingNanoseconds();
        if (remaining == 0)
        {
            return false;
        }

        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _header->Waiters);
        try
        {
            Futex.Wait(&_header->ChangeSeq, observed, Math.Min(remaining, cancellationToken.CanBeCanceled ? 20_000_000 : 100_000_000));
        }
        finally
        {
            Interlocked.Decrement(ref _header->Waiters);
        }

        return true;
    }
}
