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

    // Bulk fields left in their own memory (see Scattering), with where in _buffer they belong; null: all copied.
    private List<(int At, ReadOnlyMemory<byte> Bytes)>? _bulk;
    private int _bulkBytes;

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

    /// <summary>
    /// A writer that leaves bulk fields of at least <see cref="ScatterBytes"/> in their own memory rather than
    /// copying them: read the frame with <see cref="ToParts"/>.
    /// </summary>
    public static WireWriter Scattering(int reserved, int capacity)
    {
        var writer = new WireWriter(reserved, capacity) { _bulk = [] };
        return writer;
    }

    public readonly int Written => _written;

    /// <summary>All bytes of the frame, bulk fields left in place included.</summary>
    public readonly int Length => _written + _bulkBytes;

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

    /// <summary>A byte string that a scattering writer leaves in place when large; others copy it.</summary>
    public void BulkBytes(ReadOnlyMemory<byte> value)
    {
        if (_bulk is null || value.Length < ScatterBytes)
        {
            Bytes(value.Span);
            return;
        }

        Int32(value.Length);
        _bulk.Add((_written, value));
        _bulkBytes += value.Length;
    }

    /// <summary>Smallest bulk field a scattering writer leaves in its own memory.</summary>
    public const int ScatterBytes = 64 * 1024;

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

    /// <summary>The frame in order: pieces of the buffer, and between them the bulk fields left in place.</summary>
    public readonly List<ReadOnlyMemory<byte>> ToParts()
    {
        var parts = new List<ReadOnlyMemory<byte>>();
        var from = 0;
        foreach (var (at, bytes) in _bulk ?? [])
        {
            parts.Add(_buffer.AsMemory(from, at - from));
            parts.Add(bytes);
            from = at;
        }

        parts.Add(_buffer.AsMemory(from, _written - from));
        return parts;
    }

    /// <summary>The start of the buffer, for the frame header left room for.</summary>
    public readonly Span<byte> Start(int count) => _buffer.AsSpan(0, count);

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
