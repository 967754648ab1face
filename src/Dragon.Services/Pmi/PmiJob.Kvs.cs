using System.Text;

namespace Dragon.Services.Pmi;

internal sealed partial class PmiJob
{
    /// <summary>The key MPICH asks for first; the server answers it from <see cref="Mapping"/>.</summary>
    internal static ReadOnlySpan<byte> ProcessMappingKey => "PMI_process_mapping"u8;

    // Every key seen by this node: its own puts at once, other nodes' after each barrier.
    private readonly Dictionary<string, string> _kvs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _kvsLookup;

    // This node's puts since the last barrier, handed to the exchange.
    private Dictionary<string, string> _pendingPuts = new(StringComparer.Ordinal);

    /// <summary>True when <paramref name="kvsName"/> (as sent on the wire) is this job's KVS.</summary>
    internal bool IsOwnKvs(ReadOnlySpan<byte> kvsName) => kvsName.SequenceEqual(_kvsNameBytes);

    /// <summary>Stores a put: visible to this node's gets at once, to other nodes' after the next barrier.</summary>
    internal void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        string keyText = Encoding.Latin1.GetString(key);
        string valueText = Encoding.Latin1.GetString(value);
        lock (_lock)
        {
            _kvs[keyText] = valueText;
            _pendingPuts[keyText] = valueText;
        }
    }

    /// <summary>The value of <paramref name="key"/>, or null; never waits for a value to appear.</summary>
    internal string? Get(ReadOnlySpan<byte> key)
    {
        if (key.SequenceEqual(ProcessMappingKey))
        {
            return Mapping.FitsOnWire ? Mapping.Value : null;
        }

        // Keys are at most a line long; Latin-1 widens each byte to one char without allocating.
        Span<char> chars = stackalloc char[key.Length];
        Encoding.Latin1.GetChars(key, chars);
        lock (_lock)
        {
            return _kvsLookup.TryGetValue(chars, out string? value) ? value : null;
        }
    }
}
