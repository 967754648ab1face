using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dragon.Channels;
using Dragon.Runtime.Protocol;
using Dragon.Runtime.Serialization;
using Dragon.Sync.Internal;

namespace Dragon;

/// <summary>A counting semaphore shared by the processes of the run; a bounded one cannot be released above its initial value.</summary>
[JsonConverter(typeof(RuntimeObjectConverter<DragonSemaphore>))]
public sealed class DragonSemaphore : SyncObject, IRuntimeObject<DragonSemaphore>
{
    /// <summary>Creates a semaphore with an initial value.</summary>
    public DragonSemaphore(int value = 1, bool bounded = false, string? name = null, int? node = null)
        : base(HostedHandle.Create(ObjectKind.Semaphore, name, node, capacity: value, flag: bounded))
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
    }

    private DragonSemaphore(HostedHandle handle)
        : base(handle)
    {
    }

    /// <summary>Attaches to a semaphore by name.</summary>
    public static DragonSemaphore Attach(string name) => new(AttachByName(name, ObjectKind.Semaphore));

    /// <summary>The current value (read from shared memory on the hosting node, a round trip from others).</summary>
    public int GetValue() => Local is { } cell ? (int)cell.State : (int)Request(ObjectOp.SemaphoreValue).Value;

    /// <inheritdoc cref="GetValue"/>
    public async Task<int> GetValueAsync(CancellationToken cancellationToken = default)
    {
        if (Local is { } cell)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return (int)cell.State;
        }

        return (int)(await RequestAsync(ObjectOp.SemaphoreValue, cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
    }

    /// <summary>Acquires the semaphore (takes one), waiting up to <paramref name="timeout"/> (forever if null).</summary>
    /// <exception cref="TimeoutException">Not acquired in time; nothing is held.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing is held.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Acquire(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    =>
        WaitOrThrow(ObjectOp.SemaphoreAcquire, timeout, cancellationToken, "could not acquire");

    /// <summary>Acquires the semaphore (takes one) if it can within <paramref name="timeout"/> (zero: try once); false otherwise.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing is held.</exception>
    public bool TryAcquire(TimeSpan timeout = default, CancellationToken cancellationToken = default) =>
        TryWait(ObjectOp.SemaphoreAcquire, timeout, cancellationToken);

    /// <summary>Acquires the semaphore (takes one), waiting as long as it takes.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; nothing is held.</exception>
    public Task AcquireAsync(CancellationToken cancellationToken = default) => AcquireAsync(null, cancellationToken);

    /// <inheritdoc cref="Acquire"/>
    public Task AcquireAsync(TimeSpan? timeout, CancellationToken cancellationToken = default) =>
        WaitOrThrowAsync(ObjectOp.SemaphoreAcquire, timeout, cancellationToken, "could not acquire");

    /// <inheritdoc cref="TryAcquire(TimeSpan, CancellationToken)"/>
    public Task<bool> TryAcquireAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        TryWaitAsync(ObjectOp.SemaphoreAcquire, timeout, cancellationToken);

    /// <summary>Gives back <paramref name="count"/>.</summary>
    /// <exception cref="InvalidOperationException">A bounded semaphore would go above its initial value.</exception>
    public void Release(int count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (Local is { } cell)
        {
            ReleaseHere(cell, count);
            return;
        }

        Request(ObjectOp.SemaphoreRelease, argument: count);
    }

    /// <inheritdoc cref="Release"/>
    public Task ReleaseAsync(int count = 1, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (Local is { } cell)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ReleaseHere(cell, count);
            return Task.CompletedTask;
        }

        return RequestAsync(ObjectOp.SemaphoreRelease, argument: count, cancellationToken: cancellationToken);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ReleaseHere(SyncCell cell, int count)
    {
        if (!cell.SemaphoreRelease(count, out var value, out var bound))
        {
            throw new InvalidOperationException(
                $"{this}: releasing {count} would raise the bounded semaphore to {value + count}, above its initial value {bound}");
        }
    }

    void IRuntimeObject<DragonSemaphore>.WriteDescriptor(Utf8JsonWriter writer) => WriteId(writer);

    static DragonSemaphore IRuntimeObject<DragonSemaphore>.FromDescriptor(JsonElement descriptor) => new(AttachFrom(descriptor, ObjectKind.Semaphore));
}
