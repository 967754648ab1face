using System.Text;
using Dragon.Runtime.Protocol;

namespace Dragon.Dictionary.Internal;

/// <summary>
/// The small puts of this process to one manager on another node. A put asked while <see cref="Window"/> requests to
/// that manager are on their way waits for the next of them to come back, then goes with every other put that waited,
/// in the order they were asked, as one batch request: a client that keeps many small puts on their way sends a few
/// batches instead of a request each, so the node services on the way carry a message per batch. A put with none on
/// its way goes at once, alone, as before; so does a large one.
/// </summary>
/// <remarks>
/// Each put still ends on its own: a batch the manager takes whole completes them all; one it stops at a put (the
/// manager full) completes those before it, fails that one with the manager's error, and sends those after it again,
/// first. A put cancelled while it waits never goes; one cancelled once its batch has gone ends cancelled, and may or
/// may not have been written, as a lone put cancelled on its way.
/// </remarks>
internal sealed class DictPutLane(DictClient client, int manager)
{
    /// <summary>Requests to the manager on their way before puts wait to go together.</summary>
    public const int Window = 4;

    /// <summary>A put larger than this (key and value) always goes alone: copying it into a batch would cost more than its request.</summary>
    public const int MaxWaitingPut = 16 << 10;

    // A batch goes early, without waiting for a request to come back, once this much waits and the window has room.
    private const int BatchBytes = 1 << 20;

    private readonly Lock _gate = new();
    private List<Waiting> _waiting = [];
    private long _waitingBytes;
    private long _waitingCheckpoint;
    private int _onTheirWay;

    public Task PutAsync(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long checkpoint, CancellationToken cancellationToken)
    {
        var pairBytes = 8 + key.Length + value.Length;
        Waiting put;
        lock (_gate)
        {
            if ((_onTheirWay < Window && _waiting.Count == 0) || pairBytes > MaxWaitingPut || (_waiting.Count > 0 && checkpoint != _waitingCheckpoint))
            {
                _onTheirWay++;
                return AloneAsync(DictWire.Put(key, value), checkpoint, cancellationToken);
            }

            put = new Waiting(Pair(key, value), cancellationToken);
            _waiting.Add(put);
            _waitingBytes += pairBytes;
            _waitingCheckpoint = checkpoint;
        }

        if (cancellationToken.CanBeCanceled)
        {
            put.Registration = cancellationToken.Register(static state => ((Waiting)state!).Cancel(), put);
        }

        SendIfDue(force: false);
        return put.Task;
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

    /// <summary>Sends what waits, as one batch, when the window has room and a request came back or enough waits.</summary>
    private void SendIfDue(bool force)
    {
        List<Waiting> batch;
        long checkpoint;
        lock (_gate)
        {
            if (_waiting.Count == 0 || _onTheirWay >= Window || !(force || _waitingBytes >= BatchBytes))
            {
                return;
            }

            (batch, _waiting, _waitingBytes, checkpoint) = (_waiting, [], 0, _waitingCheckpoint);
            _onTheirWay++;
        }

        _ = BatchAsync(batch, checkpoint);
    }

    private async Task BatchAsync(List<Waiting> batch, long checkpoint)
    {
        try
        {
            // Those cancelled while they waited never go.
            var going = batch.Where(p => p.TryTake()).ToList();
            if (going.Count == 0)
            {
                return;
            }

            var payload = new PooledWriter(going.Sum(p => p.Pair.Length));
            foreach (var put in going)
            {
                put.Pair.CopyTo(payload.GetSpan(put.Pair.Length));
                payload.Advance(put.Pair.Length);
            }

            ObjectReply reply;
            try
            {
                reply = await client.RequestAsync(manager, ObjectOp.DictPutMany, payload.ToPayload(), checkpoint).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                foreach (var put in going)
                {
                    put.Fail(e);
                }

                return;
            }

            if (reply.Status != ObjectStatus.Broken)
            {
                foreach (var put in going)
                {
                    put.Succeed();
                }

                return;
            }

            // Stopped at a put: those before it went in, it failed, those after it go again, first.
            var (status, done) = DictClient.PutManyFailure(reply.Value);
            done = Math.Clamp(done, 0, going.Count - 1);
            for (var i = 0; i < done; i++)
            {
                going[i].Succeed();
            }

            going[done].Fail(client.Error(status, manager, Encoding.UTF8.GetString(reply.Payload.Span)));
            var again = going.Skip(done + 1).ToList();
            foreach (var put in again)
            {
                put.Requeue();
            }

            lock (_gate)
            {
                _waiting.InsertRange(0, again);
                _waitingBytes += again.Sum(p => (long)p.Pair.Length);
                _waitingCheckpoint = checkpoint;
            }
        }
        finally
        {
            Returned();
        }
    }

    private static byte[] Pair(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var pair = new byte[8 + key.Length + value.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(pair, key.Length);
        key.CopyTo(pair.AsSpan(4));
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(pair.AsSpan(4 + key.Length), value.Length);
        value.CopyTo(pair.AsSpan(8 + key.Length));
        return pair;
    }

    /// <summary>A put that waits to go: waiting (0), taken into a batch (1), or ended (2).</summary>
    private sealed class Waiting(byte[] pair, CancellationToken cancellationToken)
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _state;

        public byte[] Pair { get; } = pair;

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
