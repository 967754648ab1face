using System.Text.Json;
using System.Text.Json.Serialization;
using Dragon.Channels;
using Dragon.Runtime.Protocol;
using Dragon.Runtime.Serialization;

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

    /// <summary>The current value.</summary>
    public int Value => (int)Request(ObjectOp.SemaphoreValue).Value;

    /// <summary>Takes one; false if the timeout passed first (zero: try once).</summary>
    public bool Acquire(TimeSpan? timeout = null) => Request(ObjectOp.SemaphoreAcquire, timeout).Status == ObjectStatus.Ok;

    /// <inheritdoc cref="Acquire"/>
    public async Task<bool> AcquireAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        (await RequestAsync(ObjectOp.SemaphoreAcquire, timeout, cancellationToken).ConfigureAwait(false)).Status == ObjectStatus.Ok;

    /// <summary>Gives back <paramref name="count"/>.</summary>
    /// <exception cref="InvalidOperationException">A bounded semaphore would go above its initial value.</exception>
    public void Release(int count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Request(ObjectOp.SemaphoreRelease, argument: count);
    }

    void IRuntimeObject<DragonSemaphore>.WriteDescriptor(Utf8JsonWriter writer) => WriteId(writer);

    static DragonSemaphore IRuntimeObject<DragonSemaphore>.FromDescriptor(JsonElement descriptor) => new(AttachFrom(descriptor, ObjectKind.Semaphore));
}
