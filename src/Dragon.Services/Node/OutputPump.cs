using System.Runtime.InteropServices;
using Dragon.Services.Spawning;

namespace Dragon.Services.Node;

/// <summary>
/// Where forwarded output of processes goes (the launcher's stdout/stderr, labelled or not). Both ways of handing
/// lines on are bounded and neither blocks: output never piles up without limit because its final reader is slow.
/// </summary>
internal interface IOutputSink
{
    /// <summary>
    /// From the child I/O loop: takes lines at once (one line, or several joined by '\n', without a last newline) and
    /// returns a task that completes once the sink has room again, already completed while it has. Until then the
    /// loop reads no stream that writes here, so the children block in write.
    /// </summary>
    Task Write(string label, ReadOnlySpan<byte> lines, bool isError);

    /// <summary>
    /// A line that came from another node: takes it at once (in arrival order) and completes once the sink has room
    /// again; the sender's window waits for that, never the link's reader.
    /// </summary>
    Task AcceptAsync(string label, byte[] line, bool isError);
}

/// <summary>
/// One pipe from a child, read by the <see cref="ChildIo"/> loop whenever it is readable. A piped stream hands what
/// it reads, cut after its last newline, to a <see cref="LineQueue"/> that readers drain in batches: no work per line
/// beyond finding the last newline of each read. A forwarded stream hands the same to the output sink. When either is
/// full the loop stops reading the pipe, so the child blocks in write instead of anything being dropped
/// (back-pressure), and reads again once there is room. A line longer than <see cref="MaxLineBytes"/> is delivered in
/// pieces of that size, never buffered whole. Between reads a stream keeps only its unfinished last line.
/// </summary>
internal sealed class OutputPump : ChildIoEntry
{
    /// <summary>Lines longer than this are delivered in pieces of this size.</summary>
    public const int MaxLineBytes = 64 * 1024;

    /// <summary>Reads of one stream in a row before the loop serves the others (fairness).</summary>
    private const int ReadsPerTurn = 4;

    private readonly LineQueue? _lines;
    private readonly IOutputSink? _sink;
    private readonly string _label;
    private readonly bool _isError;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // The unfinished last line (no newline yet) between reads; loop thread only.
    private byte[]? _partial;

    private OutputPump(int fd, IOutputSink? sink, string label, bool isError)
    {
        Fd = fd;
        _lines = sink is null ? new LineQueue(() => ChildIo.Shared.Resume(this)) : null;
        _sink = sink;
        _label = label;
        _isError = isError;
    }

    /// <summary>Completes when the pipe reached end of file and every line was handed on.</summary>
    public Task Drained => _drained.Task;

    /// <summary>True once a piped stream reached end of file and its readers took every line (nothing left to ask for).</summary>
    public bool IsConsumed => _lines?.IsConsumed ?? _drained.Task.IsCompleted;

    public static OutputPump Piped(int fd, string label) => Start(new OutputPump(fd, null, label, false));

    public static OutputPump Forwarded(int fd, IOutputSink sink, string label, bool isError) =>
        Start(new OutputPump(fd, sink, label, isError));

    private static OutputPump Start(OutputPump pump)
    {
        if (!Native.SetNonBlocking(pump.Fd))
        {
            throw new SpawnException($"cannot read the output pipe of {pump._label.Trim()} without blocking: {Native.ErrorText(Marshal.GetLastPInvokeError())}");
        }

        ChildIo.Shared.Add(pump);
        return pump;
    }

    /// <summary>
    /// The lines queued up to <paramref name="maxBytes"/> (at least one line), with end of stream when it ended after
    /// them; throws <see cref="TimeoutException"/> when nothing came in time. A cancelled or timed-out wait takes nothing.
    /// </summary>
    public Task<LineBatch> ReceiveAsync(int maxBytes, long timeoutMs, CancellationToken cancellationToken) =>
        (_lines ?? throw new InvalidOperationException("this stream is forwarded, not piped")).TakeAsync(maxBytes, timeoutMs, cancellationToken);

    public override unsafe void OnReady(ChildIo loop)
    {
        if (_sink is not null && loop.HoldIfFull(_sink, this))
        {
            return;
        }

        var buffer = loop.ReadBuffer;
        var filled = 0;
        if (_partial is not null)
        {
            _partial.CopyTo(buffer, 0);
            filled = _partial.Length;
            _partial = null;
        }

        for (var reads = 0; reads < ReadsPerTurn; reads++)
        {
            nint n;
            fixed (byte* p = buffer)
            {
                n = Native.read(Fd, p + filled, buffer.Length - filled);
            }

            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Native.EINTR)
                {
                    continue;
                }

                if (errno == Native.EAGAIN)
                {
                    break;
                }
            }

            if (n <= 0)
            {
                // End of file (or a pipe that cannot be read any more): what is left is the last line. Handed on even
                // to a full reader or sink (one more batch), since nothing more will follow it.
                if (filled > 0)
                {
                    _ = EmitPiece(loop, buffer.AsSpan(0, filled));
                }

                End(loop);
                return;
            }

            // What came before this read holds no newline: only the new bytes are searched.
            var last = buffer.AsSpan(filled, (int)n).LastIndexOf((byte)'\n');
            filled += (int)n;
            var open = true;
            if (last >= 0)
            {
                var whole = filled - (int)n + last + 1;
                open = EmitLines(loop, buffer.AsSpan(0, whole));
                buffer.AsSpan(whole, filled - whole).CopyTo(buffer);
                filled -= whole;
            }
            else if (filled == buffer.Length)
            {
                open = EmitPiece(loop, buffer);
                filled = 0;
            }

            if (!open)
            {
                // Paused until the reader or sink has room; the child waits in write meanwhile.
                break;
            }
        }

        if (filled > 0)
        {
            _partial = buffer.AsSpan(0, filled).ToArray();
        }
    }

    public override void OnFailed(ChildIo loop, int errno) => End(loop);

    private void End(ChildIo loop)
    {
        loop.Remove(this);
        _lines?.Complete();
        _drained.TrySetResult();
    }

    /// <summary>Whole lines, each ending in a newline; false when the stream must pause (its reader or sink is full).</summary>
    private bool EmitLines(ChildIo loop, ReadOnlySpan<byte> lines)
    {
        if (_lines is not null)
        {
            return Paused(loop, _lines.Append(lines.ToArray()));
        }

        // The sink takes lines joined by newlines, without the last.
        return Sent(loop, _sink!.Write(_label, lines[..^1], _isError));
    }

    /// <summary>A piece of a line too long to keep whole, or the last line of a stream that did not end in a newline.</summary>
    private bool EmitPiece(ChildIo loop, ReadOnlySpan<byte> piece)
    {
        if (_lines is null)
        {
            return Sent(loop, _sink!.Write(_label, piece, _isError));
        }

        var chunk = new byte[piece.Length + 1];
        piece.CopyTo(chunk);
        chunk[^1] = (byte)'\n';
        return Paused(loop, _lines.Append(chunk));
    }

    private bool Paused(ChildIo loop, bool hasRoom)
    {
        if (!hasRoom)
        {
            loop.Pause(this);
        }

        return hasRoom;
    }

    private bool Sent(ChildIo loop, Task room)
    {
        if (room.IsCompleted)
        {
            return true;
        }

        loop.Hold(_sink!, room, this);
        return false;
    }
}
