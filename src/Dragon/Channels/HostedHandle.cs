using System.Text;
using Dragon.Channels.Internal;
using Dragon.Dictionary.Internal;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;
using Dragon.Sync.Internal;

namespace Dragon.Channels;

/// <summary>
/// This process's reference to an object hosted by a node service: creation, attachment, the requests that
/// operate on it, and (for a channel whose home is this node) the shared-memory ring used directly.
/// </summary>
internal sealed class HostedHandle : IDisposable
{
    private ShmRing? _ring;
    private int _released;

    /// <summary>The ring file of a channel on this node, mapped at its first use (<see cref="Ring"/>), or null.</summary>
    private readonly string? _ringPath;
    private readonly Lock _mapping = new();
    private bool _ringGone;

    private HostedHandle(ObjectDescriptor descriptor)
    {
        Descriptor = descriptor;
        if (descriptor.ShmPath is { } path && descriptor.HomeNode == RuntimeClient.Current.Hello.NodeIndex)
        {
            if (descriptor.Kind == ObjectKind.Channel)
            {
                // Mapped at first use, not here: a process that creates or attaches many queues for others (a
                // queue per worker) holds no mapping of each (every mapping counts against vm.max_map_count).
                _ringPath = path;
            }
            else if (descriptor.Kind == ObjectKind.DictionaryShard)
            {
                Shard = DictShard.Open(path);
            }
            else if (RuntimeClient.Current.Puid != 0)
            {
                // A lock records its holder's puid, and 0 means free (a barrier's lock records its owner's puid the
                // same way): a process without one goes by request.
                if (descriptor.Kind == ObjectKind.Barrier)
                {
                    Barrier = SyncSegments.OpenBarrier(path, descriptor.ShmOffset, descriptor.Id, (int)descriptor.Parties, Describe);
                }
                else
                {
                    Cell = SyncSegments.Open(path, descriptor.ShmOffset, descriptor.Id, Describe);
                }

                Puid = RuntimeClient.Current.Puid;
            }
        }
    }

    public ObjectDescriptor Descriptor { get; }

    public ulong Id => Descriptor.Id;

    /// <summary>
    /// The ring, when the channel lives on this node (mapped at the first use); null when operations go to its home
    /// node, or when the ring is already gone (then a request says why).
    /// </summary>
    public ShmRing? Ring => Volatile.Read(ref _ring) ?? MapRing();

    /// <summary>Whether the channel's operations go through its ring here (<see cref="Ring"/>), without mapping it to find out.</summary>
    public bool RingIsHere => _ringPath is not null && (Volatile.Read(ref _ring) is not null || !_ringGone);

    private ShmRing? MapRing()
    {
        if (_ringPath is null)
        {
            return null;
        }

        lock (_mapping)
        {
            if (_ring is not null || _ringGone || Volatile.Read(ref _released) != 0)
            {
                return _ring;
            }

            try
            {
                Volatile.Write(ref _ring, ShmRing.Open(_ringPath));
            }
            catch (FileNotFoundException)
            {
                // Destroyed before this process first used it: its home node answers for it from now on.
                _ringGone = true;
            }

            return _ring;
        }
    }

    /// <summary>
    /// The shared slot, when the event, lock or semaphore lives on this node: operations then make no request. Null
    /// when they go to its home node.
    /// </summary>
    public SyncCell? Cell { get; }

    /// <summary>The shard, when the dictionary manager lives on this node: operations then make no request.</summary>
    public DictShard? Shard { get; }

    /// <summary>The shared block, when the barrier lives on this node (and is not too large for one): no requests.</summary>
    public BarrierCell? Barrier { get; }

    /// <summary>This process's puid, the holder a lock records (set with <see cref="Cell"/> or <see cref="Barrier"/>).</summary>
    public ulong Puid { get; }

