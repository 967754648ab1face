using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Dragon.Runtime.Protocol;

/// <summary>What a <see cref="FramedConnection"/> does with what the peer sends it besides replies.</summary>
internal sealed class FrameHandlers
{
    /// <summary>Serves one request; runs on its own, so a long request never holds up a short one.</summary>
    public Func<IMessage, CancellationToken, Task<IMessage>>? Serve { get; init; }

    /// <summary>
    /// Serves one notice (id 0). Notices are served in arrival order on the reader, before the next frame is read, so
    /// a handler must not wait for anything slow: what it needs to wait for it hands on.
    /// </summary>
    public Func<IMessage, CancellationToken, ValueTask>? Notice { get; init; }

    /// <summary>A reply that could not be written (the connection ended first): the request and the reply it lost.</summary>
    public Action<IMessage, IMessage>? Undelivered { get; init; }

    /// <summary>A request whose handler threw something other than a cancellation: for the log.</summary>
    public Action<IMessage, Exception>? ServeFailed { get; init; }
}

/// <summary>
/// The one framed request/reply connection of the runtime: a process's control socket to its node service (both
/// ends) and the TCP links between services use it alike. Either side may send requests (even ids from the side
/// that dialled, odd from the side that accepted), notices (id 0, served in order) and replies (the request's id).
/// <list type="bullet">
/// <item>Requests are pipelined: any number are in flight, each completed by the single reader.</item>
/// <item>Writes are coalesced: frames queued while a write is under way go out together in one scatter write (one
/// system call), so a busy connection pays one syscall per batch, not per message. A request on an idle connection
/// is written by its caller at once; a notice's write starts on the thread pool, so a stream of notices batches.</item>
/// <item>A frame over <see cref="ChunkBytes"/> travels in chunks, one chunk per batch, so a large message never holds
/// the connection for the others. Notices are never chunked (their order is their meaning).</item>
/// <item>Cancel is a notice (<see cref="CancelRequest"/>): the serving side stops the operation and its one final
/// reply says what was done.</item>
/// <item>When the reader ends (peer closed, I/O error, a bad frame), every request waiting and every later one fails
/// with the reason.</item>
/// </list>
/// </summary>
internal sealed class FramedConnection : IAsyncDisposable
{
    /// <summary>
    /// The kernel's buffers of a control socket (a process and its node service), each way. The default (208 KiB) holds
    /// less than one large reply, so a reply of a mebibyte took several wake-ups of each side; with these, 1 MB
    /// dictionary reads from another node went 25-35% faster (three runs each). The kernel uses the room only while
    /// data waits in it, and caps it at <c>net.core.wmem_max</c>/<c>rmem_max</c>.
    /// </summary>
    public const int ControlBufferBytes = 2 << 20;

    /// <summary>Sizes a control socket's kernel buffers (<see cref="ControlBufferBytes"/>); both ends do.</summary>
    public static void SizeControlBuffers(Socket socket)
    {
        socket.SendBufferSize = ControlBufferBytes;
        socket.ReceiveBufferSize = ControlBufferBytes;
    }

    /// <summary>Frames larger than this travel in chunks.</summary>
    public const int ChunkBytes = 256 * 1024;

    // The largest frame a chunk makes: its prefix (first or not, and the whole length in a first) and its data.
    private const int MaxChunkFrameBytes = ChunkAssembler.MaxPrefixBytes + ChunkBytes;

    /// <summary>Most bytes gathered into one write.</summary>
    private const int BatchBytes = 512 * 1024;

    /// <summary>Chunks of a lone large frame gathered into one write when nothing else waits to go.</summary>
    private const int LoneChunksPerWrite = 4;

    /// <summary>Most pieces gathered into one write (the kernel takes at most 1,024 per call).</summary>
    private const int BatchPieces = 256;

    /// <summary>Bytes read from the socket at once; small frames are then cut from this buffer without a system call.</summary>
    private const int ReadBufferBytes = 64 * 1024;

    private readonly Socket _socket;

