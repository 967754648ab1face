using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
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
            if (await FrameCodec.ReadAsync(_stream, cancellationToken).ConfigureAwait(false) is not { Message: HelloRequest hello } first
                || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(hello.Secret), Encoding.UTF8.GetBytes(_node.Run.Secret)))
            {
                LogRefused();
                await ReplyAsync(0, new ErrorReply(ErrorKind.Unauthorized, "the run's secret was not proven"), cancellationToken).ConfigureAwait(false);
                return;
            }

            _puid = hello.Puid;
            await ReplyAsync(first.Id, new HelloReply(_node.Run.RunId, _node.Descriptor.Index, _node.Nodes), cancellationToken).ConfigureAwait(false);
            while (await FrameCodec.ReadAsync(_stream, cancellationToken).ConfigureAwait(false) is { } frame)
            {
                _ = HandleAsync(frame.Id, frame.Message, cancellationToken);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidDataException)
        {
            LogSessionEnded(_puid, e.Message);
        }
        finally
        {
            Dispose();
        }
    }

    private async Task HandleAsync(long id, IMessage request, CancellationToken cancellationToken)
    {
        IMessage reply;
        try
        {
            reply = await RequestHandler.HandleAsync(_node, request, _puid, cancellationToken).ConfigureAwait(false);
        }
        catch (ServiceException e)
        {
            reply = new ErrorReply(e.Kind, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRequestFailed(request.GetType().Name, e);
            reply = new ErrorReply(ErrorKind.Internal, $"{request.GetType().Name} failed in the node service: {e.Message}");
        }

        try
        {
            await ReplyAsync(id, reply, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The process went away; nothing to tell it.
        }
    }

    private async Task ReplyAsync(long id, IMessage reply, CancellationToken cancellationToken)
    {
        var frame = FrameCodec.Encode(id, reply);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "refused a control connection that did not prove the run's secret")]
    private partial void LogRefused();

    [LoggerMessage(Level = LogLevel.Debug, Message = "control session of puid {Puid} ended: {Reason}")]
    private partial void LogSessionEnded(ulong puid, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "request {Request} failed")]
    private partial void LogRequestFailed(string request, Exception exception);
}
