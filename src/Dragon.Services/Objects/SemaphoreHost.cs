using System.Text;
using Dragon.Runtime.Protocol;
using Dragon.Sync.Internal;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Objects;

/// <summary>
/// A counting semaphore in its shared slot; a bounded one refuses a release past its initial value. Units are not
/// owned (any process may release), so a process that dies holding some does not give them back; a waiter on another
/// node that dies as its wait takes a unit gives that one back.
/// </summary>
internal sealed class SemaphoreHost(ObjectDescriptor descriptor, SyncSlab slab, SyncCell cell, int slot, ILogger logger)
    : SyncHost(descriptor, slab, cell, slot, logger)
{
    public override Task<ObjectReply> HandleAsync(ObjectRequest request, CancellationToken cancellationToken)
    {
        if (!Cell.IsLive)
        {
            return DestroyedReply();
        }

        switch (request.Op)
        {
            case ObjectOp.SemaphoreAcquire:
                return WaitAsync(SyncWaitKind.SemaphoreAcquire, request, cancellationToken);
            case ObjectOp.SemaphoreRelease:
                var n = Math.Max(1, request.Argument);
                if (!Cell.SemaphoreRelease(n, out var value, out var bound))
                {
                    return Done(new ObjectReply(ObjectStatus.Invalid, Encoding.UTF8.GetBytes(
                        $"releasing {n} would raise the bounded semaphore to {value + n}, above its initial value {bound}"), value));
                }

                return Done(Ok(value + n));
            case ObjectOp.SemaphoreValue:
                return Done(Ok(Cell.State));
            default:
                return Invalid(request, "a semaphore");
        }
    }
}
