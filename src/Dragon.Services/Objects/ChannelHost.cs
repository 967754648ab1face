using Dragon.Channels.Internal;
using Dragon.Runtime.Protocol;

namespace Dragon.Services.Objects;

/// <summary>
/// A channel's home: owns the shared-memory ring (processes on this node use it directly), serves the operations
/// of processes on other nodes, including TaskDone and Join of a joinable queue (whose count lives in the ring).
/// The service keeps the ring mapped only while it uses it: an idle ring may be unmapped (<see cref="MappedRings"/>)
/// and is mapped again at its next operation, which is always counted in flight first (<see cref="Ring"/>).
/// </summary>
internal sealed class ChannelHost : HostedObject
{
    /// <summary>Blocking ring calls run in slices so a request whose caller went away stops waiting soon.</summary>
    private static readonly TimeSpan s_slice = TimeSpan.FromMilliseconds(200);

    private readonly string _path;
    private readonly int _maxMessageSize;
    private readonly Lock _mapLock = new();
    private ShmRing? _ring;
    private int _referenced;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<CancellationTokenSource, ulong> _callers = new();
    private int _inFlight;
    private volatile bool _destroyed;

    public ChannelHost(ObjectDescriptor descriptor)
        : base(descriptor)
    {
        _path = descriptor.ShmPath!;
        _ring = ShmRing.Create(_path, (int)descriptor.Capacity, (int)descriptor.SlotSize, (int)descriptor.MaxMessageBytes, joinable: descriptor.Flag);
        _maxMessageSize = _ring.MaxMessageSize;
        _referenced = 1;
        MappedRings.Added(this);
    }

    /// <summary>The ring's traffic when it was last read (<see cref="ReadTraffic(ref int, long)"/>), and when, for a ring not mapped here.</summary>
    private ShmRingTraffic _traffic;
    private long _trafficAt;

    /// <summary>This host's place among the mapped rings (-1 while unmapped); kept by <see cref="MappedRings"/> under its lock.</summary>
    internal int MappedSlot { get; set; } = -1;

    /// <summary>
    /// The ring, mapped again if it was unmapped. Only with the operation counted in <see cref="_inFlight"/> first:
    /// an unmap gives up when it sees an operation inside (<see cref="TryUnmap"/>).
    /// </summary>
    private ShmRing Ring
    {
        get
        {
            Volatile.Write(ref _referenced, 1);
            return Volatile.Read(ref _ring) ?? MapIn();
        }
    }

    private ShmRing MapIn()
    {
        ShmRing ring;
        lock (_mapLock)
        {
            if (_ring is { } mapped)
            {
                return mapped;
            }

            if (_destroyed)
            {
                throw new InvalidOperationException($"channel {Descriptor.Name} was destroyed");
            }

            ring = ShmRing.Open(_path);
            Volatile.Write(ref _ring, ring);
        }

        MappedRings.Added(this);
        return ring;
    }

    /// <summary>True while an operation is inside the ring: a sweep passes it over.</summary>
    internal bool Busy => Volatile.Read(ref _inFlight) != 0;

    /// <summary>True if the ring was used since the last call (and clears the mark): the clock sweep passes it over once.</summary>
    internal bool TakeReferenced() => Interlocked.Exchange(ref _referenced, 0) != 0;

    /// <summary>
    /// Unmaps the ring unless an operation is inside. The ring is taken away first and the count looked at after
    /// (both full fences), so an operation either is seen here or, counted after, finds no ring and maps it again.
    /// </summary>
    internal bool TryUnmap()
    {
        ShmRing? ring;
        lock (_mapLock)
        {
            ring = _ring;
            if (ring is null)
            {
                return true;
            }

            Interlocked.Exchange(ref _ring, null);
            if (Volatile.Read(ref _inFlight) != 0)
            {
                Volatile.Write(ref _ring, ring);
                return false;
            }
        }

        // Its figures as it goes: samples report them until the ring is read again.
        _traffic = ring.Traffic;
        _trafficAt = Environment.TickCount64;
        ring.Dispose();
        return true;
    }

