using System.Runtime.CompilerServices;
using Dragon.Channels.Internal;

namespace Dragon.Dictionary.Internal;

/// <summary>What a shard operation came to; anything but Ok and NotFound becomes an error naming the manager.</summary>
internal enum DictStatus
{
    Ok = 0,
    NotFound = 1,
    Full = 2,
    KeyTableFull = 3,
    Frozen = 4,
    Retired = 5,
    NotInteger = 6,
    NotYet = 7,
    TooLarge = 8,
    NoShm = 9,
    Destroyed = 10,
    Corrupt = 11,
    NoCheckpoint = 12,
    Failed = 13,
}

internal static class DictStatusExtensions
{
    /// <summary>
    /// A write refused for the manager's room (its bytes, its key table, /dev/shm, or an entry larger than the whole
    /// manager), not for the shard's state: another, smaller write may still go in. Such a refusal is a
    /// <see cref="DictionaryFullException"/>.
    /// </summary>
    public static bool IsForRoom(this DictStatus status) => status is DictStatus.Full or DictStatus.KeyTableFull or DictStatus.TooLarge or DictStatus.NoShm;
}

/// <summary>
/// One manager's shard of a dictionary, in a shared-memory file that the home node service creates and every process
/// of that node maps: the same code serves a process's own operations (no request, no socket) and the requests the
/// service performs for processes of other nodes, so both paths agree.
/// <para>
/// Writers take a robust lock (the holder's pid; a waiter takes it over from a dead holder and repairs the counts) and
/// make each change visible with one store (a new block is linked in last, an old one freed after), so a writer killed
/// half-way leaves at most a block unused, never a broken entry. Readers take no lock: they read between two looks at
/// a sequence word that writers make odd while they change anything, and read again if it moved (a seqlock); every
/// offset they follow is checked against the file first. A frozen shard takes no writes, so its readers skip that.
/// </para>
/// </summary>
internal sealed unsafe partial class DictShard : IDisposable
{
    private const long BackStep = 1 << 20;

    private readonly byte* _base;
    private readonly DictHeader* _header;
    private readonly DictSlot* _slots;
    private readonly long _slotMask;
    private readonly long _heapStart;
    private int _users;
    private int _disposed;

    private DictShard(byte* mapping, long totalBytes, string path)
    {
        _base = mapping;
        _header = (DictHeader*)mapping;
        TotalBytes = totalBytes;
        SlotCount = _header->SlotCount;
        _slotMask = SlotCount - 1;
        _slots = (DictSlot*)(mapping + DictLayout.HeaderBytes);
        _heapStart = _header->HeapStart;
        Path = path;
    }

    public string Path { get; }

    public long TotalBytes { get; }

    public long SlotCount { get; }

    /// <summary>Bytes values and keys may use (the file less its header and key table).</summary>
    public long HeapBytes => TotalBytes - _heapStart;

    public int ManagerIndex => _header->ManagerIndex;

    public long WorkingSet => _header->WorkingSet;

    public bool IsFrozen => Volatile.Read(ref _header->Frozen) != 0;

