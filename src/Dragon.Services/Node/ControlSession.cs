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
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ILogger _logger;

    /// <summary>The requests being served, by id, so a <see cref="CancelRequest"/> can stop one.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, CancellationTokenSource> _serving = new();
    private ulong _puid;

    public ControlSession(NodeService node, Socket socket, ILogger logger)
    {
        _node = node;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _logger = logger;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await ProveAsync(cancellationToken).ConfigureAwait(false) is not { } helloId)
            {
                return;
            }

            await ReplyAsync(helloId, new HelloReply(_node.Run.RunId, _node.Descriptor.Index, _node.Nodes), cancellationToken).ConfigureAwait(false);
            while (await FrameCodec.ReadAsync(_stream, cancellationToken).ConfigureAwait(false) is { } frame)
            {
                if (frame.Message is CancelRequest cancel)
                {
                    Cancel(_serving, cancel.RequestId);
                    continue;
                }

                // Registered before the next frame is read, so a cancel that follows finds it.
                var serving = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                _serving[frame.Id] = serving;
                _ = HandleAsync(frame.Id, frame.Message, serving, cancellationToken);
            }
        }
        catch (InvalidDataException e)
        {
            LogBadFrame(_puid, e.Message);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            LogSessionEnded(_puid, e.Message);
        }
        finally
        {
            // The process is gone (or closed its connection): nobody will read these replies. Stop what it asked for,
            // so a send it started is withdrawn at once and a receive stops taking messages on its behalf.
            foreach (var (id, _) in _serving)
            {
                Cancel(_serving, id);
            }

            Dispose();
        }
    }

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
            first = await FrameCodec.ReadRawAsync(_stream, HelloCheck.MaxFrameBytes, deadline.Token).ConfigureAwait(false);
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

    /// <summary>Stops a request being served (a cancel for one that already ended finds nothing: its reply is on its way).</summary>
    internal static void Cancel(System.Collections.Concurrent.ConcurrentDictionary<long, CancellationTokenSource> serving, long id)
    {
        if (serving.TryGetValue(id, out var request))
        {
            try
            {
                request.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // It ended meanwhile.
            }
        }
    }

    private async Task HandleAsync(long id, IMessage request, CancellationTokenSource serving, CancellationToken cancellationToken)
    {
        IMessage reply;
        try
        {
            reply = await RequestHandler.HandleAsync(_node, request, _puid, serving.Token).ConfigureAwait(false);
        }
        catch (ServiceException e)
        {
            reply = e.ToReply();
        }
        catch (OperationCanceledException) when (serving.IsCancellationRequested)
        {
            reply = new ErrorReply(ErrorKind.Cancelled, $"{request.GetType().Name} was cancelled");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRequestFailed(request.GetType().Name, e);
            reply = new ErrorReply(ErrorKind.Internal, $"{request.GetType().Name} failed in the node service: {e.Message}");
        }

        var delivered = false;
        try
        {
            await ReplyAsync(id, reply, cancellationToken).ConfigureAwait(false);
            delivered = true;
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The process went away; nothing to tell it.
        }
        finally
        {
            _serving.TryRemove(id, out _);
            serving.Dispose();
        }

        if (!delivered && request is ObjectRequest { Op: ObjectOp.Receive } receive && reply is ObjectReply { Status: ObjectStatus.Ok } taken)
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

    private async Task ReplyAsync(long id, IMessage reply, CancellationToken cancellationToken)
    {
        var frame = FrameCodec.EncodeParts(id, reply);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FrameCodec.WriteAsync(_stream, frame, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
    }

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