    /// <summary>
    /// One quick operation on the ring, counted in flight so the ring stays mapped under it. A channel destroyed
    /// meanwhile answers Destroyed; a ring that cannot be mapped again answers Closed, naming why.
    /// </summary>
    private ObjectReply WithRing(Func<ShmRing, ObjectReply> use)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            return _destroyed ? Reply(ObjectStatus.Destroyed) : use(Ring);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or InvalidDataException or ObjectDisposedException)
        {
            return _destroyed ? Reply(ObjectStatus.Destroyed) : new ObjectReply(ObjectStatus.Closed, System.Text.Encoding.UTF8.GetBytes(e.Message), 0);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public override Task<ObjectReply> HandleAsync(ObjectRequest request, CancellationToken cancellationToken)
    {
        if (_destroyed)
        {
            return Task.FromResult(Reply(ObjectStatus.Destroyed));
        }

        switch (request.Op)
        {
            case ObjectOp.Send:
                if (request.Payload.Length > _maxMessageSize)
                {
                    return Task.FromResult(new ObjectReply(ObjectStatus.Invalid, System.Text.Encoding.UTF8.GetBytes(
                        $"a message of {request.Payload.Length} bytes is larger than the channel allows ({_maxMessageSize} bytes)"), 0));
                }

                return ServeAsync(request, SendSlice(request.Payload.Length), (timeout, token) => Ring.TrySend(request.Payload.Span, timeout, token) ? Ok() : null, cancellationToken);
            case ObjectOp.Receive:
                return ServeAsync(request, s_slice, (timeout, token) => Ring.TryReceive(timeout, token) is { } message ? new ObjectReply(ObjectStatus.Ok, message, 0) : null, cancellationToken);
            case ObjectOp.Poll:
                return Task.FromResult(WithRing(ring => Ok(ring.IsClosed ? 1 : 0)));
            case ObjectOp.CloseChannel:
                return CloseAfterInboxAsync(cancellationToken);
            case ObjectOp.TaskDone:
                return Task.FromResult(WithRing(ring => ring.TaskDone()
                    ? Ok(ring.Unfinished)
                    : new ObjectReply(ObjectStatus.Invalid, "TaskDone called more times than items were put"u8.ToArray(), 0)));
            case ObjectOp.JoinQueue:
                return ServeAsync(request, s_slice, (timeout, token) => Ring.WaitAllDone(timeout, token) ? Ok() : null, cancellationToken);
            default:
                return Invalid(request, "a channel");
        }
    }

    /// <summary>
    /// Serves a send or receive for a process of another node: one try on the thread pool (most calls find room or
    /// a message at once), then, if it must wait, a dedicated thread that waits in slices until it succeeds, the
    /// channel ends, the timeout passes, the request is cancelled, or the caller exits. The ring honours the
    /// token within one of its 20 ms wait slices and takes nothing on a cancel; a message taken as the cancel came
    /// is the reply (the cancelling chain hands it back to the caller).
    /// </summary>
    private async Task<ObjectReply> ServeAsync(ObjectRequest request, TimeSpan slice, Func<TimeSpan, CancellationToken, ObjectReply?> attempt, CancellationToken cancellationToken)
    {
        var deadline = request.TimeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + request.TimeoutMs;
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _callers[caller] = request.Puid;
        try
        {
            var reply = await Task.Run(() => Attempt(request, attempt, TimeSpan.Zero, caller.Token, cancellationToken), CancellationToken.None).ConfigureAwait(false);
            if (reply is null && request.TimeoutMs != 0)
            {
                reply = await Task.Factory.StartNew(
                    () => BlockingLoop(request, deadline, slice, attempt, caller.Token, cancellationToken),
                    CancellationToken.None,
                    TaskCreationOptions.LongRunning,
                    TaskScheduler.Default).ConfigureAwait(false);
            }

            return reply ?? Reply(ObjectStatus.TimedOut);
        }
        finally
        {
            _callers.TryRemove(caller, out _);
        }
    }

    private ObjectReply BlockingLoop(ObjectRequest request, long deadline, TimeSpan slice, Func<TimeSpan, CancellationToken, ObjectReply?> attempt, CancellationToken caller, CancellationToken cancelled)
    {
        while (!caller.IsCancellationRequested)
        {
            var left = deadline == long.MaxValue
                ? slice
                : TimeSpan.FromMilliseconds(Math.Max(0, Math.Min(deadline - Environment.TickCount64, slice.TotalMilliseconds)));
            if (Attempt(request, attempt, left, caller, cancelled) is { } reply)
            {
                return reply;
            }

            if (Environment.TickCount64 >= deadline)
            {
                break;
            }
        }

        return Stopped(caller, cancelled);
    }

    /// <summary>Cancelled when the request was; timed out when the deadline passed or the caller exited.</summary>
    private static ObjectReply Stopped(CancellationToken caller, CancellationToken cancelled) =>
        Reply(caller.IsCancellationRequested && cancelled.IsCancellationRequested ? ObjectStatus.Cancelled : ObjectStatus.TimedOut);

    /// <summary>One ring call, counted in flight so <see cref="Destroy"/> does not unmap the ring under it.</summary>
    private ObjectReply? Attempt(ObjectRequest request, Func<TimeSpan, CancellationToken, ObjectReply?> attempt, TimeSpan timeout, CancellationToken caller, CancellationToken cancelled)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            if (_destroyed)
            {
                return Reply(ObjectStatus.Destroyed);
            }

            if (caller.IsCancellationRequested)
            {
                return Stopped(caller, cancelled);
            }

            // A send for a producer that exited keeps its slice, as it always did: a large message that a consumer is
            // draining may still complete whole. Only a cancel request stops a send at once (withdrawn, nothing sent).
            var reply = attempt(timeout, request.Op == ObjectOp.Send ? cancelled : caller);
            if (reply is { Status: ObjectStatus.Ok } && request.Op == ObjectOp.Receive && caller.IsCancellationRequested && !cancelled.IsCancellationRequested)
            {
                // The caller exited while this receive waited on its behalf: nobody will read the reply. Hand the
                // message to the next receiver rather than lose it. It goes to the back of the queue: the ring
                // cannot put it back at the front, since the slots it left may already hold a producer's next
                // message. (A request that was cancelled instead keeps the message: the reply carries it back.)
                Ring.TryRequeue(reply.Payload.Span, s_slice * 10);
                return Reply(ObjectStatus.TimedOut);
            }

            return reply;
        }
        catch (OperationCanceledException)
        {
            // The ring gave up its wait and took nothing.
            return Stopped(caller, cancelled);
        }
        catch (EndOfStreamException)
        {
            return Reply(ObjectStatus.EndOfStream);
        }
        catch (InvalidOperationException e)
        {
            return new ObjectReply(ObjectStatus.Closed, System.Text.Encoding.UTF8.GetBytes(e.Message), 0);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>
    /// How long one slice of a send may wait. A message longer than the ring only completes while a receiver
    /// drains it, and a slice that runs out withdraws what was sent, so long messages get longer slices.
    /// </summary>
    private static TimeSpan SendSlice(int length) => TimeSpan.FromMilliseconds(Math.Min(1000, s_slice.TotalMilliseconds + (length >> 14)));

    /// <summary>
    /// Takes a put from a process of another node (a notice, in the order its sender put): it joins the inbox, and one
    /// pump writes the inbox into the ring in order, waiting while the ring is full. Delivery (or why not) is reported
    /// per sender through <paramref name="report"/>: at once for what went in without waiting, and always before the
    /// pump waits for room, so the sender's credit comes back as soon as the channel took its messages. The inbox
    /// holds at most what the senders' windows allow.
    /// </summary>
    public void Deliver(ChannelPut put, Action<ChannelPutAck> report)
    {
        if (put.Payload.Length > _maxMessageSize)
        {
            report(new ChannelPutAck(put.ChannelId, put.Sender, 1, put.Payload.Length, ObjectStatus.Invalid,
                $"a message of {put.Payload.Length} bytes is larger than the channel allows ({_maxMessageSize} bytes)", Descriptor.HomeNode));
            return;
        }

        lock (_inbox)
        {
            _inbox.Enqueue(new Inbound(put.Sender, put.Payload, report, Closed: null));
            if (_pumping)
            {
                Monitor.Pulse(_inbox);
                return;
            }

            _pumping = true;
        }

        _ = Task.Factory.StartNew(PumpInbox, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>
    /// Closes the channel after the puts that arrived before the close went in (they were accepted first). A caller
    /// that gives up (cancel, exit) stops waiting; the close still happens in its place in the inbox.
    /// </summary>
    private async Task<ObjectReply> CloseAfterInboxAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource closed;
        lock (_inbox)
        {
            if (!_pumping)
            {
                return WithRing(ring =>
                {
                    ring.Close();
                    return Ok();
                });
            }

            closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _inbox.Enqueue(new Inbound(0, ReadOnlyMemory<byte>.Empty, null, closed));
            Monitor.Pulse(_inbox);
        }

        await closed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return Ok();
    }

    private void PumpInbox()
    {
        var pending = new Dictionary<ulong, (int Messages, long Bytes, Action<ChannelPutAck> Report)>();
        while (true)
        {
            Inbound? peeked = null;
            lock (_inbox)
            {
                if (_inbox.Count > 0)
                {
                    peeked = _inbox.Peek();
                }
            }

            if (peeked is not { } next)
            {
                // Report what went in, then linger a little for the senders' next puts rather than start a thread
                // per burst.
                ReportAll(pending);
                lock (_inbox)
                {
                    if (_inbox.Count == 0 && !Monitor.Wait(_inbox, s_linger) && _inbox.Count == 0)
                    {
                        _pumping = false;
                        return;
                    }
                }

                continue;
            }

            if (next.Closed is { } closed)
            {
                WithRing(ring =>
                {
                    ring.Close();
                    return Ok();
                });
                lock (_inbox)
                {
                    _inbox.Dequeue();
                }

                closed.TrySetResult();
                continue;
            }

            var (status, reason) = Put(next.Payload, pending);
            lock (_inbox)
            {
                _inbox.Dequeue();
            }

            if (status != ObjectStatus.Ok)
            {
                // Reported in order: what went in before this message first.
                ReportAll(pending);
                next.Report!(new ChannelPutAck(Descriptor.Id, next.Sender, 1, next.Payload.Length, status, reason, Descriptor.HomeNode));
                continue;
            }

            pending.TryGetValue(next.Sender, out var counted);
            pending[next.Sender] = (counted.Messages + 1, counted.Bytes + next.Payload.Length, next.Report!);
            if (counted.Messages + 1 >= 256)
            {
                ReportAll(pending);
            }
        }
    }

    /// <summary>Writes one message into the ring, waiting for room (reporting what is pending before a wait).</summary>
    private (ObjectStatus Status, string Reason) Put(ReadOnlyMemory<byte> payload, Dictionary<ulong, (int Messages, long Bytes, Action<ChannelPutAck> Report)> pending)
    {
        var reported = false;
        while (true)
        {
            // Counted in flight before the check, so Destroy cannot unmap the ring between the two.
            Interlocked.Increment(ref _inFlight);
            try
            {
                if (_destroyed)
                {
                    return (ObjectStatus.Destroyed, $"channel {Descriptor.Name} was destroyed");
                }

                if (Ring.TrySend(payload.Span, reported ? SendSlice(payload.Length) : TimeSpan.Zero, CancellationToken.None))
                {
                    return (ObjectStatus.Ok, string.Empty);
                }
            }
            catch (InvalidOperationException e)
            {
                return (ObjectStatus.Closed, e.Message);
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                // The ring could not be mapped again (no memory for the mapping, its file gone).
                return (_destroyed ? ObjectStatus.Destroyed : ObjectStatus.Closed, $"channel {Descriptor.Name}: {e.Message}");
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }

            if (!reported)
            {
                ReportAll(pending);
                reported = true;
            }
        }
    }

    private void ReportAll(Dictionary<ulong, (int Messages, long Bytes, Action<ChannelPutAck> Report)> pending)
    {
        foreach (var (sender, (messages, bytes, report)) in pending)
        {
            report(new ChannelPutAck(Descriptor.Id, sender, messages, bytes, ObjectStatus.Ok, string.Empty, Descriptor.HomeNode));
        }

        pending.Clear();
    }

    /// <summary>How long the inbox pump waits for more puts before its thread ends.</summary>
    private static readonly TimeSpan s_linger = TimeSpan.FromMilliseconds(200);

    private readonly Queue<Inbound> _inbox = new();
    private bool _pumping;

    private readonly record struct Inbound(ulong Sender, ReadOnlyMemory<byte> Payload, Action<ChannelPutAck>? Report, TaskCompletionSource? Closed);

    /// <summary>
    /// The ring's traffic for metrics, or null once the channel is destroyed: counted in flight like a served call,
    /// so <see cref="Destroy"/> never unmaps the ring under the read. A ring not mapped here is read from its file's
    /// header instead (a sample of every channel must not map them all again).
    /// </summary>
    public ShmRingTraffic? ReadTraffic()
    {
        var fileReads = 1;
        return ReadTraffic(ref fileReads, maxAgeMs: 0);
    }

    /// <summary>
    /// As <see cref="ReadTraffic()"/>, for a sample of every channel: a ring not mapped here is read from its file
    /// only while <paramref name="fileReads"/> lasts and its last figures are older than <paramref name="maxAgeMs"/>;
    /// otherwise its last figures stand (taken when it was last read or unmapped). A run of 100,000 queues, most of
    /// them unmapped here, is so sampled in bounded time, the unmapped rings read in turn.
    /// </summary>
    public ShmRingTraffic? ReadTraffic(ref int fileReads, long maxAgeMs)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            if (_destroyed)
            {
                return null;
            }

            if (Volatile.Read(ref _ring) is { } ring)
            {
                return _traffic = ring.Traffic;
            }

            var now = Environment.TickCount64;
            if (fileReads > 0 && now - _trafficAt >= maxAgeMs)
            {
                fileReads--;
                _trafficAt = now;
                if (ShmRing.ReadTraffic(_path) is { } read)
                {
                    _traffic = read;
                }
            }

            return _traffic;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>A process that exited stops waiting in every send or receive it asked of this channel.</summary>
    public override void OnProcessExited(ulong puid)
    {
        foreach (var (caller, owner) in _callers)
        {
            if (owner == puid)
            {
                try
                {
                    caller.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The call ended meanwhile.
                }
            }
        }
    }

    public override void Destroy()
    {
        _destroyed = true;
        try
        {
            // Mapped again if it was not: the close wakes every process that waits on the ring.
            Interlocked.Increment(ref _inFlight);
            try
            {
                (Volatile.Read(ref _ring) ?? MapInForClose()).Close();
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ObjectDisposedException)
        {
            // The file is gone or unreadable: no process can be waiting on a ring it cannot map.
        }

        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
        }

        // Unmap only once no served call is inside the ring (each returns within one slice).
        var deadline = Environment.TickCount64 + 2000;
        while (Volatile.Read(ref _inFlight) > 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(10);
        }

        if (Volatile.Read(ref _inFlight) == 0)
        {
            ShmRing? ring;
            lock (_mapLock)
            {
                ring = Interlocked.Exchange(ref _ring, null);
            }

            ring?.Dispose();
            MappedRings.Removed(this);
        }
    }

    /// <summary>Maps the ring for the close of a destroyed channel (<see cref="MapIn"/> refuses once destroyed).</summary>
    private ShmRing MapInForClose()
    {
        ShmRing ring;
        lock (_mapLock)
        {
            if (_ring is { } mapped)
            {
                return mapped;
            }

            ring = ShmRing.Open(_path);
            Volatile.Write(ref _ring, ring);
        }

        MappedRings.Added(this);
        return ring;
    }
}
