using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dragon.Channels;
using Dragon.Runtime.Protocol;
using Dragon.Runtime.Serialization;
using Dragon.Sync.Internal;

namespace Dragon;

/// <summary>
/// A lock held by one process of the run at a time (optionally recursive within that process). A lock whose
/// holder dies is released by its home node and its waiters woken (one of them takes it), so a crash never wedges
/// the others.
/// </summary>
[JsonConverter(typeof(RuntimeObjectConverter<DragonLock>))]
public sealed class DragonLock : SyncObject, IRuntimeObject<DragonLock>
{
    /// <summary>Creates a lock.</summary>
    /// <param name="recursive">The holding process may acquire it again (and must release as often).</param>
    /// <param name="name">Run-wide name for <see cref="Attach"/>; null for anonymous.</param>
    /// <param name="node">Index of the hosting node; null for this process's node.</param>
    public DragonLock(bool recursive = false, string? name = null, int? node = null)
        : base(HostedHandle.Create(ObjectKind.Lock, name, node, flag: recursive))
    {
    }

    private DragonLock(HostedHandle handle)
        : base(handle)
    {
    }

    /// <summary>Attaches to a lock by name.</summary>
    public static DragonLock Attach(string name) => new(AttachByName(name, ObjectKind.Lock));

    /// <summary>Whether the lock is recursive.</summary>
    public bool Recursive => Handle.Descriptor.Flag;

    /// <summary>Acquires the lock, waiting up to <paramref name="timeout"/> (forever if null).</summary>
    /// <exception cref="TimeoutException">Not acquired in time; nothing is held.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing is held.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Acquire(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    =>
        WaitOrThrow(ObjectOp.LockAcquire, timeout, cancellationToken, "could not acquire");

    /// <summary>Acquires the lock if it can within <paramref name="timeout"/> (zero: try once); false otherwise.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing is held.</exception>
    public bool TryAcquire(TimeSpan timeout = default, CancellationToken cancellationToken = default) =>
        TryWait(ObjectOp.LockAcquire, timeout, cancellationToken);

    /// <summary>Acquires the lock, waiting as long as it takes.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing is held.</exception>
    public Task AcquireAsync(CancellationToken cancellationToken = default) => AcquireAsync(null, cancellationToken);

    /// <inheritdoc cref="Acquire"/>
    public Task AcquireAsync(TimeSpan? timeout, CancellationToken cancellationToken = default) =>
        WaitOrThrowAsync(ObjectOp.LockAcquire, timeout, cancellationToken, "could not acquire");

    /// <inheritdoc cref="TryAcquire(TimeSpan, CancellationToken)"/>
    public Task<bool> TryAcquireAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        TryWaitAsync(ObjectOp.LockAcquire, timeout, cancellationToken);

    /// <summary>Releases the lock.</summary>
    /// <exception cref="InvalidOperationException">This process does not hold it.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Release()
    {
        if (Local is { } cell)
        {
            ReleaseHere(cell);
            return;
        }

        Request(ObjectOp.LockRelease);
    }

    /// <inheritdoc cref="Release"/>
    public Task ReleaseAsync(CancellationToken cancellationToken = default)
    {
        if (Local is { } cell)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ReleaseHere(cell);
            return Task.CompletedTask;
        }

        return RequestAsync(ObjectOp.LockRelease, cancellationToken: cancellationToken);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ReleaseHere(SyncCell cell)
    {
        if (!cell.LockRelease(Handle.Puid, Recursive, out var holder))
        {
            throw new InvalidOperationException(holder == 0
                ? $"{this}: the lock is not held"
                : $"{this}: the lock is held by process {holder}, not by process {Handle.Puid}");
        }
    }

    void IRuntimeObject<DragonLock>.WriteDescriptor(Utf8JsonWriter writer) => WriteId(writer);

    static DragonLock IRuntimeObject<DragonLock>.FromDescriptor(JsonElement descriptor) => new(AttachFrom(descriptor, ObjectKind.Lock));
}
