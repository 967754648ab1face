using System.Globalization;
using Dragon.Sync.Internal;

namespace Dragon.Services.Objects;

/// <summary>
/// The slots of the events, locks, semaphores and barriers a node service hosts (see <see cref="SyncSlot"/>): slab files of
/// <see cref="SyncSlot.SlotsPerSegment"/> slots, <c>/dev/shm/&lt;run prefix&gt;-n&lt;node&gt;-sync&lt;k&gt;</c>, created
/// as objects need them, each mapped once with its descriptor closed, and removed when the run ends. A destroyed
/// object's slot goes to the back of a free queue, so it is reused as late as possible (a process that still holds a
/// destroyed object sees its id gone from the slot, not another object).
/// </summary>
internal sealed unsafe class SyncSlab : IDisposable
{
    private readonly string _pathPrefix;
    private readonly System.Threading.Lock _lock = new();
    private readonly List<(string Path, SyncSegments.Mapping Mapping)> _segments = [];
    private readonly Queue<int> _free = new();
    private readonly Dictionary<int, Queue<int>> _freeBlocks = [];
    private int _used;
    private int _inFlight;
    private bool _disposed;

    public SyncSlab(string shmPrefix, int nodeIndex) => _pathPrefix = $"/dev/shm/{shmPrefix}-n{nodeIndex.ToString(CultureInfo.InvariantCulture)}-sync";

    /// <summary>Slab files created so far (for tests and diagnostics).</summary>
    public int SegmentCount
    {
        get
        {
            lock (_lock)
            {
                return _segments.Count;
            }
        }
    }

    /// <summary>Takes a slot for object <paramref name="id"/>, writes its first state, and returns it with where it lives.</summary>
    /// <exception cref="IOException">A new slab file could not be created (a full /dev/shm).</exception>
    public (SyncCell Cell, string Path, long Offset, int Slot) Allocate(ulong id, long state, long bound)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_free.TryDequeue(out var slot))
            {
                if (_used == _segments.Count * SyncSlot.SlotsPerSegment)
                {
                    AddSegment();
                }

                slot = _used++;
            }

            var (path, mapping) = _segments[slot / SyncSlot.SlotsPerSegment];
            var offset = (long)(slot % SyncSlot.SlotsPerSegment) * SyncSlot.Size;
            var at = (SyncSlot*)(mapping.Base + offset);
            SyncCell.Initialize(at, id, state, bound);
            return (new SyncCell(at, id), path, offset, slot);
        }
    }

    /// <summary>
    /// Takes a block of whole slots for barrier <paramref name="id"/> (<see cref="BarrierCell.SlotsFor"/>), within one
    /// file, writes its first state, and returns it with where it lives. A freed block is reused only as a block of the
    /// same size, so a stale holder of a destroyed object never finds another object's middle where its slot was.
    /// </summary>
    /// <exception cref="IOException">A new slab file could not be created (a full /dev/shm).</exception>
    public (BarrierCell Cell, string Path, long Offset, int Slot) AllocateBarrier(ulong id, int parties)
    {
        var slots = BarrierCell.SlotsFor(parties);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_freeBlocks.TryGetValue(slots, out var free) || !free.TryDequeue(out var slot))
            {
                // A block does not cross files: the rest of this file goes to single slots.
                var inFile = _used % SyncSlot.SlotsPerSegment;
                if (inFile != 0 && inFile + slots > SyncSlot.SlotsPerSegment)
                {
                    while (_used % SyncSlot.SlotsPerSegment != 0)
                    {
                        _free.Enqueue(_used++);
                    }
                }

                if (_used == _segments.Count * SyncSlot.SlotsPerSegment)
                {
                    AddSegment();
                }

                slot = _used;
                _used += slots;
            }

            var (path, mapping) = _segments[slot / SyncSlot.SlotsPerSegment];
            var offset = (long)(slot % SyncSlot.SlotsPerSegment) * SyncSlot.Size;
            var at = (BarrierSlot*)(mapping.Base + offset);
            BarrierCell.Initialize(at, id, parties);
            return (new BarrierCell(at, id, parties), path, offset, slot);
        }
    }

    /// <summary>Gives back the block of a destroyed barrier (its cell already marked destroyed).</summary>
    public void FreeBarrier(int slot, int parties)
    {
        lock (_lock)
        {
            var slots = BarrierCell.SlotsFor(parties);
            if (!_freeBlocks.TryGetValue(slots, out var free))
            {
                _freeBlocks[slots] = free = new Queue<int>();
            }

            free.Enqueue(slot);
        }
    }

    /// <summary>Gives back the slot of a destroyed object (its cell already marked destroyed).</summary>
    public void Free(int slot)
    {
        lock (_lock)
        {
            _free.Enqueue(slot);
        }
    }

    /// <summary>Counts a wait running on a slot, so <see cref="Dispose"/> does not unmap under it.</summary>
    public void EnterWait() => Interlocked.Increment(ref _inFlight);

    public void ExitWait() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Removes the slab files; unmaps once no wait of this service is inside a slot (each ends within a slice).</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        foreach (var (path, _) in _segments)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
                // Best effort: the run's teardown removes every file of its prefix anyway.
            }
        }

        var deadline = Environment.TickCount64 + 2000;
        while (Volatile.Read(ref _inFlight) > 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(10);
        }

        if (Volatile.Read(ref _inFlight) == 0)
        {
            foreach (var (_, mapping) in _segments)
            {
                mapping.Unmap();
            }
        }
    }

    private void AddSegment()
    {
        var path = _pathPrefix + _segments.Count.ToString(CultureInfo.InvariantCulture);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,
            // Allocated now: on a full tmpfs a lazily backed page would SIGBUS on first touch.
            PreallocationSize = SyncSlot.SegmentBytes,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(path, options))
            {
                stream.SetLength(SyncSlot.SegmentBytes);
            }

            _segments.Add((path, SyncSegments.Mapping.Create(path)));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }

            throw new IOException($"cannot create the synchronization slab '{path}' ({SyncSlot.SegmentBytes} bytes): {ex.Message}", ex);
        }
    }
}
