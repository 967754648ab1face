using Dragon.Runtime.Protocol;

namespace Dragon.Services.Global;

/// <summary>Serves what node services bring to global services: their processes' requests, and their notices.</summary>
internal static class GlobalRequestHandler
{
    /// <summary>True for the requests only global services can answer (a node forwards them).</summary>
    public static bool IsGlobal(IMessage request) => request is StartRequest or JoinRequest or SignalRequest or QueryRequest or QueryManyRequest
        or GroupCreateRequest or GroupCommand or ObjectRegisterRequest or ObjectLookupRequest or PmiExchangeRequest;

    public static async Task<IMessage> HandleAsync(GlobalServices global, IMessage request, CancellationToken cancellationToken)
    {
        switch (request)
        {
            case StartRequest start:
                return new StartReply(await global.StartAsync(start.Specs).ConfigureAwait(false));
            case JoinRequest join:
                return new JoinReply(await global.JoinAsync(join.Puids, join.All, join.TimeoutMs, cancellationToken).ConfigureAwait(false));
            case SignalRequest signal:
                global.Signal(signal.Puid, signal.Signal);
                return new Ack();
            case QueryRequest query:
                var record = global.Find(query.Puid);
                return new QueryReply(record.Descriptor, record.Status);
            case QueryManyRequest many:
                return new QueryManyReply(Array.ConvertAll(many.Puids, puid => global.Find(puid).Descriptor));
            case GroupCreateRequest create:
                return new GroupStatusReply(global.CreateGroup(create.Spec).Status(false));
            case GroupCommand command:
                return new GroupStatusReply(await GroupCommandAsync(global, command, cancellationToken).ConfigureAwait(false));
            case ObjectRegisterRequest register:
                global.RegisterObjectName(register.Descriptor);
                return new Ack();
            case ObjectLookupRequest lookup:
                return new ObjectDescriptorReply(global.LookupObject(lookup.Name));
            case PmiExchangeRequest exchange:
                var all = await global.PmiExchangeAsync(exchange.GroupId, exchange.Puts, cancellationToken).ConfigureAwait(false);
                return new PmiExchangeReply(all.ToArray());
            case OutputNotice output:
                // A node's forwarded output, sent as a request: the answer waits until the launcher's bounded
                // console buffer has room (the node's output window waits for it), while the line itself was taken
                // at once, in order, without holding up the link's reader.
                await global.Run.Output.AcceptAsync(output.Label, output.Line, output.IsError).ConfigureAwait(false);
                return new Ack();
            default:
                HandleNotice(global, request);
                return new Ack();
        }
    }

    /// <summary>Notices: exits, forwarded output, MPI rank events, destroyed objects.</summary>
    public static void HandleNotice(GlobalServices global, IMessage notice)
    {
        switch (notice)
        {
            case ProcessExitedNotice exited:
                global.OnExited(exited.Puid, exited.Code, exited.Signal);
                break;
            case OutputNotice output:
                // Never blocks the caller (a link's reader): the sink takes the line whatever its fill.
                _ = global.Run.Output.AcceptAsync(output.Label, output.Line, output.IsError);
                break;
            case PmiEventNotice pmi:
                global.OnPmiEvent(pmi);
                break;
            case ObjectUnregisterNotice unregister:
                global.OnObjectDestroyed(unregister.Descriptor);
                break;
            case NodeMetricsNotice figures:
                global.OnNodeFigures(figures);
                break;
            case LogFileNotice log:
                var logs = Path.Combine(global.Run.RunDir, "logs");
                Directory.CreateDirectory(logs);
                File.WriteAllBytes(Path.Combine(logs, Path.GetFileName(log.Name)), log.Content);
                break;
            default:
                throw new ServiceException(ErrorKind.InvalidArgument, $"{notice.GetType().Name} is not a request global services serve");
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
}
