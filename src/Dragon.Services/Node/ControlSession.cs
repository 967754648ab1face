using System.Net.Sockets;
using Dragon.Runtime.Protocol;
using Dragon.Services.Global;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Node;

/// <summary>
/// One process's control connection to its node service. The first frame must prove the run's secret; after that
/// every request runs on its own so a long join never holds up a short query.
/// </summary>
internal sealed partial class ControlSession : IDisposable
{
    private readonly NodeService _node;
    private readonly Socket _socket;
    private readonly ILogger _logger;
    private ulong _puid;
    private ulong _sender;

    public ControlSession(NodeService node, Socket socket, ILogger logger)
    {
        _node = node;
        _socket = socket;
        _logger = logger;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        FramedConnection? connection = null;
        try
        {
            if (await ProveAsync(cancellationToken).ConfigureAwait(false) is not { } helloId)
            {
                return;
            }

            await ReplyAsync(helloId, new HelloReply(_node.Run.RunId, _node.Descriptor.Index, _node.Nodes), cancellationToken).ConfigureAwait(false);
            _node.SessionStarted(_puid, this);
            connection = new FramedConnection(_socket, $"process {_puid}", dialled: false, new FrameHandlers
            {
                Serve = (request, token) => ServeAsync(request, token),
                Notice = (notice, _) => notice is ChannelPut put ? _node.RemotePuts.ForwardAsync(_sender, put) : ValueTask.CompletedTask,
                Undelivered = Undelivered,
                ServeFailed = (request, e) => LogRequestFailed(request.GetType().Name, e),
            }, start: false);
            _sender = _node.RemotePuts.Register(connection);
            connection.Start();
            using (cancellationToken.Register(static state => _ = ((FramedConnection)state!).DisposeAsync().AsTask(), connection))
            {
                await connection.Closed.ConfigureAwait(false);
            }

            if (connection.LostReason is InvalidDataException bad)
            {
                LogBadFrame(_puid, bad.Message);
            }
            else
            {
                LogSessionEnded(_puid, connection.LostReason?.Message ?? "closed");
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            LogSessionEnded(_puid, e.Message);
        }
        finally
        {
            if (connection is not null)
            {
                _node.RemotePuts.Unregister(_sender);
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            Dispose();
            _node.SessionEnded(_puid, this);
            _ended.TrySetResult();
        }
    }

    /// <summary>Completes when the session has served everything the process sent and ended.</summary>
    public Task Ended => _ended.Task;

    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Reads the hello under the pre-authentication limits (a small frame, within <see cref="HelloCheck.Deadline"/>)
    /// and checks the secret before anything else; returns the hello's request id, or null when the peer was refused.
    /// </summary>
    private async Task<long?> ProveAsync(CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(HelloCheck.Deadline);
        (long Id, byte[] Body)? first;
        try
        {
            using var stream = new NetworkStream(_socket, ownsSocket: false);
            first = await FrameCodec.ReadRawAsync(stream, HelloCheck.MaxFrameBytes, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogRefused($"no hello within {HelloCheck.Deadline.TotalSeconds:F0} s");
            return null;
        }
        catch (InvalidDataException e)
        {
            LogRefused(e.Message);
            return null;
        }

        if (first is not { } hello)
        {
            return null;
        }

        bool proven;
        try
        {
            proven = HelloCheck.Proves(hello.Body, _node.SecretBytes, out _puid, out _);
        }
        catch (InvalidDataException e)
        {
            LogRefused(e.Message);
            proven = false;
        }

        if (!proven)
        {
            LogRefused("the run's secret was not proven");
            await ReplyAsync(0, new ErrorReply(ErrorKind.Unauthorized, "the run's secret was not proven"), deadline.Token).ConfigureAwait(false);
            return null;
        }

        return hello.Id;
    }

    /// <summary>Serves one request of the process; a service error becomes its error reply, as on a link.</summary>
    private async Task<IMessage> ServeAsync(IMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await RequestHandler.HandleAsync(_node, request, _puid, cancellationToken).ConfigureAwait(false);
        }
        catch (ServiceException e)
        {
            return e.ToReply();
        }
    }

    /// <summary>A reply the process never got: a message a receive took for it goes back into its channel.</summary>
    private void Undelivered(IMessage request, IMessage reply)
    {
        if (request is ObjectRequest { Op: ObjectOp.Receive } receive && reply is ObjectReply { Status: ObjectStatus.Ok } taken)
        {
            _ = GiveBackAsync(receive, taken);
        }
    }

    /// <summary>
    /// A message taken for a process that went away before its reply could reach it (its receive was served on
    /// another node and the take raced with the end of the process): it goes back into the channel, at the back
    /// (a ring cannot take it at the front), rather than being lost.
    /// </summary>
    private async Task GiveBackAsync(ObjectRequest receive, ObjectReply taken)
    {
        try
        {
            var send = receive with { Op = ObjectOp.Send, Payload = taken.Payload, TimeoutMs = (long)s_giveBackPatience.TotalMilliseconds };
            var reply = await RequestHandler.HandleAsync(_node, send, _puid, CancellationToken.None).ConfigureAwait(false);
            if (reply is not ObjectReply { Status: ObjectStatus.Ok })
            {
                LogGiveBackFailed(receive.Id, reply is ObjectReply r ? r.Status.ToString() : reply.GetType().Name);
            }
        }
        catch (Exception e) when (e is ServiceException or DragonException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            LogGiveBackFailed(receive.Id, e.Message);
        }
    }

    private static readonly TimeSpan s_giveBackPatience = TimeSpan.FromSeconds(10);

    /// <summary>Writes the hello's answer, before the framed connection takes the socket over.</summary>
    private async Task ReplyAsync(long id, IMessage reply, CancellationToken cancellationToken)
    {
        using var stream = new NetworkStream(_socket, ownsSocket: false);
        await stream.WriteAsync(FrameCodec.Encode(id, reply), cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _socket.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "a message taken for a process that went away could not go back into channel {Channel}: {Reason}")]
    private partial void LogGiveBackFailed(ulong channel, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "refused a control connection: {Reason}")]
    private partial void LogRefused(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "closed the control session of puid {Puid}: {Reason}")]
    private partial void LogBadFrame(ulong puid, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "control session of puid {Puid} ended: {Reason}")]
    private partial void LogSessionEnded(ulong puid, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "request {Request} failed")]
    private partial void LogRequestFailed(string request, Exception exception);
}