    /// <summary>The socket under the connection, for what the kernel knows of it (TCP_INFO); not for reading or writing.</summary>
    public Socket Socket => _socket;
    private readonly Stream _input;
    private int _inputClosed;
    private readonly PendingReplies _pending;
    private readonly FrameHandlers _handlers;
    private readonly CancellationTokenSource _closing = new();
    private readonly long _parity;
    private readonly ConcurrentDictionary<long, CancellationTokenSource> _serving = new();
    private Task _reader = Task.CompletedTask;
    private long _nextId;

    private readonly Lock _outLock = new();
    private readonly Queue<Outgoing> _queue = new();
    private readonly List<Chunked> _chunking = [];
    private bool _writing;
    private long _lastWriteEnd;
    private int _requestsOut;
    private int _servingCount;

    /// <summary>Notices that follow the last write within this are a stream: their write is deferred to batch them.</summary>
    private static readonly TimeSpan s_streaming = TimeSpan.FromMilliseconds(1);
    private Exception? _writeFailed;

    /// <summary>Takes over <paramref name="socket"/> (already past any hello or handshake) and starts reading.</summary>
    /// <param name="socket">The connected socket; the connection owns it from now on.</param>
    /// <param name="peer">Who is at the other end, for error messages ("node 2", "the node service").</param>
    /// <param name="dialled">True on the side that made the connection (its requests get even ids).</param>
    /// <param name="handlers">What to do with the peer's requests and notices (none: it sends only replies).</param>
    /// <param name="lost">Makes the error a request gets once the connection is gone; by default an
    /// <see cref="IOException"/> "{peer} lost: {reason}".</param>
    /// <param name="start">False to start reading later with <see cref="Start"/> (once the owner has set up what
    /// the handlers use).</param>
    public FramedConnection(Socket socket, string peer, bool dialled, FrameHandlers? handlers = null, Func<string, Exception, Exception>? lost = null, bool start = true)
    {
        _socket = socket;
        _input = new BufferedStream(new NetworkStream(socket, ownsSocket: true), ReadBufferBytes);
        _pending = lost is null ? new PendingReplies(peer) : new PendingReplies(peer, lost);
        _handlers = handlers ?? new FrameHandlers();
        _parity = dialled ? 0 : 1;
        if (start)
        {
            Start();
        }
    }

    /// <summary>Starts reading (once; a connection made with start: false).</summary>
    public void Start() => _reader = Task.Run(ReadLoopAsync);

    /// <summary>Who is at the other end.</summary>
    public string Peer => _pending.Peer;

    /// <summary>The node index at the other end of a link (-1 for the launcher); not used for control sockets.</summary>
    public int PeerIndex { get; init; } = -1;

    /// <summary>Completes when the connection is gone (peer closed, I/O error, a bad frame, or disposed).</summary>
    public Task Closed => _reader;

    /// <summary>Why the connection ended, once it has (null while it is up).</summary>
    public Exception? LostReason => _pending.LostReason;

    /// <summary>
    /// Sends a request and waits for its one reply. A token that fires sends the peer a <see cref="CancelRequest"/>
    /// and the wait goes on for the final reply, which says what was done (a result the operation reached before it
    /// stopped is never dropped); only the connection's loss ends the wait without a reply.
    /// </summary>
    public Task<IMessage> RequestAsync(IMessage request, CancellationToken cancellationToken) => RequestAsync(request, relay: false, cancellationToken);

    /// <summary>
    /// As <see cref="RequestAsync(IMessage, CancellationToken)"/>; with <paramref name="relay"/>, what awaits the reply
    /// runs on this connection's reader as the reply comes, rather than on the thread pool: for a node service that
    /// passes a process's request on and its reply back, so the reply goes on without waiting for a thread. What awaits
    /// must only hand the reply on (queue or start a write), never block.
    /// </summary>
    public async Task<IMessage> RequestAsync(IMessage request, bool relay, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var id = (Interlocked.Increment(ref _nextId) * 2) + _parity;

        // Fails at once when the reader has already ended: nothing would ever complete the reply.
        var completion = _pending.Add(id, inline: relay);
        // Requests already awaiting their replies: then this one is part of a stream of them.
        var others = Interlocked.Increment(ref _requestsOut) - 1;
        try
        {
            // Queued whole before this method first yields, so requests and notices given in order go out in order.
            await EnqueueAsync(id, request, onDropped: null, defer: others > 0).ConfigureAwait(false);
            using (cancellationToken.Register(static state => { var (connection, id) = ((FramedConnection, long))state!; connection.SendCancel(id); }, (this, id)))
            {
                return await completion.Task.ConfigureAwait(false);
            }
        }
        finally
        {
            _pending.Remove(id);
            Interlocked.Decrement(ref _requestsOut);
        }
    }

