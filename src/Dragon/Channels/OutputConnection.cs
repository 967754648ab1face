using System.Text;
using System.Text.Json;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;

namespace Dragon;

/// <summary>A piped stdout (fd 1) or stderr (fd 2) read through the node service that owns the pipe.</summary>
internal sealed class OutputConnection : Connection
{
    public const string Kind = "output";

    private readonly ulong _puid;
    private readonly int _node;
    private readonly int _fd;
    private StreamData? _peeked;
    private bool _ended;

    public OutputConnection(ulong puid, int node, int fd)
    {
        _puid = puid;
        _node = node;
        _fd = fd;
    }

    private protected override string Describe => $"the {StreamName} of process {_puid}";

    private protected override bool TryReceiveCore<T>(long timeoutMs, out T value, CancellationToken cancellationToken)
    {
        (var received, value) = TryReceiveCoreAsync<T>(timeoutMs, cancellationToken).AsTask().GetAwaiter().GetResult();
        return received;
    }

    private protected override async ValueTask<(bool Received, T Value)> TryReceiveCoreAsync<T>(long timeoutMs, CancellationToken cancellationToken)
    {
        var data = _peeked ?? await FetchAsync(timeoutMs, cancellationToken).ConfigureAwait(false);
        _peeked = null;
        if (data.TimedOut)
        {
            return (false, default!);
        }

        if (data.EndOfStream)
        {
            _ended = true;
            throw new EndOfStreamException($"the {StreamName} of process {_puid} has ended");
        }

        object value = typeof(T) == typeof(byte[]) ? data.Data : Encoding.UTF8.GetString(data.Data);
        return value is T typed
            ? (true, typed)
            : throw new InvalidCastException($"an output stream carries strings (or byte[]), not {typeof(T).Name}");
    }

    private protected override void SendCore<T>(T value, CancellationToken cancellationToken) => throw OnlyReceives();

    private protected override ValueTask SendCoreAsync<T>(T value, CancellationToken cancellationToken) => throw OnlyReceives();

    private protected override bool PollCore(long timeoutMs, CancellationToken cancellationToken) =>
        PollCoreAsync(timeoutMs, cancellationToken).AsTask().GetAwaiter().GetResult();

    private protected override async ValueTask<bool> PollCoreAsync(long timeoutMs, CancellationToken cancellationToken)
    {
        if (_peeked is not null || _ended)
        {
            return true;
        }

        var data = await FetchAsync(timeoutMs, cancellationToken).ConfigureAwait(false);
        if (data.TimedOut)
        {
            return false;
        }

        _peeked = data;
        return true;
    }

    private protected override ValueTask CloseCoreAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    private NotSupportedException OnlyReceives() => new($"the {StreamName} connection of process {_puid} only receives");

    private string StreamName => _fd == 1 ? "stdout" : "stderr";

    private async ValueTask<StreamData> FetchAsync(long timeoutMs, CancellationToken cancellationToken)
    {
        if (_ended)
        {
            return new StreamData([], EndOfStream: true, TimedOut: false);
        }

        return await RuntimeClient.Current
            .RequestAsync<StreamData>(new StreamRecvRequest(_puid, _node, _fd, timeoutMs), cancellationToken)
            .ConfigureAwait(false);
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
