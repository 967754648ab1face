using System.Buffers;
using System.Buffers.Binary;
using Dragon.Pool;

namespace Dragon;

// Dispatch: tasks wait in the pool's queues until a worker has room (fewer than Window work messages unanswered); a
// message then takes what waits, up to a fair share, so many small submits travel as one message while a worker is
// busy (self-clocking batching), and a few large tasks still spread over every worker. Nothing is put under the lock
// or on the result reader's thread: each worker's sender puts its messages. Results come back on one queue read by one
// thread, which frees the worker's room and assigns more.
public sealed partial class DragonPool
{
    /// <summary>Work messages a worker holds at once: one running, one waiting in its queue so it never idles.</summary>
    private const int Window = 2;

    /// <summary>Most tasks gathered from separate submits into one message.</summary>
    private const int CoalesceLimit = 4096;

    private readonly Lock _lock = new();
    private readonly DragonQueue<ReadOnlyMemory<byte>> _results;
    private readonly Queue<Segment> _pending = new();
    private readonly Queue<Segment> _retries = new();
    private readonly Dictionary<long, Dispatch> _inflight = [];
    private readonly CancellationTokenSource _readerStop = new();
    private long _pendingTasks;
    private long _nextDispatch;
    private int _nextWorker;

    private void Enqueue(Segment segment)
    {
        lock (_lock)
        {
            _pending.Enqueue(segment);
            _pendingTasks += segment.Count;
        }

        PoolMetrics.Add(PoolMetrics.Submitted, segment.Count);

        Pump();
    }

    private void Enqueue(IEnumerable<Segment> segments)
    {
        var submitted = 0L;
        lock (_lock)
        {
            foreach (var segment in segments)
            {
                _pending.Enqueue(segment);
                _pendingTasks += segment.Count;
                submitted += segment.Count;
            }
        }

        PoolMetrics.Add(PoolMetrics.Submitted, submitted);

        Pump();
    }

    /// <summary>Assigns waiting tasks to workers with room, until either runs out; their senders put the messages.</summary>
    private void Pump()
    {
        lock (_lock)
        {
            while (_disposed == 0 && NextFreeWorker() is { } worker && TakeSegments() is { } segments)
            {
                var dispatch = new Dispatch(++_nextDispatch, worker, segments);
                _inflight[dispatch.Id] = dispatch;
                worker.InFlight++;
                worker.Outbox.Writer.TryWrite(dispatch);
            }
        }
    }

