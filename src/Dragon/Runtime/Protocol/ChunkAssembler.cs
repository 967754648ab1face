using System.Diagnostics;

namespace Dragon.Runtime.Protocol;

/// <summary>
/// Puts a link's chunked frames back together. A frame over <see cref="FramedConnection.ChunkBytes"/> travels as chunk
/// frames (id with <see cref="ChunkFlag"/> set; body = one "last" byte, 0 or 1, then in the first chunk the int32
/// length of the whole body, then a slice of the original body); chunks of several frames may interleave. Used by
/// a connection's single reader only.
/// </summary>
internal sealed class ChunkAssembler(string peer)
{
    /// <summary>Marks a chunk frame's id.</summary>
    public const long ChunkFlag = 1L << 62;

    private readonly Dictionary<long, Parts> _partial = [];

    /// <summary>
    /// Takes one raw frame; returns the decoded message once a whole frame is in (at once for an unchunked one),
    /// null while chunks are still missing.
    /// </summary>
    /// <exception cref="InvalidDataException">A bad chunk or message; the link must end.</exception>
    public (long Id, IMessage Message)? Add(long rawId, byte[] body) =>
        (rawId & ChunkFlag) == 0 ? (rawId, FrameCodec.Decode(body)) : AddChunk(rawId, body);

    /// <summary>
    /// Takes one chunk frame (<paramref name="rawId"/> has <see cref="ChunkFlag"/>); its body is copied, so the
    /// caller may reuse the buffer. Returns the decoded message once the last chunk is in, else null.
    /// </summary>
    /// <exception cref="InvalidDataException">A bad chunk or message; the link must end.</exception>
    public (long Id, IMessage Message)? AddChunk(long rawId, ReadOnlySpan<byte> body)
    {
        Debug.Assert((rawId & ChunkFlag) != 0, "not a chunk frame");
        if (body.Length < 1 || body[0] > 1)
        {
            ProtocolError.ThrowFrame($"a chunk from {peer} has no valid last-chunk flag");
        }

        var id = rawId & ~ChunkFlag;
        var data = body[1..];
        if (!_partial.TryGetValue(id, out var parts))
        {
            // The first chunk gives the whole body's length. As for a whole frame, the claim alone never makes this
            // side allocate much: room for 256 KiB first, the exact whole once more than that has arrived, and every
            // chunk is copied into it as it comes.
            if (data.Length < 4)
            {
                ProtocolError.ThrowFrame($"the first chunk of a frame from {peer} has no length");
            }

            var total = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(data);
            data = data[4..];
            if (total < data.Length || total > FrameCodec.MaxFrameBytes)
            {
                ProtocolError.ThrowFrame($"a chunked frame from {peer} claims {total} bytes (its first chunk has {data.Length}, at most {FrameCodec.MaxFrameBytes})");
            }

            _partial[id] = parts = new Parts(total, new byte[Math.Min(total, FirstBytes)]);
        }

        if (data.Length > parts.Total - parts.Length)
        {
            ProtocolError.ThrowFrame($"a chunked frame from {peer} grew past the {parts.Total} bytes it claimed");
        }

        if (parts.Length + data.Length > parts.Whole.Length)
        {
            parts.Grow();
        }

        data.CopyTo(parts.Whole.AsSpan(parts.Length));
        parts.Length += data.Length;
        if (body[0] == 0)
        {
            return null;
        }

        _partial.Remove(id);
        if (parts.Length != parts.Total)
        {
            ProtocolError.ThrowFrame($"a chunked frame from {peer} ended at {parts.Length} of the {parts.Total} bytes it claimed");
        }

        return (id, FrameCodec.Decode(parts.Whole));
    }

    /// <summary>True while some chunks of frame <paramref name="id"/> have arrived and others have not.</summary>
    public bool IsAssembling(long id) => _partial.ContainsKey(id);

    /// <summary>Room first made for a chunked body (a link's first chunk fits).</summary>
    private const int FirstBytes = FramedConnection.ChunkBytes;

    private sealed class Parts(int total, byte[] whole)
    {
        public int Total { get; } = total;

        public byte[] Whole { get; private set; } = whole;

        public int Length { get; set; }

        public void Grow()
        {
            var grown = Whole;
            Array.Resize(ref grown, Total);
            Whole = grown;
        }
    }
}