    public static HostedHandle Create(ObjectKind kind, string? name, int? node, long capacity = 0, long slotSize = 0, long maxMessage = 0, long parties = 0, bool flag = false)
    {
        var reply = RuntimeClient.Current.Request<ObjectDescriptorReply>(
            new ObjectCreateRequest(kind, name, node ?? -1, capacity, slotSize, maxMessage, parties, flag, 0));
        Log.ObjectCreated(DragonRuntime.ObjectsLogger, reply.Descriptor.Kind, reply.Descriptor.Name, reply.Descriptor.HomeNode);
        return new HostedHandle(reply.Descriptor);
    }

    /// <summary>Attaches by id (or by name when id is 0); throws naming the object if it no longer exists.</summary>
    public static HostedHandle Attach(ObjectKind kind, ulong id, string? name)
    {
        var reply = RuntimeClient.Current.Request<ObjectDescriptorReply>(new ObjectAttachRequest(id, name, 0));
        if (reply.Descriptor.Kind != kind)
        {
            throw new ArgumentException($"'{reply.Descriptor.Name}' is a {reply.Descriptor.Kind}, not a {kind}");
        }

        Log.ObjectAttached(DragonRuntime.ObjectsLogger, reply.Descriptor.Kind, reply.Descriptor.Name, reply.Descriptor.HomeNode);
        return new HostedHandle(reply.Descriptor);
    }

    public ObjectReply Request(ObjectOp op, long timeoutMs = -1, long argument = 0, byte[]? payload = null) =>
        RequestAsync(op, timeoutMs, argument, payload, CancellationToken.None).GetAwaiter().GetResult();

    public Task<ObjectReply> RequestAsync(ObjectOp op, long timeoutMs, long argument, byte[]? payload, CancellationToken cancellationToken) =>
        RequestAsync(op, timeoutMs, argument, (ReadOnlyMemory<byte>)(payload ?? []), cancellationToken);

    /// <summary>As the <c>byte[]</c> form; a rented payload (<see cref="PooledBody"/>) goes back to the pool once written.</summary>
    public async Task<ObjectReply> RequestAsync(ObjectOp op, long timeoutMs, long argument, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ThrowIfReleased();
        var reply = await RuntimeClient.Current
            .RequestAsync<ObjectReply>(new ObjectRequest(Id, op, payload, timeoutMs, argument, 0), cancellationToken)
            .ConfigureAwait(false);
        if (reply.Status == ObjectStatus.Destroyed)
        {
            throw new ObjectDisposedException(Describe, $"{Describe} was destroyed");
        }

        if (reply.Status == ObjectStatus.Cancelled)
        {
            // The home node stopped the operation before it took or granted anything.
            if (Descriptor.HomeNode != RuntimeClient.Current.Hello.NodeIndex)
            {
                Log.CancelledAcrossNodes(DragonRuntime.ObjectsLogger, op, Descriptor.Kind, Descriptor.Name, Descriptor.HomeNode);
            }

            throw new OperationCanceledException($"{Describe}: {op} was cancelled", cancellationToken);
        }

        if (reply.Status == ObjectStatus.Invalid)
        {
            throw new InvalidOperationException($"{Describe}: {Encoding.UTF8.GetString(reply.Payload.Span)}");
        }

        return reply;
    }

    public string Describe => $"{Descriptor.Kind.ToString().ToLowerInvariant()} '{Descriptor.Name}'";

    public void ThrowIfReleased()
    {
        if (Volatile.Read(ref _released) != 0)
        {
            // Not ObjectDisposedException.ThrowIf(cond, Describe): that names the type of its argument, System.String.
            throw new ObjectDisposedException(Describe, $"{Describe} was disposed (or closed) by this process");
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        lock (_mapping)
        {
            _ring?.Dispose();
            _ring = null;
        }

        Shard?.Dispose();
        try
        {
            RuntimeClient.Current.Request<Ack>(new ObjectReleaseRequest(Id, 0));
        }
        catch (DragonException)
        {
            // The runtime is ending; it destroys every object anyway.
        }
    }
}
