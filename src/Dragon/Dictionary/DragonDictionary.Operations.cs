using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Dragon.Channels;
using Dragon.Dictionary.Internal;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;

namespace Dragon;

// What Dragon's dictionary has beyond a .NET dictionary: batches, broadcast keys, atomic adds, waiting for a key,
// freezing, figures and the managers themselves.
public sealed partial class DragonDictionary<TKey, TValue>
{
    // A batch goes to its manager in pieces of about this size, so a large batch holds no more than this per manager.
    private const int BatchBytes = 1 << 20;

    /// <summary>Room a manager's batch starts with (rented; it grows by renting more).</summary>
    private const int BatchStartBytes = 64 << 10;

    // Full batches a SetMany keeps on their way at once (each up to BatchBytes).
    private const int MaxBatchesInFlight = 8;

    /// <summary>
    /// Sets many keys: grouped by manager, each group in one round (one hold of the shard's lock on this node, one
    /// request to another node, all managers at once). On failure, the pairs before the failing one in its group went in.
    /// </summary>
    /// <exception cref="DictionaryFullException">A manager has no room for its part.</exception>
    public void SetMany(IEnumerable<KeyValuePair<TKey, TValue>> pairs) => SetManyAsync(pairs).GetAwaiter().GetResult();

    /// <inheritdoc cref="SetMany"/>
    public async Task SetManyAsync(IEnumerable<KeyValuePair<TKey, TValue>> pairs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        // One rented buffer per manager: a batch for this node is put from it and the buffer reused; a batch for
        // another node is sent as it is (no copy) and the connection gives it back once written.
        var batches = new PooledWriter?[_client.ManagerCount];
        var sends = new List<Task>();
        try
        {
            foreach (var (key, value) in pairs)
            {
                var encoded = EncodeKey(key, out var hash);
                var manager = ManagerFor(hash);
                var batch = batches[manager] ??= new PooledWriter(BatchStartBytes);
                DictWire.WritePair(batch, encoded, value, MessageCodec.Encode);
                if (batch.WrittenCount >= BatchBytes)
                {
                    var send = _client.PutManyAsync(manager, batch, _checkpoint, cancellationToken);
                    if (batch.IsSpent)
                    {
                        batches[manager] = null;
                    }

                    if (!send.IsCompletedSuccessfully)
                    {
                        sends.Add(send);
                    }

                    if (sends.Count >= MaxBatchesInFlight)
                    {
                        // Bounded: a long sequence of pairs keeps at most this many batches on their way, not all.
                        await Task.WhenAll(sends).ConfigureAwait(false);
                        sends.Clear();
                    }
                }
            }

            for (var m = 0; m < batches.Length; m++)
            {
                if (batches[m] is { WrittenCount: > 0 } batch)
                {
                    sends.Add(_client.PutManyAsync(m, batch, _checkpoint, cancellationToken));
                }
            }
        }
        finally
        {
            foreach (var batch in batches)
            {
                batch?.Release();
            }
        }

        await Task.WhenAll(sends).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads many keys: grouped by manager, all managers at once; a group is read in shared memory on this node, and
    /// from another node in requests whose replies hold about a mebibyte each, several on their way at once. Returns
    /// the keys that have a value, with it. <see cref="GetMany(ReadOnlySpan{TKey}, Span{TValue}, Span{bool})"/> reads
    /// into the caller's arrays instead, without a dictionary to build.
    /// </summary>
    public Dictionary<TKey, TValue> GetMany(IEnumerable<TKey> keys) => GetManyAsync(keys).GetAwaiter().GetResult();

    /// <inheritdoc cref="GetMany(IEnumerable{TKey})"/>
    public async Task<Dictionary<TKey, TValue>> GetManyAsync(IEnumerable<TKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var asked = keys.ToArray();
        var values = new TValue[asked.Length];
        var have = new bool[asked.Length];
        await GetManyAsync(asked, values, have, cancellationToken).ConfigureAwait(false);
        var found = new Dictionary<TKey, TValue>();
        for (var i = 0; i < asked.Length; i++)
        {
            if (have[i])
            {
                found[asked[i]] = values[i];
            }
        }

        return found;
    }

    /// <summary>
    /// Reads many keys into the caller's arrays, in order: <paramref name="values"/>[i] and <paramref name="found"/>[i]
    /// are key i's value and whether it has one (a key without one gets the default). Keys on this node's managers
    /// are read straight out of shared memory, the memory of each read asked for a few keys ahead so that the reads'
    /// cache misses overlap (one client's batches of 1 KB values read about twice as fast as the same keys one call at
    /// a time); keys on other nodes' managers as <see cref="GetMany(IEnumerable{TKey})"/> reads them. Returns how many
    /// keys have a value.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="values"/> or <paramref name="found"/> is shorter than
    /// <paramref name="keys"/>.</exception>
    public int GetMany(ReadOnlySpan<TKey> keys, Span<TValue> values, Span<bool> found)
    {
        CheckManyLengths(keys.Length, values.Length, found.Length);
        var groups = ReadManyHere(keys, values, found, CancellationToken.None, out var others);
        if (others is not null)
        {
            others.GetAwaiter().GetResult();
            PlaceReplies(groups, values, found);
        }

        return CountFound(found[..keys.Length]);
    }

    /// <inheritdoc cref="GetMany(ReadOnlySpan{TKey}, Span{TValue}, Span{bool})"/>
    public Task<int> GetManyAsync(ReadOnlyMemory<TKey> keys, Memory<TValue> values, Memory<bool> found, CancellationToken cancellationToken = default)
    {
        // As from the other async operations: a wrong call throws at once, anything else (a cancelled token, a read
        // this node's managers refused) comes as the task's end.
        CheckManyLengths(keys.Length, values.Length, found.Length);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<int>(cancellationToken);
        }

        ManyRead?[] groups;
        Task? others;
        try
        {
            // Keys on this node are read at once, with no task of their own; only requests to other nodes are awaited.
            groups = ReadManyHere(keys.Span, values.Span, found.Span, cancellationToken, out others);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<int>(cancellationToken);
        }
        catch (Exception e) when (e is not ArgumentException)
        {
            return Task.FromException<int>(e);
        }

        return others is null ? Task.FromResult(CountFound(found.Span[..keys.Length])) : AwaitOthersAsync(others, groups, keys.Length, values, found);

        static async Task<int> AwaitOthersAsync(Task others, ManyRead?[] groups, int count, Memory<TValue> values, Memory<bool> found)
        {
            await others.ConfigureAwait(false);
            PlaceReplies(groups, values.Span, found.Span);
            return CountFound(found.Span[..count]);
        }
    }

