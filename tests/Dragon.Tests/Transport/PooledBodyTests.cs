using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Dragon.Runtime.Protocol;
using Xunit;

namespace Dragon.Tests.Transport;

/// <summary>
/// Large frame bodies are rented and given back once their message is written on or consumed (PooledBody). These run
/// real connections over loopback TCP, the way a node service sits between a process and another node: a client, a
/// middle that forwards every request and returns the server's reply as it came, and a server. A body given back
/// while still in use would be overwritten by the next renter, so every payload carries a pattern of its own that
/// is checked at the far end, with many requests of mixed sizes in flight at once.
/// </summary>
public sealed class PooledBodyTests
{
    /// <summary>Sizes around the thresholds: plain, rented whole, rented as chunks are put together, and large.</summary>
    private static readonly int[] s_sizes = [1_000, 16 * 1024, 70_000, 256 * 1024, 300_000, 1_100_000, 3_300_000];

    [Fact]
    public async Task Forwarded_ManyLargeRequestsAndRepliesInFlight_EveryPayloadArrivesIntact()
    {
        await using var chain = await Chain.StartAsync();
        var requests = new List<Task>();
        for (var i = 0; i < 240; i++)
        {
            var seed = i;
            var size = s_sizes[i % s_sizes.Length];
            requests.Add(Task.Run(async () =>
            {
                // The request carries one pattern; the server checks it and answers with another of the size asked.
                var request = new ObjectRequest(1, ObjectOp.Send, Pattern(seed, size), 0, Argument: ((long)size << 20) | (uint)seed, 0);
                var reply = Assert.IsType<ObjectReply>(await chain.Client.RequestAsync(request, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)));
                Assert.Equal(ObjectStatus.Ok, reply.Status);
                Assert.True(IsPattern(reply.Payload.Span, seed + 1_000_000, size), $"reply {seed} ({size} bytes) arrived changed");
            }));
        }

