using System.Collections.Concurrent;
using System.Globalization;
using Dragon.Runtime.Protocol;
using Dragon.Services.Global;
using Dragon.Services.Runtime;
using Dragon.Sync.Internal;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Objects;

/// <summary>
/// The objects a node service hosts: ids (home node in the top 16 bits), reference counts per holding process,
/// and destruction when the last holder lets go, when its holders all exit, or when the run ends.
/// </summary>
internal sealed class HostedObjects
{
    /// <summary>Default ring geometry: 1024 slots of 1 KiB; larger messages are side-allocated by the ring.</summary>
    public const long DefaultSlots = 1024;
    public const long DefaultSlotSize = 1024;

    /// <summary>Largest message a channel accepts unless created with another limit.</summary>
    public const long DefaultMaxMessageBytes = 64L * 1024 * 1024;

    /// <summary>The least memory a dictionary manager may have for its entries.</summary>
    public const long MinDictionaryBytes = 64 * 1024;

    private readonly ConcurrentDictionary<ulong, Entry> _objects = new();
    private readonly RunContext _run;
    private readonly int _nodeIndex;
    private readonly Action<ObjectDescriptor> _onDestroyed;
    private readonly Diagnostics.RetiredChannels _retired = new();
    private readonly System.Threading.Lock _trafficLock = new();
    private readonly ILogger _logger;
    private readonly SyncSlab _slab;
    private long _next;

    public HostedObjects(RunContext run, int nodeIndex, Action<ObjectDescriptor> onDestroyed, ILogger logger)
    {
        _run = run;
        _nodeIndex = nodeIndex;
        _onDestroyed = onDestroyed;
        _logger = logger;
        _slab = new SyncSlab(run.ShmPrefix, nodeIndex);
    }

    public ObjectDescriptor Create(ObjectCreateRequest request)
    {
        var id = ((ulong)_nodeIndex << 48) | (ulong)Interlocked.Increment(ref _next);
        var name = string.IsNullOrEmpty(request.Name) ? $"{request.Kind.ToString().ToLowerInvariant()}-{id:x}" : request.Name;
        var descriptor = request.Kind switch
        {
            ObjectKind.Channel when request.MaxMessageBytes < 0 || request.Capacity < 0 || request.SlotSize < 0 => throw new ServiceException(
                ErrorKind.InvalidArgument,
                $"a channel's capacity ({request.Capacity}), slot size ({request.SlotSize}) and largest message ({request.MaxMessageBytes} bytes) cannot be negative"),
            ObjectKind.Channel => new ObjectDescriptor(
                id, ObjectKind.Channel, name, _nodeIndex,
                $"/dev/shm/{_run.ShmPrefix}-n{_nodeIndex}-ch{id.ToString("x", CultureInfo.InvariantCulture)}",
                request.Capacity > 0 ? request.Capacity : DefaultSlots,
                request.SlotSize > 0 ? request.SlotSize : DefaultSlotSize,
                request.MaxMessageBytes > 0 ? request.MaxMessageBytes : DefaultMaxMessageBytes,
                0,
                request.Flag),
            ObjectKind.Barrier when request.Parties < 1 => throw new ServiceException(ErrorKind.InvalidArgument, $"a barrier needs at least 1 party, not {request.Parties}"),
            ObjectKind.Semaphore when request.Capacity < 0 => throw new ServiceException(ErrorKind.InvalidArgument, $"a semaphore's value cannot be negative ({request.Capacity})"),
            ObjectKind.DictionaryShard when request.Capacity < MinDictionaryBytes || request.SlotSize < 1 || request.Parties < 1 => throw new ServiceException(
                ErrorKind.InvalidArgument,
                $"a dictionary manager needs at least {MinDictionaryBytes} bytes ({request.Capacity}), room for a key ({request.SlotSize}) and a working set of a checkpoint ({request.Parties})"),
            ObjectKind.DictionaryShard => new ObjectDescriptor(
                id, ObjectKind.DictionaryShard, name, _nodeIndex,
                $"/dev/shm/{_run.ShmPrefix}-n{_nodeIndex}-dd{id.ToString("x", CultureInfo.InvariantCulture)}",
                request.Capacity, request.SlotSize, request.MaxMessageBytes, request.Parties, request.Flag),
            _ => new ObjectDescriptor(id, request.Kind, name, _nodeIndex, null, request.Capacity, 0, 0, request.Parties, request.Flag),
        };
        HostedObject hosted = descriptor.Kind switch
        {
            ObjectKind.Channel => new ChannelHost(descriptor),
            ObjectKind.Barrier when descriptor.Parties <= BarrierCell.MaxParties => CreateBarrier(ref descriptor),
            ObjectKind.Barrier => new BarrierHost(descriptor, _logger),
            ObjectKind.Event or ObjectKind.Lock or ObjectKind.Semaphore => CreateSync(ref descriptor),
            ObjectKind.DictionaryShard => CreateShard(descriptor),
            _ => throw new ServiceException(ErrorKind.InvalidArgument, $"unknown object kind {descriptor.Kind}"),
        };
        var entry = new Entry(hosted);
        entry.Refs[request.Puid] = 1;
        _objects[id] = entry;
        return descriptor;
    }

