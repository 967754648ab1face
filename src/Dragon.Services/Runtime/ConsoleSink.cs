using Dragon.Services.Node;

namespace Dragon.Services.Runtime;

/// <summary>
/// Forwarded output of every process, written whole lines at a time to the launcher's stdout or stderr by one
/// writer thread of its own. Nothing else ever waits on the terminal: lines wait in a buffer bounded in bytes
/// (<see cref="CapacityBytes"/>). Lines are taken at once, from this process's child I/O loop or from another node,
/// and the task that says so completes only once there is room again: the loop stops reading the children that
/// write here meanwhile (so they block in write), and a node's output window waits for it. A slow terminal slows
/// the processes that write to it, never a link.
/// </summary>
internal sealed class ConsoleSink : IOutputSink, IDisposable
{
    /// <summary>Bytes of output held for the terminal before writers are held back.</summary>
    public const int CapacityBytes = 1024 * 1024;

    private readonly object _gate = new();
    private readonly System.Collections.Generic.Queue<(byte[] Bytes, bool IsError)> _lines = new();
    private readonly System.Collections.Generic.Queue<TaskCompletionSource> _waiting = new();
    private readonly Stream _stdout = Console.OpenStandardOutput();
    private readonly Stream _stderr = Console.OpenStandardError();
    private readonly Thread _writer;
    private long _queuedBytes;
    private bool _completed;
    private volatile bool _broken;

    public ConsoleSink()
    {
        _writer = new Thread(WriteLoop, maxStackSize: 256 * 1024) { IsBackground = true, Name = "console output" };
        _writer.Start();
    }

    public Task Write(string label, ReadOnlySpan<byte> lines, bool isError) => Take(Frame(label, lines), isError);

    public Task AcceptAsync(string label, byte[] line, bool isError) => Take(Frame(label, line), isError);

    /// <summary>Queues framed lines at once; the task completes once the buffer is back within its bound.</summary>
    private Task Take(byte[] bytes, bool isError)
    {
        lock (_gate)
        {
            if (!Enqueue(bytes, isError) || _queuedBytes <= CapacityBytes)
            {
                return Task.CompletedTask;
            }

            var accepted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue(accepted);
            return accepted.Task;
        }
    }

    /// <summary>Writes out everything taken so far, then stops (the launcher's output is complete only after this).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.PulseAll(_gate);
        }

        _writer.Join();
        lock (_gate)
        {
            // Lines given from now on are dropped: no one who waits for room waits for ever.
            while (_waiting.TryDequeue(out var accepted))
            {
                accepted.TrySetResult();
            }
        }

        _stdout.Dispose();
        _stderr.Dispose();
    }

    /// <summary>
    /// The bytes to write for one line, or for several joined by newlines (a node's batch), each after the label.
    /// </summary>
    private static byte[] Frame(string label, ReadOnlySpan<byte> lines)
    {
        if (label.Length == 0)
        {
            var plain = new byte[lines.Length + 1];
            lines.CopyTo(plain);
            plain[^1] = (byte)'\n';
            return plain;
        }

        var prefix = System.Text.Encoding.UTF8.GetBytes(label);
        var count = lines.Count((byte)'\n') + 1;
        var bytes = new byte[(prefix.Length * count) + lines.Length + 1];
        var at = 0;
        foreach (var range in lines.Split((byte)'\n'))
        {
            prefix.CopyTo(bytes.AsSpan(at));
            at += prefix.Length;
            lines[range].CopyTo(bytes.AsSpan(at));
            at += range.End.Value - range.Start.Value;
            bytes[at++] = (byte)'\n';
        }

        return bytes;
    }

    private void Flush(MemoryStream pending, bool toStderr)
    {
        if (pending.Length > 0 && !_broken)
        {
            try
            {
                (toStderr ? _stderr : _stdout).Write(pending.GetBuffer(), 0, (int)pending.Length);
            }
            catch (IOException)
            {
                // The reader went away (a closed pipe): the rest of the output has nowhere to go.
                _broken = true;
            }
        }

        pending.SetLength(0);
    }

    /// <summary>Under the gate: queues a line unless output is finished or the terminal is gone.</summary>
    private bool Enqueue(byte[] bytes, bool isError)
    {
        if (_broken || _completed)
        {
            return false;
        }

        _lines.Enqueue((bytes, isError));
        _queuedBytes += bytes.Length;
        Monitor.PulseAll(_gate);
        return true;
    }

    private void WriteLoop()
    {
        var batch = new List<(byte[] Bytes, bool IsError)>();
        using var pending = new MemoryStream();
        while (true)
        {
            lock (_gate)
            {
                while (_lines.Count == 0 && !_completed)
                {
                    Monitor.Wait(_gate);
                }

                if (_lines.Count == 0)
                {
                    return;
                }

                while (_lines.Count > 0 && batch.Count < 256)
                {
                    batch.Add(_lines.Dequeue());
                }
            }

            // Consecutive lines of one stream go out in one write.
            long written = 0;
            var toStderr = false;
            foreach (var (bytes, isError) in batch)
            {
                written += bytes.Length;
                if (isError != toStderr || pending.Length + bytes.Length > 64 * 1024)
                {
                    Flush(pending, toStderr);
                    toStderr = isError;
                }

                pending.Write(bytes);
            }

            Flush(pending, toStderr);
            batch.Clear();
            lock (_gate)
            {
                _queuedBytes -= written;
                if (_queuedBytes <= CapacityBytes || _broken)
                {
                    while (_waiting.TryDequeue(out var accepted))
                    {
                        accepted.TrySetResult();
                    }

                    Monitor.PulseAll(_gate);
                }
            }
        }
    }
}
