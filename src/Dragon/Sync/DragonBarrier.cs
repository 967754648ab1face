using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dragon.Channels;
using Dragon.Channels.Internal;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;
using Dragon.Runtime.Serialization;
using Dragon.Sync.Internal;

namespace Dragon;

/// <summary>
/// A barrier for a fixed number of parties in any processes of the run, like Python's threading/multiprocessing
/// Barrier. A waiter's timeout, <see cref="Abort"/>, or the death of a waiting process breaks it: every waiter then
/// gets <see cref="BrokenBarrierException"/> (saying why) until <see cref="Reset"/>. On the barrier's home node the
/// parties arrive and wait in shared memory, with no request.
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

    /// <summary>
    /// Waits until every party has arrived, up to <paramref name="timeout"/> (forever if null); returns this party's
    /// arrival index (0 for the first).
    /// </summary>
    /// <exception cref="TimeoutException">The others did not arrive in time; the barrier is now broken for them.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; this party no longer counts as arrived.</exception>
    /// <exception cref="BrokenBarrierException">The barrier broke (another's timeout, abort, reset, or a party died).</exception>
    public int Wait(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (Shared is not { } cell)
        {
            return Result(Request(ObjectOp.BarrierWait, timeout, 0, cancellationToken), timeout);
        }

        var deadline = WaitDeadline.From(LocalTimeout(timeout));
        cancellationToken.ThrowIfCancellationRequested();
        var owner = (long)Handle.Puid;
        var outcome = cell.Arrive(Handle.Puid, owner, ref deadline, cancellationToken, out var detail);
        if (outcome == BarrierOutcome.Waiting)
        {
            outcome = cell.Await(detail, owner, ref deadline, cancellationToken, out detail);
        }

        return Result(cell, outcome, detail, timeout, cancellationToken);
    }

    /// <summary>Waits until every party has arrived, as long as it takes; returns this party's arrival index.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; this party no longer counts as arrived.</exception>
    /// <exception cref="BrokenBarrierException">The barrier broke (a timeout, abort, reset, or a party died).</exception>
    public Task<int> WaitAsync(CancellationToken cancellationToken = default) => WaitAsync(null, cancellationToken);

    /// <inheritdoc cref="Wait"/>
    public async Task<int> WaitAsync(TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        if (Shared is not { } cell)
        {
            return Result(await RequestAsync(ObjectOp.BarrierWait, timeout, 0, cancellationToken).ConfigureAwait(false), timeout);
        }

        var deadline = WaitDeadline.From(LocalTimeout(timeout));
        cancellationToken.ThrowIfCancellationRequested();
        var owner = (long)Handle.Puid;
        var outcome = cell.Arrive(Handle.Puid, owner, ref deadline, cancellationToken, out var detail);
        if (outcome == BarrierOutcome.Waiting)
        {
            // The arrival counted: the wait must run even if the token fires before it starts, to withdraw the party.
            var entry = detail;
            var left = deadline;
            (outcome, detail) = await Task.Factory.StartNew(
                () =>
                {
                    var ended = cell.Await(entry, owner, ref left, cancellationToken, out var d);
                    return (ended, d);
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
                TaskScheduler.Default).ConfigureAwait(false);
        }

        return Result(cell, outcome, detail, timeout, cancellationToken);
    }

    /// <summary>Breaks the barrier: every waiter, now and later, gets <see cref="BrokenBarrierException"/>.</summary>
    public void Abort()
    {
        if (Shared is not { } cell)
        {
            Request(ObjectOp.BarrierAbort);
        }
        else if (!cell.Break(BarrierBreak.Aborted, Handle.Puid, (long)Handle.Puid))
        {
            ThrowDestroyed();
        }
    }

    /// <inheritdoc cref="Abort"/>
    public Task AbortAsync(CancellationToken cancellationToken = default)
    {
        if (Handle.Barrier is null)
        {
            return RequestAsync(ObjectOp.BarrierAbort, cancellationToken: cancellationToken);
        }

        cancellationToken.ThrowIfCancellationRequested();
        Abort();
        return Task.CompletedTask;
    }

    /// <summary>Returns the barrier to its first state; current waiters get <see cref="BrokenBarrierException"/>.</summary>
    public void Reset()
    {
        if (Shared is not { } cell)
        {
            Request(ObjectOp.BarrierReset);
        }
        else if (!cell.Reset((long)Handle.Puid))
        {
            ThrowDestroyed();
        }
    }

    /// <inheritdoc cref="Reset"/>
    public Task ResetAsync(CancellationToken cancellationToken = default)
    {
        if (Handle.Barrier is null)
        {
            return RequestAsync(ObjectOp.BarrierReset, cancellationToken: cancellationToken);
        }

        cancellationToken.ThrowIfCancellationRequested();
        Reset();
        return Task.CompletedTask;
    }

    /// <summary>The barrier's shared block when it lives on this node (checked live), else null: go by request.</summary>
    private BarrierCell? Shared
    {
        get
        {
            if (Handle.Barrier is not { } cell)
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

    private int Result(ObjectReply reply, TimeSpan? timeout) => reply.Status switch
    {
        ObjectStatus.Ok => (int)reply.Value,
        ObjectStatus.TimedOut => throw Expired("not every party reached", timeout),
        _ => throw DragonErrors.BrokenBarrier(Handle.Describe, Handle.Descriptor.Name, Encoding.UTF8.GetString(reply.Payload.Span)),
    };

    private int Result(BarrierCell cell, BarrierOutcome outcome, int detail, TimeSpan? timeout, CancellationToken cancellationToken) => outcome switch
    {
        BarrierOutcome.Passed => detail,
        BarrierOutcome.TimedOut => throw Expired("not every party reached", timeout),
        BarrierOutcome.Cancelled => throw new OperationCanceledException($"{Handle.Describe}: {ObjectOp.BarrierWait} was cancelled", cancellationToken),
        BarrierOutcome.Broken => throw DragonErrors.BrokenBarrier(Handle.Describe, Handle.Descriptor.Name, cell.Explain((BarrierBreak)detail)),
        _ => throw new ObjectDisposedException(Handle.Describe, $"{Handle.Describe} was destroyed"),
    };

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
