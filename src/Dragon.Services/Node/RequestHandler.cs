using Dragon.Runtime.Protocol;
using Dragon.Services.Global;

namespace Dragon.Services.Node;

/// <summary>Serves one control request from a process of this node, reaching global services or other nodes as needed.</summary>
internal static class RequestHandler
{
    /// <param name="node">The serving node.</param>
    /// <param name="request">The request.</param>
    /// <param name="callerPuid">The process asking (from its authenticated session), or 0 for a request that came over a link.</param>
    /// <param name="cancellationToken">Cancelled when the service stops.</param>
    public static async Task<IMessage> HandleAsync(NodeService node, IMessage request, ulong callerPuid, CancellationToken cancellationToken)
    {
        var global = node.Global;
        switch (request)
        {
            case StartRequest start:
                return new StartReply(global.Start(start.Specs));

            case JoinRequest join:
                return new JoinReply(await global.JoinAsync(join.Puids, join.All, join.TimeoutMs, cancellationToken).ConfigureAwait(false));

            case SignalRequest signal:
                global.Signal(signal.Puid, signal.Signal);
                return new Ack();

            case QueryRequest query:
                var record = global.Find(query.Puid);
                return new QueryReply(record.Descriptor, record.Status);

            case StreamRecvRequest recv:
                return await ReceiveLineAsync(node, recv, cancellationToken).ConfigureAwait(false);

            case StreamWriteRequest write:
                var target = OwnerOf(node, write.Puid).Find(write.Puid);
                if (!target.WriteStdin(write.Data, write.Close))
                {
                    throw new ServiceException(ErrorKind.Closed, $"the stdin of process {write.Puid} is closed or was not piped");
                }

                return new Ack();

            case TargetRequest targetRequest:
                var payload = OwnerOf(node, targetRequest.Puid).Find(targetRequest.Puid).MethodTarget
                    ?? throw new ServiceException(ErrorKind.NotFound, $"process {targetRequest.Puid} has no method target");
                return new TargetReply(payload);

            case ObjectCreateRequest create:
                create = callerPuid == 0 ? create : create with { Puid = callerPuid };
                var home = create.HomeNode < 0 ? node.Descriptor.Index : create.HomeNode;
                if (home >= global.NodeDescriptors.Length)
                {
                    throw new ServiceException(ErrorKind.InvalidArgument, $"node index {home} is out of range: the run has {global.NodeDescriptors.Length} node(s)");
                }

                if (home != node.Descriptor.Index)
                {
                    return await node.ForwardAsync(home, create with { HomeNode = home }, cancellationToken).ConfigureAwait(false);
                }

                return new ObjectDescriptorReply(global.RegisterObject(create.Name, () => node.Objects.Create(create)));

            case ObjectAttachRequest attach:
                attach = callerPuid == 0 ? attach : attach with { Puid = callerPuid };
                var id = attach.Id != 0 ? attach.Id : global.LookupObject(attach.Name ?? string.Empty).Id;
                return ObjectDescriptor.HomeOf(id) == node.Descriptor.Index
                    ? new ObjectDescriptorReply(node.Objects.Attach(id, attach.Puid))
                    : await node.ForwardAsync(ObjectDescriptor.HomeOf(id), attach with { Id = id }, cancellationToken).ConfigureAwait(false);

            case ObjectReleaseRequest release:
                release = callerPuid == 0 ? release : release with { Puid = callerPuid };
                if (ObjectDescriptor.HomeOf(release.Id) != node.Descriptor.Index)
                {
                    return await node.ForwardAsync(ObjectDescriptor.HomeOf(release.Id), release, cancellationToken).ConfigureAwait(false);
                }

                node.Objects.Release(release.Id, release.Puid);
                return new Ack();

            case ObjectRequest operation:
                operation = callerPuid == 0 ? operation : operation with { Puid = callerPuid };
                return ObjectDescriptor.HomeOf(operation.Id) == node.Descriptor.Index
                    ? await node.Objects.HandleAsync(operation, cancellationToken).ConfigureAwait(false)
                    : await node.ForwardAsync(ObjectDescriptor.HomeOf(operation.Id), operation, cancellationToken).ConfigureAwait(false);

            case GroupCreateRequest groupCreate:
                return new GroupStatusReply(global.CreateGroup(groupCreate.Spec).Status(false));

            case GroupCommand command:
                return new GroupStatusReply(await GroupCommandAsync(global, command, cancellationToken).ConfigureAwait(false));

            default:
                throw new ServiceException(ErrorKind.InvalidArgument, $"{request.GetType().Name} is not a request a node service serves");
        }
    }

    private static async Task<GroupStatus> GroupCommandAsync(GlobalServices global, GroupCommand command, CancellationToken cancellationToken)
    {
        var group = global.FindGroup(command.GroupId);
        var patience = TimeSpan.FromMilliseconds(command.TimeoutMs < 0 ? 2000 : command.TimeoutMs);
        switch (command.Op)
        {
            case GroupOp.Query:
                return group.Status(false);
            case GroupOp.Start:
                await group.StartAsync().ConfigureAwait(false);
                return group.Status(false);
            case GroupOp.Join:
                return await group.JoinAsync(command.TimeoutMs, cancellationToken).ConfigureAwait(false);
            case GroupOp.Stop:
                return await group.StopAsync(patience).ConfigureAwait(false);
            case GroupOp.Signal:
                group.Signal(command.Signal);
                return group.Status(false);
            case GroupOp.Close:
                var status = await group.StopAsync(patience).ConfigureAwait(false);
                await group.CloseAsync(patience).ConfigureAwait(false);
                return status;
            default:
                throw new ServiceException(ErrorKind.InvalidArgument, $"unknown group operation {command.Op}");
        }
    }

    private static async Task<StreamData> ReceiveLineAsync(NodeService node, StreamRecvRequest recv, CancellationToken cancellationToken)
    {
        var process = OwnerOf(node, recv.Puid).Find(recv.Puid);
        var pump = (recv.Fd == 1 ? process.Stdout : process.Stderr)
            ?? throw new ServiceException(ErrorKind.InvalidArgument, $"the {(recv.Fd == 1 ? "stdout" : "stderr")} of process {recv.Puid} is not piped");
        try
        {
            var line = await pump.ReceiveAsync(recv.TimeoutMs, cancellationToken).ConfigureAwait(false);
            return line is null ? new StreamData([], EndOfStream: true, TimedOut: false) : new StreamData(line, false, false);
        }
        catch (TimeoutException)
        {
            return new StreamData([], EndOfStream: false, TimedOut: true);
        }
    }

    /// <summary>The node service that owns a process (in-process for local nodes).</summary>
    private static NodeService OwnerOf(NodeService node, ulong puid)
    {
        var record = node.Global.Find(puid);
        return (NodeService)node.Global.Nodes[record.NodeIndex];
    }
}
