using System.Buffers.Binary;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using Dragon.Channels;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;

namespace Dragon.Dictionary.Internal;

/// <summary>
/// This process's side of a dictionary, on encoded keys and values: which manager holds a key, and each operation
/// done on the manager's shard directly when it lives on this node, or as a request to its node otherwise. Failures
/// become the dictionary's exceptions, naming the dictionary, the manager and what was wrong.
/// </summary>
internal sealed class DictClient : IDisposable
{
    private readonly HostedHandle[] _managers;
    private readonly DictPutLane?[] _lanes;
    private readonly long _waitMs;

    // The bytes a key took in each manager's last batch-read reply (0: none yet), to size the next batch's parts.
    private readonly int[] _replyBytesPerKey;

    /// <summary>About the size of one part's reply in a batch read from another node.</summary>
    internal const int ReplyBytes = 1 << 20;

    /// <summary>Parts of one batch read on their way at once, per manager.</summary>
    internal const int PartsInFlight = 8;

    /// <summary>Keys in the first part of a batch read from a manager whose values' size is not known yet.</summary>
    internal const int FirstPartKeys = 16;

    public DictClient(string name, HostedHandle[] managers, bool waitForCheckpoints, TimeSpan waitTimeout)
    {
        Name = name;
        _managers = managers;
        _lanes = new DictPutLane?[managers.Length];
        WaitForCheckpoints = waitForCheckpoints;
        WaitTimeout = waitTimeout;
        _waitMs = waitForCheckpoints ? Timeouts.ToMilliseconds(waitTimeout) : 0;
        _replyBytesPerKey = new int[managers.Length];
        var here = RuntimeClient.Current.Hello.NodeIndex;
        LocalManagers = [.. Enumerable.Range(0, managers.Length).Where(m => managers[m].Descriptor.HomeNode == here)];
    }

    public string Name { get; }

    public int ManagerCount => _managers.Length;

    public bool WaitForCheckpoints { get; }

    public TimeSpan WaitTimeout { get; }

    /// <summary>The managers on this process's node, whose shards it uses directly.</summary>
    public int[] LocalManagers { get; }

    public HostedHandle Handle(int manager) => _managers[manager];

    public int NodeOf(int manager) => _managers[manager].Descriptor.HomeNode;

    public int ManagerOf(ulong hash) => DictHash.ManagerOf(hash, _managers.Length);

    /// <summary>The shard of <paramref name="manager"/> if it is on this node and not being let go (then Exit after).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private DictShard? Enter(int manager)
    {
        var handle = _managers[manager];
        if (handle.Shard is { } shard)
        {
            handle.ThrowIfReleased();
            if (shard.Enter())
            {
                return shard;
            }

            handle.ThrowIfReleased();
        }

        return null;
    }

    public bool TryGet(int manager, ReadOnlySpan<byte> key, ulong hash, long checkpoint, ref byte[] buffer, out int length)
    {
        if (Enter(manager) is { } shard)
        {
            try
            {
                var status = shard.TryGet(key, hash, checkpoint, ref buffer, out length);
                if (status == DictStatus.NotYet && WaitForCheckpoints)
                {
                    status = shard.WaitForCheckpoint(checkpoint, WaitTimeout, CancellationToken.None);
                    if (status == DictStatus.Ok)
                    {
                        status = shard.TryGet(key, hash, checkpoint, ref buffer, out length);
                    }
                }

                return Found(status, shard, manager, checkpoint);
            }
            finally
            {
                shard.Exit();
            }
        }

        var reply = Wait(RemoteAsync(manager, ObjectOp.DictGet, key.ToArray(), checkpoint, _waitMs, CancellationToken.None));
        length = reply.Payload.Length;
        if (length > buffer.Length)
        {
            buffer = new byte[length];
        }

        reply.Payload.Span.CopyTo(buffer);
        PooledBody.Release(reply.Payload);
        return reply.Value == (long)DictStatus.Ok;
    }

