using System.Threading.Channels;
using Dragon.Runtime.Protocol;
using Dragon.Services.Global;
using Dragon.Services.Transport;

namespace Dragon.Services.Node;

/// <summary>
/// How a node service reaches global services: requests that need an answer, and notices (exits, output, MPI
/// rank events) that must arrive in the order they happened.
/// </summary>
internal interface IGlobalLink
{
    Task<IMessage> RequestAsync(IMessage request, CancellationToken cancellationToken);

    /// <summary>Sends a notice; notices arrive in the order they were given.</summary>
    void Notify(IMessage notice);
}

/// <summary>Global services in this same process (one machine, or the launcher's own nodes).</summary>
internal sealed class LocalGlobalLink(GlobalServices global) : IGlobalLink
{
    public Task<IMessage> RequestAsync(IMessage request, CancellationToken cancellationToken) =>
        GlobalRequestHandler.HandleAsync(global, request, cancellationToken);

    public void Notify(IMessage notice) => GlobalRequestHandler.HandleNotice(global, notice);
}

/// <summary>Global services in the launcher, over this node's link to it; notices go out in order through one writer.</summary>
internal sealed class RemoteGlobalLink : IGlobalLink
{
    private readonly NodeLink _link;
    private readonly Channel<IMessage> _notices = Channel.CreateUnbounded<IMessage>(new UnboundedChannelOptions { SingleReader = true });

    public RemoteGlobalLink(NodeLink link)
    {
        _link = link;
        _ = Task.Run(SendNoticesAsync);
    }

    public Task<IMessage> RequestAsync(IMessage request, CancellationToken cancellationToken) => _link.RequestAsync(request, cancellationToken);

    public void Notify(IMessage notice) => _notices.Writer.TryWrite(notice);

    /// <summary>Completes when every notice given so far was written to the link.</summary>
    public async Task FlushAsync()
    {
        _notices.Writer.TryComplete();
        await _flushed.Task.ConfigureAwait(false);
    }

    private readonly TaskCompletionSource _flushed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task SendNoticesAsync()
    {
        try
        {
            await foreach (var notice in _notices.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                await _link.NotifyAsync(notice, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The launcher is gone; the node service is shutting down because of it.
        }
        finally
        {
            _flushed.TrySetResult();
        }
    }
}
