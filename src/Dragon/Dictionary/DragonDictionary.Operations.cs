using System.Buffers;
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
    /// the keys that have a value, with it.
    /// </summary>
    public Dictionary<TKey, TValue> GetMany(IEnumerable<TKey> keys) => GetManyAsync(keys).GetAwaiter().GetResult();

    /// <inheritdoc cref="GetMany"/>
    public async Task<Dictionary<TKey, TValue>> GetManyAsync(IEnumerable<TKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var groups = new (ArrayBufferWriter<byte> Encoded, List<TKey> Keys)?[_client.ManagerCount];
        foreach (var key in keys)
        {
            var encoded = EncodeKey(key, out var hash);
            var manager = ManagerFor(hash);
            var group = groups[manager] ??= (new ArrayBufferWriter<byte>(4096), []);
            DictWire.WritePair(group.Encoded, encoded, default, withValue: false);
            group.Keys.Add(key);
        }

        // Each manager's values are decoded as its replies come, into its group's own slots (managers' replies come
        // on different threads), and gathered once all are in.
        var reads = new List<(List<TKey> Keys, TValue[] Values, bool[] Found, Task Read)>();
        for (var m = 0; m < groups.Length; m++)
        {
            if (groups[m] is { } group)
            {
                var values = new TValue[group.Keys.Count];
                var have = new bool[group.Keys.Count];
                var read = _client.GetManyAsync(m, group.Encoded.WrittenMemory, group.Keys.Count, _checkpoint, (i, value) =>
                {
                    values[i] = MessageCodec.Decode<TValue>(value);
                    have[i] = true;
                }, cancellationToken);
                reads.Add((group.Keys, values, have, read));
            }
        }

        await Task.WhenAll(reads.Select(r => r.Read)).ConfigureAwait(false);
        var found = new Dictionary<TKey, TValue>();
        foreach (var (names, values, have, _) in reads)
        {
            for (var i = 0; i < names.Count; i++)
            {
                if (have[i])
                {
                    found[names[i]] = values[i];
                }
            }
        }

        return found;
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
