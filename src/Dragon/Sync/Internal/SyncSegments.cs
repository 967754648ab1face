using System.Collections.Concurrent;
using System.IO.MemoryMappedFiles;

namespace Dragon.Sync.Internal;

/// <summary>
/// The slab files of synchronization objects this process has mapped (see <see cref="SyncSlot"/>): each file is
/// mapped once, on the first object in it, and its descriptor closed at once, so a process using thousands of
/// objects holds a few mappings and no file descriptor for them. Mappings last as long as the process: a slab file
/// holds many objects, and its 256 KiB of address space cost nothing worth a reference count.
/// </summary>
internal static unsafe class SyncSegments
{
    private static readonly ConcurrentDictionary<string, Mapping> s_mapped = new(StringComparer.Ordinal);
    private static readonly System.Threading.Lock s_mapLock = new();

    /// <summary>The cell of object <paramref name="id"/> at <paramref name="offset"/> in the slab file <paramref name="path"/>.</summary>
    /// <exception cref="ObjectDisposedException">The slot no longer holds the object (it was destroyed).</exception>
    /// <exception cref="IOException">The slab file cannot be opened or mapped.</exception>
    public static SyncCell Open(string path, long offset, ulong id, string describe)
    {
        if (offset < 0 || offset % SyncSlot.Size != 0 || offset + SyncSlot.Size > SyncSlot.SegmentBytes)
        {
            throw new InvalidDataException($"{describe}: slot offset {offset} is not a slot of a {SyncSlot.SegmentBytes}-byte slab file '{path}'");
        }

        var cell = new SyncCell((SyncSlot*)(Map(path).Base + offset), id);
        if (!cell.IsLive)
        {
            throw new ObjectDisposedException(describe, $"{describe} was destroyed");
        }

        return cell;
    }

    /// <summary>The cell of barrier <paramref name="id"/> of <paramref name="parties"/>, its block at <paramref name="offset"/>.</summary>
    /// <exception cref="ObjectDisposedException">The block no longer holds the barrier (it was destroyed).</exception>
    /// <exception cref="IOException">The slab file cannot be opened or mapped.</exception>
    public static BarrierCell OpenBarrier(string path, long offset, ulong id, int parties, string describe)
    {
        var bytes = (long)BarrierCell.SlotsFor(parties) * SyncSlot.Size;
        if (parties < 1 || parties > BarrierCell.MaxParties || offset < 0 || offset % SyncSlot.Size != 0 || offset + bytes > SyncSlot.SegmentBytes)
        {
            throw new InvalidDataException($"{describe}: a block of {bytes} bytes at offset {offset} is not within a {SyncSlot.SegmentBytes}-byte slab file '{path}'");
        }

        var cell = new BarrierCell((BarrierSlot*)(Map(path).Base + offset), id, parties);
        if (!cell.IsLive)
        {
            throw new ObjectDisposedException(describe, $"{describe} was destroyed");
        }

        return cell;
    }

    private static Mapping Map(string path)
    {
        if (s_mapped.TryGetValue(path, out var mapping))
        {
            return mapping;
        }

        lock (s_mapLock)
        {
            if (!s_mapped.TryGetValue(path, out mapping))
            {
                mapping = Mapping.Create(path);
                s_mapped[path] = mapping;
            }

            return mapping;
        }
    }

    /// <summary>A slab file mapped shared, its descriptor closed (the mapping keeps the pages).</summary>
    internal sealed class Mapping
    {
        private readonly MemoryMappedViewAccessor _view;

        private Mapping(MemoryMappedViewAccessor view, byte* mapped)
        {
            _view = view;
            Base = mapped;
        }

        public byte* Base { get; }

        public static Mapping Create(string path)
        {
            FileStream stream;
            try
            {
                stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"cannot open the synchronization slab '{path}': {ex.Message}", ex);
            }

            if (stream.Length != SyncSlot.SegmentBytes)
            {
                var length = stream.Length;
                stream.Dispose();
                throw new InvalidDataException($"'{path}' is not a synchronization slab: {length} bytes, not {SyncSlot.SegmentBytes}");
            }

            // Disposing the file (and with it the stream's descriptor) leaves the view's mapping in place.
            using var file = MemoryMappedFile.CreateFromFile(stream, null, SyncSlot.SegmentBytes, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            var view = file.CreateViewAccessor(0, SyncSlot.SegmentBytes, MemoryMappedFileAccess.ReadWrite);
            byte* mapped = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref mapped);
            return new Mapping(view, mapped + view.PointerOffset);
        }

        /// <summary>Unmaps (the home node service at the end of the run; never while a cell of it is in use).</summary>
        public void Unmap()
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
    }
}
