using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Dragon.Runtime.Serialization;

namespace Dragon.Pool;

/// <summary>
/// How a task's argument and result are laid out in a pool message: a 32-bit length (-1 for null), then the value.
/// int, long, double, bool, string and byte[] take a fast path (fixed-size or raw bytes); any other type is JSON
/// through <see cref="UserCodec"/>, the codec of method targets and queues, so the same types travel (under Native AOT
/// the built-in ones). The caller writes with the static type; the worker reads and writes by <see cref="Type"/>:
/// both produce the same bytes.
/// </summary>
internal static class ItemCodec
{
    [ThreadStatic]
    private static Utf8JsonWriter? t_json;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write<T>(T value, ArrayBufferWriter<byte> writer)
    {
        if (typeof(T) == typeof(int))
        {
            var span = writer.GetSpan(8);
            BinaryPrimitives.WriteInt32LittleEndian(span, 4);
            BinaryPrimitives.WriteInt32LittleEndian(span[4..], Unsafe.As<T, int>(ref value));
            writer.Advance(8);
        }
        else if (typeof(T) == typeof(long))
        {
            var span = writer.GetSpan(12);
            BinaryPrimitives.WriteInt32LittleEndian(span, 8);
            BinaryPrimitives.WriteInt64LittleEndian(span[4..], Unsafe.As<T, long>(ref value));
            writer.Advance(12);
        }
        else if (typeof(T) == typeof(double))
        {
            var span = writer.GetSpan(12);
            BinaryPrimitives.WriteInt32LittleEndian(span, 8);
            BinaryPrimitives.WriteDoubleLittleEndian(span[4..], Unsafe.As<T, double>(ref value));
            writer.Advance(12);
        }
        else
        {
            WriteObject(value, typeof(T), writer);
        }
    }

    public static void WriteObject(object? value, Type type, ArrayBufferWriter<byte> writer)
    {
        switch (value)
        {
            case null:
                BinaryPrimitives.WriteInt32LittleEndian(writer.GetSpan(4), -1);
                writer.Advance(4);
                return;
            case int i when type == typeof(int):
                Write(i, writer);
                return;
            case long l when type == typeof(long):
                Write(l, writer);
                return;
            case double d when type == typeof(double):
                Write(d, writer);
                return;
            case bool b when type == typeof(bool):
                var span = writer.GetSpan(5);
                BinaryPrimitives.WriteInt32LittleEndian(span, 1);
                span[4] = b ? (byte)1 : (byte)0;
                writer.Advance(5);
                return;
            case string text when type == typeof(string):
                WriteString(text, writer);
                return;
            case byte[] bytes when type == typeof(byte[]):
                var target = writer.GetSpan(4 + bytes.Length);
                BinaryPrimitives.WriteInt32LittleEndian(target, bytes.Length);
                bytes.CopyTo(target[4..]);
                writer.Advance(4 + bytes.Length);
                return;
        }

        // JSON: a placeholder for the length, the value, then the length patched in.
        var start = writer.WrittenCount;
        writer.GetSpan(4);
        writer.Advance(4);
        var json = t_json ??= new Utf8JsonWriter(writer);
        json.Reset(writer);
        JsonSerializer.Serialize(json, value, UserCodec.Options.GetTypeInfo(type));
        json.Flush();
        var length = writer.WrittenCount - start - 4;
        BinaryPrimitives.WriteInt32LittleEndian(MemoryMarshal(writer, start), length);
    }

    public static void WriteString(string? text, ArrayBufferWriter<byte> writer)
    {
        if (text is null)
        {
            BinaryPrimitives.WriteInt32LittleEndian(writer.GetSpan(4), -1);
            writer.Advance(4);
            return;
        }

        var span = writer.GetSpan(4 + Encoding.UTF8.GetMaxByteCount(text.Length));
        var length = Encoding.UTF8.GetBytes(text, span[4..]);
        BinaryPrimitives.WriteInt32LittleEndian(span, length);
        writer.Advance(4 + length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Read<T>(ReadOnlySpan<byte> data, ref int offset)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(data[offset..]);
        offset += 4;
        if (typeof(T) == typeof(int) && length == 4)
        {
            var i = BinaryPrimitives.ReadInt32LittleEndian(data[offset..]);
            offset += 4;
            return Unsafe.As<int, T>(ref i);
        }

        if (typeof(T) == typeof(long) && length == 8)
        {
            var l = BinaryPrimitives.ReadInt64LittleEndian(data[offset..]);
            offset += 8;
            return Unsafe.As<long, T>(ref l);
        }

        if (typeof(T) == typeof(double) && length == 8)
        {
            var d = BinaryPrimitives.ReadDoubleLittleEndian(data[offset..]);
            offset += 8;
            return Unsafe.As<double, T>(ref d);
        }

        var value = ReadValue(typeof(T), data, ref offset, length);
        return value is null ? default! : (T)value;
    }

    public static object? ReadObject(Type type, ReadOnlySpan<byte> data, ref int offset)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(data[offset..]);
        offset += 4;
        return ReadValue(type, data, ref offset, length);
    }

    public static string? ReadString(ReadOnlySpan<byte> data, ref int offset)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(data[offset..]);
        offset += 4;
        if (length < 0)
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(data.Slice(offset, length));
        offset += length;
        return text;
    }

    private static object? ReadValue(Type type, ReadOnlySpan<byte> data, ref int offset, int length)
    {
        if (length < 0)
        {
            return null;
        }

        var bytes = data.Slice(offset, length);
        offset += length;
        if (type == typeof(int))
        {
            return BinaryPrimitives.ReadInt32LittleEndian(bytes);
        }

        if (type == typeof(long))
        {
            return BinaryPrimitives.ReadInt64LittleEndian(bytes);
        }

        if (type == typeof(double))
        {
            return BinaryPrimitives.ReadDoubleLittleEndian(bytes);
        }

        if (type == typeof(bool))
        {
            return bytes[0] != 0;
        }

        if (type == typeof(string))
        {
            return Encoding.UTF8.GetString(bytes);
        }

        if (type == typeof(byte[]))
        {
            return bytes.ToArray();
        }

        return JsonSerializer.Deserialize(bytes, UserCodec.Options.GetTypeInfo(type));
    }

    /// <summary>
    /// Why values of <paramref name="type"/> cannot be a task's argument or result, or null when they can. Checked once
    /// per method in the caller, so a type the workers could not rebuild fails at submit, not in a worker.
    /// </summary>
    public static string? WhyNotSupported(Type type)
    {
        if (type == typeof(int) || type == typeof(long) || type == typeof(double) || type == typeof(bool) || type == typeof(string) || type == typeof(byte[]))
        {
            return null;
        }

        if (UserCodec.WhyNotSerializable(type) is { } why)
        {
            return why;
        }

        try
        {
            _ = UserCodec.Options.GetTypeInfo(type);
            return null;
        }
        catch (NotSupportedException e)
        {
            return JsonSerializer.IsReflectionEnabledByDefault
                ? e.Message
                : "this program has no reflection-based serialization (Native AOT): tasks take and return booleans, numbers, " +
                  "strings, Guid, DateTime, TimeSpan and arrays of bytes, ints, longs, doubles and strings; set " +
                  "JsonSerializerIsReflectionEnabledByDefault in the project for other types";
        }
    }

    private static Span<byte> MemoryMarshal(ArrayBufferWriter<byte> writer, int start) =>
        System.Runtime.InteropServices.MemoryMarshal.AsMemory(writer.WrittenMemory).Span.Slice(start, 4);
}
