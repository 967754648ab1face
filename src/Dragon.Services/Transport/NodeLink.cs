using System.Net.Sockets;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;

namespace Dragon.Services.Transport;

/// <summary>
/// One authenticated TCP connection between two node services, used in both directions: requests from the side
/// that dialled carry even ids, requests from the side that accepted carry odd ids, and a reply echoes its
/// request's id. Frames are the control codec's; TCP's own flow control slows a writer when the reader lags.
/// </summary>
internal sealed class NodeLink : IAsyncDisposable
{
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly PendingReplies _pending;
    private readonly Func<IMessage, CancellationToken, Task<IMessage>> _serve;
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _reader;

    /// <summary>The peer's requests being served here, by id, so its <see cref="CancelRequest"/> can stop one.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, CancellationTokenSource> _serving = new();
    private readonly long _parity;
    private long _nextId;

    public NodeLink(Socket socket, int peerIndex, bool dialled, Func<IMessage, CancellationToken, Task<IMessage>> serve)
    {
        socket.NoDelay = true;
        DetectLossQuickly(socket);
        _stream = new NetworkStream(socket, ownsSocket: true);
        PeerIndex = peerIndex;
        _pending = new PendingReplies(peerIndex < 0 ? "the launcher" : $"node {peerIndex}");
        _parity = dialled ? 0 : 1;
        _serve = serve;
        _reader = Task.Run(ReadLoopAsync);
    }

    /// <summary>Runs the acceptor's handshake; <paramref name="serveFor"/> gives the request handler for the proven peer index.</summary>
    public static async Task<NodeLink> AcceptedAsync(Socket socket, byte[] secret, Func<int, Func<IMessage, CancellationToken, Task<IMessage>>> serveFor, CancellationToken cancellationToken)
    {
        using var handshake = new NetworkStream(socket, ownsSocket: false);
        var peer = await LinkHandshake.AcceptAsync(handshake, secret, cancellationToken).ConfigureAwait(false);
        return new NodeLink(socket, peer, dialled: false, serveFor(peer));
    }

