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

    private readonly Dictionary<long, MemoryStream> _partial = [];

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
            _partial[id] = parts = new MemoryStream();
        }

        if (parts.Length + body.Length - 1 > FrameCodec.MaxFrameBytes)
        {
            ProtocolError.ThrowFrame($"a chunked frame from {peer} grew past {FrameCodec.MaxFrameBytes} bytes");
        }

        parts.Write(body, 1, body.Length - 1);
        if (body[0] == 0)
        {
            return null;
        }

        _partial.Remove(id);
        using (parts)
        {
            return (id, FrameCodec.Decode(parts.GetBuffer().AsSpan(0, (int)parts.Length)));
        }
    }
}
