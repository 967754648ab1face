using System.Text.Json;
using Dragon.Channels;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;

namespace Dragon;

/// <summary>
/// Base of the synchronization objects (event, barrier, lock, semaphore): each is hosted by one node service and
/// used by processes on any node. Disposing lets go of this process's reference.
/// </summary>
public abstract class SyncObject : IDisposable, IAsyncDisposable
{
    private protected SyncObject(HostedHandle handle) => Handle = handle;

    private protected HostedHandle Handle { get; }

    /// <summary>The run-wide name (given, or made up for an anonymous object).</summary>
    public string Name => Handle.Descriptor.Name;

    /// <summary>Lets go of this process's reference; the last one destroys the object.</summary>
    public void Dispose()
    {
        Handle.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Lets go of this process's reference (the same one short request as <see cref="Dispose"/>).</summary>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public override string ToString() => Handle.Describe;

    private protected ObjectReply Request(ObjectOp op, TimeSpan? timeout = null, long argument = 0, CancellationToken cancellationToken = default) =>
        Handle.RequestAsync(op, Timeouts.ToMilliseconds(timeout), argument, null, cancellationToken).GetAwaiter().GetResult();

    private protected Task<ObjectReply> RequestAsync(ObjectOp op, TimeSpan? timeout = null, long argument = 0, CancellationToken cancellationToken = default) =>
        Handle.RequestAsync(op, Timeouts.ToMilliseconds(timeout), argument, null, cancellationToken);

    /// <summary>A wait that ends Ok (true) or timed out (false), the core of both the Try- and the throwing forms.</summary>
    private protected bool TryWait(ObjectOp op, TimeSpan? timeout, CancellationToken cancellationToken) =>
        Request(op, timeout, 0, cancellationToken).Status == ObjectStatus.Ok;

    /// <inheritdoc cref="TryWait(ObjectOp, TimeSpan?, CancellationToken)"/>
    private protected async Task<bool> TryWaitAsync(ObjectOp op, TimeSpan? timeout, CancellationToken cancellationToken) =>
        (await RequestAsync(op, timeout, 0, cancellationToken).ConfigureAwait(false)).Status == ObjectStatus.Ok;

    /// <summary>The throwing form of a wait: returns when it ended Ok, throws <see cref="TimeoutException"/> otherwise.</summary>
    private protected void WaitOrThrow(ObjectOp op, TimeSpan? timeout, CancellationToken cancellationToken, string what)
    {
        if (!TryWait(op, timeout, cancellationToken))
        {
            throw Expired(what, timeout);
        }
    }

    /// <inheritdoc cref="WaitOrThrow(ObjectOp, TimeSpan?, CancellationToken, string)"/>
    private protected async Task WaitOrThrowAsync(ObjectOp op, TimeSpan? timeout, CancellationToken cancellationToken, string what)
    {
        if (!await TryWaitAsync(op, timeout, cancellationToken).ConfigureAwait(false))
        {
            throw Expired(what, timeout);
        }
    }

    /// <summary>The <see cref="TimeoutException"/> of a throwing wait: <c>could not acquire lock 'x' within 2 s</c>.</summary>
    private protected TimeoutException Expired(string what, TimeSpan? timeout) => Timeouts.Expired($"{what} {this}", timeout);

    private protected void WriteId(Utf8JsonWriter writer) => writer.WriteNumber("id", Handle.Id);

    private protected static HostedHandle AttachFrom(JsonElement descriptor, ObjectKind kind) =>
        HostedHandle.Attach(kind, descriptor.GetProperty("id").GetUInt64(), null);

    private protected static HostedHandle AttachByName(string name, ObjectKind kind) => HostedHandle.Attach(kind, 0, name);
}
