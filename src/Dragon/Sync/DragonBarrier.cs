using System.Text.Json;
using System.Text.Json.Serialization;
using Dragon.Channels;
using Dragon.Runtime.Protocol;
using Dragon.Runtime.Serialization;

namespace Dragon;

/// <summary>
/// A barrier for a fixed number of parties in any processes of the run, like Python's threading/multiprocessing
/// Barrier. A waiter's timeout, <see cref="Abort"/>, or the death of a waiting process breaks it: every waiter then
/// gets <see cref="BrokenBarrierException"/> until <see cref="Reset"/>.
/// </summary>
[JsonConverter(typeof(RuntimeObjectConverter<DragonBarrier>))]
public sealed class DragonBarrier : SyncObject, IRuntimeObject<DragonBarrier>
{
    /// <summary>Creates a barrier for <paramref name="parties"/> parties.</summary>
    public DragonBarrier(int parties, string? name = null, int? node = null)
        : base(HostedHandle.Create(ObjectKind.Barrier, name, node, parties: parties))
    {
    }

    private DragonBarrier(HostedHandle handle)
        : base(handle)
    {
    }

    /// <summary>Attaches to a barrier by name.</summary>
    public static DragonBarrier Attach(string name) => new(AttachByName(name, ObjectKind.Barrier));

    /// <summary>How many parties must arrive.</summary>
    public int Parties => (int)Handle.Descriptor.Parties;

    /// <summary>Waits until every party has arrived; returns this party's arrival index (0 for the first).</summary>
    /// <exception cref="BrokenBarrierException">The barrier broke (timeout, abort, reset, or a party died).</exception>
    public int Wait(TimeSpan? timeout = null) => Result(Request(ObjectOp.BarrierWait, timeout));

    /// <inheritdoc cref="Wait"/>
    public async Task<int> WaitAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Result(await RequestAsync(ObjectOp.BarrierWait, timeout, cancellationToken).ConfigureAwait(false));

    /// <summary>Breaks the barrier: every waiter, now and later, gets <see cref="BrokenBarrierException"/>.</summary>
    public void Abort() => Request(ObjectOp.BarrierAbort);

    /// <summary>Returns the barrier to its first state; current waiters get <see cref="BrokenBarrierException"/>.</summary>
    public void Reset() => Request(ObjectOp.BarrierReset);

    private int Result(ObjectReply reply) => reply.Status == ObjectStatus.Ok
        ? (int)reply.Value
        : throw new BrokenBarrierException($"{Handle.Describe} is broken{(reply.Status == ObjectStatus.TimedOut ? " (a wait timed out)" : string.Empty)}");

    void IRuntimeObject<DragonBarrier>.WriteDescriptor(Utf8JsonWriter writer) => WriteId(writer);

    static DragonBarrier IRuntimeObject<DragonBarrier>.FromDescriptor(JsonElement descriptor) => new(AttachFrom(descriptor, ObjectKind.Barrier));
}

/// <summary>A barrier wait that cannot complete: the barrier was aborted, reset, timed out, or lost a party.</summary>
public sealed class BrokenBarrierException : DragonException
{
    /// <summary>Creates the exception.</summary>
    public BrokenBarrierException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public BrokenBarrierException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public BrokenBarrierException()
    {
    }
}
