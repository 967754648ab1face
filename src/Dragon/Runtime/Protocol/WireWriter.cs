using System.Buffers.Binary;
using System.Text;

namespace Dragon.Runtime.Protocol;

/// <summary>
/// Writes the control codec's encoding (see <see cref="WireReader"/>) into one growable buffer that starts with
/// room for the frame header, so a frame is built without a second copy.
/// </summary>
internal struct WireWriter
{
    private byte[] _buffer;
    private int _written;

    /// <param name="reserved">Bytes left at the start (the frame header).</param>
    /// <param name="capacity">
    /// The expected total: a large message sized exactly is written into one buffer that is then used as it is,
    /// with no growing and no final copy.
    /// </param>
    public WireWriter(int reserved, int capacity = 256)
    {
        _buffer = new byte[Math.Max(capacity, reserved)];
        _written = reserved;
    }

    public readonly int Written => _written;

    public void Byte(byte value) => Take(1)[0] = value;

    public void Bool(bool value) => Byte(value ? (byte)1 : (byte)0);

    public void Int32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), value);

    public void Int64(long value) => BinaryPrimitives.WriteInt64LittleEndian(Take(8), value);

    public void UInt64(ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Take(8), value);

    public void Enum<T>(T value)
        where T : struct, System.Enum => Int32(System.Runtime.CompilerServices.Unsafe.As<T, int>(ref value));

    public void String(string? value)
    {
        if (value is null)
        {
            Int32(-1);
            return;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        Int32(length);
        Encoding.UTF8.GetBytes(value, Take(length));
    }

    public void Bytes(ReadOnlySpan<byte> value)
    {
        Int32(value.Length);
        value.CopyTo(Take(value.Length));
    }

    public void NullableBytes(byte[]? value)
    {
        if (value is null)
        {
            Int32(-1);
        }
        else
        {
            Bytes(value);
        }
    }

    /// <summary>The buffer, trimmed to what was written.</summary>
    public readonly byte[] ToArray() => _written == _buffer.Length ? _buffer : _buffer.AsSpan(0, _written).ToArray();

    private Span<byte> Take(int count)
    {
        var needed = _written + count;
        if (needed > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(needed, _buffer.Length * 2));
        }

        var span = _buffer.AsSpan(_written, count);
        _written = needed;
        return span;
    }
}