    /// <summary>
    /// An event, lock or semaphore: a slot in this node's slab (its file and offset go into the descriptor, so the
    /// processes of this node operate on it without requests). A semaphore starts at its value, bounded by it if asked.
    /// </summary>
    private SyncHost CreateSync(ref ObjectDescriptor descriptor)
    {
        var semaphore = descriptor.Kind == ObjectKind.Semaphore;
        var bound = semaphore && descriptor.Flag ? descriptor.Capacity : long.MaxValue;
        (SyncCell Cell, string Path, long Offset, int Slot) slot;
        try
        {
            slot = _slab.Allocate(descriptor.Id, semaphore ? descriptor.Capacity : 0, bound);
        }
        catch (IOException e)
        {
            throw new ServiceException(ErrorKind.Internal, $"cannot create {descriptor.Kind.ToString().ToLowerInvariant()} '{descriptor.Name}': {e.Message}");
        }

        descriptor = descriptor with { ShmPath = slot.Path, ShmOffset = slot.Offset };
        return descriptor.Kind switch
        {
            ObjectKind.Event => new EventHost(descriptor, _slab, slot.Cell, slot.Slot, _logger),
            ObjectKind.Lock => new LockHost(descriptor, _slab, slot.Cell, slot.Slot, _logger),
            _ => new SemaphoreHost(descriptor, _slab, slot.Cell, slot.Slot, _logger),
        };
    }

    /// <summary>
    /// A dictionary manager: its shard file, sized from the request (bytes for entries, keys, working set; the manager's
    /// index in the descriptor's <c>MaxMessageBytes</c> high half).
    /// </summary>
    private static DictShardHost CreateShard(ObjectDescriptor descriptor)
    {
        try
        {
            var shard = Dragon.Dictionary.Internal.DictShard.Create(
                descriptor.ShmPath!, (int)(descriptor.MaxMessageBytes >> 32), descriptor.Capacity, descriptor.SlotSize, descriptor.Parties);
            return new DictShardHost(descriptor, shard);
        }
        catch (IOException e)
        {
            throw new ServiceException(ErrorKind.Internal, $"cannot create dictionary manager '{descriptor.Name}': {e.Message}");
        }
    }

    /// <summary>
    /// A barrier: a block of slots in this node's slab, so the processes of this node arrive and wait without
    /// requests. (A barrier of more parties than a slab file's block holds is served by requests, <see cref="BarrierHost"/>.)
    /// </summary>
    private SharedBarrierHost CreateBarrier(ref ObjectDescriptor descriptor)
    {
        (BarrierCell Cell, string Path, long Offset, int Slot) block;
        try
        {
            block = _slab.AllocateBarrier(descriptor.Id, (int)descriptor.Parties);
        }
        catch (IOException e)
        {
            throw new ServiceException(ErrorKind.Internal, $"cannot create barrier '{descriptor.Name}': {e.Message}");
        }

        descriptor = descriptor with { ShmPath = block.Path, ShmOffset = block.Offset };
        return new SharedBarrierHost(descriptor, _slab, block.Cell, block.Slot, _logger);
    }

    /// <summary>Slab files of this node's events, locks, semaphores and barriers (for tests).</summary>
    internal int SyncSegmentCount => _slab.SegmentCount;

    public ObjectDescriptor Attach(ulong id, ulong puid)
    {
        var entry = Find(id);
        lock (entry)
        {
            if (entry.Destroyed)
            {
                throw Destroyed(id);
            }

            entry.Refs[puid] = entry.Refs.GetValueOrDefault(puid) + 1;
        }

        return entry.Object.Descriptor;
    }

    public void Release(ulong id, ulong puid)
    {
        if (!_objects.TryGetValue(id, out var entry))
        {
            return;
        }

        lock (entry)
        {
            if (entry.Refs.TryGetValue(puid, out var count))
            {
                if (count <= 1)
                {
                    entry.Refs.Remove(puid);
                }
                else
                {
                    entry.Refs[puid] = count - 1;
                }
            }

            if (entry.Refs.Count > 0 || entry.Destroyed)
            {
                return;
            }

            entry.Destroyed = true;
        }

        Destroy(id, entry);
    }