        await Task.WhenAll(requests);
        Assert.Equal(0, chain.BadRequests);
        Assert.Equal(240, chain.Served);
    }

    [Fact]
    public async Task Forwarded_LoneLargeFramesOneAfterAnother_GoSeveralChunksAWrite_AndArriveIntact()
    {
        // Nothing else on the connections: each frame's chunks go several to a write, the last write shorter.
        await using var chain = await Chain.StartAsync();
        foreach (var (seed, size) in new[] { (1, 4 * FramedConnection.ChunkBytes), (2, (4 * FramedConnection.ChunkBytes) + 1), (3, 3_300_000), (4, (FramedConnection.ChunkBytes * 9) - 5) })
        {
            var request = new ObjectRequest(1, ObjectOp.Send, Pattern(seed, size), 0, Argument: ((long)size << 20) | (uint)seed, 0);
            var reply = Assert.IsType<ObjectReply>(await chain.Client.RequestAsync(request, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal(ObjectStatus.Ok, reply.Status);
            Assert.True(IsPattern(reply.Payload.Span, seed + 1_000_000, size), $"reply {seed} ({size} bytes) arrived changed");
            PooledBody.Release(reply.Payload);
        }

        Assert.Equal(0, chain.BadRequests);
    }

    [Fact]
    public async Task Forwarded_ALargeReply_ItsBodyInTheMiddleGoesBackOnceWritten()
    {
        await using var chain = await Chain.StartAsync();
        var request = new ObjectRequest(1, ObjectOp.Send, Pattern(7, 10), 0, Argument: ((long)300_000 << 20) | 7u, 0);
        var reply = Assert.IsType<ObjectReply>(await chain.Client.RequestAsync(request, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(IsPattern(reply.Payload.Span, 1_000_007, 300_000));

        // The middle got the reply in chunks, into a rented body, and wrote it on to the client: given back.
        var forwarded = Assert.IsType<ObjectReply>(chain.LastForwardedReply);
        var body = PooledBody.Of(forwarded);
        Assert.NotNull(body);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!Released(body) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.True(Released(body), "the middle's rented reply body was not given back after it was written");

        // The client's own copy is its to release: it still reads whole until it does.
        var mine = PooledBody.Of(reply.Payload);
        Assert.NotNull(mine);
        Assert.False(Released(mine));
        PooledBody.Release(reply.Payload);
        Assert.True(Released(mine));
        Assert.Throws<ObjectDisposedException>(() => reply.Payload.Span.Length);
    }

    [Fact]
    public void Decode_AMessageThatKeepsNoSliceOfItsBody_GivesTheBodyBackAtOnce()
    {
        var frame = FrameCodec.Encode(0, new ObjectReply(ObjectStatus.Ok, ReadOnlyMemory<byte>.Empty, 5));
        var padded = new ObjectReply(ObjectStatus.Ok, new byte[20_000], 5);
        var withPayload = FrameCodec.Encode(0, padded);

        var empty = PooledBody.Rent(frame.Length - FrameCodec.HeaderBytes);
        frame.AsSpan(FrameCodec.HeaderBytes).CopyTo(empty.Array);
        var decoded = Assert.IsType<ObjectReply>(empty.Decode());
        Assert.True(Released(empty));
        Assert.Null(PooledBody.Of(decoded));
        Assert.Equal(0, decoded.Payload.Length);

        var kept = PooledBody.Rent(withPayload.Length - FrameCodec.HeaderBytes);
        withPayload.AsSpan(FrameCodec.HeaderBytes).CopyTo(kept.Array);
        var holding = Assert.IsType<ObjectReply>(kept.Decode());
        Assert.Same(kept, PooledBody.Of(holding));
        Assert.Equal(20_000, holding.Payload.Length);
        kept.Release();
        kept.Release();
        Assert.True(Released(kept));
    }

    [Fact]
    public void PooledWriter_GrowsKeepingWhatWasWritten()
    {
        var writer = new PooledWriter(100);
        for (var i = 0; i < 50_000; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(writer.GetSpan(4), i);
            writer.Advance(4);
        }

        var payload = writer.ToPayload();
        Assert.Equal(200_000, payload.Length);
        for (var i = 0; i < 50_000; i++)
        {
            Assert.Equal(i, BinaryPrimitives.ReadInt32LittleEndian(payload.Span[(i * 4)..]));
        }

        PooledBody.Release(payload);
        Assert.Throws<ObjectDisposedException>(() => writer.GetSpan());
    }

    private static bool Released(PooledBody body)
    {
        try
        {
            _ = body.Array;
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    private static byte[] Pattern(int seed, int size)
    {
        var bytes = new byte[size];
        Fill(bytes, seed);
        return bytes;
    }

    private static void Fill(Span<byte> bytes, int seed)
    {
        var state = (uint)seed * 2654435761u + 1;
        for (var i = 0; i < bytes.Length; i++)
        {
            state = (state * 1664525u) + 1013904223u;
            bytes[i] = (byte)(state >> 24);
        }
    }

    private static bool IsPattern(ReadOnlySpan<byte> bytes, int seed, int size)
    {
        if (bytes.Length != size)
        {
            return false;
        }

        var state = (uint)seed * 2654435761u + 1;
        for (var i = 0; i < bytes.Length; i++)
        {
            state = (state * 1664525u) + 1013904223u;
            if (bytes[i] != (byte)(state >> 24))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Client, middle and server, each pair joined by a real loopback TCP connection.</summary>
    private sealed class Chain : IAsyncDisposable
    {
        private FramedConnection? _toServer;
        private readonly List<FramedConnection> _connections = [];
        private int _bad;
        private int _served;

        public FramedConnection Client { get; private set; } = null!;

        public int BadRequests => Volatile.Read(ref _bad);

        public int Served => Volatile.Read(ref _served);

        public IMessage? LastForwardedReply { get; private set; }

        public static async Task<Chain> StartAsync()
        {
            var chain = new Chain();
            var (serverSide, middleOut) = await PairAsync();
            var (middleIn, clientSide) = await PairAsync();
            chain._connections.Add(new FramedConnection(serverSide, "middle", dialled: false, new FrameHandlers { Serve = chain.ServeAsync }));
            chain._toServer = new FramedConnection(middleOut, "server", dialled: true);
            chain._connections.Add(chain._toServer);
            chain._connections.Add(new FramedConnection(middleIn, "client", dialled: false, new FrameHandlers { Serve = chain.ForwardAsync }));
            chain.Client = new FramedConnection(clientSide, "middle", dialled: true);
            chain._connections.Add(chain.Client);
            return chain;
        }

        /// <summary>The middle: the request on to the server as it came (a <c>with</c> copy, as a node service makes), its reply back as it came.</summary>
        private async Task<IMessage> ForwardAsync(IMessage request, CancellationToken cancellationToken)
        {
            var forwarded = request is ObjectRequest r ? r with { Puid = 9 } : request;
            var reply = await _toServer!.RequestAsync(forwarded, cancellationToken);
            LastForwardedReply = reply;
            return reply;
        }

        /// <summary>The server: checks the request's pattern, gives it back, answers in a rented reply.</summary>
        private Task<IMessage> ServeAsync(IMessage message, CancellationToken cancellationToken)
        {
            var request = (ObjectRequest)message;
            var seed = (int)(request.Argument & 0xFFFFF);
            var size = (int)(request.Argument >> 20);
            if (!IsPattern(request.Payload.Span, seed, request.Payload.Length) || request.Puid != 9)
            {
                Interlocked.Increment(ref _bad);
            }

            PooledBody.Release(request.Payload);
            var writer = new PooledWriter(size);
            Fill(writer.GetSpan(size)[..size], seed + 1_000_000);
            writer.Advance(size);
            Interlocked.Increment(ref _served);
            return Task.FromResult<IMessage>(new ObjectReply(ObjectStatus.Ok, writer.ToPayload(), 0));
        }

        private static async Task<(Socket Accepted, Socket Dialled)> PairAsync()
        {
            using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var dialled = new Socket(SocketType.Stream, ProtocolType.Tcp);
            var accepting = listener.AcceptAsync();
            await dialled.ConnectAsync(listener.LocalEndPoint!);
            return (await accepting, dialled);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var connection in _connections)
            {
                await connection.DisposeAsync();
            }
        }
    }
}
