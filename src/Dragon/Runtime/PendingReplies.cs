using Dragon.Runtime.Protocol;

namespace Dragon.Runtime;

/// <summary>
/// The requests of one connection that wait for their replies. Once the connection's reader has ended, the map is
/// closed: every waiting request fails with the reason, and a request added later fails at once. Both happen under
/// one lock, so no request can slip in after the failure was handed out and then wait forever.
/// </summary>
internal sealed class PendingReplies(string peer, Func<string, Exception, Exception> lost)
{
    private readonly System.Threading.Lock _lock = new();
    private readonly Dictionary<long, TaskCompletionSource<IMessage>> _waiting = [];
    private Exception? _lost;

    /// <summary>Fails with an <see cref="IOException"/> "{peer} lost: {reason}".</summary>
    public PendingReplies(string peer)
        : this(peer, static (peer, reason) => new IOException($"{peer} lost: {reason.Message}", reason))
    {
    }

    /// <summary>Who is at the other end, for error messages ("node 2", "the node service").</summary>
    public string Peer { get; } = peer;

    /// <summary>Why the connection ended; null while it is up.</summary>
    public Exception? LostReason
    {
        get
        {
            lock (_lock)
            {
                return _lost;
            }
        }
    }

    /// <summary>The error a request gets because the connection ended for <paramref name="reason"/>.</summary>
    public Exception LostError(Exception reason) => lost(Peer, reason);

    /// <summary>Registers a request; throws the connection's loss if it is already gone.</summary>
    /// <param name="id">The request's id.</param>
    /// <param name="inline">True when what waits for the reply may run on the connection's reader as the reply comes
    /// (it only hands the reply on, never blocks); otherwise it runs on the thread pool.</param>
    public TaskCompletionSource<IMessage> Add(long id, bool inline = false)
    {
        var completion = new TaskCompletionSource<IMessage>(inline ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_lost is { } reason)
            {
                throw lost(Peer, reason);
            }

            _waiting[id] = completion;
        }

        return completion;
    }

    public void Remove(long id)
    {
        lock (_lock)
        {
            _waiting.Remove(id);
        }
    }

    /// <summary>Hands a reply to its request (a reply nobody waits for any more is dropped).</summary>
    public void Complete(long id, IMessage reply)
    {
        TaskCompletionSource<IMessage>? completion;
        lock (_lock)
        {
            _waiting.Remove(id, out completion);
        }

        completion?.TrySetResult(reply);
    }

    /// <summary>Closes the map: every waiting request and every later one fails with <paramref name="reason"/>.</summary>
    public void FailAll(Exception reason)
    {
        TaskCompletionSource<IMessage>[] waiting;
        lock (_lock)
        {
            _lost ??= reason;
            waiting = [.. _waiting.Values];
            _waiting.Clear();
        }

        foreach (var completion in waiting)
        {
            completion.TrySetException(lost(Peer, reason));
        }
    }
}
