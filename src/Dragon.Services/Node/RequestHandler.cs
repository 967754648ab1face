using Dragon.Runtime.Protocol;
using Dragon.Services.Global;

namespace Dragon.Services.Node;

/// <summary>
/// Serves control requests at a node service: from the node's own processes (over the Unix socket), and from
/// other node services and global services (over links). What only global services can answer goes to them;
/// what belongs to another node (its processes' streams, the objects it hosts) goes to that node.
/// </summary>
internal static class RequestHandler
{
    /// <summary>A request from a process of this node.</summary>
    /// <param name="node">The serving node.</param>
    /// <param name="request">The request.</param>
    /// <param name="callerPuid">The process asking, from its authenticated session.</param>
    /// <param name="cancellationToken">Cancelled when the service stops.</param>
    public static Task<IMessage> HandleAsync(NodeService node, IMessage request, ulong callerPuid, CancellationToken cancellationToken)
    {
        if (request is SignalRequest signal && node.Hosts(signal.Puid))
        {
            // A process of this node: signalled here, without a round trip through global services (which would
            // only send it back). Its exit still reaches global services the usual way.
            Spawning.Signals.ThrowIfInvalid(signal.Signal);
            node.Signal(signal.Puid, signal.Signal);
            return Task.FromResult<IMessage>(new Ack());
        }

        if (GlobalRequestHandler.IsGlobal(request))
        {
            return node.GlobalLink.RequestAsync(request, cancellationToken);
        }

        return request switch
        {
            ObjectCreateRequest create => CreateObjectAsync(node, create with { Puid = callerPuid }, cancellationToken),
            ObjectAttachRequest attach => AttachObjectAsync(node, attach with { Puid = callerPuid }, cancellationToken),
            ObjectReleaseRequest release => Routed(node, callerPuid, ObjectDescriptor.HomeOf(release.Id), release with { Puid = callerPuid }, cancellationToken),
            ObjectRequest operation => Routed(node, callerPuid, ObjectDescriptor.HomeOf(operation.Id), operation with { Puid = callerPuid }, cancellationToken),
            StreamRecvRequest recv => Routed(node, callerPuid, recv.NodeIndex, recv, cancellationToken),
            StreamWriteRequest write => Routed(node, callerPuid, write.NodeIndex, write, cancellationToken),
            TargetRequest target => Task.FromResult<IMessage>(new TargetReply(node.Find(target.Puid).MethodTarget
                ?? throw new ServiceException(ErrorKind.NotFound, $"process {target.Puid} has no method target"))),
            _ => throw new ServiceException(ErrorKind.InvalidArgument, $"{request.GetType().Name} is not a request a process can send"),
        };
    }

