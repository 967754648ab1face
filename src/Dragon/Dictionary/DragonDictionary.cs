using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text.Json.Serialization.Metadata;
using System.Text.Json.Serialization;
using Dragon.Channels;
using Dragon.Dictionary.Internal;
using Dragon.Runtime.Protocol;
using Dragon.Runtime.Serialization;

namespace Dragon;

/// <summary>
/// A dictionary shared by every process of the run, sharded over managers on the run's nodes (Dragon's DDict). A key
/// lives on the manager its hash chooses; a process on that manager's node reads and writes it in shared memory, with
/// no request and no socket, and other processes through the manager's node. Keys and values are bytes, strings,
/// primitives or any plain record or class (the runtime's message codec), so every process sees the same keys.
/// <para>
/// Each handle reads and writes at its own checkpoint (<see cref="CheckpointId"/>, 0 at first): a write goes into that
/// checkpoint, and a read sees, for each key, the value written at the newest checkpoint up to it. Managers keep the
/// last <see cref="DragonDictionaryOptions.WorkingSetSize"/> checkpoints, and <see cref="Persist(string?)"/> writes
/// one to files a new run restores from. Disposing lets go of this process's reference; the dictionary is destroyed
/// when the last holder lets go or exits.
/// </para>
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
[JsonConverter(typeof(DictionaryConverterFactory))]
public sealed partial class DragonDictionary<TKey, TValue> : IDisposable, IAsyncDisposable
    where TKey : notnull
{
    private readonly DictClient _client;
    private readonly int _pinned;
    private readonly bool _owner;
    private long _checkpoint;

    /// <summary>Creates a dictionary with a manager on each node of the run (or as <paramref name="options"/> say).</summary>
    /// <exception cref="ArgumentException">An option is out of range (named).</exception>
    /// <exception cref="DictionaryCheckpointException">A checkpoint to restore is missing.</exception>
    /// <exception cref="InvalidDataException">A checkpoint file to restore is damaged (named, with where).</exception>
    public DragonDictionary(DragonDictionaryOptions? options = null)
    {
        options ??= new DragonDictionaryOptions();
        var (client, checkpoint) = Create(options);
        _client = client;
        _checkpoint = checkpoint;
        _pinned = -1;
        _owner = true;
        PersistDirectory = options.PersistDirectory;
    }

    private DragonDictionary(DictClient client, long checkpoint, int pinned, bool owner, string? persistDirectory)
    {
        _client = client;
        _checkpoint = checkpoint;
        _pinned = pinned;
        _owner = owner;
        PersistDirectory = persistDirectory;
    }

    /// <summary>
    /// Makes this instantiation serializable without reflection (a Native AOT program cannot build the factory's
    /// converter at run time), like <see cref="DragonQueue{T}"/>.
    /// </summary>
    static DragonDictionary() => UserCodec.RegisterRuntimeObject(
        typeof(DragonDictionary<TKey, TValue>),
        options => JsonMetadataServices.CreateValueInfo<DragonDictionary<TKey, TValue>>(options, new DictionaryConverterFactory.DictionaryConverter<TKey, TValue>()));

    /// <summary>Attaches to a dictionary by its run-wide name, at checkpoint 0.</summary>
    /// <exception cref="ObjectNotFoundException">No such dictionary (destroyed, or never created).</exception>
    public static DragonDictionary<TKey, TValue> Attach(string name, DragonDictionaryOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var first = HostedHandle.Attach(ObjectKind.DictionaryShard, 0, ManagerName(name, 0));
        var count = (int)(first.Descriptor.MaxMessageBytes & 0xFFFF_FFFF);
        var handles = new HostedHandle[count];
        handles[0] = first;
        try
        {
            for (var m = 1; m < count; m++)
            {
                handles[m] = HostedHandle.Attach(ObjectKind.DictionaryShard, 0, ManagerName(name, m));
            }
        }
        catch
        {
            foreach (var handle in handles)
            {
                handle?.Dispose();
            }

            throw;
        }

        options ??= new DragonDictionaryOptions();
        return new DragonDictionary<TKey, TValue>(
            new DictClient(name, handles, options.WaitForCheckpoints, options.CheckpointWaitTimeout), 0, -1, owner: true, options.PersistDirectory);
    }

    /// <summary>The run-wide name (given, or made up for an anonymous dictionary).</summary>
    public string Name => _client.Name;

    /// <summary>This handle's client of the managers (for tests of what it keeps).</summary>
    internal DictClient Client => _client;

    /// <summary>How many managers hold the dictionary's keys.</summary>
    public int ManagerCount => _client.ManagerCount;

    /// <summary>The node each manager is on, by manager index.</summary>
    public IReadOnlyList<int> ManagerNodes => [.. Enumerable.Range(0, _client.ManagerCount).Select(_client.NodeOf)];

    /// <summary>The managers on this process's node (whose keys it reads and writes in shared memory).</summary>
    public IReadOnlyList<int> LocalManagers => _client.LocalManagers;

    /// <summary>Where <see cref="Persist(string?)"/> writes when not told (from the options).</summary>
    public string? PersistDirectory { get; }

    /// <summary>The value of <paramref name="key"/> at this handle's checkpoint.</summary>
    /// <exception cref="KeyNotFoundException">The key has no value.</exception>
    public TValue this[TKey key]
    {
        get => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"dictionary '{Name}' has no key {Describe(key)}");
        set => Set(key, value);
    }

    /// <summary>Reads the value of <paramref name="key"/>; false when it has none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryGetValue(TKey key, out TValue value)
    {
        var encoded = EncodeKey(key, out var hash);
        return _client.TryDecode(ManagerFor(hash), encoded, hash, _checkpoint, s_decode, out value);
    }

    private static readonly SpanDecoder<TValue> s_decode = MessageCodec.Decode<TValue>;

    /// <summary>Reads the value of <paramref name="key"/>: found (and the value), or not.</summary>
    public async Task<(bool Found, TValue Value)> TryGetValueAsync(TKey key, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var encodedHere = EncodeKey(key, out var hash);
        if (_client.ReadsHere(ManagerFor(hash), _checkpoint))
        {
            // Shared memory on this node: nothing to wait for, so no task of its own either.
            var found = _client.TryDecode(ManagerFor(hash), encodedHere, hash, _checkpoint, s_decode, out var local);
            return (found, local);
        }

        var encoded = encodedHere.ToArray();
        var value = await _client.TryGetAsync(ManagerFor(hash), encoded, hash, _checkpoint, cancellationToken).ConfigureAwait(false);
        if (value is not { } bytes)
        {
            return (false, default!);
        }

        // Decoded is a copy: the reply's rented body goes back (see PooledBody).
        var decoded = MessageCodec.Decode<TValue>(bytes.Span);
        PooledBody.Release(bytes);
        return (true, decoded);
    }

    /// <summary>
    /// Copies the value of <paramref name="key"/>, which must be bytes, to <paramref name="destination"/>; false when
    /// the key has none. On the manager's node this is one copy out of shared memory into the caller's buffer, with
    /// no new array per read: for large values read over and over, pass the same writer each time (an
    /// <see cref="ArrayBufferWriter{T}"/> reset between reads, or a pooled one).
    /// </summary>
    /// <exception cref="InvalidCastException">The key's value is not bytes.</exception>
    public bool TryCopyValueTo(TKey key, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var encoded = EncodeKey(key, out var hash);
        // The copy goes into the writer's free space and is committed only once the read is known whole: a read
        // that raced a writer is copied again over the same space.
        if (!_client.TryDecode(ManagerFor(hash), encoded, hash, _checkpoint, message => CopyBytes(key, message, destination), out var length))
        {
            return false;
        }

        destination.Advance(length);
        return true;
    }

    /// <inheritdoc cref="TryCopyValueTo"/>
    public async Task<bool> TryCopyValueToAsync(TKey key, IBufferWriter<byte> destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        cancellationToken.ThrowIfCancellationRequested();
        var encodedHere = EncodeKey(key, out var hash);
        if (_client.ReadsHere(ManagerFor(hash), _checkpoint))
        {
            return TryCopyValueTo(key, destination);
        }

        var encoded = encodedHere.ToArray();
        if (await _client.TryGetAsync(ManagerFor(hash), encoded, hash, _checkpoint, cancellationToken).ConfigureAwait(false) is not { } value)
        {
            return false;
        }

        destination.Advance(CopyBytes(key, value.Span, destination));
        PooledBody.Release(value);
        return true;
    }

    /// <summary>
    /// Runs <paramref name="reader"/> over the bytes of <paramref name="key"/>'s value where they lie: on the manager's
    /// node that is shared memory, read in place with no copy and no new array (a sum, a search or a decode of a large
    /// array costs one pass over it); on another node, the reply's bytes. The value must be bytes, or an array of
    /// <c>double</c>, <c>float</c>, <c>int</c> or <c>long</c>, whose elements' little-endian bytes the reader gets
    /// (<c>MemoryMarshal.Cast&lt;byte, double&gt;(bytes)</c> views them as the elements; they need not be aligned).
    /// False, and <paramref name="result"/> the default, when the key has no value.
    /// </summary>
    /// <remarks>
    /// The span is valid only while <paramref name="reader"/> runs: keep what it makes of the bytes, never the span.
    /// On a dictionary that is not frozen another process may replace the value while the reader runs; such a read is
    /// thrown away and the reader runs again, and only what it returned (or threw) for a whole value counts. So the
    /// reader must do nothing but compute its result. On a frozen dictionary (<see cref="Freeze"/>) nothing can change
    /// the value, and the reader runs once.
    /// </remarks>
    /// <exception cref="InvalidCastException">The key's value is neither bytes nor an array of those numbers.</exception>
    public bool TryReadValue<TResult>(TKey key, Func<ReadOnlySpan<byte>, TResult> reader, out TResult result)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var encoded = EncodeKey(key, out var hash);
        var run = new ReaderRun<TResult>(key, reader);
        if (!_client.TryDecode(ManagerFor(hash), encoded, hash, _checkpoint, run.Read, out result))
        {
            result = default!;
            return false;
        }

        run.ThrowIfFailed();
        return true;
    }

    /// <inheritdoc cref="TryReadValue"/>
    public async Task<(bool Found, TResult Result)> TryReadValueAsync<TResult>(TKey key, Func<ReadOnlySpan<byte>, TResult> reader, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        cancellationToken.ThrowIfCancellationRequested();
        var encodedHere = EncodeKey(key, out var hash);
        if (_client.ReadsHere(ManagerFor(hash), _checkpoint))
        {
            var found = TryReadValue(key, reader, out var local);
            return (found, local);
        }

        var encoded = encodedHere.ToArray();
        if (await _client.TryGetAsync(ManagerFor(hash), encoded, hash, _checkpoint, cancellationToken).ConfigureAwait(false) is not { } value)
        {
            return (false, default!);
        }

        try
        {
            return (true, reader(RawOf(key, value.Span)));
        }
        finally
        {
            PooledBody.Release(value);
        }
    }

    /// <summary>
    /// One <see cref="TryReadValue"/>: what the caller's reader throws is kept, not thrown, until the read is known
    /// whole (a read that raced a writer may see anything, and its failure must not escape); each new try starts
    /// afresh.
    /// </summary>
    private sealed class ReaderRun<TResult>(TKey key, Func<ReadOnlySpan<byte>, TResult> reader)
    {
        private ExceptionDispatchInfo? _failed;

        public TResult Read(ReadOnlySpan<byte> message)
        {
            _failed = null;
            // Not bytes: an error the read itself retries while the value may be torn, then throws.
            var bytes = RawOf(key, message);
            try
            {
                return reader(bytes);
            }
            catch (Exception e)
            {
                _failed = ExceptionDispatchInfo.Capture(e);
                return default!;
            }
        }

        public void ThrowIfFailed() => _failed?.Throw();
    }

    private static ReadOnlySpan<byte> BytesOf(TKey key, ReadOnlySpan<byte> message) =>
        !message.IsEmpty && message[0] == MessageCodec.BytesTag
            ? message[1..]
            : throw new InvalidCastException($"the value of key {Describe(key)} is not bytes, so it cannot be read as such (read it with TryGetValue)");

    /// <summary>The raw bytes of a value of bytes or of an array of numbers (<see cref="TryReadValue"/>).</summary>
    private static ReadOnlySpan<byte> RawOf(TKey key, ReadOnlySpan<byte> message) =>
        !message.IsEmpty && MessageCodec.IsRaw(message[0])
            ? message[1..]
            : throw new InvalidCastException($"the value of key {Describe(key)} is neither bytes nor an array of double, float, int or long, so it cannot be read in place (read it with TryGetValue)");

    private static int CopyBytes(TKey key, ReadOnlySpan<byte> message, IBufferWriter<byte> destination)
    {
        var payload = BytesOf(key, message);
        payload.CopyTo(destination.GetSpan(payload.Length));
        return payload.Length;
    }

    /// <summary>Reads the value of <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">The key has no value.</exception>
    public async Task<TValue> GetAsync(TKey key, CancellationToken cancellationToken = default)
    {
        var (found, value) = await TryGetValueAsync(key, cancellationToken).ConfigureAwait(false);
        return found ? value : throw new KeyNotFoundException($"dictionary '{Name}' has no key {Describe(key)}");
    }

    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/> (adding it or replacing its value).</summary>
    /// <exception cref="DictionaryFullException">The key's manager has no room; nothing changed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Set(TKey key, TValue value)
    {
        var encoded = EncodeKey(key, out var hash);
        if (typeof(TValue) == typeof(byte[]) && value is byte[] bytes)
        {
            // Bytes are stored as their tag and themselves: copied once, from the caller's array.
            _client.Put(ManagerFor(hash), encoded, hash, bytes, _checkpoint, MessageCodec.BytesTag);
            return;
        }

        _client.Put(ManagerFor(hash), encoded, hash, EncodeValue(value), _checkpoint);
    }

    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/> (adding it or replacing its value).</summary>
    /// <remarks>
    /// The key and value are encoded (copied) before this returns, so the caller may change them at once. A put to a
    /// manager on another node may wait to go with others; when more than 64 MiB of this process's puts already wait
    /// for that manager, this call blocks until they fall under it (so puts asked without awaiting hold bounded
    /// memory), and <paramref name="cancellationToken"/> ends that wait with the put never sent.
    /// </remarks>
    /// <exception cref="DictionaryFullException">The key's manager has no room; nothing changed (the task faults).</exception>
    public Task SetAsync(TKey key, TValue value, CancellationToken cancellationToken = default)
    {
        // Both encodings are used before PutAsync returns: a put to another node is one payload built from them.
        var encoded = EncodeKey(key, out var hash);
        return _client.PutAsync(ManagerFor(hash), encoded, hash, EncodeValue(value), _checkpoint, cancellationToken);
    }

    /// <summary>Whether <paramref name="key"/> has a value.</summary>
    public bool ContainsKey(TKey key)
    {
        var encoded = EncodeKey(key, out var hash);
        return _client.Contains(ManagerFor(hash), encoded, hash, _checkpoint);
    }

    /// <inheritdoc cref="ContainsKey"/>
    public Task<bool> ContainsKeyAsync(TKey key, CancellationToken cancellationToken = default)
    {
        var encoded = EncodeKeyToArray(key, out var hash);
        return _client.ContainsAsync(ManagerFor(hash), encoded, hash, _checkpoint, cancellationToken);
    }

    /// <summary>Removes <paramref name="key"/>; false when it had no value.</summary>
    public bool Remove(TKey key)
    {
        var encoded = EncodeKey(key, out var hash);
        return _client.Remove(ManagerFor(hash), encoded, hash, _checkpoint);
    }

    /// <inheritdoc cref="Remove"/>
    public Task<bool> RemoveAsync(TKey key, CancellationToken cancellationToken = default)
    {
        var encoded = EncodeKeyToArray(key, out var hash);
        return _client.RemoveAsync(ManagerFor(hash), encoded, hash, _checkpoint, cancellationToken);
    }

    /// <summary>How many keys have a value (at this handle's checkpoint), over every manager (or the pinned one).</summary>
    public long Count => Managers().Sum(m => _client.Count(m, _checkpoint));

    /// <inheritdoc cref="Count"/>
    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        var counts = await Task.WhenAll(Managers().Select(m => _client.CountAsync(m, _checkpoint, cancellationToken))).ConfigureAwait(false);
        return counts.Sum();
    }

    /// <summary>Lets go of this process's reference (a view from <see cref="ForManager"/> holds none).</summary>
    public void Dispose()
    {
        if (_owner)
        {
            _client.Dispose();
        }
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public override string ToString() => $"dictionary '{Name}' ({ManagerCount} managers, checkpoint {_checkpoint})";

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_key;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_encodedValue;

    /// <summary>The key's encoding (valid until this thread encodes another key) and its hash.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ReadOnlySpan<byte> EncodeKey(TKey key, out ulong hash)
    {
        ArgumentNullException.ThrowIfNull(key);
        var writer = t_key ??= new ArrayBufferWriter<byte>(256);
        writer.ResetWrittenCount();
        MessageCodec.Encode(key, writer);
        hash = DictHash.Of(writer.WrittenSpan);
        return writer.WrittenSpan;
    }

    private static byte[] EncodeKeyToArray(TKey key, out ulong hash) => EncodeKey(key, out hash).ToArray();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ReadOnlySpan<byte> EncodeValue(TValue value)
    {
        var writer = t_encodedValue ??= new ArrayBufferWriter<byte>(256);
        writer.ResetWrittenCount();
        MessageCodec.Encode(value, writer);
        if (writer.Capacity > 4 << 20 && writer.WrittenCount < 64 << 10)
        {
            // One large value should not pin its buffer on this thread for good.
            t_encodedValue = null;
        }

        return writer.WrittenSpan;
    }

    private int ManagerFor(ulong hash) => _pinned >= 0 ? _pinned : _client.ManagerOf(hash);

    private IEnumerable<int> Managers() => _pinned >= 0 ? [_pinned] : Enumerable.Range(0, _client.ManagerCount);

    private static string Describe(TKey key) => key is string text ? $"'{text}'" : key.ToString() ?? typeof(TKey).Name;

    internal static string ManagerName(string name, int manager) => $"{name}#m{manager}";
}
