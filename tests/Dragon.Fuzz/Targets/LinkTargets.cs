using System.Security.Cryptography;
using Dragon.Runtime.Protocol;
using Dragon.Services.Transport;

namespace Dragon.Fuzz.Targets;

/// <summary>
/// The link handshake, both roles, against a peer that sends the input: nothing an unauthenticated peer sends may
/// do more than fail the handshake.
/// </summary>
internal sealed class LinkHandshakeTarget : FuzzTarget
{
    private static readonly byte[] s_secret = RandomNumberGenerator.GetBytes(32);

    public override string Name => "link-handshake";

    public override IReadOnlyList<byte[]> Seeds { get; } = [RandomNumberGenerator.GetBytes(68), RandomNumberGenerator.GetBytes(64), new byte[68]];

    public override IReadOnlyList<Type> Documented { get; } = [typeof(AuthenticationFailedException), typeof(EndOfStreamException)];

    public override void Run(byte[] input)
    {
        var accepting = input.Length % 2 == 0;
        using var stream = new ScriptedPeer(input);
        if (accepting)
        {
            LinkHandshake.AcceptAsync(stream, s_secret, CancellationToken.None).GetAwaiter().GetResult();
        }
        else
        {
            LinkHandshake.ConnectAsync(stream, s_secret, 1, CancellationToken.None).GetAwaiter().GetResult();
        }

        throw new InvalidOperationException("the handshake succeeded against a peer that does not hold the secret");
    }

    /// <summary>A peer whose bytes are the input; what is written to it is dropped.</summary>
    private sealed class ScriptedPeer(byte[] input) : MemoryStream(input, writable: false)
    {
        public override bool CanWrite => true;

        public override void Write(byte[] buffer, int offset, int count)
        {
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.CompletedTask;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
    }
}

/// <summary>A link's frames after the handshake: whole and chunked frames, put back together and decoded.</summary>
internal sealed class LinkFramesTarget : FuzzTarget
{
    public override string Name => "link-frames";

    public override IReadOnlyList<byte[]> Seeds { get; } = BuildSeeds();

    public override IReadOnlyList<Type> Documented { get; } = [typeof(InvalidDataException), typeof(IOException)];

    public override void Run(byte[] input)
    {
        using var stream = new MemoryStream(input, writable: false);
        var chunks = new ChunkAssembler("node 1");
        var whole = true;
        while (FrameCodec.ReadRawAsync(stream, FrameCodec.MaxFrameBytes, CancellationToken.None).AsTask().GetAwaiter().GetResult() is { } raw)
        {
            // Chunks both ways: copied in whole (AddChunk), and placed as a connection reads them (Begin/EndChunk).
            whole = !whole;
            if (whole || (raw.Id & ChunkAssembler.ChunkFlag) == 0)
            {
                _ = chunks.Add(raw.Id, raw.Body);
                continue;
            }

            var prefix = chunks.PrefixBytes(raw.Id, raw.Body.Length);
            raw.Body.AsSpan(prefix).CopyTo(chunks.BeginChunk(raw.Id, raw.Body.AsSpan(0, prefix), raw.Body.Length - prefix).Span);
            _ = chunks.EndChunk(raw.Id, raw.Body[0] == 1, raw.Body.Length - prefix);
        }
    }

    private static byte[][] BuildSeeds()
    {
        var seeds = new List<byte[]>();
        foreach (var message in SampleMessages.All)
        {
            // The same message whole, and cut into chunk frames of 16 bytes (the link cuts at 256 KiB; the format
            // is the same), with a whole frame between two of the chunks.
            var frame = FrameCodec.Encode(4, message);
            var body = frame.AsSpan(FrameCodec.HeaderBytes).ToArray();
            var stream = new MemoryStream();
            for (var offset = 0; offset < body.Length; offset += 16)
            {
                // The first chunk also carries the whole body's length.
                var part = body.AsSpan(offset, Math.Min(16, body.Length - offset));
                var header = new byte[offset == 0 ? 17 : 13];
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(header, header.Length - 4 + part.Length);
                System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(4), 4 | ChunkAssembler.ChunkFlag);
                header[12] = offset + part.Length == body.Length ? (byte)1 : (byte)0;
                if (offset == 0)
                {
                    System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(13), body.Length);
                }

                stream.Write(header);
                stream.Write(part);
                if (offset == 16)
                {
                    stream.Write(FrameCodec.Encode(0, new ProcessGoneNotice(3)));
                }
            }

            seeds.Add(frame);
            seeds.Add(stream.ToArray());
        }

        return [.. seeds];
    }
}
