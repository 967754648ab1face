namespace Dragon.Runtime.Protocol;

/// <summary>Every control message between a process and its node service, and between services.</summary>
/// <remarks>
/// Each type's tag and field order are in <see cref="ControlCodec"/>; they are the wire format: append new tags,
/// never renumber (25 is retired).
/// </remarks>
internal interface IMessage;

/// <summary>Success with nothing to return.</summary>
internal sealed record Ack : IMessage;

/// <summary>
/// A request failed; <see cref="Kind"/> selects the exception type the client throws, <see cref="Context"/> (null when
/// the service knew nothing more than the message) fills its properties.
/// </summary>
internal sealed record ErrorReply(ErrorKind Kind, string Message, ErrorContext? Context = null) : IMessage;

/// <summary>What a service knew about the thing that failed; each field is null when it does not apply.</summary>
/// <remarks>On the wire: a byte of flags (bit i set: field i follows), then the present fields in order.</remarks>
internal sealed record ErrorContext(
    ulong? Puid = null, int? NodeIndex = null, int? Rank = null, int? ExitCode = null, int? Signal = null, string? ObjectName = null)
{
    /// <summary>True when no field is set (written as a zero flags byte, read back as a null context).</summary>
    public bool IsEmpty => this is { Puid: null, NodeIndex: null, Rank: null, ExitCode: null, Signal: null, ObjectName: null };
}

/// <summary>Failure categories carried across the wire.</summary>
internal enum ErrorKind
{
    Internal = 0,
    InvalidArgument = 1,
    NotFound = 2,
    StartFailed = 3,
    Unauthorized = 4,
    GroupFailed = 5,
    Closed = 6,
    ObjectNotFound = 7,

    /// <summary>The request was cancelled (a <see cref="CancelRequest"/>) before it did anything.</summary>
    Cancelled = 8,

    /// <summary>The node that had to serve the request is lost or cannot be reached (<see cref="ErrorContext.NodeIndex"/> says which).</summary>
    NodeLost = 9,
}

/// <summary>First message on a control connection: proves the run's secret.</summary>
internal sealed record HelloRequest(string Secret, ulong Puid, int Pid) : IMessage;

internal sealed record HelloReply(string RunId, int NodeIndex, NodeDescriptor[] Nodes) : IMessage;

/// <summary>A node of the run; <see cref="Endpoint"/> is where its service accepts links from other nodes.</summary>
internal sealed record NodeDescriptor(int Index, string Name, string Host, int Cpus, long MemoryBytes, string NodeId, string Endpoint);

internal sealed record StartRequest(ProcessSpec[] Specs) : IMessage;

internal sealed record StartReply(ProcessDescriptor[] Processes) : IMessage;

internal sealed record JoinRequest(ulong[] Puids, bool All, long TimeoutMs) : IMessage;

internal sealed record JoinReply(ProcessStatus[] Statuses) : IMessage;

internal sealed record SignalRequest(ulong Puid, int Signal) : IMessage;

internal sealed record QueryRequest(ulong Puid) : IMessage;

internal sealed record QueryReply(ProcessDescriptor Process, ProcessStatus Status) : IMessage;

/// <summary>Several processes at once (a group's members), in the order asked.</summary>
internal sealed record QueryManyRequest(ulong[] Puids) : IMessage;

internal sealed record QueryManyReply(ProcessDescriptor[] Processes) : IMessage;

/// <summary>
/// The next lines of a piped stdout/stderr (Fd 1 or 2) of a process: as many whole lines as are queued, up to
/// <see cref="MaxBytes"/> (at least one line, whatever its size).
/// </summary>
internal sealed record StreamRecvRequest(ulong Puid, int NodeIndex, int Fd, long TimeoutMs, int MaxBytes) : IMessage
{
    /// <summary>
    /// What a reader asks for at once: as much as a node service keeps for a stream, so a reader that keeps up costs
    /// a request per queue-full, and the queue fills again while it works through the batch.
    /// </summary>
    public const int DefaultMaxBytes = 1024 * 1024;
}

