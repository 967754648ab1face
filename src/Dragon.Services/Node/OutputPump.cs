using System.Runtime.InteropServices;
using Dragon.Services.Spawning;

namespace Dragon.Services.Node;

/// <summary>
/// Where forwarded output of processes goes (the launcher's stdout/stderr, labelled or not). Both ways of handing a
/// line on are bounded: output never piles up without limit because its final reader is slow.
/// </summary>
internal interface IOutputSink
{
    /// <summary>From a pump's own thread: blocks it while the sink is full, so the child blocks in write.</summary>
    void WriteLine(string label, ReadOnlySpan<byte> line, bool isError);

    /// <summary>
    /// A line that came from another node: takes it at once (in arrival order) and completes once the sink has room
    /// again; the sender's window waits for that, never the link's reader.
    /// </summary>
    Task AcceptAsync(string label, byte[] line, bool isError);
}

/// <summary>
/// Reads one pipe from a child on a dedicated thread. A piped stream hands what it reads, cut after its last newline,
/// to a <see cref="LineQueue"/> that readers drain in batches: no work per line beyond finding the last newline of
/// each read, and when the queue is full the pump stops reading, so the child blocks in write instead of anything
/// being dropped (back-pressure). A line longer than <see cref="MaxLineBytes"/> is delivered in pieces of that size,
/// never buffered whole. A forwarded stream hands each line to the output sink, which applies its own bound the
/// same way.
/// </summary>
internal sealed class OutputPump
{
    /// <summary>Lines longer than this are delivered in pieces of this size.</summary>
    public const int MaxLineBytes = 64 * 1024;

    private readonly int _fd;
    private readonly LineQueue? _lines;
    private readonly IOutputSink? _sink;
    private readonly string _label;
    private readonly bool _isError;
    private readonly Thread _thread;

    private OutputPump(int fd, LineQueue? lines, IOutputSink? sink, string label, bool isError)
    {
        _fd = fd;
        _lines = lines;
        _sink = sink;
        _label = label;
        _isError = isError;
        _thread = new Thread(Run, maxStackSize: 256 * 1024) { IsBackground = true, Name = $"output {label}" };
    }

    /// <summary>Completes when the pipe reached end of file and every line was handed on.</summary>
    public Task Drained => _drained.Task;

    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static OutputPump Piped(int fd, string label) => Start(new OutputPump(fd, new LineQueue(), null, label, false));

    /// <summary>True once a piped stream reached end of file and its readers took every line (nothing left to ask for).</summary>
    public bool IsConsumed => _lines?.IsConsumed ?? _drained.Task.IsCompleted;

    public static OutputPump Forwarded(int fd, IOutputSink sink, string label, bool isError) =>
        Start(new OutputPump(fd, null, sink, label, isError));

    private static OutputPump Start(OutputPump pump)
    {
        pump._thread.Start();
        return pump;
    }

    /// <summary>
    /// The lines queued up to <paramref name="maxBytes"/> (at least one line), with end of stream when it ended after
    /// them; throws <see cref="TimeoutException"/> when nothing came in time. A cancelled or timed-out wait takes nothing.
    /// </summary>
    public Task<LineBatch> ReceiveAsync(int maxBytes, long timeoutMs, CancellationToken cancellationToken) =>
        (_lines ?? throw new InvalidOperationException("this stream is forwarded, not piped")).TakeAsync(maxBytes, timeoutMs, cancellationToken);

    private unsafe void Run()
    {
        var buffer = new byte[MaxLineBytes];
        var filled = 0;
        try
        {
            while (true)
            {
                nint n;
                fixed (byte* p = buffer)
                {
                    n = Native.read(_fd, p + filled, buffer.Length - filled);
                }

                if (n < 0 && Marshal.GetLastPInvokeError() == Native.EINTR)
                {
                    continue;
                }

                if (n <= 0)
                {
                    break;
                }

                // What came before this read holds no newline: only the new bytes are searched.
                var last = buffer.AsSpan(filled, (int)n).LastIndexOf((byte)'\n');
                filled += (int)n;
                if (last >= 0)
                {
                    var whole = filled - (int)n + last + 1;
                    EmitLines(buffer.AsSpan(0, whole));
                    buffer.AsSpan(whole, filled - whole).CopyTo(buffer);
                    filled -= whole;
                }
                else if (filled == buffer.Length)
                {
                    EmitPiece(buffer);
                    filled = 0;
                }
            }

            if (filled > 0)
            {
                EmitPiece(buffer.AsSpan(0, filled));
            }
        }
        finally
        {
            _ = Native.close(_fd);
            _lines?.Complete();
            _drained.TrySetResult();
        }
    }

    /// <summary>Whole lines, each ending in a newline.</summary>
    private void EmitLines(ReadOnlySpan<byte> lines)
    {
        if (_lines is not null)
        {
            _lines.Append(lines.ToArray());
            return;
        }

        int newline;
        while ((newline = lines.IndexOf((byte)'\n')) >= 0)
        {
            _sink!.WriteLine(_label, lines[..newline], _isError);
            lines = lines[(newline + 1)..];
        }
    }

    /// <summary>A piece of a line too long to keep whole, or the last line of a stream that did not end in a newline.</summary>
    private void EmitPiece(ReadOnlySpan<byte> piece)
    {
        if (_lines is null)
        {
            _sink!.WriteLine(_label, piece, _isError);
            return;
        }

        var chunk = new byte[piece.Length + 1];
        piece.CopyTo(chunk);
        chunk[^1] = (byte)'\n';
        _lines.Append(chunk);
    }
}