    /// <summary>
    /// Creates the shard's file (<paramref name="heapBytes"/> for entries and room for <paramref name="maxKeys"/> keys)
    /// and maps it. The header and the key table are backed now, the heap as it fills: a full /dev/shm is an error here
    /// or at a put, never a SIGBUS.
    /// </summary>
    /// <exception cref="IOException">The file cannot be created, sized or backed.</exception>
    public static DictShard Create(string path, int managerIndex, long heapBytes, long maxKeys, long workingSet)
    {
        var slots = DictLayout.SlotsFor(maxKeys);
        var heapStart = DictLayout.HeaderBytes + (slots * DictLayout.SlotBytes);
        var total = heapStart + heapBytes;
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        byte* mapping;
        try
        {
            using var stream = new FileStream(path, options);
            stream.SetLength(total);
            mapping = SharedMapping.Map(stream.SafeFileHandle, total, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(path);
            throw new IOException($"cannot create the dictionary shard '{path}' ({total} bytes): {e.Message}", e);
        }

        if (!SharedMapping.TryBack(mapping, 0, heapStart))
        {
            SharedMapping.Unmap(mapping, total);
            TryDelete(path);
            throw new IOException($"cannot create the dictionary shard '{path}': /dev/shm has no room for its key table ({heapStart} bytes)");
        }

        var header = (DictHeader*)mapping;
        header->ManagerIndex = managerIndex;
        header->TotalBytes = total;
        header->SlotCount = slots;
        header->HeapStart = heapStart;
        header->WorkingSet = Math.Max(1, workingSet);
        header->Top = heapStart;
        header->Backed = heapStart;
        header->Version = DictLayout.Version;
        Volatile.Write(ref header->Magic, DictLayout.Magic);
        return new DictShard(mapping, total, path);
    }

    /// <summary>Maps a shard its home node created (a process of that node); the descriptor is closed at once.</summary>
    /// <exception cref="IOException">The file is gone or cannot be mapped.</exception>
    /// <exception cref="InvalidDataException">The file is not a dictionary shard of this version.</exception>
    public static DictShard Open(string path)
    {
        byte* mapping;
        long total;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            total = stream.Length;
            if (total < DictLayout.HeaderBytes)
            {
                throw new InvalidDataException($"'{path}' is not a dictionary shard: {total} bytes");
            }

            mapping = SharedMapping.Map(stream.SafeFileHandle, total, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot open the dictionary shard '{path}': {e.Message}", e);
        }

        var header = (DictHeader*)mapping;
        if (Volatile.Read(ref header->Magic) != DictLayout.Magic || header->Version != DictLayout.Version || header->TotalBytes != total
            || header->SlotCount <= 0 || (header->SlotCount & (header->SlotCount - 1)) != 0
            || header->HeapStart != DictLayout.HeaderBytes + (header->SlotCount * DictLayout.SlotBytes) || header->HeapStart > total)
        {
            SharedMapping.Unmap(mapping, total);
            throw new InvalidDataException($"'{path}' is not a dictionary shard of version {DictLayout.Version}");
        }

        return new DictShard(mapping, total, path);
    }

    /// <summary>Counts an operation in progress so <see cref="Dispose"/> does not unmap under it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Enter()
    {
        Interlocked.Increment(ref _users);
        if (Volatile.Read(ref _disposed) != 0)
        {
            Interlocked.Decrement(ref _users);
            return false;
        }

        if (Volatile.Read(ref _header->Backed) > Volatile.Read(ref _mappedHere) && ++_entries > MapInAfter)
        {
            MapInBacked();
        }

        return true;
    }

    // Operations a process makes before it maps in the whole backed file at once (one that makes a few does not pay).
    private const int MapInAfter = 64;

    // This process's page tables cover the file up to here (after MapInBacked), and how many operations it entered.
    private long _mappedHere;
    private int _entries;

    // How much of the file this process has touched as it mapped it in (see MapInBacked), and at most how much.
    private const long TouchLimit = 512L << 20;
    private long _touched;

    /// <summary>
    /// Fills this process's page tables for everything backed so far, in one call: otherwise its first touch of each
    /// page another process backed is a fault of its own (several microseconds each in a VM, more than a 1 KB put),
    /// and processes that write in turn touch each other's pages. Then reads a byte of each page (up to
    /// <see cref="TouchLimit"/> in all): under shadow paging a populated page still costs each process about 6 us at
    /// its first access, which otherwise lands on the operation that makes it (<see cref="SharedMapping.Touch"/>).
    /// </summary>
    private void MapInBacked()
    {
        var backed = Volatile.Read(ref _header->Backed);
        var from = Volatile.Read(ref _mappedHere);
        if (backed > from && Interlocked.CompareExchange(ref _mappedHere, backed, from) == from)
        {
            var end = Math.Min(backed, TotalBytes);
            // A page is read only once the populate said it is backed (a writer's block may have a tail it never
            // wrote, and a read of a hole in a full /dev/shm would be a SIGBUS).
            if (!SharedMapping.TryBack(_base, from, end) || !SharedMapping.Populates)
            {
                return;
            }

            // A process that touches what it maps in pays for pages it may never use: a shard of many gigabytes read
            // a little by one process would take seconds (at 6 us a page). The first TouchLimit bytes are touched;
            // past them a page's first access is paid when it comes, as before. The budget is taken before the
            // touch, so callers mapping in ranges of their own at once share it.
            long granted;
            long used;
            do
            {
                used = Volatile.Read(ref _touched);
                granted = Math.Min(end - from, Math.Max(0, TouchLimit - used));
            }
            while (granted > 0 && Interlocked.CompareExchange(ref _touched, used + granted, used) != used);

            if (granted > 0)
            {
                SharedMapping.Touch(_base, from, from + granted);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Exit() => Interlocked.Decrement(ref _users);

    /// <summary>Unmaps once no operation of this process is inside (they are short; waits leave within a slice).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        var deadline = Environment.TickCount64 + 2000;
        while (Volatile.Read(ref _users) > 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(1);
        }

        if (Volatile.Read(ref _users) == 0)
        {
            SharedMapping.Unmap(_base, TotalBytes);
        }
    }

    /// <summary>Whether the home node destroyed the dictionary (its file is gone; this mapping is all that is left).</summary>
    public bool IsDestroyed => Volatile.Read(ref _header->Destroyed) != 0;

    /// <summary>Marks the shard destroyed and wakes every waiter, here and in the processes of its node.</summary>
    public void MarkDestroyed()
    {
        Volatile.Write(ref _header->Destroyed, 1);
        Interlocked.Increment(ref _header->ChangeSeq);
        Futex.Wake(&_header->ChangeSeq, int.MaxValue);
    }

    /// <summary>
    /// Leaves the shard as a writer killed inside a change leaves it: the lock held by <paramref name="deadPid"/>, the
    /// sequence odd, the key count wrong (for tests of the recovery).
    /// </summary>
    internal void LeaveAsKilledWriter(int deadPid)
    {
        Volatile.Write(ref _header->Lock, deadPid);
        Volatile.Write(ref _header->Seq, _header->Seq | 1);
        _header->LiveKeys += 1000;
    }

    /// <summary>Removes a shard's file (its home node, when the dictionary is destroyed).</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // The run's teardown removes every file of its prefix anyway.
        }
    }

    /// <summary>
    /// Takes the writers' lock; on taking it over from a dead holder, makes the shard consistent again first. Writers
    /// hold it for one change (a copy of the value at most), so a waiter spins, then sleeps on the futex.
    /// </summary>
    private void LockForWrite()
    {
        LockForAllocate();
        Volatile.Write(ref _header->Seq, _header->Seq + 1);
    }

    /// <summary>
    /// The lock alone, for taking a block (the free lists and the top, which readers never look at): the sequence
    /// stays even, so no reader reads again for it.
    /// </summary>
    private void LockForAllocate()
    {
        var deadline = WaitDeadline.From(Timeout.InfiniteTimeSpan);
        if (!TryLockSpinning() && ShmRing.AcquireLock(&_header->Lock, ref deadline, CancellationToken.None) == ShmRing.LockResult.Recovered)
        {
            Repair();
        }
    }

    // How long a writer waits for the lock on the CPU (spinning, then yielding) before it sleeps on the futex.
    private static readonly long s_lockSpinTicks = System.Diagnostics.Stopwatch.Frequency / 20_000; // 50 us

    /// <summary>
    /// A writer holds the lock for a microsecond or so: wait for it on the CPU first, yielding to whoever runs (the
    /// holder, if it was preempted), rather than sleep at once. Once one writer sleeps, every release must wake a
    /// sleeper, and on a machine where a wake-up costs tens of microseconds the writers fall into a convoy: a
    /// quarter of the single-writer rate with 4 writers on 2 CPUs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryLockSpinning()
    {
        var pid = Environment.ProcessId;
        if (Interlocked.CompareExchange(ref _header->Lock, pid, 0) == 0)
        {
            return true;
        }

        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var i = 0; ; i++)
        {
            if (i < 16)
            {
                Thread.SpinWait(32);
            }
            else
            {
                Thread.Yield();
                if (System.Diagnostics.Stopwatch.GetTimestamp() - start > s_lockSpinTicks)
                {
                    return false;
                }
            }

            if (Volatile.Read(ref _header->Lock) == 0 && Interlocked.CompareExchange(ref _header->Lock, pid, 0) == 0)
            {
                return true;
            }
        }
    }