    /// <summary>
    /// Sends a message that needs no reply (id 0); notices arrive and are served in the order given. Completes once
    /// the notice is queued or written (the caller may have written a batch itself).
    /// </summary>
    /// <exception cref="IOException">The connection is gone (or the error the connection's lost factory makes).</exception>
    public ValueTask NotifyAsync(IMessage notice) => EnqueueAsync(0, notice, onDropped: null, defer: true);

    /// <summary>
    /// Waits until everything queued so far was written (or the connection failed), up to <paramref name="timeout"/>;
    /// for a process that is about to exit with notices still queued. False if writes were still under way.
    /// </summary>
    public bool WaitWritten(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            lock (_outLock)
            {
                if (!_writing || _writeFailed is not null)
                {
                    return true;
                }
            }

            if (Environment.TickCount64 >= deadline)
            {
                return false;
            }

            Thread.Sleep(1);
        }
    }

    private void SendCancel(long id)
    {
        try
        {
            _ = EnqueueAsync(0, new CancelRequest(id), onDropped: null);
        }
        catch (Exception)
        {
            // The connection is gone: its loss fails the request.
        }
    }

    /// <summary>Queues a frame, and writes it (with whatever else is queued) unless a write is under way.</summary>
    /// <param name="id">The frame's id (0 for a notice).</param>
    /// <param name="message">What it carries.</param>
    /// <param name="onDropped">Called if the frame is never written (the connection ended first).</param>
    /// <param name="defer">True for notices, for a request while others await their replies, and for a reply while
    /// other requests are being served: while such messages stream (the last write ended under a millisecond ago) the
    /// write of an idle connection starts on the thread pool instead of on the caller, so a sender that streams
    /// (puts, their reports, pipelined requests and their replies) queues several before the write takes them all
    /// in one system call; a lone notice, request or reply (a ping-pong) is written at once, for latency.</param>
    private ValueTask EnqueueAsync(long id, IMessage message, Action? onDropped, bool defer = false)
    {
        var parts = FrameCodec.EncodeParts(id, message);
        var length = 0;
        foreach (var part in parts)
        {
            length += part.Length;
        }

        // A rented payload (a message this side decoded and now sends on) goes back to the pool once written, even
        // one the frame copied: a reply that is never written is still read (Undelivered gives a taken message
        // back to its channel).
        var written = PooledBody.Of(message);

        lock (_outLock)
        {
            if (_writeFailed is { } failed)
            {
                onDropped?.Invoke();
                throw _pending.LostError(_pending.LostReason ?? failed);
            }

            if (length > ChunkBytes && id != 0)
            {
                // It takes its place in the queue: its first chunk goes out after what was queued before it and
                // before what is queued after it (a cancel of it must not arrive before it has begun).
                _queue.Enqueue(new Outgoing([], ChunkBytes, onDropped, null, new Chunked(id, parts, length - FrameCodec.HeaderBytes, onDropped, written)));
            }
            else
            {
                _queue.Enqueue(new Outgoing(parts, length, onDropped, written));
            }

            if (_writing)
            {
                // The writer under way takes it with its next batch.
                return ValueTask.CompletedTask;
            }

            _writing = true;
        }

        // A notice deferred only while notices stream (the last write ended moments ago): an idle connection writes
        // at once, so a lone message (a ping-pong) pays no thread hop.
        if (defer && Stopwatch.GetElapsedTime(Volatile.Read(ref _lastWriteEnd)) < s_streaming)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static connection => _ = connection.WriteLoopAsync(), this, preferLocal: false);
            return ValueTask.CompletedTask;
        }

        // This caller becomes the writer: it writes what is queued, and what others queue meanwhile, until the queue
        // is empty. A socket with room takes the batch without waiting, so an idle connection pays no thread hop.
        return new ValueTask(WriteLoopAsync());
    }

    private async Task WriteLoopAsync()
    {
        var pieces = new List<ArraySegment<byte>>(16);
        var dropped = new List<Action>();
        var written = new List<PooledBody>();
        while (true)
        {
            pieces.Clear();
            dropped.Clear();
            written.Clear();
            lock (_outLock)
            {
                if (_queue.Count == 0 && _chunking.Count == 0)
                {
                    _writing = false;
                    Volatile.Write(ref _lastWriteEnd, Stopwatch.GetTimestamp());
                    return;
                }

                var bytes = 0;
                while (_queue.Count > 0 && pieces.Count < BatchPieces && (bytes == 0 || bytes + _queue.Peek().Length <= BatchBytes))
                {
                    var next = _queue.Dequeue();
                    bytes += next.Length;
                    if (next.Chunked is { } chunked)
                    {
                        // Its first chunk ends this batch (below), so nothing queued after it goes first.
                        _chunking.Add(chunked);
                        break;
                    }

                    foreach (var part in next.Parts)
                    {
                        pieces.Add(Segment(part));
                    }

                    if (next.OnDropped is not null)
                    {
                        dropped.Add(next.OnDropped);
                    }

                    if (next.Written is not null)
                    {
                        written.Add(next.Written);
                    }
                }

                // One chunk of each large frame under way, so they share the connection with everything else; a lone
                // large frame with nothing queued behind it goes a few chunks to a write (fewer system calls and
                // wake-ups on both sides, and the others wait no longer than one write).
                for (var i = 0; i < _chunking.Count; i++)
                {
                    var last = _chunking[i].NextChunk(pieces);
                    for (var more = 1; !last && more < LoneChunksPerWrite && _chunking.Count == 1 && _queue.Count == 0 && pieces.Count < BatchPieces - 8; more++)
                    {
                        last = _chunking[i].NextChunk(pieces);
                    }

                    if (last)
                    {
                        if (_chunking[i].OnDropped is { } onDropped)
                        {
                            dropped.Add(onDropped);
                        }

                        if (_chunking[i].Written is { } body)
                        {
                            written.Add(body);
                        }

                        _chunking.RemoveAt(i--);
                    }
                }
            }

            try
            {
                await _socket.SendAsync(pieces, SocketFlags.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                // What was not written is not given back: a reply that never reached its process may still be read
                // (Undelivered puts a taken message back into its channel); the GC takes those arrays.
                FailWrites(e, dropped);
                return;
            }

            foreach (var body in written)
            {
                body.Release();
            }
        }
    }

    /// <summary>A write failed: nothing more can go out. Drops what is queued and closes the socket so the reader ends.</summary>
    private void FailWrites(Exception reason, List<Action> dropped)
    {
        lock (_outLock)
        {
            _writeFailed ??= reason;
            _writing = false;
            foreach (var queued in _queue)
            {
                if (queued.OnDropped is not null)
                {
                    dropped.Add(queued.OnDropped);
                }
            }

            foreach (var chunked in _chunking)
            {
                if (chunked.OnDropped is not null)
                {
                    dropped.Add(chunked.OnDropped);
                }
            }

            _queue.Clear();
            _chunking.Clear();
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        foreach (var onDropped in dropped)
        {
            onDropped();
        }
    }

    private static ArraySegment<byte> Segment(ReadOnlyMemory<byte> part) =>
        MemoryMarshal.TryGetArray(part, out var segment) ? segment : new ArraySegment<byte>(part.ToArray());

    private async Task ReadLoopAsync()
    {
        Exception reason = new IOException($"{Peer} closed the connection");
        var chunks = new ChunkAssembler(Peer);
        try
        {
            var header = new byte[FrameCodec.HeaderBytes];
            // A chunk's few bytes of prefix; its data goes straight into the body being put together.
            var prefixBuffer = new byte[ChunkAssembler.MaxPrefixBytes];
            var cancelledEarly = new HashSet<long>();
            while (await ReadFrameAsync(chunks, header, prefixBuffer).ConfigureAwait(false) is { } frame)
            {
                if (frame.Id == 0)
                {
                    if (frame.Message is CancelRequest cancel)
                    {
                        if (!Cancel(cancel.RequestId) && chunks.IsAssembling(cancel.RequestId))
                        {
                            // Its request is still arriving in chunks: it is cancelled as soon as it is whole.
                            cancelledEarly.Add(cancel.RequestId);
                        }
                    }
                    else if (_handlers.Notice is { } notice)
                    {
                        await notice(frame.Message, _closing.Token).ConfigureAwait(false);
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
                    Interlocked.Increment(ref _servingCount);
                    if (cancelledEarly.Remove(frame.Id))
                    {
                        serving.Cancel();
                    }

                    _ = ServeAsync(frame.Id, frame.Message, serving);
                }
            }
        }
        catch (InvalidDataException e)
        {
            reason = new InvalidDataException($"{Peer} sent a bad frame: {e.Message}", e);
        }
        catch (Exception e)
        {
            // Whatever ended the reader, every request waiting on this connection must hear of it.
            reason = e;
        }
        finally
        {
            // The connection is unusable now: close it, so the peer sees the end too and nothing new is queued.
            lock (_outLock)
            {
                _writeFailed ??= reason;
            }

            CloseInput();
            chunks.Clear();
            _pending.FailAll(reason);

            // Whatever the peer asked for is stopped: nobody will read the replies (a send it started is withdrawn,
            // a receive stops taking messages on its behalf).
            foreach (var (id, _) in _serving)
            {
                Cancel(id);
            }
        }
    }

    /// <summary>Stops a request being served; false when none has this id (a cancel for one that already ended).</summary>
    private bool Cancel(long id)
    {
        if (!_serving.TryGetValue(id, out var request))
        {
            return false;
        }

        try
        {
            request.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // It ended meanwhile.
        }

        return true;
    }

    /// <summary>Reads the next whole frame, putting chunked ones back together.</summary>
    private async Task<(long Id, IMessage Message)?> ReadFrameAsync(ChunkAssembler chunks, byte[] header, byte[] prefixBuffer)
    {
        while (await FrameCodec.ReadHeaderAsync(_input, header, FrameCodec.MaxFrameBytes, _closing.Token).ConfigureAwait(false) is { } next)
        {
            // A chunk's data is read straight into the body being put together (rented, so a large message leaves
            // no garbage of its size behind), after its few bytes of prefix; a whole frame gets its own body, which
            // the decoded message keeps.
            (long Id, IMessage Message)? frame;
            if ((next.Id & ChunkAssembler.ChunkFlag) != 0 && next.BodyLength <= MaxChunkFrameBytes)
            {
                var prefixBytes = chunks.PrefixBytes(next.Id, next.BodyLength);
                var prefix = prefixBuffer.AsMemory(0, prefixBytes);
                await FrameCodec.ReadBodyIntoAsync(_input, prefix, _closing.Token).ConfigureAwait(false);
                var dataLength = next.BodyLength - prefixBytes;
                var data = chunks.BeginChunk(next.Id, prefix.Span, dataLength);
                await FrameCodec.ReadBodyIntoAsync(_input, data, _closing.Token).ConfigureAwait(false);
                frame = chunks.EndChunk(next.Id, prefixBuffer[0] == 1, dataLength);
            }
            else if (PooledBody.Fits(next.BodyLength) && next.BodyLength <= MaxChunkFrameBytes)
            {
                // A large whole frame (a value of tens of kilobytes) into a rented body, as much as a first chunk
                // would take: its length alone never makes this side allocate more than that.
                var body = PooledBody.Rent(next.BodyLength);
                try
                {
                    await FrameCodec.ReadBodyIntoAsync(_input, body.Array.AsMemory(0, next.BodyLength), _closing.Token).ConfigureAwait(false);
                }
                catch
                {
                    body.Release();
                    throw;
                }

                frame = chunks.Add(next.Id, body);
            }
            else
            {
                frame = chunks.Add(next.Id, await FrameCodec.ReadBodyAsync(_input, next.BodyLength, _closing.Token).ConfigureAwait(false));
            }

            if (frame is not null)
            {
                return frame;
            }
        }

        return null;
    }

    private async Task ServeAsync(long id, IMessage request, CancellationTokenSource serving)
    {
        IMessage reply;
        var others = 0;
        try
        {
            reply = _handlers.Serve is { } serve
                ? await serve(request, serving.Token).ConfigureAwait(false)
                : new ErrorReply(ErrorKind.InvalidArgument, $"{Peer} sent a request ({request.GetType().Name}) where none is served");
        }
        catch (OperationCanceledException) when (serving.IsCancellationRequested)
        {
            reply = new ErrorReply(ErrorKind.Cancelled, $"{request.GetType().Name} was cancelled");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _handlers.ServeFailed?.Invoke(request, e);
            reply = new ErrorReply(ErrorKind.Internal, $"{request.GetType().Name} failed: {e.Message}");
        }
        finally
        {
            _serving.TryRemove(id, out _);
            // Other requests still being served: their replies follow this one, and may go in the same write.
            others = Interlocked.Decrement(ref _servingCount);
        }

        serving.Dispose();
        var undelivered = _handlers.Undelivered is { } handler ? () => handler(request, reply) : (Action?)null;
        try
        {
            await EnqueueAsync(id, reply, undelivered, defer: others > 0).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or DragonException)
        {
            // The peer is gone; the reply was handed to the undelivered handler.
        }
        catch (Exception e)
        {
            // A reply that cannot be encoded: the peer still gets one, naming why, rather than wait for ever.
            _handlers.ServeFailed?.Invoke(request, e);
            try
            {
                await EnqueueAsync(id, new ErrorReply(ErrorKind.Internal, $"the reply to {request.GetType().Name} could not be sent: {e.Message}"), onDropped: null).ConfigureAwait(false);
            }
            catch (Exception again) when (again is IOException or DragonException)
            {
            }
        }
    }

    /// <summary>
    /// Closes the input, once: the reader closes it when it ends and <see cref="DisposeAsync"/> closes it to end the
    /// reader, and a <see cref="BufferedStream"/> disposed by two threads at once fails inside its own Dispose.
    /// </summary>
    private void CloseInput()
    {
        if (Interlocked.Exchange(ref _inputClosed, 1) == 0)
        {
            _input.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        CloseInput();
        try
        {
            await _reader.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
        }

        _closing.Dispose();
    }

    /// <summary>A frame queued whole; <paramref name="Written"/> is a rented payload to give back once it is written.</summary>
    /// <summary>A frame to write whole, or (<paramref name="Chunked"/>) the place in the queue of a frame going in chunks.</summary>
    private readonly record struct Outgoing(IReadOnlyList<ReadOnlyMemory<byte>> Parts, int Length, Action? OnDropped, PooledBody? Written, Chunked? Chunked = null);

    /// <summary>A frame going out in chunks; the first chunk also carries the whole body's length.</summary>
    private sealed class Chunked(long id, IReadOnlyList<ReadOnlyMemory<byte>> parts, int bodyLength, Action? onDropped, PooledBody? written)
    {
        private int _offset;

        public Action? OnDropped => onDropped;

        /// <summary>A rented payload to give back once the last chunk is written.</summary>
        public PooledBody? Written => written;

        /// <summary>Adds the next chunk's pieces; true when it was the last.</summary>
        public bool NextChunk(List<ArraySegment<byte>> into)
        {
            var count = Math.Min(ChunkBytes, bodyLength - _offset);
            var first = _offset == 0;
            var last = _offset + count == bodyLength;
            var header = new byte[first ? 17 : 13];
            BinaryPrimitives.WriteInt32LittleEndian(header, header.Length - 4 + count);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(4), id | ChunkAssembler.ChunkFlag);
            header[12] = last ? (byte)1 : (byte)0;
            if (first)
            {
                BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(13), bodyLength);
            }

            into.Add(header);
            Slice(FrameCodec.HeaderBytes + _offset, count, into);
            _offset += count;
            return last;
        }

        /// <summary>Adds the pieces of the frame that cover <paramref name="count"/> bytes from <paramref name="offset"/>.</summary>
        private void Slice(int offset, int count, List<ArraySegment<byte>> into)
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
                into.Add(Segment(part.Slice(offset, take)));
                offset = 0;
                count -= take;
            }
        }
    }
}
