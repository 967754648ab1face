using System.Threading.Channels;
using Dragon.Runtime.Protocol;
using Dragon.Services.Global;

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

/// <summary>
/// Global services in this same process (one machine, or the launcher's own nodes). Errors come back as they do over
/// a link: a service error is its <see cref="ErrorReply"/>, never an exception, so callers handle one form.
/// </summary>
internal sealed class LocalGlobalLink(GlobalServices global) : IGlobalLink
{
    public async Task<IMessage> RequestAsync(IMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await GlobalRequestHandler.HandleAsync(global, request, cancellationToken).ConfigureAwait(false);
        }
        catch (ServiceException e)
        {
            return e.ToReply();
        }
    }

    public void Notify(IMessage notice) => GlobalRequestHandler.HandleNotice(global, notice);
}

/// <summary>
/// Global services in the launcher, over this node's link to it; notices go out in order through one writer.
/// Forwarded output goes out in the same order, but as requests: the launcher answers each once its bounded
/// console buffer took the line, and at most <see cref="OutputWindowBytes"/> of output wait for an answer. While the
/// window is full the child I/O loop reads no forwarded stream, so a slow terminal holds up the children that write
/// to it, never the link.
/// </summary>
internal sealed class RemoteGlobalLink : IGlobalLink
{
    /// <summary>Bytes of forwarded output sent and not yet accepted by the launcher (one line always may go).</summary>
    public const int OutputWindowBytes = 256 * 1024;

    private readonly FramedConnection _link;

    /// <summary>The link's socket, for its figures (<see cref="Transport.LinkFigures"/>).</summary>
    public System.Net.Sockets.Socket Socket => _link.Socket;

    private readonly Channel<IMessage> _notices = Channel.CreateUnbounded<IMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly object _window = new();
    private long _outputInFlight;
    private long _outputAccepted;
    private bool _outputClosed;

    // Given to the loop when the window is full; completed once it has room again (or output has nowhere to go).
    private TaskCompletionSource? _room;

    public RemoteGlobalLink(FramedConnection link)
    {
        _link = link;
        _ = Task.Run(SendNoticesAsync);
    }

    public Task<IMessage> RequestAsync(IMessage request, CancellationToken cancellationToken) => _link.RequestAsync(request, cancellationToken);

    public void Notify(IMessage notice) => _notices.Writer.TryWrite(notice);

    /// <summary>
    /// From the child I/O loop: sends lines of output (one, or several joined by newlines) at once, and returns a
    /// task that completes once the window has room again, already completed while it has. The loop sends nothing
    /// more until then, so the window overflows by one batch at most.
    /// </summary>
    public Task SendOutput(OutputNotice lines)
    {
        var cost = Cost(lines);
        lock (_window)
        {
            if (_outputClosed)
            {
                // The launcher is gone: the lines have nowhere to go, and the stream must go on to end of file.
                return Task.CompletedTask;
            }

            _outputInFlight += cost;
        }

        if (!_notices.Writer.TryWrite(lines))
        {
            OutputDone(cost, accepted: false);
            return Task.CompletedTask;
        }

        lock (_window)
        {
            return _outputInFlight < OutputWindowBytes || _outputClosed
                ? Task.CompletedTask
                : (_room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    /// <summary>
    /// What lines weigh in the window: their bytes, and per line its label and <see cref="LineOverheadBytes"/>, so
    /// that a flood of empty lines is held back too.
    /// </summary>
    private static long Cost(OutputNotice lines) =>
        lines.Line.Length + ((long)(lines.Line.AsSpan().Count((byte)'\n') + 1) * (lines.Label.Length + LineOverheadBytes));

    /// <summary>What a line costs the window beyond its bytes and label (its newline, the records that carry it).</summary>
    private const int LineOverheadBytes = 32;

    /// <summary>Bytes of output the launcher has accepted so far (grows while output makes progress).</summary>
    public long OutputAccepted => Interlocked.Read(ref _outputAccepted);

    private void OutputDone(long cost, bool accepted)
    {
        TaskCompletionSource? room = null;
        lock (_window)
        {
            _outputInFlight -= cost;
            if (accepted)
            {
                _outputAccepted += cost;
            }
            else
            {
                _outputClosed = true;
            }

            if (_outputInFlight < OutputWindowBytes || _outputClosed)
            {
                room = _room;
                _room = null;
            }
        }

        room?.TrySetResult();
    }

    private async Task AwaitAcceptanceAsync(Task<IMessage> reply, long cost)
    {
        var accepted = false;
        try
        {
            accepted = await reply.ConfigureAwait(false) is not ErrorReply;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The launcher is gone.
        }

        OutputDone(cost, accepted);
    }

    /// <summary>Most bytes of output lines joined into one request.</summary>
    private const int BatchBytes = 64 * 1024;

    /// <summary>
    /// Joins the lines of one stream already waiting behind <paramref name="first"/> into one message (lines joined
    /// by newlines, which no line contains), so a process that writes fast costs one round trip per batch, not per line.
    /// </summary>
    private (OutputNotice Batch, long Cost) Batch(OutputNotice first)
    {
        var cost = Cost(first);
        if (!_notices.Reader.TryPeek(out var peeked) || peeked is not OutputNotice next || next.Label != first.Label || next.IsError != first.IsError)
        {
            return (first, cost);
        }

        var joined = new MemoryStream();
        joined.Write(first.Line);
        while (joined.Length < BatchBytes
            && _notices.Reader.TryPeek(out peeked) && peeked is OutputNotice line && line.Label == first.Label && line.IsError == first.IsError
            && _notices.Reader.TryRead(out _))
        {
            joined.WriteByte((byte)'\n');
            joined.Write(line.Line);
            cost += Cost(line);
        }

        return (first with { Line = joined.ToArray() }, cost);
    }

    /// <summary>Completes when no output waits for the launcher's answer any more (or the link is gone).</summary>
    private async Task OutputSettledAsync()
    {
        while (true)
        {
            lock (_window)
            {
                if (_outputInFlight == 0 || _outputClosed)
                {
                    return;
                }
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary>Completes when every notice given so far was written to the link, and all output was accepted.</summary>
    public async Task FlushAsync()
    {
        _notices.Writer.TryComplete();
        await _flushed.Task.ConfigureAwait(false);
        await OutputSettledAsync().ConfigureAwait(false);
    }

    private readonly TaskCompletionSource _flushed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task SendNoticesAsync()
    {
        try
        {
            await foreach (var notice in _notices.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                if (notice is OutputNotice output)
                {
                    // Not awaited: the request's frame is queued on the link before the next message's, so order
                    // holds; the answer only returns the lines' room to the window.
                    var (batch, cost) = Batch(output);
                    _ = AwaitAcceptanceAsync(_link.RequestAsync(batch, CancellationToken.None), cost);
                    continue;
                }

                await _link.NotifyAsync(notice).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The launcher is gone; the node service is shutting down because of it.
        }
        finally
        {
            TaskCompletionSource? room;
            lock (_window)
            {
                // Output given after this has no writer: drop it rather than hold a stream for ever.
                _outputClosed |= _link.Closed.IsCompleted;
                room = _room;
                _room = null;
            }

            room?.TrySetResult();

            _flushed.TrySetResult();
        }
    }
}