    /// <summary>
    /// Groups a batch's keys by manager and reads the groups of this node's managers; the others' reads are started,
    /// <paramref name="others"/> their completion (null when there are none: then the groups are kept for reuse).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ManyRead?[] ReadManyHere(ReadOnlySpan<TKey> keys, Span<TValue> values, Span<bool> found, CancellationToken cancellationToken, out Task? others)
    {
        var groups = GroupKeys(keys);
        List<Task>? reads = null;
        for (var m = 0; m < groups.Length; m++)
        {
            if (groups[m] is { Positions.Count: > 0 } group && !ReadGroupHere(m, group, values, found))
            {
                group.Start(this, m, cancellationToken);
                (reads ??= []).Add(group.Read!);
            }
        }

        others = reads is null ? null : reads.Count == 1 ? reads[0] : Task.WhenAll(reads);
        if (others is null)
        {
            KeepForReuse(groups);
        }

        return groups;
    }

    private static int CountFound(ReadOnlySpan<bool> found)
    {
        var count = 0;
        foreach (var have in found)
        {
            count += have ? 1 : 0;
        }

        return count;
    }

    private static void CheckManyLengths(int keys, int values, int found)
    {
        if (values < keys || found < keys)
        {
            throw new ArgumentException($"a read of {keys} keys needs as many places for values and for found flags; it was given {values} and {found}");
        }
    }

    /// <summary>The keys of a batch by manager: each manager's keys encoded as pairs, their hashes and their places in the batch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ManyRead?[] GroupKeys(ReadOnlySpan<TKey> keys)
    {
        var groups = t_manyReads is { } kept && kept.Length == _client.ManagerCount ? kept : new ManyRead?[_client.ManagerCount];
        t_manyReads = null;
        foreach (var group in groups)
        {
            group?.Reset();
        }

        for (var i = 0; i < keys.Length; i++)
        {
            if (typeof(TKey) == typeof(string) && i + StringsAhead < keys.Length)
            {
                PrefetchChars(Unsafe.As<TKey, string>(ref Unsafe.AsRef(in keys[i + StringsAhead])));
            }

            var encoded = EncodeKey(keys[i], out var hash);
            var group = groups[ManagerFor(hash)] ??= new ManyRead();
            DictWire.WritePair(group.Encoded, encoded, default, withValue: false);
            group.Positions.Add(i);
            group.Hashes.Add(hash);
        }

        return groups;
    }

    // The groups of this thread's last batch read wholly on this node, reused by its next: a batch of small values
    // otherwise makes about as many bytes of groups as of values. A batch with a request out is never kept (the
    // request still reads its group), nor groups grown past a mebibyte.
    [ThreadStatic]
    private static ManyRead?[]? t_manyReads;