    /// <summary>A request that came over a link, from another node's service or from global services.</summary>
    public static async Task<IMessage> HandleLinkAsync(NodeService node, IMessage request, CancellationToken cancellationToken)
    {
        switch (request)
        {
            case SpawnRequest spawn:
                // Off the link's reader: a batch of up to 64 starts takes milliseconds, and the link carries the
                // run's signals, cancels and output acknowledgements meanwhile; the launcher's lanes to this node
                // spawn side by side.
                return await Task.Run(() => node.Spawn(spawn), CancellationToken.None).ConfigureAwait(false);
            case NodeSignalRequest signal:
                node.Signal(signal.Puid, signal.Signal);
                return new Ack();
            case ChannelPut put:
                node.Objects.Deliver(put, node.SendPutAck);
                return new Ack();
            case ChannelPutAck ack:
                node.RemotePuts.OnAck(ack);
                return new Ack();
            case ProcessGoneNotice gone:
                // For a process of this node, from global services: it passes the notice on to the nodes the
                // process reached. From another node: only this node's objects let go.
                await node.OnProcessExitedAsync(gone.Puid).ConfigureAwait(false);
                return new Ack();
            case PmiJobRequest job:
                return await node.CreatePmiJobAsync(job).ConfigureAwait(false);
            case PmiJobClose close:
                node.ClosePmiJob(close.GroupId);
                return new Ack();
            case ShutdownRequest shutdown:
                await node.ShutdownAsync(shutdown).ConfigureAwait(false);
                return new Ack();
            case NodeTableRequest table:
                await node.TakeNodeTableAsync(table, cancellationToken).ConfigureAwait(false);
                return new Ack();
            default:
                return await ServeLocalAsync(node, request, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Serves here what belongs to this node, or forwards it to the node it belongs to.</summary>
    private static Task<IMessage> Routed(NodeService node, ulong callerPuid, int owner, IMessage request, CancellationToken cancellationToken)
    {
        if (owner == node.Descriptor.Index)
        {
            return ServeLocalAsync(node, request, cancellationToken);
        }

        // Noted before it goes: that node must hear of the caller's exit (see NodeService.Reach).
        node.NoteReached(callerPuid, owner);
        return node.ForwardAsync(owner, request, relay: true, cancellationToken);
    }

    private static async Task<IMessage> ServeLocalAsync(NodeService node, IMessage request, CancellationToken cancellationToken)
    {
        switch (request)
        {
            case ObjectCreateRequest create:
                return await CreateObjectAsync(node, create, cancellationToken).ConfigureAwait(false);
            case ObjectAttachRequest attach:
                return new ObjectDescriptorReply(node.Objects.Attach(attach.Id, attach.Puid));
            case ObjectReleaseRequest release:
                node.Objects.Release(release.Id, release.Puid);
                return new Ack();
            case ObjectRequest operation:
                return await node.Objects.HandleAsync(operation, cancellationToken).ConfigureAwait(false);
            case StreamRecvRequest recv:
                return await ReceiveLinesAsync(node, recv, cancellationToken).ConfigureAwait(false);
            case StreamWriteRequest write:
                if (!node.Find(write.Puid).WriteStdin(write.Data, write.Close))
                {
                    throw new ServiceException(ErrorKind.Closed, $"the stdin of process {write.Puid} is closed or was not piped");
                }

                return new Ack();
            default:
                throw new ServiceException(ErrorKind.InvalidArgument, $"{request.GetType().Name} is not a request a node service serves");
        }
    }

    /// <summary>Creates an object on its home node; a named one is recorded with global services (a taken name undoes it).</summary>
    private static async Task<IMessage> CreateObjectAsync(NodeService node, ObjectCreateRequest create, CancellationToken cancellationToken)
    {
        var home = create.HomeNode < 0 ? node.Descriptor.Index : create.HomeNode;
        if (home >= node.Nodes.Length)
        {
            throw new ServiceException(ErrorKind.InvalidArgument, $"node index {home} is out of range: the run has {node.Nodes.Length} node(s)");
        }

        if (home != node.Descriptor.Index)
        {
            node.NoteReached(create.Puid, home);
            return await node.ForwardAsync(home, create with { HomeNode = home }, cancellationToken).ConfigureAwait(false);
        }

        var descriptor = node.Objects.Create(create);
        IMessage registered;
        try
        {
            registered = await node.GlobalLink.RequestAsync(new ObjectRegisterRequest(descriptor), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The link to global services is gone: the object and its ring file must not outlive the failed create.
            node.Objects.Release(descriptor.Id, create.Puid);
            throw;
        }

        if (registered is ErrorReply error)
        {
            node.Objects.Release(descriptor.Id, create.Puid);
            return error;
        }

        return new ObjectDescriptorReply(descriptor);
    }

    private static async Task<IMessage> AttachObjectAsync(NodeService node, ObjectAttachRequest attach, CancellationToken cancellationToken)
    {
        var id = attach.Id;
        if (id == 0)
        {
            var found = await node.GlobalLink.RequestAsync(new ObjectLookupRequest(attach.Name ?? string.Empty), cancellationToken).ConfigureAwait(false);
            if (found is not ObjectDescriptorReply reply)
            {
                return found;
            }

            id = reply.Descriptor.Id;
        }

        return await Routed(node, attach.Puid, ObjectDescriptor.HomeOf(id), attach with { Id = id }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The lines of a piped stream queued up to the request's budget, handed out in one reply.</summary>
    private static async Task<StreamData> ReceiveLinesAsync(NodeService node, StreamRecvRequest recv, CancellationToken cancellationToken)
    {
        var process = node.Find(recv.Puid);
        if (ReferenceEquals(process, LocalProcess.Retired))
        {
            return new StreamData(ReadOnlyMemory<byte>.Empty, EndOfStream: true, TimedOut: false);
        }

        var pump = (recv.Fd == 1 ? process.Stdout : process.Stderr)
            ?? throw new ServiceException(ErrorKind.InvalidArgument, $"the {(recv.Fd == 1 ? "stdout" : "stderr")} of process {recv.Puid} is not piped");
        try
        {
            var batch = await pump.ReceiveAsync(recv.MaxBytes, recv.TimeoutMs, cancellationToken).ConfigureAwait(false);
            if (batch.EndOfStream)
            {
                node.RetireIfSpent(process);
            }

            return new StreamData(batch.Lines, batch.EndOfStream, TimedOut: false);
        }
        catch (TimeoutException)
        {
            return new StreamData(ReadOnlyMemory<byte>.Empty, EndOfStream: false, TimedOut: true);
        }
    }
}