    /// <summary>
    /// A worker's sender: encodes its messages in order (so a method's descriptor goes before its other tasks) and puts
    /// them. A put that fails means the worker is going: it takes no more, and its exit notification queues again what
    /// it held.
    /// </summary>
    private async Task SendAsync(WorkerSlot worker)
    {
        var buffer = new ArrayBufferWriter<byte>(1 << 16);
        var token = worker.Stopping.Token;
        try
        {
            await foreach (var dispatch in worker.Outbox.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                buffer.ResetWrittenCount();
                try
                {
                    TaskWire.WriteWork(buffer, dispatch.Id, dispatch.Segments, worker.MethodsKnown);
                }
                catch (Exception e) when (e is NotSupportedException or System.Text.Json.JsonException or InvalidOperationException or ArgumentException)
                {
                    // An argument that would not serialize fails its tasks, not the pool; descriptors go again next time.
                    worker.MethodsKnown.Clear();
                    Unsendable(dispatch, e);
                    continue;
                }

                await worker.Tasks.PutAsync(buffer.WrittenMemory, token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or DragonException or ObjectDisposedException)
        {
            lock (_lock)
            {
                worker.Alive = false;
            }
        }
    }

    private void Unsendable(Dispatch dispatch, Exception error)
    {
        lock (_lock)
        {
            _inflight.Remove(dispatch.Id);
            dispatch.Worker.InFlight--;
        }

        PoolMetrics.Add(PoolMetrics.Finished, dispatch.Segments.Sum(s => s.Count), "failed");
        foreach (var segment in dispatch.Segments)
        {
            segment.Job.Fail(segment.Start, new ArgumentException($"an argument of {segment.Job.Describe(segment.Start)} cannot be serialized: {error.Message}", error));
        }

        Pump();
    }

    /// <summary>The live worker with the fewest messages in hand, below the window; round-robin among equals.</summary>
    private WorkerSlot? NextFreeWorker()
    {
        WorkerSlot? best = null;
        for (var k = 0; k < _slots.Length; k++)
        {
            var slot = _slots[(_nextWorker + k) % _slots.Length];
            if (slot.Alive && slot.InFlight < Window && (best is null || slot.InFlight < best.InFlight))
            {
                best = slot;
            }
        }

        if (best is not null)
        {
            _nextWorker = (best.Slot + 1) % _slots.Length;
        }

        return best;
    }

    /// <summary>
    /// Segments for one message: retries first, then in submit order; a map chunk alone, as it was cut, and separate
    /// submits gathered up to a fair share of what waits (waiting / (workers x 4), at most <see cref="CoalesceLimit"/>).
    /// </summary>
    private List<Segment>? TakeSegments()
    {
        var limit = (int)Math.Clamp(_pendingTasks / (4L * _slots.Length), 1, CoalesceLimit);
        List<Segment>? taken = null;
        var tasks = 0;
        while (true)
        {
            var queue = _retries.Count > 0 ? _retries : _pending;
            if (!queue.TryPeek(out var segment))
            {
                break;
            }

            if (segment.Job.IsFinished)
            {
                queue.Dequeue();
                _pendingTasks -= segment.Count;
                continue;
            }

            if (taken is not null && (!segment.Job.Gathers || tasks + segment.Count > limit))
            {
                break;
            }

            queue.Dequeue();
            _pendingTasks -= segment.Count;
            (taken ??= []).Add(segment);
            tasks += segment.Count;
            if (tasks >= limit || !segment.Job.Gathers)
            {
                break;
            }
        }

        return taken;
    }

    /// <summary>The result reader: one thread, blocking on the result queue until dispose closes it.</summary>
    private void ReadResults()
    {
        while (true)
        {
            ReadOnlyMemory<byte> message;
            try
            {
                message = _results.Get(null, _readerStop.Token);
            }
            catch (Exception e) when (e is EndOfStreamException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            OnResults(message.Span);
            Pump();
        }
    }

    private void OnResults(ReadOnlySpan<byte> data)
    {
        var (_, dispatchId, count) = TaskWire.ReadHeader(data, out var offset);
        Dispatch? dispatch;
        lock (_lock)
        {
            // Unknown: its worker was declared dead and its tasks queued again; the first result of each task wins.
            if (!_inflight.Remove(dispatchId, out dispatch))
            {
                return;
            }

            dispatch.Worker.InFlight--;
        }

        var worker = dispatch.Worker;
        var seen = 0;
        var (ok, failed, timedOut) = (0L, 0L, 0L);
        foreach (var segment in dispatch.Segments)
        {
            var answered = 0;
            for (var i = 0; i < segment.Count; i++)
            {
                if (seen == count)
                {
                    // The worker ended after a timeout: the rest never ran; they go again, on another worker.
                    lock (_lock)
                    {
                        _retries.Enqueue(new Segment(segment.Job, segment.Start + i, segment.Count - i) { Retries = segment.Retries, SubmittedAt = segment.SubmittedAt });
                        _pendingTasks += segment.Count - i;
                    }

                    break;
                }

                seen++;
                answered++;
                var index = segment.Start + i;
                if (segment.Job.CapturesOutput)
                {
                    var stdout = ItemCodec.ReadString(data, ref offset);
                    var stderr = ItemCodec.ReadString(data, ref offset);
                    try
                    {
                        segment.Job.Ran(index, worker.Info, stdout, stderr);
                    }
                    catch (Exception e)
                    {
                        // The reader serves every task of the pool: a hook's failure must not end it.
                        Console.Error.WriteLine($"dragon pool: recording where {segment.Job.Describe(index)} ran failed: {e.Message}");
                    }
                }

                switch (data[offset++])
                {
                    case TaskWire.Ok:
                        var length = BinaryPrimitives.ReadInt32LittleEndian(data[offset..]);
                        var end = offset + 4 + Math.Max(0, length);
                        try
                        {
                            segment.Job.Complete(index, data, ref offset);
                        }
                        catch (Exception e) when (e is System.Text.Json.JsonException or NotSupportedException or InvalidCastException)
                        {
                            segment.Job.Fail(index, Failure($"the result of {segment.Job.Describe(index)} cannot be read: {e.Message}", worker, segment));
                        }

                        offset = end;
                        ok++;
                        break;
                    case TaskWire.Threw:
                        var type = ItemCodec.ReadString(data, ref offset);
                        var text = ItemCodec.ReadString(data, ref offset);
                        var stack = ItemCodec.ReadString(data, ref offset);
                        var error = Failure($"{segment.Job.Describe(index)} threw {type}: {text}", worker, segment);
                        error.RemoteExceptionType = type;
                        error.RemoteMessage = text;
                        error.RemoteStackTrace = stack;
                        segment.Job.Fail(index, error);
                        failed++;
                        break;
                    default:
                        var why = ItemCodec.ReadString(data, ref offset);
                        var timedOutError = Failure($"{segment.Job.Describe(index)} {why}; its worker was ended and is replaced", worker, segment);
                        timedOutError.TimedOut = true;
                        segment.Job.Fail(index, timedOutError);
                        timedOut++;
                        break;
                }
            }

            PoolMetrics.RecordLatency(segment.SubmittedAt, answered);
        }

        PoolMetrics.Add(PoolMetrics.Finished, ok, "ok");
        PoolMetrics.Add(PoolMetrics.Finished, failed, "failed");
        PoolMetrics.Add(PoolMetrics.Finished, timedOut, "timed_out");
    }

    private static TaskFailedException Failure(string what, WorkerSlot worker, Segment segment) =>
        new($"{what} (worker {worker.Slot}, puid {worker.Process.Puid} on node {NodeName(worker.NodeIndex)})")
        {
            Puid = worker.Process.Puid,
            NodeIndex = worker.NodeIndex,
            NodeName = NodeName(worker.NodeIndex),
            Attempts = segment.Retries + 1,
        };

    private static string NodeName(int index) => index >= 0 && index < SystemInfo.Nodes.Count ? SystemInfo.Nodes[index].Name : $"#{index}";
}
