using Dragon.Runtime.Protocol;

namespace Dragon.Services.Global;

/// <summary>What global services ask of a node service: in-process on one machine, over the node's link otherwise.</summary>
internal interface INodeControl
{
    NodeDescriptor Descriptor { get; }

    /// <summary>
    /// Starts the request's processes in order, stopping at the first that cannot start: the reply lists those started
    /// and names what was wrong with the next. Throws <see cref="ServiceException"/> only when the node cannot be asked.
    /// </summary>
    Task<SpawnReply> SpawnAsync(SpawnRequest request);

    /// <summary>Signals a process of this node (its whole process group); a process already gone is ignored.</summary>
    void Signal(ulong puid, int signal);

    /// <summary>
    /// A process of the run exited (on any node): objects hosted here let go of what it held and withdraw its waits.
    /// Completes once the node has done so, so that nothing sent after the exit is known can reach a wait of the dead.
    /// </summary>
    Task OnProcessExitedAsync(ulong puid);

    /// <summary>Creates this node's part of an MPI job; returns each local rank's PMI environment.</summary>
    Task<PmiJobReply> CreatePmiJobAsync(PmiJobRequest request);

    /// <summary>Drops this node's part of an MPI job.</summary>
    void ClosePmiJob(ulong groupId);

    /// <summary>
    /// The node's figures for metrics: read now for a node in this process, the last ones it sent for a node in
    /// another (null before the first).
    /// </summary>
    NodeMetricsNotice? SampleFigures();
}