    /// <summary>
    /// Reads and decodes a key's value: on this node straight out of the shard's shared memory, from another node out
    /// of the reply.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryDecode<T>(int manager, ReadOnlySpan<byte> key, ulong hash, long checkpoint, SpanDecoder<T> decode, out T value)
    {
        if (Enter(manager) is { } shard)
        {
            try
            {
                var status = shard.TryDecode(key, hash, checkpoint, decode, out value);
                if (status == DictStatus.NotYet && WaitForCheckpoints)
                {
                    status = shard.WaitForCheckpoint(checkpoint, WaitTimeout, CancellationToken.None);
                    if (status == DictStatus.Ok)
                    {
                        status = shard.TryDecode(key, hash, checkpoint, decode, out value);
                    }
                }

                return Found(status, shard, manager, checkpoint);
            }
            finally
            {
                shard.Exit();
            }
        }

        var reply = Wait(RemoteAsync(manager, ObjectOp.DictGet, key.ToArray(), checkpoint, _waitMs, CancellationToken.None));
        var found = reply.Value == (long)DictStatus.Ok;
        value = found ? decode(reply.Payload.Span) : default!;
        PooledBody.Release(reply.Payload);
        return found;
    }

    /// <summary>
    /// Reads many keys of a manager whose shard is on this node, straight out of shared memory as
    /// <see cref="TryDecode"/> does: key i's value is decoded into <paramref name="values"/> at
    /// <paramref name="positions"/>[i] (and <paramref name="found"/> set there). The memory each read touches is asked
    /// for a few keys ahead (<see cref="DictShard.PrefetchAhead"/>), so the reads' cache misses overlap: one read at a
    /// time waits for its slot, then its entry, then its value. <paramref name="keys"/> are <see cref="DictWire"/>
    /// pairs without values, <paramref name="hashes"/> their hashes. False, having read nothing, when the manager is
    /// not read here at once (on another node, or a checkpoint to wait for): ask <see cref="GetManyAsync"/> then.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryReadManyHere<T>(
        int manager, ReadOnlySpan<byte> keys, ReadOnlySpan<ulong> hashes, ReadOnlySpan<int> positions, long checkpoint, SpanDecoder<T> decode, Span<T> values, Span<bool> found)
    {
        if (!ReadsHere(manager, checkpoint) || Enter(manager) is not { } shard)
        {
            return false;
        }

        try
        {
            var reader = new DictWire.PairReader(keys, withValues: false);
            for (var i = 0; i < hashes.Length; i++)
            {
                shard.PrefetchAhead(hashes, i);
                if (!reader.Next(out var key, out _))
                {
                    throw new InvalidDataException($"a batch said to hold {hashes.Length} keys holds {i}");
                }

                var status = shard.TryDecode(key, hashes[i], checkpoint, decode, out var value);
                if (status == DictStatus.NotYet && WaitForCheckpoints)
                {
                    status = shard.WaitForCheckpoint(checkpoint, WaitTimeout, CancellationToken.None);
                    if (status == DictStatus.Ok)
                    {
                        status = shard.TryDecode(key, hashes[i], checkpoint, decode, out value);
                    }
                }

                if (Found(status, shard, manager, checkpoint))
                {
                    values[positions[i]] = value;
                    found[positions[i]] = true;
                }
            }

            return true;
        }
        finally
        {
            shard.Exit();
        }
    }

    /// <summary>Whether a read of <paramref name="manager"/> at <paramref name="checkpoint"/> is done here at once (no request, no wait).</summary>
    public bool ReadsHere(int manager, long checkpoint) =>
        _managers[manager].Shard is not null && (!WaitForCheckpoints || CheckpointReached(manager, checkpoint));

    public async Task<ReadOnlyMemory<byte>?> TryGetAsync(int manager, ReadOnlyMemory<byte> key, ulong hash, long checkpoint, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (ReadsHere(manager, checkpoint))
        {
            var buffer = Array.Empty<byte>();
            return TryGet(manager, key.Span, hash, checkpoint, ref buffer, out var length) ? (ReadOnlyMemory<byte>?)buffer.AsMemory(0, length) : null;
        }

        if (_managers[manager].Shard is { } shard)
        {
            // A wait for the checkpoint blocks on the futex: on a thread of its own, with the token.
            var waited = await Task.Factory.StartNew(
                () => shard.WaitForCheckpoint(checkpoint, WaitTimeout, cancellationToken),
                cancellationToken,
                TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
                TaskScheduler.Default).ConfigureAwait(false);
            var buffer = Array.Empty<byte>();
            if (waited != DictStatus.Ok)
            {
                _ = Found(waited, shard, manager, checkpoint);
            }

            return TryGet(manager, key.Span, hash, checkpoint, ref buffer, out var length) ? (ReadOnlyMemory<byte>?)buffer.AsMemory(0, length) : null;
        }

        var reply = await RemoteAsync(manager, ObjectOp.DictGet, key.ToArray(), checkpoint, _waitMs, cancellationToken).ConfigureAwait(false);
        return reply.Value == (long)DictStatus.Ok ? (ReadOnlyMemory<byte>?)reply.Payload : null;
    }

    /// <summary>
    /// Reads many keys of one manager and hands each value found to <paramref name="found"/> (a key that has none is
    /// skipped). <paramref name="keys"/> are <see cref="DictWire"/> pairs without values. From its shard here, or in
    /// requests to its node: the keys go in parts whose replies hold about <see cref="ReplyBytes"/> each (judged from
    /// the bytes a key took in this manager's previous replies), <see cref="PartsInFlight"/> at most on their way, and
    /// a reply's body goes back to the pool once its values are handed on. A manager stops a reply once it holds
    /// <see cref="ReplyBytes"/> and the keys after where it stopped are asked again, so a reply stays about that size
    /// even when the judgement was wrong (values far larger than the last ones). So a batch of large values holds
    /// about that much per part in each process on the way, and never one message of the whole batch. Calls to
    /// <paramref name="found"/> for one manager come one at a time.
    /// </summary>
    public async Task GetManyAsync(int manager, ReadOnlyMemory<byte> keys, int count, long checkpoint, ValueFound found, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Enter(manager) is { } shard)
        {
            try
            {
                var output = new ArrayBufferWriter<byte>(4096);
                var status = DictWire.GetMany(shard, keys.Span, checkpoint, output);
                if (status != DictStatus.Ok)
                {
                    throw Error(status, manager, shard.Describe(status, checkpoint));
                }

                DictWire.ReadValues(output.WrittenSpan, 0, count, found);
                return;
            }
            finally
            {
                shard.Exit();
            }
        }

        var ends = DictWire.KeyEnds(keys.Span, count);
        // Ranges of keys still to ask for: the batch at first, then what is left of it, and the keys after where a
        // manager stopped its reply at its bound (so a part's reply is bounded even when the size judged from earlier
        // replies was far too small).
        var toAsk = new Stack<(int First, int Count)>();
        toAsk.Push((0, count));
        var inFlight = new Queue<(int First, int Count, Task<ObjectReply> Reply)>();
        try
        {
            while (toAsk.Count > 0 || inFlight.Count > 0)
            {
                // A manager not read from yet gets a first part alone: its reply tells how large the rest will be.
                var perKey = Volatile.Read(ref _replyBytesPerKey[manager]);
                if (toAsk.Count > 0 && inFlight.Count < PartsInFlight && (perKey > 0 || inFlight.Count == 0))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var (from, left) = toAsk.Pop();
                    var take = Math.Min(left, perKey > 0 ? Math.Max(1, ReplyBytes / perKey) : FirstPartKeys);
                    // The request itself is held to the same size (many small keys that have no values).
                    var start = from == 0 ? 0 : ends[from - 1];
                    var fits = Array.BinarySearch(ends, from, take, start + ReplyBytes);
                    take = Math.Max(1, (fits >= 0 ? fits + 1 : ~fits) - from);
                    if (take < left)
                    {
                        toAsk.Push((from + take, left - take));
                    }

                    inFlight.Enqueue((from, take, RemoteAsync(manager, ObjectOp.DictGetMany, keys[start..ends[from + take - 1]], checkpoint, 0, cancellationToken)));
                    continue;
                }

                var (first, taken, reply) = inFlight.Peek();
                var payload = (await reply.ConfigureAwait(false)).Payload;
                inFlight.Dequeue();
                try
                {
                    var answered = DictWire.ReadValues(payload.Span, first, taken, found);
                    Volatile.Write(ref _replyBytesPerKey[manager], Math.Max(1, payload.Length / answered));
                    if (answered < taken)
                    {
                        toAsk.Push((first + answered, taken - answered));
                    }
                }
                finally
                {
                    PooledBody.Release(payload);
                }
            }
        }
        finally
        {
            // Parts still on their way when a read failed or was cancelled give their bodies back when they come (and
            // their failures are observed: the first one is what the caller got).
            foreach (var (_, _, reply) in inFlight)
            {
                _ = reply.ContinueWith(
                    static done =>
                    {
                        if (done.IsCompletedSuccessfully)
                        {
                            PooledBody.Release(done.Result.Payload);
                        }
                        else
                        {
                            _ = done.Exception;
                        }
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
    }

    private bool CheckpointReached(int manager, long checkpoint) => _managers[manager].Shard!.Checkpoints.Newest >= checkpoint;

    public bool Contains(int manager, ReadOnlySpan<byte> key, ulong hash, long checkpoint)
    {
        if (Enter(manager) is { } shard)
        {
            try
            {
                return Found(shard.Contains(key, hash, checkpoint), shard, manager, checkpoint);
            }
            finally
            {
                shard.Exit();
            }
        }

        return Wait(RemoteAsync(manager, ObjectOp.DictContains, key.ToArray(), checkpoint, 0, CancellationToken.None)).Value == (long)DictStatus.Ok;
    }

    public async Task<bool> ContainsAsync(int manager, ReadOnlyMemory<byte> key, ulong hash, long checkpoint, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_managers[manager].Shard is not null)
        {
            return Contains(manager, key.Span, hash, checkpoint);
        }

        return (await RemoteAsync(manager, ObjectOp.DictContains, key.ToArray(), checkpoint, 0, cancellationToken).ConfigureAwait(false)).Value == (long)DictStatus.Ok;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Put(int manager, ReadOnlySpan<byte> key, ulong hash, ReadOnlySpan<byte> value, long checkpoint, int prefix = -1)
    {
        if (Enter(manager) is { } shard)
        {
            try
            {
                var status = shard.Put(key, hash, value, checkpoint, prefix);
                if (status != DictStatus.Ok)
                {
                    throw Error(status, manager, shard.Describe(status, checkpoint, DictLayout.EntryBytes + key.Length + value.Length + (prefix >= 0 ? 1 : 0)));
                }

                return;
            }
            finally
            {
                shard.Exit();
            }
        }

        if (prefix >= 0)
        {
            // Another node: the request carries the value whole.
            var whole = new byte[1 + value.Length];
            whole[0] = (byte)prefix;
            value.CopyTo(whole.AsSpan(1));
            value = whole;
        }

        // Through the lane, so that it leaves after the puts this process has waiting for that manager.
        Lane(manager).PutAsync(key, value, checkpoint, CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <summary>
    /// How many bytes of puts may wait to go to one manager on another node before a put blocks its caller
    /// (<see cref="DictPutLane"/>); read by each lane when it is made, so set it before the first put.
    /// </summary>
    internal long MaxWaitingPutBytes { get; set; } = DictPutLane.MaxWaitingBytes;

    /// <summary>The most bytes of puts that have waited at once in the lane to <paramref name="manager"/> (0 when it has none).</summary>
    internal long PeakWaitingBytes(int manager) => Volatile.Read(ref _lanes[manager])?.PeakWaitingBytes ?? 0;

    /// <summary>Callers blocked now in the lane to <paramref name="manager"/>, waiting for room.</summary>
    internal int CallersWaitingForRoom(int manager) => Volatile.Read(ref _lanes[manager])?.CallersWaitingForRoom ?? 0;

    /// <summary>How many callers gave up waiting for room in the lane to <paramref name="manager"/>.</summary>
    internal int RoomWaitsCancelled(int manager) => Volatile.Read(ref _lanes[manager])?.RoomWaitsCancelled ?? 0;

    private DictPutLane Lane(int manager)
    {
        var lane = Volatile.Read(ref _lanes[manager]);
        if (lane is null)
        {
            Interlocked.CompareExchange(ref _lanes[manager], new DictPutLane(this, manager), null);
            lane = _lanes[manager]!;
        }

        return lane;
    }

    /// <summary>A put, done here or sent: the key and value are used before this returns (the caller may reuse them).</summary>
    public Task PutAsync(int manager, ReadOnlySpan<byte> key, ulong hash, ReadOnlySpan<byte> value, long checkpoint, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            // As an async method would: a cancelled task, not a throw at the call.
            return Task.FromCanceled(cancellationToken);
        }

        if (_managers[manager].Shard is not null)
        {
            Put(manager, key, hash, value, checkpoint);
            return Task.CompletedTask;
        }

        // Another node: through this manager's lane, which sends puts asked while others are on their way together.
        return Lane(manager).PutAsync(key, value, checkpoint, cancellationToken);
    }

    /// <summary>A batch of <see cref="DictWire"/> pairs, all for <paramref name="manager"/>: one hold of its lock, or one request.</summary>
    public Task PutManyAsync(int manager, ReadOnlyMemory<byte> batch, long checkpoint, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (TryPutManyHere(manager, batch.Span, checkpoint))
        {
            return Task.CompletedTask;
        }

        return RemoteAsync(manager, ObjectOp.DictPutMany, PooledBody.CopyOf(batch.Span), checkpoint, 0, cancellationToken);
    }

    /// <summary>
    /// A batch built in a rented writer: put here from the writer's memory (the writer is reset for the next batch),
    /// or sent as it is, without a copy (the writer is spent; the connection gives its memory back once written).
    /// </summary>
    public Task PutManyAsync(int manager, PooledWriter batch, long checkpoint, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (TryPutManyHere(manager, batch.WrittenSpan, checkpoint))
        {
            batch.Reset();
            return Task.CompletedTask;
        }

        return RemoteAsync(manager, ObjectOp.DictPutMany, batch.ToPayload(), checkpoint, 0, cancellationToken);
    }

    /// <summary>Puts a batch into the manager's shard when it is on this node (false when it is not).</summary>
    private bool TryPutManyHere(int manager, ReadOnlySpan<byte> batch, long checkpoint)
    {
        if (Enter(manager) is not { } shard)
        {
            return false;
        }

        try
        {
            var status = shard.PutMany(batch, checkpoint, out var done);
            if (status != DictStatus.Ok)
            {
                throw Error(status, manager, $"{shard.Describe(status, checkpoint)} (the first {done} of the batch went in)");
            }

            return true;
        }
        finally
        {
            shard.Exit();
        }
    }

    public bool Remove(int manager, ReadOnlySpan<byte> key, ulong hash, long checkpoint)
    {
        if (Enter(manager) is { } shard)
        {
            try
            {
                // A removal's tombstone is an entry of the key alone (when a checkpoint still held needs one).
                return Found(shard.Remove(key, hash, checkpoint), shard, manager, checkpoint, DictLayout.EntryBytes + key.Length);
            }
            finally
            {
                shard.Exit();
            }
        }

        return Wait(RemoteAsync(manager, ObjectOp.DictRemove, key.ToArray(), checkpoint, 0, CancellationToken.None)).Value == (long)DictStatus.Ok;
    }

    public async Task<bool> RemoveAsync(int manager, ReadOnlyMemory<byte> key, ulong hash, long checkpoint, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_managers[manager].Shard is not null)
        {
            return Remove(manager, key.Span, hash, checkpoint);
        }

        return (await RemoteAsync(manager, ObjectOp.DictRemove, key.ToArray(), checkpoint, 0, cancellationToken).ConfigureAwait(false)).Value == (long)DictStatus.Ok;
    }

    public long Add(int manager, ReadOnlySpan<byte> key, ulong hash, long delta, long checkpoint)
    {
        if (Enter(manager) is { } shard)
        {
            try
            {
                var status = shard.Add(key, hash, delta, checkpoint, out var result);
                return status == DictStatus.Ok ? result : throw Error(status, manager, shard.Describe(status, checkpoint));
            }
            finally
            {
                shard.Exit();
            }
        }

        return BinaryPrimitives.ReadInt64LittleEndian(Wait(RemoteAsync(manager, ObjectOp.DictAdd, DictWire.Add(key, delta), checkpoint, 0, CancellationToken.None)).Payload.Span);
    }

    public async Task<long> AddAsync(int manager, ReadOnlyMemory<byte> key, ulong hash, long delta, long checkpoint, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_managers[manager].Shard is not null)
        {
            return Add(manager, key.Span, hash, delta, checkpoint);
        }

        var reply = await RemoteAsync(manager, ObjectOp.DictAdd, DictWire.Add(key.Span, delta), checkpoint, 0, cancellationToken).ConfigureAwait(false);
        return BinaryPrimitives.ReadInt64LittleEndian(reply.Payload.Span);
    }

    /// <summary>
    /// Waits until the key has a value at the checkpoint: on the shard's futex here (on a thread of its own for the
    /// async form), or a request its home node serves the same way. Null when <paramref name="timeout"/> passed first.
    /// </summary>
    public async Task<ReadOnlyMemory<byte>?> WaitForAsync(int manager, ReadOnlyMemory<byte> key, ulong hash, long checkpoint, TimeSpan timeout, bool synchronous, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_managers[manager].Shard is not null)
        {
            ReadOnlyMemory<byte>? Local()
            {
                var shard = Enter(manager) ?? throw new ObjectDisposedException(_managers[manager].Describe);
                try
                {
                    var buffer = Array.Empty<byte>();
                    var status = shard.WaitFor(key.Span, hash, checkpoint, ref buffer, out var length, timeout, cancellationToken);
                    return status switch
                    {
                        DictStatus.Ok => (ReadOnlyMemory<byte>?)buffer.AsMemory(0, length),
                        DictStatus.NotFound or DictStatus.NotYet => (ReadOnlyMemory<byte>?)null,
                        _ => throw Error(status, manager, shard.Describe(status, checkpoint)),
                    };
                }
                finally
                {
                    shard.Exit();
                }
            }

            if (synchronous)
            {
                return Local();
            }

            return await Task.Factory.StartNew(Local, cancellationToken, TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default)
                .ConfigureAwait(false);
        }

        var reply = await RemoteAsync(manager, ObjectOp.DictWaitFor, key.ToArray(), checkpoint, Timeouts.ToMilliseconds(timeout), cancellationToken)
            .ConfigureAwait(false);
        return reply.Status == ObjectStatus.Ok && reply.Value == (long)DictStatus.Ok ? (ReadOnlyMemory<byte>?)reply.Payload : null;
    }

    public long Count(int manager, long checkpoint)
    {
        if (Enter(manager) is { } shard)
        {
            try
            {
                return shard.Count(checkpoint);
            }
            finally
            {
                shard.Exit();
            }
        }

        return Wait(RemoteAsync(manager, ObjectOp.DictCount, ReadOnlyMemory<byte>.Empty, checkpoint, 0, CancellationToken.None)).Value;
    }

    public async Task<long> CountAsync(int manager, long checkpoint, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return _managers[manager].Shard is not null
            ? Count(manager, checkpoint)
            : (await RemoteAsync(manager, ObjectOp.DictCount, ReadOnlyMemory<byte>.Empty, checkpoint, 0, cancellationToken).ConfigureAwait(false)).Value;
    }

    /// <summary>One page of a manager's keys (and values) from <paramref name="cursor"/>: the pairs and where to go on (-1: done).</summary>
    public async Task<(ReadOnlyMemory<byte> Pairs, long Next)> ScanAsync(int manager, long cursor, long checkpoint, bool withValues, CancellationToken cancellationToken)
    {
        const int PageBytes = 1 << 20;
        cancellationToken.ThrowIfCancellationRequested();
        if (Enter(manager) is { } shard)
        {
            try
            {
                var output = new ArrayBufferWriter<byte>(64 << 10);
                var next = shard.Scan(cursor, checkpoint, withValues, output, PageBytes, out _);
                return (output.WrittenMemory, next);
            }
            finally
            {
                shard.Exit();
            }
        }

        var reply = await RemoteAsync(manager, ObjectOp.DictScan, DictWire.Scan(cursor, withValues, PageBytes), checkpoint, 0, cancellationToken).ConfigureAwait(false);
        if (reply.Payload.Length < 12)
        {
            throw new InvalidDataException($"dictionary '{Name}': manager {manager} sent a scan page of {reply.Payload.Length} bytes");
        }

        return (reply.Payload[12..], BinaryPrimitives.ReadInt64LittleEndian(reply.Payload.Span));
    }

    public async Task<DictShardStats> StatsAsync(int manager, CancellationToken cancellationToken)
    {
        if (Enter(manager) is { } shard)
        {
            try
            {
                return shard.Stats();
            }
            finally
            {
                shard.Exit();
            }
        }

        var reply = await RemoteAsync(manager, ObjectOp.DictStats, ReadOnlyMemory<byte>.Empty, 0, 0, cancellationToken).ConfigureAwait(false);
        return DictShard.ReadStats(reply.Payload.Span);
    }

    /// <summary>An operation every manager does on its own node (clear, freeze, persist, restore): all at once.</summary>
    public async Task<long[]> OnEveryManagerAsync(ObjectOp op, byte[] payload, long argument, CancellationToken cancellationToken, IEnumerable<int>? managers = null)
    {
        var replies = await Task.WhenAll((managers ?? Enumerable.Range(0, _managers.Length))
            .Select(m => RemoteAsync(m, op, payload, argument, 0, cancellationToken))).ConfigureAwait(false);
        return [.. replies.Select(r => r.Value)];
    }

    /// <summary>Whether a status of a point operation means found (Ok) or not (NotFound); anything else throws.</summary>
    private bool Found(DictStatus status, DictShard shard, int manager, long checkpoint, long need = 0) => status switch
    {
        DictStatus.Ok => true,
        DictStatus.NotFound => false,
        _ => throw Error(status, manager, shard.Describe(status, checkpoint, need)),
    };

    /// <summary>
    /// A request to a manager's node. A failure there comes back Broken with its <see cref="DictStatus"/> and the
    /// manager's description; the loss of the node is the loss of the manager and its keys.
    /// </summary>
    internal async Task<ObjectReply> RemoteAsync(int manager, ObjectOp op, ReadOnlyMemory<byte> payload, long argument, long timeoutMs, CancellationToken cancellationToken)
    {
        var reply = await RequestAsync(manager, op, payload, argument, timeoutMs, cancellationToken).ConfigureAwait(false);
        if (reply.Status == ObjectStatus.Broken)
        {
            throw Error((DictStatus)(int)reply.Value, manager, Encoding.UTF8.GetString(reply.Payload.Span));
        }

        return reply;
    }

    /// <summary>As <see cref="RemoteAsync"/>, but a failure the manager reports comes back as its reply.</summary>
    internal async Task<ObjectReply> RequestAsync(int manager, ObjectOp op, ReadOnlyMemory<byte> payload, long argument, long timeoutMs = 0, CancellationToken cancellationToken = default)
    {
        try
        {
            return await _managers[manager].RequestAsync(op, timeoutMs, argument, payload, cancellationToken).ConfigureAwait(false);
        }
        catch (NodeLostException e)
        {
            throw new DictionaryManagerLostException(
                $"dictionary '{Name}': manager {manager} on node {NodeOf(manager)} is lost, and the keys it held with it ({e.Message})", e);
        }
    }

    /// <summary>
    /// A batch put's failure reply carries its status in the low 32 bits of its value and in the high 32 how many
    /// pairs of the batch went in before it (<see cref="PutManyFailureValue"/>).
    /// </summary>
    internal static (DictStatus Status, int Done) PutManyFailure(long value) => ((DictStatus)(int)value, (int)(value >> 32));

    internal static long PutManyFailureValue(DictStatus status, int done) => (uint)(int)status | ((long)done << 32);

    private static ObjectReply Wait(Task<ObjectReply> request) => request.GetAwaiter().GetResult();

    public Exception Error(DictStatus status, int manager, string message)
    {
        var text = $"dictionary '{Name}': {message}";
        return status switch
        {
            _ when status.IsForRoom() => new DictionaryFullException(text),
            DictStatus.Retired or DictStatus.NotYet or DictStatus.NoCheckpoint => new DictionaryCheckpointException(text),
            DictStatus.Frozen or DictStatus.NotInteger => new InvalidOperationException(text),
            DictStatus.Destroyed => new ObjectDisposedException(_managers[manager].Describe, text),
            DictStatus.Corrupt => new InvalidDataException(text),
            _ => new DragonException(text),
        };
    }

    public void Dispose()
    {
        foreach (var handle in _managers)
        {
            handle.Dispose();
        }
    }
}
