using System.Diagnostics;

namespace Dragon.Services.Node;

/// <summary>What a reader of a piped stream took: whole lines, each ending in '\n', and whether the stream ended after them.</summary>
internal readonly record struct LineBatch(byte[] Lines, bool EndOfStream);

/// <summary>
/// The lines of one piped stream waiting for its readers. The child I/O loop appends chunks of whole lines (every line
/// ends in '\n', a line cut into pieces ends each piece so), in the order read; the queue is bounded in bytes
/// (<see cref="MaxBytes"/>, counting <see cref="ChunkOverheadBytes"/> per chunk). <see cref="Append"/> never blocks:
/// it says when the queue has no room for another read, and the loop then stops reading the pipe (so the child
/// blocks in write) until a reader makes room and the queue calls its <c>onRoom</c>. A reader takes, in one go, as
/// many whole lines as are queued up to its budget (at least one line): reading costs a request per batch, not per
/// line. A taken chunk is handed out as it is when it fits whole; otherwise its lines are copied.
/// </summary>
internal sealed class LineQueue
{
    /// <summary>Most bytes kept for the readers (at least one chunk is always let in).</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>What a queued chunk costs beyond its bytes (the array and its slot), counted against the bound.</summary>
    private const int ChunkOverheadBytes = 64;

    /// <summary>The most one append can add: a full read of the pipe.</summary>
    private const int LargestChunkCost = ChildIo.ReadBytes + 1 + ChunkOverheadBytes;

    private readonly object _gate = new();
    private readonly Action? _onRoom;

    // Set when an append left no room for another: the next take that makes room calls _onRoom.
    private bool _full;
    private readonly Queue<byte[]> _chunks = new();

    // Bytes of the head chunk already taken (a batch may end inside a chunk, always after a '\n').
    private int _headTaken;
    private long _queuedBytes;
    private bool _completed;

    // Completed (and cleared) when lines arrive or the stream ends; created by the first reader that finds nothing.
    private TaskCompletionSource? _arrival;

    /// <summary>True once the stream ended and its readers took every line.</summary>
    public bool IsConsumed
    {
        get
        {
            lock (_gate)
            {
                return _completed && _chunks.Count == 0;
            }
        }
    }

    /// <param name="onRoom">Called (on a reader's thread) when a take makes room after <see cref="Append"/> said there was none.</param>
    public LineQueue(Action? onRoom = null) => _onRoom = onRoom;

    /// <summary>
    /// Queues whole lines, never waiting. False when the queue has no room for another chunk as large as a read: the
    /// caller appends nothing more until <c>onRoom</c> is called. Kept so, the queue never holds more than
    /// <see cref="MaxBytes"/>.
    /// </summary>
    public bool Append(byte[] chunk)
    {
        Debug.Assert(chunk.Length > 0 && chunk[^1] == (byte)'\n', "a chunk holds whole lines");
        TaskCompletionSource? arrival;
        bool hasRoom;
        lock (_gate)
        {
            _chunks.Enqueue(chunk);
            _queuedBytes += chunk.Length + ChunkOverheadBytes;
            hasRoom = HasRoomLocked();
            _full = !hasRoom;
            arrival = _arrival;
            _arrival = null;
        }

        arrival?.TrySetResult();
        return hasRoom;
    }

    private bool HasRoomLocked() => _queuedBytes + LargestChunkCost <= MaxBytes;

    /// <summary>The stream ended: readers get end of stream after the last line.</summary>
    public void Complete()
    {
        TaskCompletionSource? arrival;
        lock (_gate)
        {
            _completed = true;
            arrival = _arrival;
            _arrival = null;
        }

        arrival?.TrySetResult();
    }

    /// <summary>
    /// Takes the lines queued up to <paramref name="maxBytes"/> (at least one line), waiting for some for up to
    /// <paramref name="timeoutMs"/> (-1: as long as it takes). A wait that times out or is cancelled takes nothing.
    /// </summary>
    /// <exception cref="TimeoutException">Nothing came in time.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public async Task<LineBatch> TakeAsync(int maxBytes, long timeoutMs, CancellationToken cancellationToken)
    {
        if (TryTake(maxBytes, out var batch, out var arrival))
        {
            return batch;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeoutMs >= 0)
        {
            timeout.CancelAfter(TimeSpan.FromMilliseconds(timeoutMs));
        }

        try
        {
            while (true)
            {
                await arrival.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
                if (TryTake(maxBytes, out batch, out arrival))
                {
                    return batch;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException();
        }
    }

    /// <summary>Takes a batch, or says what to wait for when there is nothing to take.</summary>
    private bool TryTake(int maxBytes, out LineBatch batch, out TaskCompletionSource arrival)
    {
        var madeRoom = false;
        lock (_gate)
        {
            if (_chunks.Count > 0)
            {
                var lines = TakeLocked(maxBytes);
                batch = new LineBatch(lines, _completed && _chunks.Count == 0);
                arrival = null!;
                if (_full && HasRoomLocked())
                {
                    _full = false;
                    madeRoom = true;
                }
            }
            else if (_completed)
            {
                batch = new LineBatch([], EndOfStream: true);
                arrival = null!;
                return true;
            }
            else
            {
                batch = default;
                arrival = _arrival ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return false;
            }
        }

        if (madeRoom)
        {
            _onRoom?.Invoke();
        }

        return true;
    }

    /// <summary>Whole chunks while they fit the budget, then the whole lines of the next that fit; at least one line.</summary>
    private byte[] TakeLocked(int maxBytes)
    {
        var size = 0;
        var wholeChunks = 0;
        var tail = 0;
        var taken = _headTaken;
        foreach (var chunk in _chunks)
        {
            var left = chunk.Length - taken;
            if (size + left <= maxBytes)
            {
                size += left;
                wholeChunks++;
                taken = 0;
                continue;
            }

            tail = chunk.AsSpan(taken, Math.Max(maxBytes - size, 0)).LastIndexOf((byte)'\n') + 1;
            if (tail == 0 && size == 0)
            {
                tail = chunk.AsSpan(taken).IndexOf((byte)'\n') + 1;
            }

            size += tail;
            break;
        }

        if (wholeChunks == 1 && tail == 0 && _headTaken == 0)
        {
            // The common case when the reader keeps up: one chunk, handed out as it is.
            var chunk = _chunks.Peek();
            Dequeue();
            return chunk;
        }

        var lines = new byte[size];
        var written = 0;
        for (var i = 0; i < wholeChunks; i++)
        {
            var rest = _chunks.Peek().AsSpan(_headTaken);
            rest.CopyTo(lines.AsSpan(written));
            written += rest.Length;
            Dequeue();
        }

        if (tail > 0)
        {
            var head = _chunks.Peek();
            head.AsSpan(_headTaken, tail).CopyTo(lines.AsSpan(written));
            _headTaken += tail;
            _queuedBytes -= tail;
            if (_headTaken == head.Length)
            {
                // The one line of an oversized batch was the chunk's last.
                Dequeue();
            }
        }

        Debug.Assert(size > 0 && lines[^1] == (byte)'\n', "a batch holds at least one whole line");
        return lines;
    }

    private void Dequeue()
    {
        var chunk = _chunks.Dequeue();
        _queuedBytes -= chunk.Length - _headTaken + ChunkOverheadBytes;
        _headTaken = 0;
    }
}
