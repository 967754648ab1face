using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Dragon.Channels;
using Dragon.Runtime.Protocol;

namespace Dragon.Dictionary.Internal;

/// <summary>A value found by a batch read: the key's index in the batch and the value's encoding (valid during the call only).</summary>
internal delegate void ValueFound(int index, ReadOnlySpan<byte> value);

/// <summary>
/// How dictionary operations travel in an <c>ObjectRequest</c> to a manager on another node, and the one layout of
/// key-value pairs used by batches, scans and checkpoint files: a 32-bit length and the key's bytes, then (when values
/// go along) a 32-bit length and the value's bytes. Keys and values are the <see cref="MessageCodec"/>'s encoding.
/// A reply's <c>Value</c> is the <see cref="DictStatus"/>; a failure's payload is the manager's own description.
/// </summary>
internal static class DictWire
{
    /// <summary>The codec's tag of a 64-bit integer: the only values <c>Add</c> works on.</summary>
    public const byte Int64Tag = MessageCodec.Int64;

    public static void WritePair(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool withValue)
    {
        var span = output.GetSpan(8 + key.Length + value.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span, key.Length);
        key.CopyTo(span[4..]);
        var length = 4 + key.Length;
        if (withValue)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[length..], value.Length);
            value.CopyTo(span[(length + 4)..]);
            length += 4 + value.Length;
        }

        output.Advance(length);
    }

    /// <summary>The bytes of a pair with a key and a value of these lengths (each length four bytes in front of it).</summary>
    public static long PairBytes(int keyLength, int valueLength) => 8L + keyLength + valueLength;

    /// <summary>One pair as <see cref="WritePair(ArrayBufferWriter{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte}, bool)"/> writes it, in an array of its own.</summary>
    public static byte[] Pair(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var pair = new byte[PairBytes(key.Length, value.Length)];
        BinaryPrimitives.WriteInt32LittleEndian(pair, key.Length);
        key.CopyTo(pair.AsSpan(4));
        BinaryPrimitives.WriteInt32LittleEndian(pair.AsSpan(4 + key.Length), value.Length);
        value.CopyTo(pair.AsSpan(8 + key.Length));
        return pair;
    }

    /// <summary>
    /// A pair whose value is encoded straight into <paramref name="output"/> by <paramref name="encode"/> (no
    /// buffer of its own between), its length written in front of it afterwards.
    /// </summary>
    public static void WritePair<T>(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> key, T value, Action<T, ArrayBufferWriter<byte>> encode)
    {
        var span = output.GetSpan(8 + key.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span, key.Length);
        key.CopyTo(span[4..]);
        output.Advance(8 + key.Length);
        var lengthAt = output.WrittenCount - 4;
        encode(value, output);
        var written = MemoryMarshal.AsMemory(output.WrittenMemory).Span;
        BinaryPrimitives.WriteInt32LittleEndian(written[lengthAt..], written.Length - lengthAt - 4);
    }

    /// <summary>As the <see cref="ArrayBufferWriter{T}"/> form, into a rented batch (<see cref="PooledWriter"/>).</summary>
    public static void WritePair<T>(PooledWriter output, ReadOnlySpan<byte> key, T value, Action<T, IBufferWriter<byte>> encode)
    {
        var span = output.GetSpan(8 + key.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span, key.Length);
        key.CopyTo(span[4..]);
        output.Advance(8 + key.Length);
        var lengthAt = output.WrittenCount - 4;
        encode(value, output);
        var written = output.WrittenSpan;
        BinaryPrimitives.WriteInt32LittleEndian(written[lengthAt..], written.Length - lengthAt - 4);
    }

    /// <summary>
    /// A put's payload: the key's length, the key, the value. A large one is rented (<see cref="PooledBody"/>): the
    /// connection gives it back once written, so a stream of large puts reuses memory already touched.
    /// </summary>
    public static ReadOnlyMemory<byte> Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var length = 4 + key.Length + value.Length;
        if (PooledBody.Fits(length))
        {
            var pooled = PooledBody.Rent(length);
            WritePut(pooled.Array, key, value);
            return pooled.Memory;
        }

        var payload = new byte[length];
        WritePut(payload, key, value);
        return payload;
    }

    private static void WritePut(Span<byte> payload, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(payload, key.Length);
        key.CopyTo(payload[4..]);
        value.CopyTo(payload[(4 + key.Length)..]);
    }

    public static (ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value) ReadPut(ReadOnlyMemory<byte> payload)
    {
        var span = payload.Span;
        var keyLength = span.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(span) : -1;
        if (keyLength < 0 || keyLength > span.Length - 4)
        {
            throw new InvalidDataException($"a dictionary put of {span.Length} bytes names a key of {keyLength} bytes");
        }

        return (payload.Slice(4, keyLength), payload[(4 + keyLength)..]);
    }

    /// <summary>An add: the delta, then the key's bytes.</summary>
    public static byte[] Add(ReadOnlySpan<byte> key, long delta)
    {
        var payload = new byte[8 + key.Length];
        BinaryPrimitives.WriteInt64LittleEndian(payload, delta);
        key.CopyTo(payload.AsSpan(8));
        return payload;
    }

    /// <summary>A scan: from which slot, whether values go along, and about how many bytes to return.</summary>
    public static byte[] Scan(long cursor, bool withValues, int maxBytes)
    {
        var payload = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(payload, cursor);
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(8), withValues ? 1 : 0);
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(12), maxBytes);
        return payload;
    }

    public static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>
    /// Reads the keys of <paramref name="keys"/> (pairs without values) from <paramref name="shard"/>, writing for each
    /// its value's length and bytes, or -1 when it has none. Anything but found or not found stops it. Once
    /// <paramref name="maxBytes"/> are written it stops before the next key: the reply answers the keys before it,
    /// and the asker asks again for the rest (<see cref="ReadValues"/> says how many were answered).
    /// </summary>
    public static DictStatus GetMany(DictShard shard, ReadOnlySpan<byte> keys, long checkpoint, IBufferWriter<byte> output, int maxBytes = int.MaxValue)
    {
        var written = 0L;
        var reader = new PairReader(keys, withValues: false);
        // Each value straight out of the shard into the reply, behind its length; committed once the read is known
        // whole (a read that raced a writer writes the same space again).
        SpanDecoder<int> copy = value =>
        {
            var span = output.GetSpan(4 + value.Length);
            BinaryPrimitives.WriteInt32LittleEndian(span, value.Length);
            value.CopyTo(span[4..]);
            return value.Length;
        };
        while (written < maxBytes && reader.Next(out var key, out _))
        {
            var status = shard.TryDecode(key, DictHash.Of(key), checkpoint, copy, out var length);
            if (status == DictStatus.NotFound)
            {
                BinaryPrimitives.WriteInt32LittleEndian(output.GetSpan(4), -1);
                output.Advance(4);
                written += 4;
                continue;
            }

            if (status != DictStatus.Ok)
            {
                return status;
            }

            output.Advance(4 + length);
            written += 4 + length;
        }

        return DictStatus.Ok;
    }

    /// <summary>
    /// Reads the reply of <see cref="GetMany"/> for up to <paramref name="count"/> keys: each value found goes to
    /// <paramref name="found"/> with its key's index (counted from <paramref name="first"/>); a key that has none is
    /// skipped. Returns how many keys the reply answered (fewer than asked when the manager stopped at its bound).
    /// </summary>
    public static int ReadValues(ReadOnlySpan<byte> data, int first, int count, ValueFound found)
    {
        var offset = 0;
        for (var i = 0; i < count; i++)
        {
            if (offset == data.Length && i > 0)
            {
                return i;
            }

            var length = data.Length - offset >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(data[offset..]) : int.MinValue;
            if (length == -1)
            {
                offset += 4;
                continue;
            }

            if (length < 0 || length > data.Length - offset - 4)
            {
                throw new InvalidDataException($"a reply to {count} gets has a value of {length} bytes at byte {offset} of {data.Length}");
            }

            found(first + i, data.Slice(offset + 4, length));
            offset += 4 + length;
        }

        if (offset != data.Length)
        {
            throw new InvalidDataException($"a reply to {count} gets has {data.Length - offset} bytes past its last value");
        }

        return count;
    }

    /// <summary>The end of each key in a batch of keys without values, so that the batch can be sent in parts.</summary>
    public static int[] KeyEnds(ReadOnlySpan<byte> keys, int count)
    {
        var ends = new int[count];
        var reader = new PairReader(keys, withValues: false);
        var offset = 0;
        for (var i = 0; i < count; i++)
        {
            if (!reader.Next(out var key, out _))
            {
                throw new InvalidDataException($"a batch said to hold {count} keys holds {i}");
            }

            offset += 4 + key.Length;
            ends[i] = offset;
        }

        return ends;
    }

    /// <summary>How many pairs (with values) a batch holds.</summary>
    /// <exception cref="InvalidDataException">A pair's length runs past the batch.</exception>
    public static int CountPairs(ReadOnlySpan<byte> batch)
    {
        var reader = new PairReader(batch);
        var count = 0;
        while (reader.Next(out _, out _))
        {
            count++;
        }

        return count;
    }

    /// <summary>
    /// The bytes a shard entry of pair <paramref name="index"/> of <paramref name="batch"/> needs (what a refusal for
    /// room names); 0 when the batch holds fewer pairs.
    /// </summary>
    public static long EntryBytesOfPair(ReadOnlySpan<byte> batch, int index)
    {
        var reader = new PairReader(SkipPairs(batch, index));
        return reader.Next(out var key, out var value) ? DictLayout.EntryBytes + key.Length + value.Length : 0;
    }

    /// <summary>The batch after its first <paramref name="count"/> pairs (with values).</summary>
    /// <exception cref="InvalidDataException">A pair's length runs past the batch.</exception>
    public static ReadOnlySpan<byte> SkipPairs(ReadOnlySpan<byte> batch, int count)
    {
        var reader = new PairReader(batch);
        for (var i = 0; i < count && reader.Next(out _, out _); i++)
        {
        }

        return batch[reader.Offset..];
    }

    /// <summary>Refusals a <c>DictPutEach</c> reply describes at most; then the batch stops and the rest is sent again.</summary>
    public const int MaxRefusals = 64;

    /// <summary>
    /// A <c>DictPutEach</c> failure's payload: how many puts were refused, each one's index in the batch, status and
    /// the manager's description of it, then the description of what stopped the batch (empty when nothing did).
    /// </summary>
    public static byte[] Refusals(IReadOnlyList<(int Index, DictStatus Status, string Message)> refusals, string stop)
    {
        var output = new ArrayBufferWriter<byte>(64 + (refusals.Count * 160) + stop.Length);
        WriteInt32(output, refusals.Count);
        foreach (var (index, status, message) in refusals)
        {
            WriteInt32(output, index);
            WriteInt32(output, (int)status);
            WriteInt32(output, Encoding.UTF8.GetByteCount(message));
            output.Write(Encoding.UTF8.GetBytes(message));
        }

        output.Write(Encoding.UTF8.GetBytes(stop));
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Reads <see cref="Refusals(IReadOnlyList{ValueTuple{int, DictStatus, string}}, string)"/>.</summary>
    /// <exception cref="InvalidDataException">The payload is not one.</exception>
    public static (List<(int Index, DictStatus Status, string Message)> Refused, string Stop) ReadRefusals(ReadOnlySpan<byte> payload)
    {
        var offset = 0;
        var count = ReadInt32(payload, ref offset);
        if (count < 0 || count > MaxRefusals)
        {
            throw new InvalidDataException($"a dictionary manager's reply claims {count} refusals (at most {MaxRefusals})");
        }

        var refused = new List<(int, DictStatus, string)>(count);
        for (var i = 0; i < count; i++)
        {
            var index = ReadInt32(payload, ref offset);
            var status = (DictStatus)ReadInt32(payload, ref offset);
            var length = ReadInt32(payload, ref offset);
            if (length < 0 || length > payload.Length - offset)
            {
                throw new InvalidDataException($"a dictionary manager's refusal claims a {length}-byte description with {payload.Length - offset} left");
            }

            refused.Add((index, status, Encoding.UTF8.GetString(payload.Slice(offset, length))));
            offset += length;
        }

        return (refused, Encoding.UTF8.GetString(payload[offset..]));
    }

    private static int ReadInt32(ReadOnlySpan<byte> payload, ref int offset)
    {
        if (payload.Length - offset < 4)
        {
            throw new InvalidDataException($"a dictionary manager's refusals end at byte {payload.Length}, inside a number");
        }

        var value = BinaryPrimitives.ReadInt32LittleEndian(payload[offset..]);
        offset += 4;
        return value;
    }

    private static void WriteInt32(ArrayBufferWriter<byte> output, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(output.GetSpan(4), value);
        output.Advance(4);
    }

    /// <summary>Reads pairs written by <see cref="WritePair"/>, checking every length against what is left.</summary>
    public ref struct PairReader(ReadOnlySpan<byte> data, bool withValues = true)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private readonly bool _withValues = withValues;
        private int _offset;

        /// <summary>Bytes read so far: where the next pair starts.</summary>
        public readonly int Offset => _offset;

        public bool Next(out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
        {
            value = default;
            if (_offset == _data.Length)
            {
                key = default;
                return false;
            }

            key = Take();
            if (_withValues)
            {
                value = Take();
            }

            return true;
        }

        private ReadOnlySpan<byte> Take()
        {
            var left = _data.Length - _offset;
            var length = left >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(_data[_offset..]) : -1;
            if (length < 0 || length > left - 4)
            {
                throw new InvalidDataException($"a dictionary pair at byte {_offset} of {_data.Length} claims {length} bytes");
            }

            var taken = _data.Slice(_offset + 4, length);
            _offset += 4 + length;
            return taken;
        }
    }
}