    private static void KeepForReuse(ManyRead?[] groups)
    {
        foreach (var group in groups)
        {
            if (group is { Read: not null } || group?.Encoded.Capacity > 1 << 20)
            {
                return;
            }
        }

        t_manyReads = groups;
    }

    // String keys of a batch are in the caller's heap, in any order: the encoding of each would wait for its
    // characters to come from memory, so they are asked for this many keys ahead.
    private const int StringsAhead = 4;

    /// <summary>Asks the memory for the first characters of <paramref name="text"/> (a hint: it never faults).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchChars(string? text)
    {
        if (text is null || !Sse.IsSupported)
        {
            return;
        }

        // Only an address is taken, never read through: if the collector moves the string meanwhile, the prefetch is
        // merely useless.
        var chars = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(text.AsSpan()));
        var bytes = Math.Min(text.Length * 2, 512);
        for (var offset = 0; offset < bytes; offset += 64)
        {
            Sse.Prefetch0(chars + offset);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool ReadGroupHere(int manager, ManyRead group, Span<TValue> values, Span<bool> found)
    {
        // Every place starts out not found: a caller's arrays may hold an earlier batch.
        foreach (var position in group.Positions)
        {
            values[position] = default!;
            found[position] = false;
        }

        return _client.TryReadManyHere(
            manager, group.Encoded.WrittenSpan, CollectionsMarshal.AsSpan(group.Hashes), CollectionsMarshal.AsSpan(group.Positions), _checkpoint, s_decode, values, found);
    }

    private static void PlaceReplies(ManyRead?[] groups, Span<TValue> values, Span<bool> found)
    {
        foreach (var group in groups)
        {
            if (group?.Values is { } read)
            {
                for (var i = 0; i < read.Length; i++)
                {
                    values[group.Positions[i]] = read[i];
                    found[group.Positions[i]] = group.Found![i];
                }
            }
        }
    }

    /// <summary>One manager's part of a batch read; from another node its values are decoded as its replies come.</summary>
    private sealed class ManyRead
    {
        public ArrayBufferWriter<byte> Encoded { get; } = new(4096);

        public List<int> Positions { get; } = [];

        public List<ulong> Hashes { get; } = [];

        public TValue[]? Values { get; private set; }

        public bool[]? Found { get; private set; }

        public Task? Read { get; private set; }

        public void Reset()
        {
            Encoded.ResetWrittenCount();
            Positions.Clear();
            Hashes.Clear();
            (Values, Found, Read) = (null, null, null);
        }

        public void Start(DragonDictionary<TKey, TValue> dictionary, int manager, CancellationToken cancellationToken)
        {
            var values = Values = new TValue[Positions.Count];
            var found = Found = new bool[Positions.Count];
            // Replies of one manager are handed on one at a time, each into its keys' own slots.
            Read = dictionary._client.GetManyAsync(manager, Encoded.WrittenMemory, Positions.Count, dictionary._checkpoint, (i, value) =>
            {
                values[i] = MessageCodec.Decode<TValue>(value);
                found[i] = true;
            }, cancellationToken);
        }
    }

    /// <summary>
    /// Sets <paramref name="key"/> on every manager, so that <see cref="TryGetBroadcast"/> reads it on whichever node
    /// asks, from shared memory. A broadcast key counts (and enumerates) once per manager.
    /// </summary>
    public void SetBroadcast(TKey key, TValue value) => SetBroadcastAsync(key, value).GetAwaiter().GetResult();

    /// <inheritdoc cref="SetBroadcast"/>
    public Task SetBroadcastAsync(TKey key, TValue value, CancellationToken cancellationToken = default)
    {
        var encoded = EncodeKeyToArray(key, out var hash);
        var payload = EncodeValue(value).ToArray();
        return Task.WhenAll(Enumerable.Range(0, _client.ManagerCount).Select(m => _client.PutAsync(m, encoded, hash, payload, _checkpoint, cancellationToken)));
    }

    /// <summary>Reads a key set with <see cref="SetBroadcast"/> from a manager on this node (the key's own manager when none is).</summary>
    public bool TryGetBroadcast(TKey key, out TValue value)
    {
        var encoded = EncodeKey(key, out var hash);
        var manager = _client.LocalManagers.Length > 0 ? _client.LocalManagers[(int)(hash % (ulong)_client.LocalManagers.Length)] : ManagerFor(hash);
        return _client.TryDecode(manager, encoded, hash, _checkpoint, s_decode, out value);
    }

    /// <summary>
    /// Adds <paramref name="delta"/> to the integer value of <paramref name="key"/> (a missing key counts as 0) in one
    /// atomic step on its manager, and returns the new value: a counter many processes share.
    /// </summary>
    /// <exception cref="InvalidOperationException">The key holds a value that is not a 64-bit integer.</exception>
    public long Increment(TKey key, long delta = 1)
    {
        var encoded = EncodeKey(key, out var hash);
        return _client.Add(ManagerFor(hash), encoded, hash, delta, _checkpoint);
    }

    /// <inheritdoc cref="Increment"/>
    public Task<long> IncrementAsync(TKey key, long delta = 1, CancellationToken cancellationToken = default)
    {
        var encoded = EncodeKeyToArray(key, out var hash);
        return _client.AddAsync(ManagerFor(hash), encoded, hash, delta, _checkpoint, cancellationToken);
    }

    /// <summary>Waits until <paramref name="key"/> has a value, up to <paramref name="timeout"/> (forever if null), and returns it.</summary>
    /// <exception cref="TimeoutException">No value in time.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public TValue WaitFor(TKey key, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var encoded = EncodeKeyToArray(key, out var hash);
        var value = _client.WaitForAsync(ManagerFor(hash), encoded, hash, _checkpoint, timeout ?? Timeout.InfiniteTimeSpan, synchronous: true, cancellationToken)
            .GetAwaiter().GetResult();
        return value is { } bytes ? MessageCodec.Decode<TValue>(bytes.Span) : throw Timeouts.Expired($"no value for key {Describe(key)} in {this}", timeout);
    }

