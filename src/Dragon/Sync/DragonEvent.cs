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

    /// <summary>True when set.</summary>
    public bool IsSet => Request(ObjectOp.EventIsSet).Value != 0;

    /// <summary>Sets the event, releasing every waiter.</summary>
    public void Set() => Request(ObjectOp.EventSet);

    /// <summary>Clears the event.</summary>
    public void Clear() => Request(ObjectOp.EventClear);

    /// <summary>Waits until set; true if set, false if the timeout passed (zero: just look).</summary>
    public bool Wait(TimeSpan? timeout = null) => Request(ObjectOp.EventWait, timeout).Status == ObjectStatus.Ok;

    /// <inheritdoc cref="Wait"/>
    public async Task<bool> WaitAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        (await RequestAsync(ObjectOp.EventWait, timeout, cancellationToken).ConfigureAwait(false)).Status == ObjectStatus.Ok;

    void IRuntimeObject<DragonEvent>.WriteDescriptor(Utf8JsonWriter writer) => WriteId(writer);

    static DragonEvent IRuntimeObject<DragonEvent>.FromDescriptor(JsonElement descriptor) => new(AttachFrom(descriptor, ObjectKind.Event));
}
