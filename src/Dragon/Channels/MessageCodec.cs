using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Dragon.Runtime.Serialization;

namespace Dragon.Channels;

/// <summary>
/// How a message is laid out in a channel: one tag byte, then the value. Raw bytes, strings, primitives and arrays of
/// <c>double</c>, <c>float</c>, <c>int</c> and <c>long</c> (their elements' little-endian bytes, one copy each way)
/// take a fast path (no serializer); anything else is JSON through <see cref="UserCodec"/>, so a plain record or class
/// needs no attributes. A type that cannot be serialized fails at send, with its name in the message.
/// </summary>
/// <remarks>
/// Before the array tags, those arrays went as JSON: a million doubles were about 19 MB of text, written and parsed
/// number by number. A message written that way (a checkpoint persisted then) still reads back, through the JSON tag.
/// </remarks>
internal static class MessageCodec
{
    private const byte Null = 0;
    private const byte Bytes = 1;

    /// <summary>The tag of raw bytes: a message of bytes is this byte followed by them.</summary>
    internal const byte BytesTag = Bytes;
    private const byte Utf8 = 2;
    private const byte Int32 = 3;
    internal const byte Int64 = 4;
    private const byte Float64 = 5;
    private const byte Boolean = 6;
    private const byte Json = 10;

    // Arrays of fixed-size elements, as their elements' little-endian bytes (this host's own order: encoded raw only on
    // a little-endian host, as JSON on another).
    private const byte Float64Array = 11;
    private const byte Float32Array = 12;
    private const byte Int32Array = 13;
    private const byte Int64Array = 14;

    /// <summary>Whether <paramref name="tag"/> holds raw bytes: bytes, or the elements of an array of numbers.</summary>
    internal static bool IsRaw(byte tag) => tag is Bytes or Float64Array or Float32Array or Int32Array or Int64Array;

    /// <summary>Writes <paramref name="value"/> into <paramref name="writer"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Encode<T>(T value, IBufferWriter<byte> writer)
    {
        // The two common kinds first, by type rather than by a cast check on the value: code shared by every
        // reference type (a dictionary of strings to arrays) would otherwise call the runtime's cast helper for
        // each case in turn.
        if (typeof(T) == typeof(string) && value is not null)
        {
            WriteUtf8(writer, Unsafe.As<T, string>(ref value));
            return;
        }

        if (typeof(T) == typeof(byte[]) && value is not null)
        {
            WriteTagged(writer, Bytes, Unsafe.As<T, byte[]>(ref value));
            return;
        }

        switch (value)
        {
            case null:
                writer.Write([Null]);
                return;
            case byte[] bytes:
                WriteTagged(writer, Bytes, bytes);
                return;
            case ReadOnlyMemory<byte> memory:
                WriteTagged(writer, Bytes, memory.Span);
                return;
            case Memory<byte> memory:
                WriteTagged(writer, Bytes, memory.Span);
                return;
            case string text:
                WriteUtf8(writer, text);
                return;
            case int i:
                BinaryPrimitives.WriteInt32LittleEndian(Tag(writer, Int32, 4), i);
                writer.Advance(5);
                return;
            case long l:
                BinaryPrimitives.WriteInt64LittleEndian(Tag(writer, Int64, 8), l);
                writer.Advance(9);
                return;
            case double d:
                BinaryPrimitives.WriteDoubleLittleEndian(Tag(writer, Float64, 8), d);
                writer.Advance(9);
                return;
            case bool b:
                Tag(writer, Boolean, 1)[0] = b ? (byte)1 : (byte)0;
                writer.Advance(2);
                return;
            case double[] doubles when BitConverter.IsLittleEndian:
                WriteTagged(writer, Float64Array, MemoryMarshal.AsBytes(doubles.AsSpan()));
                return;
            case float[] floats when BitConverter.IsLittleEndian:
                WriteTagged(writer, Float32Array, MemoryMarshal.AsBytes(floats.AsSpan()));
                return;
            case int[] ints when BitConverter.IsLittleEndian:
                WriteTagged(writer, Int32Array, MemoryMarshal.AsBytes(ints.AsSpan()));
                return;
            case long[] longs when BitConverter.IsLittleEndian:
                WriteTagged(writer, Int64Array, MemoryMarshal.AsBytes(longs.AsSpan()));
                return;
        }

        if (UserCodec.WhyNotSerializable(value.GetType()) is { } why)
        {
            throw new ArgumentException($"a {value.GetType().FullName} cannot be sent: {why}");
        }

        writer.Write([Json]);
        try
        {
            using var json = new Utf8JsonWriter(writer);
            JsonSerializer.Serialize(json, value, UserCodec.Options.GetTypeInfo(typeof(T) == typeof(object) ? value.GetType() : typeof(T)));
        }
        catch (Exception e) when (e is NotSupportedException or JsonException or InvalidOperationException)
        {
            throw new ArgumentException($"a {value.GetType().FullName} cannot be sent: {e.Message}", e);
        }
    }

