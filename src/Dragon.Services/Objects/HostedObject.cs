using Dragon.Runtime.Protocol;

namespace Dragon.Services.Objects;

/// <summary>A channel or synchronization object kept by its home node service and operated on by request.</summary>
internal abstract class HostedObject
{
    protected HostedObject(ObjectDescriptor descriptor) => Descriptor = descriptor;

    public ObjectDescriptor Descriptor { get; }

    protected static ObjectReply Ok(long value = 0) => new(ObjectStatus.Ok, ReadOnlyMemory<byte>.Empty, value);

    protected static ObjectReply Reply(ObjectStatus status, long value = 0) => new(status, ReadOnlyMemory<byte>.Empty, value);

    /// <summary>Serves one operation; may wait (with the request's timeout) for another process's action.</summary>
    public abstract Task<ObjectReply> HandleAsync(ObjectRequest request, CancellationToken cancellationToken);

    /// <summary>The process <paramref name="puid"/> has exited: let go of whatever it held.</summary>
    public virtual void OnProcessExited(ulong puid)
    {
    }

    /// <summary>The object is destroyed: fail every waiter and free what it owns.</summary>
    public abstract void Destroy();

    protected static Task<ObjectReply> Invalid(ObjectRequest request, string what) =>
        Task.FromResult(new ObjectReply(ObjectStatus.Invalid, System.Text.Encoding.UTF8.GetBytes($"{request.Op} is not an operation of {what}"), 0));

    /// <summary>
    /// Waits for a waiter's completion, a timeout (ms, -1 for none) or cancellation. When the wait gives up,
    /// <paramref name="withdraw"/> takes the waiter out with <see cref="ObjectStatus.TimedOut"/> or
    /// <see cref="ObjectStatus.Cancelled"/>, unless a grant completed it first: then the grant is the reply.
    /// </summary>
    protected static async Task<ObjectReply> AwaitAsync(TaskCompletionSource<ObjectReply> waiter, long timeoutMs, Action<ObjectStatus> withdraw, CancellationToken cancellationToken)
    {
        if (!waiter.Task.IsCompleted && timeoutMs != 0)
        {
            var delay = Task.Delay(timeoutMs < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(timeoutMs), cancellationToken);
            await Task.WhenAny(waiter.Task, delay).ConfigureAwait(false);
        }

        if (!waiter.Task.IsCompleted)
        {
            withdraw(cancellationToken.IsCancellationRequested ? ObjectStatus.Cancelled : ObjectStatus.TimedOut);
        }

        // withdraw completes the waiter with its status unless a racing grant completed it first.
        return await waiter.Task.ConfigureAwait(false);
    }

    protected static TaskCompletionSource<ObjectReply> NewWaiter() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
