using Dragon.Runtime.Protocol;

namespace Dragon.Services.Global;

/// <summary>A node service in another process (usually on another host), driven over its link to the launcher.</summary>
internal sealed class RemoteNode : INodeControl
{
    private readonly FramedConnection _link;

    public RemoteNode(NodeDescriptor descriptor, FramedConnection link)
    {
        Descriptor = descriptor;
        _link = link;
    }

    public NodeDescriptor Descriptor { get; }

    /// <summary>The figures the node sent last (every few seconds while the run exports metrics).</summary>
    public NodeMetricsNotice? ReportedFigures { get; set; }

    public NodeMetricsNotice? SampleFigures() => ReportedFigures;

    /// <summary>Completes when the link to the node is gone.</summary>
    public Task Closed => _link.Closed;

    /// <summary>Why the link ended, once it has.</summary>
    public Exception? LostReason => _link.LostReason;

    public async Task<SpawnReply> SpawnAsync(SpawnRequest request) => (SpawnReply)await RequestAsync(request).ConfigureAwait(false);

    public void Signal(ulong puid, int signal) => Notify(new NodeSignalRequest(puid, signal));

    /// <summary>Sent as a request: the node's answer says its objects have let go of the process.</summary>
    public async Task OnProcessExitedAsync(ulong puid)
    {
        try
        {
            await _link.RequestAsync(new ProcessGoneNotice(puid), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or DragonException)
        {
            // The node is gone: nothing of it can hold the process's waits any more.
        }
    }

    public async Task<PmiJobReply> CreatePmiJobAsync(PmiJobRequest request) => (PmiJobReply)await RequestAsync(request).ConfigureAwait(false);

    public void ClosePmiJob(ulong groupId) => Notify(new PmiJobClose(groupId));

    /// <summary>Tells the node the run is over; it stops its processes, cleans up and exits.</summary>
    public Task ShutdownAsync(TimeSpan patience) => RequestAsync(new ShutdownRequest((long)patience.TotalMilliseconds));

    public ValueTask DisposeAsync() => _link.DisposeAsync();

    private async Task<IMessage> RequestAsync(IMessage request)
    {
        IMessage reply;
        try
        {
            reply = await _link.RequestAsync(request, CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new ServiceException(ErrorKind.StartFailed, $"node {Descriptor.Name} cannot be reached: {e.Message}", new ErrorContext(NodeIndex: Descriptor.Index));
        }

        return reply is ErrorReply error ? throw new ServiceException(error.Kind, error.Message, error.Context) : reply;
    }

    private void Notify(IMessage notice) => _ = NotifyQuietlyAsync(notice);

    private async Task NotifyQuietlyAsync(IMessage notice)
    {
        try
        {
            await _link.NotifyAsync(notice).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // The node is gone; its loss is reported when the link closes.
        }
    }
}