    private void UnlockAfterWrite(bool changed)
    {
        Volatile.Write(ref _header->Seq, _header->Seq + 1);
        if (changed)
        {
            Interlocked.Increment(ref _header->ChangeSeq);
            if (Volatile.Read(ref _header->Waiters) > 0)
            {
                Futex.Wake(&_header->ChangeSeq, int.MaxValue);
            }
        }

        ShmRing.ReleaseLock(&_header->Lock);
    }

    /// <summary>
    /// After a writer died holding the lock: the sequence is made even and the counts are recounted from the key
    /// table (a change is visible by one store, so the table itself is whole; what the dead writer allocated and had
    /// not linked stays unused).
    /// </summary>
    private void Repair()
    {
        if ((_header->Seq & 1) != 0)
        {
            _header->Seq++;
        }

        long live = 0, used = 0, bytes = 0;
        for (long i = 0; i < SlotCount; i++)
        {
            var tag = _slots[i].Tag;
            if (tag == DictLayout.EmptyTag)
            {
                continue;
            }

            used++;
            if (tag == DictLayout.DeletedTag)
            {
                continue;
            }

            var head = _slots[i].Head;
            if (Entry(head)->ValueLength != DictLayout.Tombstone)
            {
                live++;
            }

            for (var at = head; at != 0; at = Entry(at)->Next)
            {
                bytes += DictLayout.ClassSize(Entry(at)->Class);
            }
        }

        _header->LiveKeys = live;
        _header->UsedSlots = used;
        _header->BytesInUse = bytes;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private DictEntry* Entry(long offset) => (DictEntry*)(_base + offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte* KeyOf(long offset) => _base + offset + DictLayout.EntryBytes;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte* ValueOf(long offset) => _base + offset + DictLayout.EntryBytes + Entry(offset)->KeyLength;

    /// <summary>Whether an entry at <paramref name="offset"/> lies wholly in the heap (a reader checks before it reads).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool InHeap(long offset)
    {
        if (offset < _heapStart || offset > TotalBytes - DictLayout.EntryBytes || (offset & 15) != 0)
        {
            return false;
        }

        var entry = Entry(offset);
        var key = (long)entry->KeyLength;
        var value = (long)Math.Max(0, entry->ValueLength);
        return key >= 0 && offset + DictLayout.EntryBytes + key + value <= TotalBytes;
    }
}
