using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;

namespace Dragon;

/// <summary>
/// A piped stdout (fd 1) or stderr (fd 2) read through the node service that owns the pipe. One request fetches a
/// batch: the whole lines queued there, up to <see cref="StreamRecvRequest.DefaultMaxBytes"/> (at least one line);
/// this end hands them out one per receive, and asks again only once they are used up. Lines a connection fetched
/// are its own: another connection to the same stream (one passed to another process) gets the lines after them.
/// </summary>
internal sealed partial class OutputConnection : Connection
{
    public const string Kind = "output";

    private readonly ulong _puid;
    private readonly int _node;
    private readonly int _fd;

    private readonly Lock _gate = new();

    // Fetched lines not handed out yet, each ending in '\n'; _endFetched: the stream ended after them.
    private ReadOnlyMemory<byte> _lines;
    private bool _endFetched;

    public OutputConnection(ulong puid, int node, int fd)
    {
        _puid = puid;
        _node = node;
        _fd = fd;
    }

    private protected override string Describe => $"the {StreamName} of process {_puid}";

    private protected override bool TryReceiveCore<T>(long timeoutMs, out T value, CancellationToken cancellationToken)
    {
        // Lines already here are handed out without the asynchronous machinery.
        if (TryTake(out value))
        {
            return true;
        }

        (var received, value) = TryReceiveCoreAsync<T>(timeoutMs, cancellationToken).AsTask().GetAwaiter().GetResult();
        return received;
    }

    private protected override ValueTask<(bool Received, T Value)> TryReceiveCoreAsync<T>(long timeoutMs, CancellationToken cancellationToken) =>
        TryTake(out T value) ? ValueTask.FromResult((true, value)) : FetchAndTakeAsync<T>(timeoutMs, cancellationToken);

