using System.Collections;
using System.Runtime.CompilerServices;
using Dragon.Channels;
using Dragon.Dictionary.Internal;

namespace Dragon;

// Enumeration: manager by manager, a page of pairs at a time (at most 1 MiB held), at this handle's checkpoint.
public sealed partial class DragonDictionary<TKey, TValue> : IEnumerable<KeyValuePair<TKey, TValue>>
{
    /// <summary>
    /// Every key and value, manager by manager. Like a concurrent dictionary's, the enumeration is not a snapshot:
    /// a key written or removed while it runs may or may not be seen; every key that stays is seen once.
    /// </summary>
    public IEnumerator<KeyValuePair<TKey, TValue>> GetEnumerator()
    {
        foreach (var manager in Managers())
        {
            for (var cursor = 0L; cursor >= 0;)
            {
                var (pairs, next) = _client.ScanAsync(manager, cursor, _checkpoint, withValues: true, CancellationToken.None).GetAwaiter().GetResult();
                foreach (var pair in DecodePairs(pairs))
                {
                    yield return pair;
                }

                cursor = next;
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Every key (without the values), manager by manager.</summary>
    public IEnumerable<TKey> Keys => KeysOf(Managers());

    /// <summary>The keys held by the managers on this process's node (read from shared memory).</summary>
    public IEnumerable<TKey> LocalKeys() => KeysOf(_client.LocalManagers.Where(m => _pinned < 0 || m == _pinned));

    /// <summary>Every key and value, a page at a time.</summary>
    public async IAsyncEnumerable<KeyValuePair<TKey, TValue>> EnumerateAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var manager in Managers())
        {
            for (var cursor = 0L; cursor >= 0;)
            {
                var (pairs, next) = await _client.ScanAsync(manager, cursor, _checkpoint, withValues: true, cancellationToken).ConfigureAwait(false);
                foreach (var pair in DecodePairs(pairs))
                {
                    yield return pair;
                }

                cursor = next;
            }
        }
    }

    private IEnumerable<TKey> KeysOf(IEnumerable<int> managers)
    {
        foreach (var manager in managers)
        {
            for (var cursor = 0L; cursor >= 0;)
            {
                var (pairs, next) = _client.ScanAsync(manager, cursor, _checkpoint, withValues: false, CancellationToken.None).GetAwaiter().GetResult();
                foreach (var key in DecodeKeys(pairs))
                {
                    yield return key;
                }

                cursor = next;
            }
        }
    }

    private static List<KeyValuePair<TKey, TValue>> DecodePairs(ReadOnlyMemory<byte> pairs)
    {
        var list = new List<KeyValuePair<TKey, TValue>>();
        var reader = new DictWire.PairReader(pairs.Span);
        while (reader.Next(out var key, out var value))
        {
            list.Add(new(MessageCodec.Decode<TKey>(key), MessageCodec.Decode<TValue>(value)));
        }

        return list;
    }

    private static List<TKey> DecodeKeys(ReadOnlyMemory<byte> pairs)
    {
        var list = new List<TKey>();
        var reader = new DictWire.PairReader(pairs.Span, withValues: false);
        while (reader.Next(out var key, out _))
        {
            list.Add(MessageCodec.Decode<TKey>(key));
        }

        return list;
    }
}