    private static void WriteUtf8(IBufferWriter<byte> writer, string text)
    {
        var span = writer.GetSpan(1 + Encoding.UTF8.GetMaxByteCount(text.Length));
        span[0] = Utf8;
        writer.Advance(1 + Encoding.UTF8.GetBytes(text, span[1..]));
    }

    /// <summary>Reads a message written by <see cref="Encode{T}"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a message (bad tag, wrong size, malformed JSON).</exception>
    /// <exception cref="InvalidCastException">The message holds a value of another type.</exception>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static T Decode<T>(ReadOnlySpan<byte> message)
    {
        if (message.IsEmpty)
        {
            throw new InvalidDataException("an empty message is not a value");
        }

        var payload = message[1..];
        if (typeof(T) == typeof(byte[]) && message[0] == Bytes)
        {
            // As in Encode: no cast check through the runtime's helper for the common kinds.
            var bytes = Copy(payload);
            return Unsafe.As<byte[], T>(ref bytes);
        }

        if (typeof(T) == typeof(string) && message[0] == Utf8)
        {
            var text = Encoding.UTF8.GetString(payload);
            return Unsafe.As<string, T>(ref text);
        }

        object? value = message[0] switch
        {
            Null => null,
            Bytes when typeof(T) == typeof(ReadOnlyMemory<byte>) => new ReadOnlyMemory<byte>(Copy(payload)),
            Bytes => Copy(payload),
            Utf8 => Encoding.UTF8.GetString(payload),
            Int32 => BinaryPrimitives.ReadInt32LittleEndian(Sized(payload, 4, "int")),
            Int64 => BinaryPrimitives.ReadInt64LittleEndian(Sized(payload, 8, "long")),
            Float64 => BinaryPrimitives.ReadDoubleLittleEndian(Sized(payload, 8, "double")),
            Boolean => Sized(payload, 1, "bool")[0] != 0,
            Json => DecodeJson<T>(payload),
            Float64Array => ArrayOf<double>(payload, "double"),
            Float32Array => ArrayOf<float>(payload, "float"),
            Int32Array => ArrayOf<int>(payload, "int"),
            Int64Array => ArrayOf<long>(payload, "long"),
            var tag => throw new InvalidDataException($"unknown message tag {tag}"),
        };
        return value is T typed ? typed
            : value is null && default(T) is null ? default!
            : throw new InvalidCastException($"received a {value?.GetType().Name ?? "null"}, not a {typeof(T).Name}");
    }

    /// <summary>The payload in a new array, not zeroed first (it is written whole at once): one pass over a large value.</summary>
    private static byte[] Copy(ReadOnlySpan<byte> payload)
    {
        var array = GC.AllocateUninitializedArray<byte>(payload.Length);
        payload.CopyTo(array);
        return array;
    }

    /// <summary>An array of <typeparamref name="TElement"/> made of its elements' little-endian bytes, in one copy.</summary>
    private static TElement[] ArrayOf<TElement>(ReadOnlySpan<byte> payload, string type)
        where TElement : unmanaged
    {
        var size = Unsafe.SizeOf<TElement>();
        if (payload.Length % size != 0)
        {
            throw new InvalidDataException($"a message tagged {type}[] has {payload.Length} bytes, not a whole number of {size}-byte elements");
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new InvalidDataException($"a message tagged {type}[] holds little-endian elements, and this host is big-endian");
        }

        var array = GC.AllocateUninitializedArray<TElement>(payload.Length / size);
        payload.CopyTo(MemoryMarshal.AsBytes(array.AsSpan()));
        return array;
    }

    private static ReadOnlySpan<byte> Sized(ReadOnlySpan<byte> payload, int size, string type) =>
        payload.Length == size ? payload : throw new InvalidDataException($"a message tagged {type} has {payload.Length} bytes, not {size}");

    private static object? DecodeJson<T>(ReadOnlySpan<byte> payload)
    {
        try
        {
            return JsonSerializer.Deserialize(payload, UserCodec.Options.GetTypeInfo(typeof(T) == typeof(object) ? typeof(JsonElement) : typeof(T)));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"a JSON message does not parse as {typeof(T).Name}: {e.Message}", e);
        }
    }

    private static void WriteTagged(IBufferWriter<byte> writer, byte tag, ReadOnlySpan<byte> payload)
    {
        var span = writer.GetSpan(1 + payload.Length);
        span[0] = tag;
        payload.CopyTo(span[1..]);
        writer.Advance(1 + payload.Length);
    }

    private static Span<byte> Tag(IBufferWriter<byte> writer, byte tag, int size)
    {
        var span = writer.GetSpan(1 + size);
        span[0] = tag;
        return span.Slice(1, size);
    }
}
