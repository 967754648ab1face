using System.Buffers.Binary;
using System.Text;

namespace Dragon.Runtime.Protocol;

/// <summary>
/// Bounds-checked reads of the control codec over one frame body: fixed little-endian integers, length-prefixed
/// UTF-8 strings and byte arrays (length -1 for null), arrays whose count is checked against the bytes left
/// before anything is allocated, enums checked against their defined values. Any violation throws
/// <see cref="InvalidDataException"/> naming the message and the field; nothing else escapes on any input.
/// </summary>
internal ref struct WireReader
{
    private readonly ReadOnlySpan<byte> _data;

    // The same bytes as _data when the reader is over memory it may hand out: bulk fields are then slices, not copies.
    private readonly ReadOnlyMemory<byte> _shared;
    private readonly bool _isShared;
    private int _position;

    public WireReader(ReadOnlySpan<byte> data, string message)
    {
        _data = data;
        Message = message;
    }

    /// <summary>A reader over a body it may share: <see cref="Memory"/> returns slices of it.</summary>
    public WireReader(ReadOnlyMemory<byte> data, string message)
    {
        _data = data.Span;
        _shared = data;
        _isShared = true;
        Message = message;
    }

    /// <summary>The message being read, for error messages (set once the tag is known).</summary>
    public string Message { get; set; }

    public readonly int Remaining => _data.Length - _position;

    public byte Byte(string field) => Take(1, field)[0];

    public bool Bool(string field)
    {
        var b = Byte(field);
        if (b > 1)
        {
            ProtocolError.Throw(Message, field, $"is not a boolean (byte {b})");
        }

        return b == 1;
    }

    public int Int32(string field) => BinaryPrimitives.ReadInt32LittleEndian(Take(4, field));

    public long Int64(string field) => BinaryPrimitives.ReadInt64LittleEndian(Take(8, field));

    public ulong UInt64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, field));

    public T Enum<T>(string field)
        where T : struct, System.Enum
    {
        var value = Int32(field);
        var typed = System.Runtime.CompilerServices.Unsafe.As<int, T>(ref value);
        if (!System.Enum.IsDefined(typed))
        {
            ProtocolError.Throw(Message, field, $"has no {typeof(T).Name} {value}");
        }

        return typed;
    }

    public string String(string field) =>
        NullableString(field) ?? throw new InvalidDataException($"bad control message {Message}: field {field} is null");

    public string? NullableString(string field) => NullableSpan(field, out var span) ? Encoding.UTF8.GetString(span) : null;

    public byte[] Bytes(string field) =>
        NullableBytes(field) ?? throw new InvalidDataException($"bad control message {Message}: field {field} is null");

    public byte[]? NullableBytes(string field) => NullableSpan(field, out var span) ? span.ToArray() : null;

    /// <summary>
    /// A length-prefixed byte string (not null) for bulk data: a slice of the body when the reader is over shared
    /// memory, else a copy.
    /// </summary>
    public ReadOnlyMemory<byte> Memory(string field)
    {
        var span = RawBytes(field);
        return _isShared ? _shared.Slice(_position - span.Length, span.Length) : span.ToArray();
    }

    /// <summary>A length-prefixed byte string, not copied: a view of the body.</summary>
    public ReadOnlySpan<byte> RawBytes(string field)
    {
        if (!NullableSpan(field, out var span))
        {
            ProtocolError.Throw(Message, field, "is null");
        }

        return span;
    }

    /// <summary>Reads an element count; <paramref name="minElementBytes"/> bounds it by the bytes left before allocating.</summary>
    public int Count(string field, int minElementBytes)
    {
        var count = Int32(field);
        if (count < -1 || (count > 0 && count > Remaining / minElementBytes))
        {
            ProtocolError.Throw(Message, field, $"has count {count} but only {Remaining} bytes follow");
        }

        return count;
    }

    /// <summary>Throws unless the whole body was read: trailing bytes are an error.</summary>
    public readonly void End()
    {
        if (_position != _data.Length)
        {
            ProtocolError.Throw(Message, "(end)", $"is followed by {Remaining} unexpected bytes");
        }
    }

    /// <summary>Reads a length-prefixed byte string; false for null (length -1).</summary>
    private bool NullableSpan(string field, out ReadOnlySpan<byte> span)
    {
        var length = Int32(field);
        if (length == -1)
        {
            span = default;
            return false;
        }

        if (length < 0 || length > Remaining)
        {
            ProtocolError.Throw(Message, field, $"has length {length} but only {Remaining} bytes follow");
        }

        span = Take(length, field);
        return true;
    }

    private ReadOnlySpan<byte> Take(int count, string field)
    {
        if (count > Remaining)
        {
            ProtocolError.Throw(Message, field, $"is cut short ({Remaining} of {count} bytes)");
        }

        var span = _data.Slice(_position, count);
        _position += count;
        return span;
    }
}
