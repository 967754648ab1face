using System.Text;
using Dragon.Runtime.Protocol;

namespace Dragon.Dictionary.Internal;

/// <summary>
/// The puts of this process to one manager on another node. A put asked while <see cref="Window"/> requests to that
/// manager are on their way, or while others wait, waits for the next request to come back, then goes with the puts
/// that waited, in the order they were asked, as batch requests of at most about <see cref="BatchBytes"/> (and of one
/// checkpoint each): a client that keeps many small puts on their way sends a few batches instead of a request each,
/// so the node services on the way carry a message per batch. A put with fewer on their way and none waiting goes at
/// once, alone, as before.
/// </summary>
/// <remarks>
/// Puts of one process to one manager leave in the order asked. Each still ends on its own: a batch is a
/// <c>DictPutEach</c> request, which the manager puts pair by pair, so a put refused for room fails with its own
/// description and the ones after it still go in, as if each had gone alone. The shard's state (frozen, a retired
/// checkpoint, gone) stops the batch: the put there and the ones after it fail with that error. A reply describes at
/// most <see cref="DictWire.MaxRefusals"/> refusals; a batch stopped after that many sends the rest again, first. A
/// put cancelled while it waits never goes; one cancelled once its batch has gone ends cancelled, and may or may not
/// have been written, as a lone put cancelled on its way.
/// <para>
/// What waits is bounded: a put is a copy of its key and value (the caller may reuse them as soon as the call
/// returns), so a caller that asks puts faster than the manager takes them would otherwise grow this process without
/// end. Past <see cref="MaxWaitingBytes"/> waiting, a put blocks its caller, as a bounded queue's add does, until
/// batches leave and its copy fits (one larger than the bound goes when nothing else waits); callers that wait get room
/// in the order they came, and one that comes while others wait waits behind them. Its cancellation token ends that
/// wait: the put never goes and its task is cancelled. Puts sent again after a manager's refusals return over the
/// bound by at most the batches that were on their way. Blocking is the price of the copy: it must be taken before
/// the call returns, so a caller past the bound cannot be given a pending task instead.
/// </para>
/// </remarks>
internal sealed class DictPutLane(DictClient client, int manager)
{
    /// <summary>Requests to the manager on their way before puts wait to go together.</summary>
    public const int Window = 4;

    /// <summary>What a batch holds at most (a single larger put goes in a batch of its own).</summary>
    public const int BatchBytes = 1 << 20;

    /// <summary>
    /// What may wait to go at most, in bytes of pairs, unless the client says otherwise
    /// (<see cref="DictClient.MaxWaitingPutBytes"/>); a put past it blocks its caller until there is room.
    /// </summary>
    public const long MaxWaitingBytes = 64L << 20;

    private readonly long _maxWaitingBytes = client.MaxWaitingPutBytes;

    private readonly Lock _gate = new();
    private readonly List<Waiting> _waiting = [];
    private long _waitingBytes;
    private long _peakWaitingBytes;

    // Callers waiting for room, by the bytes each wants, in the order they came; and how many gave up (cancelled).
    private readonly LinkedList<long> _inLine = new();
    private int _roomWaitsCancelled;
    private int _onTheirWay;

    // Callers waiting for room wait on this (Monitor), pulsed when a batch leaves; taken before _gate, never inside it.
    private readonly object _room = new();

    /// <summary>Callers blocked now, waiting for room (for tests of the bound).</summary>
    internal int CallersWaitingForRoom
    {
        get
        {
            lock (_gate)
            {
                return _inLine.Count;
            }
        }
    }

    /// <summary>How many callers gave up waiting for room, cancelled (for tests of the bound).</summary>
    internal int RoomWaitsCancelled
    {
        get
        {
            lock (_gate)
            {
                return _roomWaitsCancelled;
            }
        }
    }

    /// <summary>The most bytes that have waited at once (for tests of the bound).</summary>
    internal long PeakWaitingBytes
    {
        get
        {
            lock (_gate)
            {
                return _peakWaitingBytes;
            }
        }
    }