    /// <inheritdoc cref="WaitFor"/>
    public async Task<TValue> WaitForAsync(TKey key, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var encoded = EncodeKeyToArray(key, out var hash);
        var value = await _client.WaitForAsync(ManagerFor(hash), encoded, hash, _checkpoint, timeout ?? Timeout.InfiniteTimeSpan, synchronous: false, cancellationToken)
            .ConfigureAwait(false);
        return value is { } bytes ? MessageCodec.Decode<TValue>(bytes.Span) : throw Timeouts.Expired($"no value for key {Describe(key)} in {this}", timeout);
    }

    /// <summary>
    /// Makes the dictionary read-only: writes fail with <see cref="InvalidOperationException"/>, and reads on a
    /// manager's node skip the check against concurrent writers (faster). <see cref="Unfreeze"/> undoes it.
    /// </summary>
    public void Freeze() => FreezeAsync().GetAwaiter().GetResult();

    /// <inheritdoc cref="Freeze"/>
    public Task FreezeAsync(CancellationToken cancellationToken = default) =>
        _client.OnEveryManagerAsync(ObjectOp.DictFreeze, [], 1, cancellationToken, Managers());

    /// <summary>Makes a frozen dictionary writable again.</summary>
    public void Unfreeze() => UnfreezeAsync().GetAwaiter().GetResult();

    /// <inheritdoc cref="Unfreeze"/>
    public Task UnfreezeAsync(CancellationToken cancellationToken = default) =>
        _client.OnEveryManagerAsync(ObjectOp.DictFreeze, [], 0, cancellationToken, Managers());

    /// <summary>Removes every key of every checkpoint on every manager (or the pinned one).</summary>
    public void Clear() => ClearAsync().GetAwaiter().GetResult();

    /// <inheritdoc cref="Clear"/>
    public Task ClearAsync(CancellationToken cancellationToken = default) =>
        _client.OnEveryManagerAsync(ObjectOp.DictClear, [], 0, cancellationToken, Managers());

    /// <summary>Each manager's figures: keys, memory, checkpoints held, whether frozen, writes taken.</summary>
    public IReadOnlyList<DictionaryManagerStats> GetStats() => GetStatsAsync().GetAwaiter().GetResult();

    /// <inheritdoc cref="GetStats"/>
    public async Task<IReadOnlyList<DictionaryManagerStats>> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        var stats = await Task.WhenAll(Managers().Select(m => _client.StatsAsync(m, cancellationToken))).ConfigureAwait(false);
        return [.. stats.Select(s => new DictionaryManagerStats(
            s.Manager, _client.NodeOf(s.Manager), s.Keys, s.MaxKeys, s.Bytes, s.BytesInUse, s.OldestCheckpoint, s.NewestCheckpoint, s.Frozen, s.Puts, s.Removes))];
    }

    /// <summary>The manager that holds <paramref name="key"/>.</summary>
    public int ManagerOf(TKey key)
    {
        EncodeKey(key, out var hash);
        return _client.ManagerOf(hash);
    }

    /// <summary>
    /// A view of this dictionary that puts every key on manager <paramref name="manager"/> and reads only there (for
    /// locality: a process writes what it will read again next to itself). It shares this handle's reference and
    /// starts at its checkpoint; disposing it does nothing.
    /// </summary>
    public DragonDictionary<TKey, TValue> ForManager(int manager)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(manager);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(manager, _client.ManagerCount);
        return new DragonDictionary<TKey, TValue>(_client, _checkpoint, manager, owner: false, PersistDirectory);
    }
}
