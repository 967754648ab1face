using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dragon.Channels;
using Dragon.Runtime.Protocol;
using Dragon.Runtime.Serialization;

namespace Dragon;

/// <summary>An event any process of the run can set, clear and wait on, like Python's multiprocessing.Event.</summary>
[JsonConverter(typeof(RuntimeObjectConverter<DragonEvent>))]
public sealed class DragonEvent : SyncObject, IRuntimeObject<DragonEvent>
{
    /// <summary>Creates an event, clear.</summary>
    /// <param name="name">Run-wide name for <see cref="Attach"/>; null for anonymous.</param>
    /// <param name="node">Index of the hosting node; null for this process's node.</param>
    public DragonEvent(string? name = null, int? node = null)
        : base(HostedHandle.Create(ObjectKind.Event, name, node))
    {
    }

    private DragonEvent(HostedHandle handle)
        : base(handle)
    {
    }

    /// <summary>Attaches to an event by name.</summary>
    public static DragonEvent Attach(string name) => new(AttachByName(name, ObjectKind.Event));

    /// <summary>Whether the event is set (read from shared memory on the hosting node, a round trip from others).</summary>
    public bool IsSet() => Local is { } cell ? cell.State != 0 : Request(ObjectOp.EventIsSet).Value != 0;

    /// <inheritdoc cref="IsSet"/>
    public async Task<bool> IsSetAsync(CancellationToken cancellationToken = default)
    {
        if (Local is { } cell)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return cell.State != 0;
        }

        return (await RequestAsync(ObjectOp.EventIsSet, cancellationToken: cancellationToken).ConfigureAwait(false)).Value != 0;
    }

    /// <summary>Sets the event, releasing every waiter.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Set()
    {
        if (Local is { } cell)
        {
            cell.EventSet();
            return;
        }

        Request(ObjectOp.EventSet);
    }

    /// <inheritdoc cref="Set"/>
    public Task SetAsync(CancellationToken cancellationToken = default)
    {
        if (Local is { } cell)
        {
            cancellationToken.ThrowIfCancellationRequested();
            cell.EventSet();
            return Task.CompletedTask;
        }

        return RequestAsync(ObjectOp.EventSet, cancellationToken: cancellationToken);
    }

    /// <summary>Clears the event.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Clear()
    {
        if (Local is { } cell)
        {
            cell.EventClear();
            return;
        }

        Request(ObjectOp.EventClear);
    }

    /// <inheritdoc cref="Clear"/>
    public Task ClearAsync(CancellationToken cancellationToken = default)
    {
        if (Local is { } cell)
        {
            cancellationToken.ThrowIfCancellationRequested();
            cell.EventClear();
            return Task.CompletedTask;
        }

        return RequestAsync(ObjectOp.EventClear, cancellationToken: cancellationToken);
    }

    /// <summary>Waits until the event is set, up to <paramref name="timeout"/> (forever if null).</summary>
    /// <exception cref="TimeoutException">The event was not set in time.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public void Wait(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    =>
        WaitOrThrow(ObjectOp.EventWait, timeout, cancellationToken, "not set:");

    /// <summary>Waits until the event is set; false if <paramref name="timeout"/> passed first (zero: just look).</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public bool TryWait(TimeSpan timeout = default, CancellationToken cancellationToken = default) =>
        TryWait(ObjectOp.EventWait, timeout, cancellationToken);

    /// <summary>Waits until the event is set, as long as it takes.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public Task WaitAsync(CancellationToken cancellationToken = default) => WaitAsync(null, cancellationToken);

    /// <inheritdoc cref="Wait"/>
    public Task WaitAsync(TimeSpan? timeout, CancellationToken cancellationToken = default) =>
        WaitOrThrowAsync(ObjectOp.EventWait, timeout, cancellationToken, "not set:");

    /// <inheritdoc cref="TryWait(TimeSpan, CancellationToken)"/>
    public Task<bool> TryWaitAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        TryWaitAsync(ObjectOp.EventWait, timeout, cancellationToken);

    void IRuntimeObject<DragonEvent>.WriteDescriptor(Utf8JsonWriter writer) => WriteId(writer);

    static DragonEvent IRuntimeObject<DragonEvent>.FromDescriptor(JsonElement descriptor) => new(AttachFrom(descriptor, ObjectKind.Event));
}
