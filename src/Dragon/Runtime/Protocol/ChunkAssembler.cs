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

    /// <summary>As <see cref="Add(long, byte[])"/>, for a whole frame whose body is rented (see <see cref="PooledBody.Decode"/>).</summary>
    public (long Id, IMessage Message)? Add(long rawId, PooledBody body)
    {
        if ((rawId & ChunkFlag) == 0)
        {
            return (rawId, body.Decode());
        }

        try
        {
            return AddChunk(rawId, body.GetSpan());
        }
        finally
        {
            body.Release();
        }
    }

    /// <summary>
    /// Takes one chunk frame (<paramref name="rawId"/> has <see cref="ChunkFlag"/>); its body is copied, so the
    /// caller may reuse the buffer. Returns the decoded message once the last chunk is in, else null.
    /// </summary>
    /// <exception cref="InvalidDataException">A bad chunk or message; the link must end.</exception>
    public (long Id, IMessage Message)? AddChunk(long rawId, ReadOnlySpan<byte> body)
    {
        var prefix = PrefixBytes(rawId, body.Length);
        var data = body[prefix..];
        data.CopyTo(BeginChunk(rawId, body[..prefix], data.Length).Span);
        return EndChunk(rawId, body[0] == 1, data.Length);
    }

    /// <summary>The most bytes a chunk's prefix takes (<see cref="PrefixBytes"/>).</summary>
    public const int MaxPrefixBytes = 5;

    /// <summary>
    /// Bytes of a chunk frame's body that come before its data: the last-chunk flag, and in a frame's first chunk the
    /// whole body's length.
    /// </summary>
    /// <exception cref="InvalidDataException">The chunk's body (<paramref name="bodyLength"/>) is shorter than that.</exception>
    public int PrefixBytes(long rawId, int bodyLength)
    {
        var prefix = _partial.ContainsKey(rawId & ~ChunkFlag) ? 1 : MaxPrefixBytes;
        if (bodyLength < prefix)
        {
            ProtocolError.ThrowFrame(bodyLength == 0 ? $"a chunk from {peer} has no valid last-chunk flag" : $"the first chunk of a frame from {peer} has no length");
        }

        return prefix;
    }

    /// <summary>
    /// Takes a chunk's prefix (<see cref="PrefixBytes"/> of them) and the length of the data that follows it, and
    /// returns where that data goes: straight into the body being put together, so a chunk is read off the socket
    /// once and never copied. Then <see cref="EndChunk"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">A bad chunk; the link must end.</exception>
    public Memory<byte> BeginChunk(long rawId, ReadOnlySpan<byte> prefix, int dataLength)
    {
        Debug.Assert((rawId & ChunkFlag) != 0, "not a chunk frame");
        if (prefix.Length < 1 || prefix[0] > 1)
        {
            ProtocolError.ThrowFrame($"a chunk from {peer} has no valid last-chunk flag");
        }

        var id = rawId & ~ChunkFlag;
        if (!_partial.TryGetValue(id, out var parts))
        {
            // The first chunk gives the whole body's length. As for a whole frame, the claim alone never makes this
            // side allocate much: room for 256 KiB first, the exact whole once more than that has arrived, and every
            // chunk goes into it as it comes. The room is rented (a body the decoded message keeps goes back to the
            // pool when the message is written on or consumed; see PooledBody).
            var total = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(prefix[1..]);
            if (total < dataLength || total > FrameCodec.MaxFrameBytes)
            {
                ProtocolError.ThrowFrame($"a chunked frame from {peer} claims {total} bytes (its first chunk has {dataLength}, at most {FrameCodec.MaxFrameBytes})");
            }

            _partial[id] = parts = new Parts(total);
        }

        if (dataLength > parts.Total - parts.Length)
        {
            Drop(id, parts);
            ProtocolError.ThrowFrame($"a chunked frame from {peer} grew past the {parts.Total} bytes it claimed");
        }

        if (parts.Length + dataLength > parts.Room)
        {
            parts.Grow();
        }

        return parts.SpaceMemory[..dataLength];
    }

    /// <summary>
    /// The data <see cref="BeginChunk"/> placed has arrived: returns the decoded message once the last chunk is in,
    /// else null.
    /// </summary>
    /// <exception cref="InvalidDataException">A bad chunk or message; the link must end.</exception>
    public (long Id, IMessage Message)? EndChunk(long rawId, bool last, int dataLength)
    {
        var id = rawId & ~ChunkFlag;
        var parts = _partial[id];
        parts.Length += dataLength;
        if (!last)
        {
            return null;
        }

        _partial.Remove(id);
        if (parts.Length != parts.Total)
        {
            parts.Release();
            ProtocolError.ThrowFrame($"a chunked frame from {peer} ended at {parts.Length} of the {parts.Total} bytes it claimed");
        }

        return (id, parts.Decode());
    }

    private void Drop(long id, Parts parts)
    {
        _partial.Remove(id);
        parts.Release();
    }

    /// <summary>Gives back what frames still arriving hold (the connection ended).</summary>
    public void Clear()
    {
        foreach (var parts in _partial.Values)
        {
            parts.Release();
        }

        _partial.Clear();
    }

    /// <summary>True while some chunks of frame <paramref name="id"/> have arrived and others have not.</summary>
    public bool IsAssembling(long id) => _partial.ContainsKey(id);

    /// <summary>Room first made for a chunked body (a link's first chunk fits).</summary>
    private const int FirstBytes = FramedConnection.ChunkBytes;

    /// <summary>
    /// A body being put together: rented when it fits the pool (<see cref="PooledBody.Fits"/>), else a plain array;
    /// room for the first chunk at first, the whole once more arrives.
    /// </summary>
    private sealed class Parts(int total)
    {
        private readonly PooledBody? _pooled = PooledBody.Fits(total) ? PooledBody.Rent(Math.Min(total, FirstBytes)) : null;
        private byte[]? _plain = PooledBody.Fits(total) ? null : new byte[Math.Min(total, FirstBytes)];

        public int Total { get; } = total;

        public int Length { get; set; }

        public int Room => _pooled?.Length ?? _plain!.Length;

        /// <summary>Where the next bytes go.</summary>
        public Span<byte> Space => SpaceMemory.Span;

        public Memory<byte> SpaceMemory => _pooled is not null ? _pooled.Array.AsMemory(Length, _pooled.Length - Length) : _plain.AsMemory(Length);

        public void Grow()
        {
            if (_pooled is not null)
            {
                _pooled.Grow(Total, Length);
            }
            else
            {
                Array.Resize(ref _plain, Total);
            }
        }

        public IMessage Decode() => _pooled is not null ? _pooled.Decode() : FrameCodec.Decode(_plain!);

        public void Release() => _pooled?.Release();
    }
}
