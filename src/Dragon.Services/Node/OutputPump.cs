using System.Runtime.InteropServices;
using System.Threading.Channels;
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
/// Reads one pipe from a child on a dedicated thread and cuts it into lines. A piped stream keeps lines in a queue
/// bounded in bytes (<see cref="MaxQueuedBytes"/>, counting a small overhead per line) that readers drain; when it is
/// full the pump stops reading, so the child blocks in write instead of anything being dropped (back-pressure). A
/// line longer than <see cref="MaxLineBytes"/> is delivered in pieces of that size, never buffered whole. A
/// forwarded stream hands each line to the output sink, which applies its own bound the same way.
/// </summary>
internal sealed class OutputPump
{
    /// <summary>Lines longer than this are delivered in pieces of this size.</summary>
    public const int MaxLineBytes = 64 * 1024;

    /// <summary>Most bytes a piped stream keeps for its readers (at least one line is always let in).</summary>
    public const int MaxQueuedBytes = 1024 * 1024;

    /// <summary>What a queued line costs beyond its bytes (the array and the queue's node), counted against the bound.</summary>
    private const int LineOverheadBytes = 48;

    private readonly int _fd;
    private readonly Channel<byte[]>? _lines;
    private readonly object _room = new();
    private long _queuedBytes;
    private readonly IOutputSink? _sink;
    private readonly string _label;
    private readonly bool _isError;
    private readonly Thread _thread;

    private OutputPump(int fd, Channel<byte[]>? lines, IOutputSink? sink, string label, bool isError)
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

    public static OutputPump Piped(int fd, string label) =>
        Start(new OutputPump(fd, Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleWriter = true }), null, label, false));

    /// <summary>True once a piped stream reached end of file and its readers took every line (nothing left to ask for).</summary>
    public bool IsConsumed => _lines is null ? _drained.Task.IsCompleted : _lines.Reader.Completion.IsCompleted;

    public static OutputPump Forwarded(int fd, IOutputSink sink, string label, bool isError) =>
        Start(new OutputPump(fd, null, sink, label, isError));

    private static OutputPump Start(OutputPump pump)
    {
        pump._thread.Start();
        return pump;
    }

    /// <summary>Next line, or null at end of stream; throws <see cref="TimeoutException"/> when the timeout passes.</summary>
    public async Task<byte[]?> ReceiveAsync(long timeoutMs, CancellationToken cancellationToken)
    {
        var lines = _lines ?? throw new InvalidOperationException("this stream is forwarded, not piped");
        if (lines.Reader.TryRead(out var ready))
        {
            return Taken(ready);
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
                if (lines.Reader.TryRead(out var line))
                {
                    return Taken(line);
                }

                if (!await lines.Reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false))
                {
                    return null;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException();
        }
    }

    /// <summary>A reader took a line: its bytes no longer count, and a pump waiting for room may go on.</summary>
    private byte[] Taken(byte[] line)
    {
        lock (_room)
        {
            _queuedBytes -= line.Length + LineOverheadBytes;
            Monitor.PulseAll(_room);
        }

        return line;
    }

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

                filled += (int)n;
                var start = 0;
                int newline;
                while ((newline = Array.IndexOf(buffer, (byte)'\n', start, filled - start)) >= 0)
                {
                    Emit(buffer.AsSpan(start, newline - start));
                    start = newline + 1;
                }

                if (start == 0 && filled == buffer.Length)
                {
                    Emit(buffer);
                    filled = 0;
                }
                else if (start > 0)
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, filled - start);
                    filled -= start;
                }
            }

            if (filled > 0)
            {
                Emit(buffer.AsSpan(0, filled));
            }
        }
        finally
        {
            _ = Native.close(_fd);
            _lines?.Writer.TryComplete();
            _drained.TrySetResult();
        }
    }

    private void Emit(ReadOnlySpan<byte> line)
    {
        if (_sink is not null)
        {
            _sink.WriteLine(_label, line, _isError);
            return;
        }

        var cost = line.Length + LineOverheadBytes;
        lock (_room)
        {
            // Full: block this pump thread (and so the child's writes) until a reader makes room.
            while (_queuedBytes > 0 && _queuedBytes + cost > MaxQueuedBytes)
            {
                Monitor.Wait(_room);
            }

            _queuedBytes += cost;
        }

        _lines!.Writer.TryWrite(line.ToArray());
    }
}