    public static async Task<NodeLink> DialAsync(string endpoint, int peerIndex, int myIndex, byte[] secret, Func<IMessage, CancellationToken, Task<IMessage>> serve, CancellationToken cancellationToken)
    {
        var (host, port) = ParseEndpoint(endpoint);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
            using (var handshake = new NetworkStream(socket, ownsSocket: false))
            {
                await LinkHandshake.ConnectAsync(handshake, secret, myIndex, cancellationToken).ConfigureAwait(false);
            }

            return new NodeLink(socket, peerIndex, dialled: true, serve);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A peer whose host vanishes sends no FIN: keepalive probes every second (3 unanswered end the link) and a 4 s
    /// limit on unacknowledged data make the loss visible within about 5 seconds instead of minutes.
    /// </summary>
    public static void DetectLossQuickly(Socket socket)
    {
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 1);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 1);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
        const int TcpUserTimeout = 18;
        socket.SetRawSocketOption(6 /* IPPROTO_TCP */, TcpUserTimeout, BitConverter.GetBytes(4000));
    }

    public static (string Host, int Port) ParseEndpoint(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        return (endpoint[..colon], int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    public int PeerIndex { get; }

    /// <summary>Completes when the link is gone (peer closed, network error, a bad frame, or disposed).</summary>
    public Task Closed => _reader;

    /// <summary>Why the link ended, once it has (null while it is up).</summary>
    public Exception? LostReason => _pending.LostReason;

    /// <summary>
    /// Sends a request and waits for its reply. A token that fires sends the peer a <see cref="CancelRequest"/> and
    /// the wait goes on for the final reply, passed back unchanged (it may carry what the operation took before it
    /// stopped); the link's loss ends the wait.
    /// </summary>
    public async Task<IMessage> RequestAsync(IMessage request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var id = (Interlocked.Increment(ref _nextId) * 2) + _parity;

        // Fails at once when the reader has already ended: nothing would ever complete the reply.
        var completion = _pending.Add(id);
        try
        {
            try
            {
                // Not cancelled half-way: the peer would see a request it cannot be told to stop.
                await WriteAsync(id, request, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                throw new IOException($"{_pending.Peer} lost: {(_pending.LostReason ?? e).Message}", e);
            }

            using (cancellationToken.Register(static state => { var (link, id) = ((NodeLink, long))state!; _ = link.SendCancelAsync(id); }, (this, id)))
            {
                return await completion.Task.ConfigureAwait(false);
            }
        }
        finally
        {
            _pending.Remove(id);
        }
    }

    /// <summary>Asks the peer to stop request <paramref name="id"/>; a lost link fails the request anyway.</summary>
    private async Task SendCancelAsync(long id)
    {
        try
        {
            await NotifyAsync(new CancelRequest(id), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // The link is gone: its loss fails the request.
        }
    }

    /// <summary>Sends a message that needs no reply (id 0); the peer serves it and answers nothing.</summary>
    public Task NotifyAsync(IMessage notice, CancellationToken cancellationToken) => WriteAsync(0, notice, cancellationToken);

    /// <summary>Frames larger than this travel in chunks, so a large message does not hold the link for others.</summary>
    public const int ChunkBytes = 256 * 1024;

    private const long ChunkFlag = ChunkAssembler.ChunkFlag;

    private async Task WriteAsync(long id, IMessage message, CancellationToken cancellationToken)
    {
        // A large payload is written from the request's own memory, never joined into one more copy.
        var frame = FrameCodec.EncodeParts(id, message);
        var length = 0;
        foreach (var part in frame)
        {
            length += part.Length;
        }

        if (length <= ChunkBytes || id == 0)
        {
            // Notices (id 0) are never chunked: several may be in flight, and they are small.
            await WriteLockedAsync(frame, cancellationToken).ConfigureAwait(false);
            return;
        }

        var bodyLength = length - FrameCodec.HeaderBytes;
        var pieces = new List<ReadOnlyMemory<byte>>();
        for (var offset = 0; offset < bodyLength; offset += ChunkBytes)
        {
            // The first chunk also carries the whole body's length, so the receiver allocates it once.
            var count = Math.Min(ChunkBytes, bodyLength - offset);
            var first = offset == 0;
            var header = new byte[first ? 17 : 13];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(header, header.Length - 4 + count);
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(4), id | ChunkFlag);
            header[12] = offset + count == bodyLength ? (byte)1 : (byte)0;
            if (first)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(13), bodyLength);
            }

            pieces.Clear();
            pieces.Add(header);
            Slice(frame, FrameCodec.HeaderBytes + offset, count, pieces);

            // The lock is taken per chunk: other frames go out between the chunks of a large one.
            await WriteLockedAsync(pieces, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Adds the pieces of <paramref name="parts"/> that cover <paramref name="count"/> bytes from <paramref name="offset"/>.</summary>
    private static void Slice(IReadOnlyList<ReadOnlyMemory<byte>> parts, int offset, int count, List<ReadOnlyMemory<byte>> into)
    {
        foreach (var part in parts)
        {
            if (count == 0)
            {
                return;
            }

            if (offset >= part.Length)
            {
                offset -= part.Length;
                continue;
            }

            var take = Math.Min(count, part.Length - offset);
            into.Add(part.Slice(offset, take));
            offset = 0;
            count -= take;
        }
    }

    private async Task WriteLockedAsync(IReadOnlyList<ReadOnlyMemory<byte>> parts, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FrameCodec.WriteAsync(_stream, parts, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Reads the next whole frame, putting chunked ones back together.</summary>
    private async Task<(long Id, IMessage Message)?> ReadFrameAsync(ChunkAssembler chunks, byte[] chunkBuffer)
    {
        while (await FrameCodec.ReadHeaderAsync(_stream, FrameCodec.MaxFrameBytes, _closing.Token).ConfigureAwait(false) is { } header)
        {
            // Chunks are read into one buffer the assembler copies from, so a large message leaves no garbage of
            // its size behind; a whole frame gets its own body, which the decoded message keeps.
            var frame = (header.Id & ChunkFlag) != 0 && header.BodyLength <= chunkBuffer.Length
                ? await ReadChunkAsync(chunks, header.Id, chunkBuffer.AsMemory(0, header.BodyLength)).ConfigureAwait(false)
                : chunks.Add(header.Id, await FrameCodec.ReadBodyAsync(_stream, header.BodyLength, _closing.Token).ConfigureAwait(false));
            if (frame is not null)
            {
                return frame;
            }
        }

        return null;
    }

    private async Task<(long Id, IMessage Message)?> ReadChunkAsync(ChunkAssembler chunks, long rawId, Memory<byte> body)
    {
        await FrameCodec.ReadBodyIntoAsync(_stream, body, _closing.Token).ConfigureAwait(false);
        return chunks.AddChunk(rawId, body.Span);
    }

    private async Task ReadLoopAsync()
    {
        Exception reason = new IOException($"the link to {_pending.Peer} closed");
        try
        {
            var chunks = new ChunkAssembler(_pending.Peer);
            var chunkBuffer = new byte[1 + 4 + ChunkBytes];
            while (await ReadFrameAsync(chunks, chunkBuffer).ConfigureAwait(false) is { } frame)
            {
                if (frame.Id == 0 && frame.Message is CancelRequest cancel)
                {
                    Node.ControlSession.Cancel(_serving, cancel.RequestId);
                }
                else if (frame.Id == 0)
                {
                    // Notices are served in order, on this reader, before the next frame is read.
                    try
                    {
                        await _serve(frame.Message, _closing.Token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is Global.ServiceException or InvalidOperationException or KeyNotFoundException)
                    {
                        // A notice about something already gone: nothing to answer.
                    }
                }
                else if ((frame.Id & 1) == _parity)
                {
                    _pending.Complete(frame.Id, frame.Message);
                }
                else
                {
                    // Registered before the next frame is read, so a cancel that follows finds it.
                    var serving = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
                    _serving[frame.Id] = serving;
                    _ = ServeAsync(frame.Id, frame.Message, serving);
                }
            }
        }
        catch (InvalidDataException e)
        {
            reason = new InvalidDataException($"{_pending.Peer} sent a bad frame: {e.Message}");
        }
        catch (Exception e)
        {
            // Whatever ended the reader, every request waiting on this link must hear of it.
            reason = e;
        }
        finally
        {
            // The link is unusable now: close it, so the peer sees the end too and nothing new is written into it.
            _stream.Dispose();
            _pending.FailAll(reason);
        }
    }

    private async Task ServeAsync(long id, IMessage request, CancellationTokenSource serving)
    {
        IMessage reply;
        try
        {
            reply = await _serve(request, serving.Token).ConfigureAwait(false);
        }
        catch (Global.ServiceException e)
        {
            reply = e.ToReply();
        }
        catch (OperationCanceledException) when (serving.IsCancellationRequested && !_closing.IsCancellationRequested)
        {
            reply = new ErrorReply(ErrorKind.Cancelled, $"{request.GetType().Name} was cancelled");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            reply = new ErrorReply(ErrorKind.Internal, $"{request.GetType().Name} failed on the remote node: {e.Message}");
        }

        try
        {
            await WriteAsync(id, reply, _closing.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            _serving.TryRemove(id, out _);
            serving.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        _stream.Dispose();
        try
        {
            await _reader.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
        }

        _closing.Dispose();
        _writeLock.Dispose();
    }
}
