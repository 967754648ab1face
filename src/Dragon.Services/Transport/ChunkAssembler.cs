using Dragon.Runtime.Protocol;

namespace Dragon.Services.Transport;

/// <summary>
/// Puts a link's chunked frames back together. A frame over <see cref="NodeLink.ChunkBytes"/> travels as chunk
/// frames (id with <see cref="ChunkFlag"/> set; body = one "last" byte, 0 or 1, then a slice of the original body);
/// chunks of several frames may interleave. Used by the link's single reader only.
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
    public (long Id, IMessage Message)? Add(long rawId, byte[] body)
    {
        if ((rawId & ChunkFlag) == 0)
        {
            return (rawId, FrameCodec.Decode(body));
        }

        if (body.Length < 1 || body[0] > 1)
        {
            ProtocolError.ThrowFrame($"a chunk from {peer} has no valid last-chunk flag");
        }

        var id = rawId & ~ChunkFlag;
        if (!_partial.TryGetValue(id, out var parts))
        {
            _partial[id] = parts = new Parts();
        }

        if (parts.Length + body.Length - 1 > FrameCodec.MaxFrameBytes)
        {
            ProtocolError.ThrowFrame($"a chunked frame from {peer} grew past {FrameCodec.MaxFrameBytes} bytes");
        }

        // The chunks are kept as they came and joined once, into a buffer of the exact size.
        parts.Chunks.Add(body);
        parts.Length += body.Length - 1;
        if (body[0] == 0)
        {
            return null;
        }

        _partial.Remove(id);
        var whole = new byte[parts.Length];
        var offset = 0;
        foreach (var chunk in parts.Chunks)
        {
            chunk.AsSpan(1).CopyTo(whole.AsSpan(offset));
            offset += chunk.Length - 1;
        }

        parts.Chunks.Clear();
        return (id, FrameCodec.Decode(whole));
    }

    private sealed class Parts
    {
        public List<byte[]> Chunks { get; } = [];

        public int Length { get; set; }
    }
}