    public Task<ObjectReply> HandleAsync(ObjectRequest request, CancellationToken cancellationToken)
    {
        if (!_objects.TryGetValue(request.Id, out var entry) || entry.Destroyed)
        {
            return Task.FromResult(new ObjectReply(ObjectStatus.Destroyed, ReadOnlyMemory<byte>.Empty, 0));
        }

        return entry.Object.HandleAsync(request, cancellationToken);
    }

    /// <summary>A put from another node into a channel of this node (see <see cref="ChannelHost.Deliver"/>).</summary>
    public void Deliver(ChannelPut put, Action<ChannelPutAck> report)
    {
        if (_objects.TryGetValue(put.ChannelId, out var entry) && !entry.Destroyed && entry.Object is ChannelHost channel)
        {
            channel.Deliver(put, report);
            return;
        }

        report(new ChannelPutAck(put.ChannelId, put.Sender, 1, put.Payload.Length, ObjectStatus.Destroyed,
            $"no channel {put.ChannelId:x} on this node (destroyed, or never created)", ObjectDescriptor.HomeOf(put.ChannelId)));
    }

    /// <summary>A process exited: objects let go of what it held, and its references are dropped.</summary>
    public void OnProcessExited(ulong puid)
    {
        foreach (var (id, entry) in _objects)
        {
            entry.Object.OnProcessExited(puid);
            bool last;
            lock (entry)
            {
                if (!entry.Refs.Remove(puid))
                {
                    continue;
                }

                last = entry.Refs.Count == 0 && !entry.Destroyed;
                entry.Destroyed |= last;
            }

            if (last)
            {
                Destroy(id, entry);
            }
        }
    }

    public void DestroyAll()
    {
        foreach (var (id, entry) in _objects)
        {
            // The run may end while a release or an exit is destroying the same object: destroy it once.
            lock (entry)
            {
                if (entry.Destroyed)
                {
                    continue;
                }

                entry.Destroyed = true;
            }

            Destroy(id, entry);
        }

        _slab.Dispose();
    }

    private void Destroy(ulong id, Entry entry)
    {
        if (entry.Object is ChannelHost channel)
        {
            // Under the traffic lock: a sample sees the channel either live or retired, never both or neither.
            lock (_trafficLock)
            {
                if (channel.ReadTraffic() is { } traffic)
                {
                    _retired.Add(channel.Descriptor.Name, traffic.MessagesSent, traffic.BytesSent, traffic.MessagesReceived);
                }

                entry.Retired = true;
            }
        }

        _objects.TryRemove(id, out _);
        entry.Object.Destroy();
        _onDestroyed(entry.Object.Descriptor);
    }

    /// <summary>
    /// The traffic of every channel this node hosts or hosted, for metrics: the live ones read from their rings, and
    /// the final figures of those destroyed (<see cref="Diagnostics.RetiredChannels"/>).
    /// </summary>
    public (List<ChannelTraffic> Live, ChannelTraffic[] Retired) ReadTraffic()
    {
        var live = new List<ChannelTraffic>();
        var fileReads = TrafficFileReadsPerSample;
        lock (_trafficLock)
        {
            foreach (var entry in _objects.Values)
            {
                if (!entry.Retired && entry.Object is ChannelHost channel && channel.ReadTraffic(ref fileReads, TrafficMaxAgeMs) is { } t)
                {
                    live.Add(new ChannelTraffic(channel.Descriptor.Name, t.MessagesSent, t.BytesSent, t.MessagesReceived, t.Depth));
                }
            }

            return (live, _retired.Snapshot());
        }
    }

    /// <summary>
    /// Rings not mapped in this service whose figures one sample reads from their files (each a few system calls),
    /// and how old their last figures must be: a sample stays short however many channels there are.
    /// </summary>
    private const int TrafficFileReadsPerSample = 512;
    private const long TrafficMaxAgeMs = 5_000;

    private Entry Find(ulong id) => _objects.TryGetValue(id, out var entry) ? entry : throw Destroyed(id);

    private static ServiceException Destroyed(ulong id) =>
        new(ErrorKind.ObjectNotFound, $"object {id:x} does not exist (it was destroyed, or never created in this run)");

    private sealed class Entry(HostedObject hosted)
    {
        public HostedObject Object { get; } = hosted;

        public Dictionary<ulong, int> Refs { get; } = [];

        public volatile bool Destroyed;

        /// <summary>Its final traffic moved to the retired channels (under the traffic lock).</summary>
        public bool Retired;
    }
}
