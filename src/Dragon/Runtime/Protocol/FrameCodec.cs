using System.Buffers.Binary;

namespace Dragon.Runtime.Protocol;

/// <summary>
/// Length-prefixed frames: int32 length of what follows, int64 request id, a <see cref="ControlCodec"/> body.
/// The same framing serves the Unix control sockets and the TCP links between services.
/// </summary>
internal static class FrameCodec
{
    /// <summary>Largest frame accepted; a bigger length means a corrupt or hostile peer.</summary>
    public const int MaxFrameBytes = 256 * 1024 * 1024;

    public static byte[] Encode(long id, IMessage message)
    {
        // The body is written behind the header into one buffer, so a frame is built without a second copy.
        var writer = new WireWriter(HeaderBytes, HeaderBytes + ControlCodec.SizeHint(message));
        ControlCodec.Write(ref writer, message);
        var frame = writer.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(frame, frame.Length - 4);
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(4), id);
        return frame;
    }

    /// <summary>
    /// Encodes a frame as parts to be written in order: a large object payload is not copied into the frame but
    /// written from its own memory, between the bytes before and after it.
    /// </summary>
    public static IReadOnlyList<ReadOnlyMemory<byte>> EncodeParts(long id, IMessage message)
    {
        var bulk = message switch
        {
            ObjectRequest m => m.Payload.Length,
            ObjectReply m => m.Payload.Length,
            ChannelPut m => m.Payload.Length,
            _ => 0,
        };
        if (bulk < WireWriter.ScatterBytes)
        {
            return [Encode(id, message)];
        }

        var writer = WireWriter.Scattering(HeaderBytes, HeaderBytes + ControlCodec.SizeHint(message) - bulk);
        ControlCodec.Write(ref writer, message);
        var header = writer.Start(HeaderBytes);
        BinaryPrimitives.WriteInt32LittleEndian(header, writer.Length - 4);
        BinaryPrimitives.WriteInt64LittleEndian(header[4..], id);
        return writer.ToParts();
    }

    /// <summary>Writes a frame's parts (see <see cref="EncodeParts"/>) in order.</summary>
    public static async ValueTask WriteAsync(Stream stream, IReadOnlyList<ReadOnlyMemory<byte>> parts, CancellationToken cancellationToken)
    {
        foreach (var part in parts)
        {
            await stream.WriteAsync(part, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Bytes of the header: int32 length of what follows, int64 request id.</summary>
    public const int HeaderBytes = 12;

    /// <summary>Reads one frame; returns null at a clean end of stream.</summary>
    public static async ValueTask<(long Id, IMessage Message)?> ReadAsync(Stream stream, CancellationToken cancellationToken) =>
        await ReadRawAsync(stream, MaxFrameBytes, cancellationToken).ConfigureAwait(false) is { } raw ? (raw.Id, Decode(raw.Body)) : null;

    /// <summary>Decodes a frame's body.</summary>
    /// <exception cref="InvalidDataException">The body is not one well-formed message.</exception>
    public static IMessage Decode(ReadOnlySpan<byte> body) => ControlCodec.Read(body);

    /// <summary>Decodes a frame's body, which the message keeps: bulk payloads are slices of it, not copies.</summary>
    /// <exception cref="InvalidDataException">The body is not one well-formed message.</exception>
    public static IMessage Decode(byte[] body) => ControlCodec.Read(body.AsMemory());

    /// <summary>
    /// Reads one frame without decoding its body; returns null at a clean end of stream. A length over
    /// <paramref name="maxFrameBytes"/> is refused from the header, before anything is allocated for the body.
    /// </summary>
    public static async ValueTask<(long Id, byte[] Body)?> ReadRawAsync(Stream stream, int maxFrameBytes, CancellationToken cancellationToken)
    {
        if (await ReadHeaderAsync(stream, maxFrameBytes, cancellationToken).ConfigureAwait(false) is not { } header)
        {
            return null;
        }

        return (header.Id, await ReadBodyAsync(stream, header.BodyLength, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Reads one frame's header; returns null at a clean end of stream. A length over <paramref name="maxFrameBytes"/>
    /// is refused. The body follows: read it with <see cref="ReadBodyAsync"/> or <see cref="ReadBodyIntoAsync"/>.
    /// </summary>
    public static ValueTask<(long Id, int BodyLength)?> ReadHeaderAsync(Stream stream, int maxFrameBytes, CancellationToken cancellationToken) =>
        ReadHeaderAsync(stream, new byte[HeaderBytes], maxFrameBytes, cancellationToken);

    /// <summary>As <see cref="ReadHeaderAsync(Stream, int, CancellationToken)"/>, into a reader's reused <paramref name="header"/> buffer.</summary>
    public static async ValueTask<(long Id, int BodyLength)?> ReadHeaderAsync(Stream stream, byte[] header, int maxFrameBytes, CancellationToken cancellationToken)
    {
        return CheckHeader(await ReadFullyAsync(stream, header, cancellationToken).ConfigureAwait(false), header, maxFrameBytes, out var id, out var length)
            ? (id, length)
            : null;
    }

    /// <summary>Reads a body of <paramref name="length"/> bytes into a new array.</summary>
    public static async ValueTask<byte[]> ReadBodyAsync(Stream stream, int length, CancellationToken cancellationToken)
    {
        // A length prefix alone never makes this side allocate much: the rest of a large body is allocated once its
        // first bytes have arrived.
        var body = new byte[Math.Min(length, FirstBodyBytes)];
        var got = 0;
        while (true)
        {
            got += await ReadFullyAsync(stream, body.AsMemory(got), cancellationToken).ConfigureAwait(false);
            if (got < body.Length)
            {
                throw new IOException("control connection closed in the middle of a frame");
            }

            if (got == length)
            {
                return body;
            }

            Array.Resize(ref body, length);
        }
    }

    /// <summary>Reads a body into <paramref name="into"/> (exactly its length), for a reader that reuses one buffer.</summary>
    public static async ValueTask ReadBodyIntoAsync(Stream stream, Memory<byte> into, CancellationToken cancellationToken)
    {
        if (await ReadFullyAsync(stream, into, cancellationToken).ConfigureAwait(false) < into.Length)
        {
            throw new IOException("control connection closed in the middle of a frame");
        }
    }

    /// <summary>
    /// Reads and decodes one frame, blocking: for a process's hello, so its first exchange does not wait for the
    /// asynchronous socket machinery to start. Returns null at a clean end of stream.
    /// </summary>
    public static (long Id, IMessage Message)? Read(Stream stream)
    {
        var header = new byte[HeaderBytes];
        if (!CheckHeader(stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false), header, MaxFrameBytes, out var id, out var length))
        {
            return null;
        }

        var body = new byte[Math.Min(length, FirstBodyBytes)];
        var got = 0;
        while (true)
        {
            got += stream.ReadAtLeast(body.AsSpan(got), body.Length - got, throwOnEndOfStream: false);
            if (got < body.Length)
            {
                throw new IOException("control connection closed in the middle of a frame");
            }

            if (got == length)
            {
                return (id, Decode(body));
            }

            Array.Resize(ref body, length);
        }
    }

    /// <summary>
    /// Room first made for a body; once it is full the rest of the length in the header is allocated. A link's chunk
    /// frame (256 KiB and its flag byte) fits at once.
    /// </summary>
    private const int FirstBodyBytes = (256 * 1024) + 1;

    private static bool CheckHeader(int got, byte[] header, int maxFrameBytes, out long id, out int bodyLength)
    {
        id = 0;
        bodyLength = 0;
        if (got == 0)
        {
            return false;
        }

        if (got < header.Length)
        {
            throw new IOException("control connection closed in the middle of a frame header");
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (length < 8 || length > maxFrameBytes)
        {
            ProtocolError.ThrowFrame($"length {length} is out of range (8..{maxFrameBytes})");
        }

        id = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(4));
        bodyLength = length - 8;
        return true;
    }

    private static async ValueTask<int> ReadFullyAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}