    public Task PutAsync(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long checkpoint, CancellationToken cancellationToken)
    {
        bool alone;
        lock (_gate)
        {
            alone = _onTheirWay < Window && _waiting.Count == 0;
            if (alone)
            {
                _onTheirWay++;
            }
        }

        if (alone)
        {
            ReadOnlyMemory<byte> payload;
            try
            {
                payload = DictWire.Put(key, value);
            }
            catch (Exception e)
            {
                Returned();
                return Task.FromException(e);
            }

            return AloneAsync(payload, checkpoint, cancellationToken);
        }

        // Its bytes reserved first (waiting for room when there is none), then its copy made and added.
        var bytes = DictWire.PairBytes(key.Length, value.Length);
        if (!WaitForRoom(bytes, cancellationToken))
        {
            return Task.FromCanceled(cancellationToken);
        }

        Waiting put;
        try
        {
            // Registered before anyone else can see it: a cancel that comes first leaves it ended, and no batch
            // takes it.
            put = new Waiting(DictWire.Pair(key, value), checkpoint, cancellationToken);
        }
        catch
        {
            Unreserve(bytes);
            throw;
        }

        if (cancellationToken.CanBeCanceled)
        {
            put.Registration = cancellationToken.Register(static state => ((Waiting)state!).Cancel(), put);
        }

        lock (_gate)
        {
            _waiting.Add(put);
        }

        // Nothing may be on its way any more (all came back meanwhile): then nothing would send it.
        SendIfDue(force: false);
        return put.Task;
    }

    /// <summary>
    /// Reserves <paramref name="bytes"/> of the waiting room, blocking until they fit under the bound (at once when
    /// nothing waits) and every caller that came to wait before has had its turn; false, with nothing reserved, when
    /// <paramref name="cancellationToken"/> is cancelled first.
    /// </summary>
    private bool WaitForRoom(long bytes, CancellationToken cancellationToken)
    {
        LinkedListNode<long> place;
        lock (_gate)
        {
            if (_inLine.Count == 0 && Fits(bytes))
            {
                Reserve(bytes);
                return true;
            }

            place = _inLine.AddLast(bytes);
        }

        var admitted = false;
        using (cancellationToken.UnsafeRegister(static state => Pulse(state!), _room))
        {
            lock (_room)
            {
                while (true)
                {
                    lock (_gate)
                    {
                        if (_inLine.First == place && Fits(bytes))
                        {
                            _inLine.RemoveFirst();
                            Reserve(bytes);
                            admitted = true;
                            break;
                        }

                        if (cancellationToken.IsCancellationRequested)
                        {
                            _inLine.Remove(place);
                            _roomWaitsCancelled++;
                            break;
                        }
                    }

                    // Pulsed when a batch leaves, a caller ahead leaves the line, or the token is cancelled; the
                    // timeout only bounds a pulse missed.
                    Monitor.Wait(_room, 100);
                }
            }
        }

        // The next in line may fit now too (this one reserved little, or left).
        Pulse(_room);
        return admitted;
    }

    // Under _gate.
    private bool Fits(long bytes) => _waitingBytes == 0 || _waitingBytes + bytes <= _maxWaitingBytes;

    // Under _gate.
    private void Reserve(long bytes)
    {
        _waitingBytes += bytes;
        _peakWaitingBytes = Math.Max(_peakWaitingBytes, _waitingBytes);
    }

    private void Unreserve(long bytes)
    {
        lock (_gate)
        {
            _waitingBytes -= bytes;
        }

        Pulse(_room);
    }

    private static void Pulse(object room)
    {
        lock (room)
        {
            Monitor.PulseAll(room);
        }
    }