/// <summary>
/// Whole lines, each ending in '\n', in the order written (empty when none came); <see cref="EndOfStream"/> when the
/// stream ended after them; <see cref="TimedOut"/> when nothing came in time.
/// </summary>
internal sealed record StreamData(ReadOnlyMemory<byte> Lines, bool EndOfStream, bool TimedOut) : IMessage;

/// <summary>Bytes for a piped stdin; <see cref="Close"/> closes it after writing.</summary>
internal sealed record StreamWriteRequest(ulong Puid, int NodeIndex, byte[] Data, bool Close) : IMessage;

internal sealed record TargetRequest(ulong Puid) : IMessage;

internal sealed record TargetReply(byte[] Payload) : IMessage;

internal sealed record GroupCreateRequest(GroupSpec Spec) : IMessage;

/// <summary>An operation on an existing group.</summary>
internal sealed record GroupCommand(ulong GroupId, GroupOp Op, long TimeoutMs, int Signal) : IMessage;

internal enum GroupOp
{
    Query = 0,
    Start = 1,
    Join = 2,
    Stop = 3,
    Signal = 4,
    Close = 5,
}

internal sealed record GroupStatusReply(GroupStatus Status) : IMessage;

/// <summary>Creates a channel or synchronization object hosted by a node (-1: the requester's node).</summary>
internal sealed record ObjectCreateRequest(ObjectKind Kind, string? Name, int HomeNode, long Capacity, long SlotSize, long MaxMessageBytes, long Parties, bool Flag, ulong Puid) : IMessage;

/// <summary>Attaches to an existing object by id, or by name when <see cref="Id"/> is 0.</summary>
internal sealed record ObjectAttachRequest(ulong Id, string? Name, ulong Puid) : IMessage;

/// <summary>Lets go of one reference; the last one destroys the object.</summary>
internal sealed record ObjectReleaseRequest(ulong Id, ulong Puid) : IMessage;

internal sealed record ObjectDescriptorReply(ObjectDescriptor Descriptor) : IMessage;

/// <summary>An operation on a hosted object, served by the object's home node.</summary>
internal sealed record ObjectRequest(ulong Id, ObjectOp Op, ReadOnlyMemory<byte> Payload, long TimeoutMs, long Argument, ulong Puid) : IMessage;

/// <summary>Result of an <see cref="ObjectRequest"/>: data and/or a value; <see cref="Status"/> says how it ended.</summary>
internal sealed record ObjectReply(ObjectStatus Status, ReadOnlyMemory<byte> Payload, long Value) : IMessage;

/// <summary>A node service introduces itself to the launcher (global services) after the link handshake.</summary>
internal sealed record NodeRegisterRequest(NodeDescriptor Descriptor, int Pid) : IMessage;

/// <summary>
/// A node service of an SSH fan-out tree reports that the node service it started on another host did not come up
/// (its ssh ended), so bring-up fails at once, naming the host, instead of waiting out its timeout.
/// </summary>
internal sealed record NodeStartFailedNotice(int Index, string Host, string Reason) : IMessage;

/// <summary>
/// The run's node table, spread down the run's tree once every node has registered: the launcher sends it to the
/// first <paramref name="FanOut"/> nodes, and node i to nodes FanOut*(i+1) .. FanOut*(i+1)+FanOut-1 (see
/// <c>NodeTree</c>). A node answers once it and every node below it hold the table.
/// </summary>
internal sealed record NodeTableRequest(NodeDescriptor[] Nodes, int FanOut) : IMessage;

/// <summary>
/// One process for a node service to start: its puid, what to run (an index into the request's
/// <see cref="SpawnRequest.Specs"/>), its group and its own extra environment.
/// </summary>
internal sealed record SpawnEntry(ulong Puid, int Spec, ulong GroupId, KeyValuePair<string, string>[] ExtraEnv);

/// <summary>
/// Global services ask a node service to start processes, in order, stopping at the first that cannot start: one
/// request (and one reply) for a whole share of a group, not one per process. A spec that members share travels once.
/// </summary>
internal sealed record SpawnRequest(ProcessSpec[] Specs, SpawnEntry[] Entries) : IMessage;

/// <summary>
/// What a <see cref="SpawnRequest"/> started, in the request's order, and why the next entry did not start (null when
/// every entry did). Those started are running even when a later one failed: the caller decides what becomes of them.
/// </summary>
internal sealed record SpawnReply(ProcessDescriptor[] Started, ErrorReply? Failure) : IMessage;

