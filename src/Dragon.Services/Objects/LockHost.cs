using System.Text;
using Dragon.Runtime.Protocol;
using Dragon.Sync.Internal;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Objects;

/// <summary>
/// A lock owned by a process (its puid, recorded in the shared slot), optionally recursive. Processes of this node
/// take it in the slot; this host takes it for processes of other nodes. A lock whose holder dies is released here
/// (and logged) and its waiters woken, so a crash never wedges the others.
/// </summary>
internal sealed class LockHost(ObjectDescriptor descriptor, SyncSlab slab, SyncCell cell, int slot, ILogger logger)
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
            case ObjectOp.LockAcquire:
                return WaitAsync(SyncWaitKind.LockAcquire, request, cancellationToken);
            case ObjectOp.LockRelease:
                if (!Cell.LockRelease(request.Puid, Descriptor.Flag, out var holder))
                {
                    return Done(new ObjectReply(ObjectStatus.Invalid, Encoding.UTF8.GetBytes(
                        holder == 0 ? "the lock is not held" : $"the lock is held by process {holder}, not by process {request.Puid}"), 0));
                }

                return Done(Ok());
            default:
                return Invalid(request, "a lock");
        }
    }

    protected override void OnHolderExited(ulong puid)
    {
        if (Cell.LockReleaseAll(puid))
        {
            ObjectLog.LockReleased(Logger, Descriptor.Name, puid);
        }
    }
}
