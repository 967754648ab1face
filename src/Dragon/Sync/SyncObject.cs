using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Dragon.Channels;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;
using Dragon.Sync.Internal;

namespace Dragon;

/// <summary>
/// Base of the synchronization objects (event, barrier, lock, semaphore): each is hosted by one node service and
/// used by processes on any node. On the hosting node each is operated in shared memory, with no request; from other
/// nodes each operation is a request. Disposing lets go of this process's reference.
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

    /// <summary>
    /// A wait that ends Ok (true) or timed out (false), the core of both the Try- and the throwing forms: on the
    /// object's shared slot when it lives on this node, else a request to its home node.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private protected bool TryWait(ObjectOp op, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (Local is not { } cell)
        {
            return Request(op, timeout, 0, cancellationToken).Status == ObjectStatus.Ok;
        }

        var span = LocalTimeout(timeout);
        cancellationToken.ThrowIfCancellationRequested();
        var kind = KindOf(op);
        return cell.TryOnce(kind, Handle.Puid, Handle.Descriptor.Flag)
            || Outcome(cell.Wait(kind, Handle.Puid, Handle.Descriptor.Flag, span, cancellationToken), op, cancellationToken);
    }

    /// <inheritdoc cref="TryWait(ObjectOp, TimeSpan?, CancellationToken)"/>
    private protected async Task<bool> TryWaitAsync(ObjectOp op, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (Local is not { } cell)
        {
            return (await RequestAsync(op, timeout, 0, cancellationToken).ConfigureAwait(false)).Status == ObjectStatus.Ok;
        }

        var span = LocalTimeout(timeout);
        cancellationToken.ThrowIfCancellationRequested();
        var kind = KindOf(op);
        var puid = Handle.Puid;
        var recursive = Handle.Descriptor.Flag;
        if (cell.TryOnce(kind, puid, recursive))
        {
            return true;
        }

        if (span == TimeSpan.Zero)
        {
            return false;
        }

        // The futex wait blocks its thread, so it gets one of its own; it looks at the token between short sleeps,
        // and what it took is returned even if the token fired meanwhile (a cancel never leaves a lock taken).
        var result = await Task.Factory.StartNew(
            () => cell.Wait(kind, puid, recursive, span, cancellationToken),
            cancellationToken,
            TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
            TaskScheduler.Default).ConfigureAwait(false);
        return Outcome(result, op, cancellationToken);
    }

    /// <summary>The object's shared slot when it lives on this node (checked live), else null: go by request.</summary>
    private protected SyncCell? Local
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        get
        {
            if (Handle.Cell is not { } cell)
            {
                return null;
            }

            Handle.ThrowIfReleased();
            if (!cell.IsLive)
            {
                ThrowDestroyed();
            }

            return cell;
        }
    }

    private protected static TimeSpan LocalTimeout(TimeSpan? timeout) =>
        Timeouts.ToMilliseconds(timeout) < 0 ? Timeout.InfiniteTimeSpan : timeout!.Value;

    private static SyncWaitKind KindOf(ObjectOp op) => op switch
    {
        ObjectOp.EventWait => SyncWaitKind.EventSet,
        ObjectOp.LockAcquire => SyncWaitKind.LockAcquire,
        ObjectOp.SemaphoreAcquire => SyncWaitKind.SemaphoreAcquire,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "not a wait of a shared slot"),
    };

    private bool Outcome(SyncWaitResult result, ObjectOp op, CancellationToken cancellationToken) => result switch
    {
        SyncWaitResult.Ok => true,
        SyncWaitResult.TimedOut => false,
        SyncWaitResult.Cancelled => throw new OperationCanceledException($"{Handle.Describe}: {op} was cancelled", cancellationToken),
        _ => ThrowDestroyed(),
    };

    [DoesNotReturn]
    private protected bool ThrowDestroyed() => throw new ObjectDisposedException(Handle.Describe, $"{Handle.Describe} was destroyed");

    /// <summary>The throwing form of a wait: returns when it ended Ok, throws <see cref="TimeoutException"/> otherwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
