using System.Text;

namespace Dragon.Pool;

/// <summary>
/// A task's console output, captured in its worker for a batch's per-task logs: <see cref="Console.Out"/> and
/// <see cref="Console.Error"/> point at bounded buffers while the task runs (a worker runs one task at a time), so
/// what the method prints goes to its own log instead of the worker's shared stream. The console is process-wide:
/// what other threads of the worker print meanwhile (a timer, work the task left running) lands in the same log.
/// </summary>
internal sealed class OutputCapture
{
    /// <summary>Most characters kept per stream and task (1 Mi, up to 3 MiB of UTF-8); the rest is counted and dropped.</summary>
    public const int Limit = 1 << 20;

    private readonly BoundedWriter _stdout = new();
    private readonly BoundedWriter _stderr = new();
    private readonly TextWriter _oldOut = Console.Out;
    private readonly TextWriter _oldError = Console.Error;

    private OutputCapture()
    {
    }

    public static OutputCapture Begin()
    {
        var capture = new OutputCapture();
        Console.SetOut(capture._stdout);
        Console.SetError(capture._stderr);
        return capture;
    }

    /// <summary>What was captured so far, the console left as it is (a task past its timeout, still running).</summary>
    public (string? Stdout, string? Stderr) Peek() => (_stdout.Text(), _stderr.Text());

    public (string? Stdout, string? Stderr) End()
    {
        Console.SetOut(_oldOut);
        Console.SetError(_oldError);
        return (_stdout.Text(), _stderr.Text());
    }

    private sealed class BoundedWriter : TextWriter
    {
        private readonly StringBuilder _text = new();
        private readonly Lock _lock = new();
        private long _dropped;

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_lock)
            {
                if (_text.Length < Limit)
                {
                    _text.Append(value);
                }
                else
                {
                    _dropped++;
                }
            }
        }

        public override void Write(string? value) => Write(value.AsSpan());

        public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

        public override void Write(ReadOnlySpan<char> buffer)
        {
            lock (_lock)
            {
                var room = Math.Max(0, Limit - _text.Length);
                _text.Append(buffer[..Math.Min(room, buffer.Length)]);
                _dropped += Math.Max(0, buffer.Length - room);
            }
        }

        public override void WriteLine(string? value)
        {
            Write(value.AsSpan());
            Write(CoreNewLine);
        }

        public string? Text()
        {
            lock (_lock)
            {
                if (_text.Length == 0 && _dropped == 0)
                {
                    return null;
                }

                return _dropped == 0 ? _text.ToString() : $"{_text}\n[{_dropped} more characters were dropped: a task's log keeps {Limit} per stream]\n";
            }
        }
    }
}