    private async ValueTask<(bool Received, T Value)> FetchAndTakeAsync<T>(long timeoutMs, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (!await FetchAsync(timeoutMs, cancellationToken).ConfigureAwait(false))
            {
                return (false, default!);
            }

            if (TryTake(out T value))
            {
                return (true, value);
            }
        }
    }

    /// <summary>The lines one after another, taken from each fetched batch without a receive per line.</summary>
    private protected override IAsyncEnumerable<T> ReadAllCoreAsync<T>(CancellationToken cancellationToken) => new LineReader<T>(this, cancellationToken);

    /// <summary>The next fetched line; false when none is left (and the stream has not ended: that throws).</summary>
    private bool TryTake<T>(out T value)
    {
        // Checked before anything is taken, so asking for the wrong type loses no line.
        ThrowUnlessCarried<T>();
        if (TryTakeLine(out var line))
        {
            value = Convert<T>(line);
            return true;
        }

        value = default!;
        return IsEnded ? throw new EndOfStreamException($"the {StreamName} of process {_puid} has ended") : false;
    }

    /// <summary>The next fetched line, without its newline.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryTakeLine(out ReadOnlyMemory<byte> line)
    {
        lock (_gate)
        {
            if (_lines.IsEmpty)
            {
                line = default;
                return false;
            }

            var newline = _lines.Span.IndexOf((byte)'\n');
            var length = newline < 0 ? _lines.Length : newline;
            line = _lines[..length];
            _lines = _lines[Math.Min(length + 1, _lines.Length)..];
            return true;
        }
    }

    /// <summary>True once the stream ended and every fetched line was handed out.</summary>
    private bool IsEnded
    {
        get
        {
            lock (_gate)
            {
                return _lines.IsEmpty && _endFetched;
            }
        }
    }

    private static void ThrowUnlessCarried<T>()
    {
        if (typeof(T) != typeof(string) && typeof(T) != typeof(byte[]) && !typeof(T).IsAssignableFrom(typeof(string)))
        {
            throw new InvalidCastException($"an output stream carries strings (or byte[]), not {typeof(T).Name}");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T Convert<T>(ReadOnlyMemory<byte> line) =>
        typeof(T) == typeof(byte[]) ? (T)(object)line.ToArray() : (T)(object)Encoding.UTF8.GetString(line.Span);

    private protected override void SendCore<T>(T value, CancellationToken cancellationToken) => throw OnlyReceives();

    private protected override ValueTask SendCoreAsync<T>(T value, CancellationToken cancellationToken) => throw OnlyReceives();

    private protected override bool PollCore(long timeoutMs, CancellationToken cancellationToken) =>
        HasLinesOrEnd() || FetchAsync(timeoutMs, cancellationToken).AsTask().GetAwaiter().GetResult();

    private protected override ValueTask<bool> PollCoreAsync(long timeoutMs, CancellationToken cancellationToken) =>
        HasLinesOrEnd() ? ValueTask.FromResult(true) : FetchAsync(timeoutMs, cancellationToken);

    private protected override ValueTask CloseCoreAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    private NotSupportedException OnlyReceives() => new($"the {StreamName} connection of process {_puid} only receives");

    private string StreamName => _fd == 1 ? "stdout" : "stderr";

    private bool HasLinesOrEnd()
    {
        lock (_gate)
        {
            return !_lines.IsEmpty || _endFetched;
        }
    }

    /// <summary>Fetches the next batch and keeps it; false when nothing came in time.</summary>
    private async ValueTask<bool> FetchAsync(long timeoutMs, CancellationToken cancellationToken)
    {
        if (HasLinesOrEnd())
        {
            return true;
        }

        var data = await RuntimeClient.Current
            .RequestAsync<StreamData>(new StreamRecvRequest(_puid, _node, _fd, timeoutMs, StreamRecvRequest.DefaultMaxBytes), cancellationToken)
            .ConfigureAwait(false);
        if (data.TimedOut)
        {
            return false;
        }

        lock (_gate)
        {
            // Another receive on this end may have fetched meanwhile: both batches are kept, in the order they came.
            _lines = _lines.IsEmpty ? data.Lines : Join(_lines, data.Lines);
            _endFetched |= data.EndOfStream;
        }

        return true;
    }

    private static ReadOnlyMemory<byte> Join(ReadOnlyMemory<byte> first, ReadOnlyMemory<byte> second)
    {
        var joined = new byte[first.Length + second.Length];
        first.CopyTo(joined);
        second.CopyTo(joined.AsMemory(first.Length));
        return joined;
    }

    private protected override void WriteDescriptor(Utf8JsonWriter writer)
    {
        writer.WriteString("kind", Kind);
        writer.WriteNumber("puid", _puid);
        writer.WriteNumber("node", _node);
        writer.WriteNumber("fd", _fd);
    }
}

/// <summary>A piped stdin, written through the node service that owns the pipe.</summary>
internal sealed class InputConnection : Connection
{
    public const string Kind = "input";

    private readonly ulong _puid;
    private readonly int _node;
    private int _closed;

    public InputConnection(ulong puid, int node)
    {
        _puid = puid;
        _node = node;
    }

    private protected override string Describe => $"the stdin of process {_puid}";

    private protected override bool TryReceiveCore<T>(long timeoutMs, out T value, CancellationToken cancellationToken) => throw OnlySends();

    private protected override ValueTask<(bool Received, T Value)> TryReceiveCoreAsync<T>(long timeoutMs, CancellationToken cancellationToken) => throw OnlySends();

    private protected override void SendCore<T>(T value, CancellationToken cancellationToken) =>
        SendCoreAsync(value, cancellationToken).AsTask().GetAwaiter().GetResult();

    private protected override async ValueTask SendCoreAsync<T>(T value, CancellationToken cancellationToken)
    {
        var bytes = value switch
        {
            byte[] raw => raw,
            string text => Encoding.UTF8.GetBytes(text),
            _ => throw new ArgumentException($"stdin takes strings or byte[], not {typeof(T).Name}", nameof(value)),
        };
        await RuntimeClient.Current
            .RequestAsync<Ack>(new StreamWriteRequest(_puid, _node, bytes, Close: false), cancellationToken)
            .ConfigureAwait(false);
    }

    private protected override bool PollCore(long timeoutMs, CancellationToken cancellationToken) => false;

    private protected override ValueTask<bool> PollCoreAsync(long timeoutMs, CancellationToken cancellationToken) => ValueTask.FromResult(false);

    private protected override async ValueTask CloseCoreAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        await RuntimeClient.Current.RequestAsync<Ack>(new StreamWriteRequest(_puid, _node, [], Close: true), cancellationToken).ConfigureAwait(false);
    }

    private NotSupportedException OnlySends() => new($"the stdin connection of process {_puid} only sends");

    private protected override void WriteDescriptor(Utf8JsonWriter writer)
    {
        writer.WriteString("kind", Kind);
        writer.WriteNumber("puid", _puid);
        writer.WriteNumber("node", _node);
    }
}