    private async Task AloneAsync(ReadOnlyMemory<byte> payload, long checkpoint, CancellationToken cancellationToken)
    {
        try
        {
            await client.RemoteAsync(manager, ObjectOp.DictPut, payload, checkpoint, 0, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Returned();
        }
    }

    /// <summary>A request came back: the puts that waited go now.</summary>
    private void Returned()
    {
        lock (_gate)
        {
            _onTheirWay--;
        }

        SendIfDue(force: true);
    }

    /// <summary>
    /// Sends what waits, a batch per free place in the window: when a request came back (or none is on its way), or
    /// when a full batch waits.
    /// </summary>
    private void SendIfDue(bool force)
    {
        while (true)
        {
            List<Waiting> batch;
            bool inLine;
            lock (_gate)
            {
                if (_waiting.Count == 0 || _onTheirWay >= Window || !(force || _onTheirWay == 0 || _waitingBytes >= BatchBytes))
                {
                    return;
                }

                // The first waiting puts of one checkpoint, up to a batch's bytes (at least one).
                var checkpoint = _waiting[0].Checkpoint;
                var count = 0;
                long bytes = 0;
                while (count < _waiting.Count && _waiting[count].Checkpoint == checkpoint
                    && (count == 0 || bytes + _waiting[count].Pair.Length <= BatchBytes))
                {
                    bytes += _waiting[count++].Pair.Length;
                }

                batch = _waiting.GetRange(0, count);
                _waiting.RemoveRange(0, count);
                _waitingBytes -= bytes;
                _onTheirWay++;
                inLine = _inLine.Count > 0;
            }

            if (inLine)
            {
                Pulse(_room);
            }

            _ = BatchAsync(batch);
        }
    }

    private async Task BatchAsync(List<Waiting> batch)
    {
        // Those cancelled while they waited never go.
        var going = batch.Where(p => p.TryTake()).ToList();
        try
        {
            if (going.Count == 0)
            {
                return;
            }

            var reply = await client.RequestAsync(manager, ObjectOp.DictPutEach, Payload(going), going[0].Checkpoint).ConfigureAwait(false);
            if (reply.Status == ObjectStatus.Ok)
            {
                foreach (var put in going)
                {
                    put.Succeed();
                }

                return;
            }

            var (status, stoppedAt) = DictClient.PutManyFailure(reply.Value);
            if (reply.Status != ObjectStatus.Broken || stoppedAt < 0)
            {
                throw client.Error(status, manager, Encoding.UTF8.GetString(reply.Payload.Span));
            }

            // Each put refused for room failed on its own (the others went on); those before where the batch stopped,
            // and not refused, went in.
            var (refused, stop) = DictWire.ReadRefusals(reply.Payload.Span);
            var ended = new bool[going.Count];
            foreach (var (index, why, message) in refused)
            {
                if (index >= 0 && index < going.Count)
                {
                    going[index].Fail(client.Error(why, manager, message));
                    ended[index] = true;
                }
            }

            for (var i = 0; i < Math.Min(stoppedAt, going.Count); i++)
            {
                if (!ended[i])
                {
                    going[i].Succeed();
                }
            }

            if (stoppedAt >= going.Count)
            {
                return;
            }

            if (status.IsForRoom())
            {
                // Stopped after the most refusals a reply describes: the rest go again, first.
                var again = going.Skip(stoppedAt).ToList();
                foreach (var put in again)
                {
                    put.Requeue();
                }

                // Over the bound by at most the batches that were on their way: they were counted before they left.
                lock (_gate)
                {
                    _waiting.InsertRange(0, again);
                    Reserve(again.Sum(p => (long)p.Pair.Length));
                }

                return;
            }

            // The shard's state (frozen, a retired checkpoint, gone), not a put's size: the put it stopped at and the
            // ones after it would all meet it.
            var error = client.Error(status, manager, stop);
            foreach (var put in going.Skip(stoppedAt))
            {
                put.Fail(error);
            }
        }
        catch (Exception e)
        {
            // Ends every put still open (those ended already stay as they are).
            foreach (var put in going)
            {
                put.Fail(e);
            }
        }
        finally
        {
            Returned();
        }
    }

    /// <summary>
    /// A batch's request body: its pairs one after another. A batch of one put (a large put, that the next does not fit
    /// with) is its pair as it is, not a copy of it: a megabyte put is copied once on its way out, not twice. The pair
    /// is never written to, so a put sent again after a refusal sends it again.
    /// </summary>
    private static ReadOnlyMemory<byte> Payload(List<Waiting> going)
    {
        if (going.Count == 1)
        {
            return going[0].Pair;
        }

        var payload = new PooledWriter(going.Sum(p => p.Pair.Length));
        foreach (var put in going)
        {
            put.Pair.CopyTo(payload.GetSpan(put.Pair.Length));
            payload.Advance(put.Pair.Length);
        }

        return payload.ToPayload();
    }

    /// <summary>A put that waits to go: waiting (0), taken into a batch (1), or ended (2).</summary>
    private sealed class Waiting(byte[] pair, long checkpoint, CancellationToken cancellationToken)
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _state;

        public byte[] Pair { get; } = pair;

        public long Checkpoint { get; } = checkpoint;

        public CancellationTokenRegistration Registration { get; set; }

        public Task Task => _done.Task;

        public bool TryTake() => Interlocked.CompareExchange(ref _state, 1, 0) == 0;

        /// <summary>Back to waiting, for the next batch (unless cancelled meanwhile: then it ends cancelled).</summary>
        public void Requeue() => Interlocked.CompareExchange(ref _state, 0, 1);

        public void Cancel()
        {
            // Waiting: it never goes. Taken: its batch is on its way; the put ends cancelled, written or not.
            if (Interlocked.Exchange(ref _state, 2) != 2)
            {
                _done.TrySetCanceled(cancellationToken);
            }
        }

        public void Succeed() => End(() => _done.TrySetResult());

        public void Fail(Exception e) => End(() => _done.TrySetException(e));

        private void End(Action complete)
        {
            Registration.Dispose();
            Interlocked.Exchange(ref _state, 2);
            complete();
        }
    }
}