/// <summary>Global services ask a node service to signal one of its processes.</summary>
internal sealed record NodeSignalRequest(ulong Puid, int Signal) : IMessage;

/// <summary>A node service reports that one of its children was reaped (code, or signal).</summary>
internal sealed record ProcessExitedNotice(ulong Puid, int Code, int Signal) : IMessage;

/// <summary>Global services tell every node that a process is gone, so hosted objects let go of what it held.</summary>
internal sealed record ProcessGoneNotice(ulong Puid) : IMessage;

/// <summary>A line of forwarded output from a process on a node, for the launcher's stdout or stderr.</summary>
internal sealed record OutputNotice(string Label, byte[] Line, bool IsError) : IMessage;

/// <summary>Creates a node's part of an MPI job: its local ranks, the job's mapping and KVS name.</summary>
internal sealed record PmiJobRequest(ulong GroupId, int[] NodeOfRank, int[] LocalRanks, string KvsName, bool JobWideBarrier, PmiMode Mode = PmiMode.Simple) : IMessage;

/// <summary>The PMI environment of each local rank, by rank.</summary>
internal sealed record PmiJobReply(int[] Ranks, KeyValuePair<string, string>[][] Environments) : IMessage;

internal sealed record PmiJobClose(ulong GroupId) : IMessage;

/// <summary>A rank of an MPI job connected, initialized, finalized, aborted, broke the protocol, or disconnected.</summary>
internal sealed record PmiEventNotice(ulong GroupId, int Rank, int Kind, int ExitCode, string? Message) : IMessage;

/// <summary>One node's puts at a barrier of a job spanning nodes; the reply carries every node's puts.</summary>
internal sealed record PmiExchangeRequest(ulong GroupId, int NodeIndex, KeyValuePair<string, string>[] Puts) : IMessage;

internal sealed record PmiExchangeReply(KeyValuePair<string, string>[] Puts) : IMessage;

/// <summary>A node created a named object: record the name run-wide (fails if it is taken).</summary>
internal sealed record ObjectRegisterRequest(ObjectDescriptor Descriptor) : IMessage;

internal sealed record ObjectLookupRequest(string Name) : IMessage;

internal sealed record ObjectUnregisterNotice(ObjectDescriptor Descriptor) : IMessage;

/// <summary>The run is ending: stop every process (with this patience between signals), clean up, and exit.</summary>
internal sealed record ShutdownRequest(long PatienceMs) : IMessage;

/// <summary>A node service's log file, gathered into the launcher's run directory when the run ends.</summary>
internal sealed record LogFileNotice(string Name, byte[] Content) : IMessage;

/// <summary>
/// Asks the peer to stop request <see cref="RequestId"/> of the same connection (a notice: id 0, no reply of its
/// own). The request still gets its one final reply: its result if it completed first (a message it took comes
/// back, never dropped), or cancelled (<see cref="ErrorKind.Cancelled"/>, <see cref="ObjectStatus.Cancelled"/>).
/// </summary>
internal sealed record CancelRequest(long RequestId) : IMessage;

/// <summary>
/// A put to a channel homed on another node, sent without waiting for delivery (a notice): from a process to its node
/// service (<see cref="Sender"/> 0), then from that service to the home node (<see cref="Sender"/> names the sending
/// connection on the sender's node). Within the sender's credit window; delivery is reported by
/// <see cref="ChannelPutAck"/>.
/// </summary>
internal sealed record ChannelPut(ulong ChannelId, ulong Sender, ReadOnlyMemory<byte> Payload) : IMessage;

/// <summary>
/// The home node's report on puts of one sender, in the order they were put: <see cref="Messages"/> more messages
/// (<see cref="Bytes"/> bytes) were delivered into the channel (<see cref="ObjectStatus.Ok"/>), or could not be and
/// never will be (any other status, <see cref="Reason"/> says why; <see cref="NodeIndex"/> names the node).
/// </summary>
internal sealed record ChannelPutAck(ulong ChannelId, ulong Sender, int Messages, long Bytes, ObjectStatus Status, string Reason, int NodeIndex) : IMessage;
