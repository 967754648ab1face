using System.Runtime.InteropServices;
using System.Threading.Channels;
using Dragon.Services.Spawning;

namespace Dragon.Services.Node;

/// <summary>Where forwarded output of processes goes (the launcher's stdout/stderr, labelled or not).</summary>
internal interface IOutputSink
{
    void WriteLine(string label, ReadOnlySpan<byte> line, bool isError);
}

/// <summary>
/// Reads one pipe from a child on a dedicated thread and cuts it into lines. A piped stream keeps lines in a bounded
/// queue that readers drain; when the queue is full the pump stops reading, so the child blocks in write instead
/// of anything being dropped (back-pressure). A forwarded stream writes each line to the output sink.
/// </summary>
internal sealed class OutputPump
{
    /// <summary>Lines longer than this are delivered in pieces of this size.</summary>
    public const int MaxLineBytes = 64 * 1024;

    private readonly int _fd;
    private readonly Channel<byte[]>? _lines;
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
        Start(new OutputPump(fd, Channel.CreateBounded<byte[]>(new BoundedChannelOptions(4096) { SingleWriter = true }), null, label, false));

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
            return ready;
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
                    return line;
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

        var copy = line.ToArray();
        var writer = _lines!.Writer;
        if (!writer.TryWrite(copy))
        {
            // Full: block this pump thread (and so the child's writes) until a reader makes room.
            writer.WriteAsync(copy).AsTask().GetAwaiter().GetResult();
        }
    }
}
