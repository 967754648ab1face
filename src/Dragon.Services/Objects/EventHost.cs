using Dragon.Runtime.Protocol;
using Dragon.Sync.Internal;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Objects;

/// <summary>An event: set, clear, and wait until set, in its shared slot (requests from processes on other nodes).</summary>
internal sealed class EventHost(ObjectDescriptor descriptor, SyncSlab slab, SyncCell cell, int slot, ILogger logger)
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
            case ObjectOp.EventSet:
                Cell.EventSet();
                return Done(Ok(1));
            case ObjectOp.EventClear:
                Cell.EventClear();
                return Done(Ok(0));
            case ObjectOp.EventIsSet:
                return Done(Ok(Cell.State != 0 ? 1 : 0));
            case ObjectOp.EventWait:
                return WaitAsync(SyncWaitKind.EventSet, request, cancellationToken);
            default:
                return Invalid(request, "an event");
        }
    }
}
