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

    public override async ValueTask<T> RecvAsync<T>(TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var data = _peeked ?? await FetchAsync(timeout, cancellationToken).ConfigureAwait(false);
        _peeked = null;
        if (data.TimedOut)
        {
            throw new TimeoutException($"no output from process {_puid} within {timeout}");
        }

        if (data.EndOfStream)
        {
            _ended = true;
            throw new EndOfStreamException($"the {StreamName} of process {_puid} has ended");
        }

        object value = typeof(T) == typeof(byte[]) ? data.Data : Encoding.UTF8.GetString(data.Data);
        return value is T typed
            ? typed
            : throw new InvalidCastException($"an output stream carries strings (or byte[]), not {typeof(T).Name}");
    }

    public override ValueTask SendAsync<T>(T value, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"the {StreamName} connection of process {_puid} only receives");

    public override bool Poll(TimeSpan timeout)
    {
        if (_peeked is not null || _ended)
        {
            return true;
        }

        var data = FetchAsync(timeout, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        if (data.TimedOut)
        {
            return false;
        }

        _peeked = data;
        return true;
    }

    public override void Close()
    {
    }

    private string StreamName => _fd == 1 ? "stdout" : "stderr";

    private async ValueTask<StreamData> FetchAsync(TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (_ended)
        {
            return new StreamData([], EndOfStream: true, TimedOut: false);
        }

        return await RuntimeClient.Current
            .RequestAsync<StreamData>(new StreamRecvRequest(_puid, _node, _fd, Timeouts.ToMilliseconds(timeout)), cancellationToken)
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

    public InputConnection(ulong puid, int node)
    {
        _puid = puid;
        _node = node;
    }

    public override ValueTask<T> RecvAsync<T>(TimeSpan? timeout, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"the stdin connection of process {_puid} only sends");

    public override async ValueTask SendAsync<T>(T value, CancellationToken cancellationToken = default)
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

    public override bool Poll(TimeSpan timeout) => false;

    public override void Close() => RuntimeClient.Current.Request<Ack>(new StreamWriteRequest(_puid, _node, [], Close: true));

    private protected override void WriteDescriptor(Utf8JsonWriter writer)
    {
        writer.WriteString("kind", Kind);
        writer.WriteNumber("puid", _puid);
        writer.WriteNumber("node", _node);
    }
}
