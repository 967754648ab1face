using System.Diagnostics;
using System.Text;

namespace Dragon.Services.Pmi;

/// <summary>Formats a response into a connection's send buffer, without allocating.</summary>
/// <remarks>Mutable ref struct: do not make readonly, <see cref="Length"/> advances.</remarks>
internal ref struct PmiResponseWriter
{
    private readonly Span<byte> _buffer;

    public PmiResponseWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        Length = 0;
    }

    /// <summary>Bytes written so far.</summary>
    public int Length { get; private set; }

    /// <summary>Appends raw bytes, usually a <c>u8</c> literal.</summary>
    public void Append(scoped ReadOnlySpan<byte> bytes)
    {
        EnsureRoom(bytes.Length);
        bytes.CopyTo(_buffer[Length..]);
        Length += bytes.Length;
    }

    /// <summary>Appends a decimal integer.</summary>
    public void Append(int value)
    {
        bool formatted = value.TryFormat(_buffer[Length..], out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        if (!formatted)
        {
            ThrowBufferTooSmall();
        }
        Length += written;
    }

    /// <summary>Appends text stored from the wire; Latin-1 maps it back to the bytes it came from.</summary>
    public void Append(string text)
    {
        EnsureRoom(text.Length);
        Length += Encoding.Latin1.GetBytes(text, _buffer[Length..]);
    }

    private readonly void EnsureRoom(int count)
    {
        if (_buffer.Length - Length < count)
        {
            ThrowBufferTooSmall();
        }
    }

    // Responses are bounded by the 1024-byte request lines they answer; the buffer is larger.
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    [StackTraceHidden]
    private static void ThrowBufferTooSmall() =>
        throw new InvalidOperationException("PMI response does not fit in the connection's send buffer");
}
