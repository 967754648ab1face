using MemoryPack;

namespace Dragon.Runtime.Protocol;

/// <summary>Every control message between a process and its node service, and between services.</summary>
/// <remarks>Tags are part of the wire format: append new ones, never renumber.</remarks>
[MemoryPackable]
[MemoryPackUnion(0, typeof(Ack))]
[MemoryPackUnion(1, typeof(ErrorReply))]
[MemoryPackUnion(2, typeof(HelloRequest))]
[MemoryPackUnion(3, typeof(HelloReply))]
[MemoryPackUnion(4, typeof(StartRequest))]
[MemoryPackUnion(5, typeof(StartReply))]
[MemoryPackUnion(6, typeof(JoinRequest))]
[MemoryPackUnion(7, typeof(JoinReply))]
[MemoryPackUnion(8, typeof(SignalRequest))]
[MemoryPackUnion(9, typeof(QueryRequest))]
[MemoryPackUnion(10, typeof(QueryReply))]
[MemoryPackUnion(11, typeof(StreamRecvRequest))]
[MemoryPackUnion(12, typeof(StreamData))]
[MemoryPackUnion(13, typeof(StreamWriteRequest))]
[MemoryPackUnion(14, typeof(TargetRequest))]
[MemoryPackUnion(15, typeof(TargetReply))]
[MemoryPackUnion(16, typeof(GroupCreateRequest))]
[MemoryPackUnion(17, typeof(GroupCommand))]
[MemoryPackUnion(18, typeof(GroupStatusReply))]
[MemoryPackUnion(19, typeof(ObjectCreateRequest))]
[MemoryPackUnion(20, typeof(ObjectAttachRequest))]
[MemoryPackUnion(21, typeof(ObjectReleaseRequest))]
[MemoryPackUnion(22, typeof(ObjectDescriptorReply))]
[MemoryPackUnion(23, typeof(ObjectRequest))]
[MemoryPackUnion(24, typeof(ObjectReply))]
[MemoryPackUnion(26, typeof(NodeRegisterRequest))]
[MemoryPackUnion(27, typeof(NodeTableReply))]
[MemoryPackUnion(28, typeof(SpawnRequest))]
[MemoryPackUnion(29, typeof(NodeSignalRequest))]
[MemoryPackUnion(30, typeof(ProcessExitedNotice))]
[MemoryPackUnion(31, typeof(ProcessGoneNotice))]
[MemoryPackUnion(32, typeof(OutputNotice))]
[MemoryPackUnion(33, typeof(PmiJobRequest))]
[MemoryPackUnion(34, typeof(PmiJobReply))]
[MemoryPackUnion(35, typeof(PmiJobClose))]
[MemoryPackUnion(36, typeof(PmiEventNotice))]
[MemoryPackUnion(37, typeof(PmiExchangeRequest))]
[MemoryPackUnion(38, typeof(PmiExchangeReply))]
[MemoryPackUnion(39, typeof(ObjectRegisterRequest))]
[MemoryPackUnion(40, typeof(ObjectLookupRequest))]
[MemoryPackUnion(41, typeof(ObjectUnregisterNotice))]
[MemoryPackUnion(42, typeof(ShutdownRequest))]
[MemoryPackUnion(43, typeof(ProcessDescriptorReply))]
[MemoryPackUnion(44, typeof(LogFileNotice))]
[MemoryPackUnion(45, typeof(NodeStartFailedNotice))]
[MemoryPackUnion(46, typeof(QueryManyRequest))]
[MemoryPackUnion(47, typeof(QueryManyReply))]
internal partial interface IMessage;

/// <summary>Success with nothing to return.</summary>
[MemoryPackable]
internal sealed partial record Ack : IMessage;

/// <summary>A request failed; <see cref="Kind"/> selects the exception type the client throws.</summary>
[MemoryPackable]
internal sealed partial record ErrorReply(ErrorKind Kind, string Message) : IMessage;

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
}

/// <summary>First message on a control connection: proves the run's secret.</summary>
[MemoryPackable]
internal sealed partial record HelloRequest(string Secret, ulong Puid, int Pid) : IMessage;

[MemoryPackable]
internal sealed partial record HelloReply(string RunId, int NodeIndex, NodeDescriptor[] Nodes) : IMessage;

/// <summary>A node of the run; <see cref="Endpoint"/> is where its service accepts links from other nodes.</summary>
[MemoryPackable]
internal sealed partial record NodeDescriptor(int Index, string Name, string Host, int Cpus, long MemoryBytes, string NodeId, string Endpoint);

[MemoryPackable]
internal sealed partial record StartRequest(ProcessSpec[] Specs) : IMessage;

[MemoryPackable]
internal sealed partial record StartReply(ProcessDescriptor[] Processes) : IMessage;

[MemoryPackable]
internal sealed partial record JoinRequest(ulong[] Puids, bool All, long TimeoutMs) : IMessage;

[MemoryPackable]
internal sealed partial record JoinReply(ProcessStatus[] Statuses) : IMessage;

[MemoryPackable]
internal sealed partial record SignalRequest(ulong Puid, int Signal) : IMessage;

[MemoryPackable]
internal sealed partial record QueryRequest(ulong Puid) : IMessage;

[MemoryPackable]
internal sealed partial record QueryReply(ProcessDescriptor Process, ProcessStatus Status) : IMessage;

/// <summary>Several processes at once (a group's members), in the order asked.</summary>
[MemoryPackable]
internal sealed partial record QueryManyRequest(ulong[] Puids) : IMessage;

[MemoryPackable]
internal sealed partial record QueryManyReply(ProcessDescriptor[] Processes) : IMessage;

/// <summary>Next line of a piped stdout/stderr (Fd 1 or 2) of a process.</summary>
[MemoryPackable]
internal sealed partial record StreamRecvRequest(ulong Puid, int NodeIndex, int Fd, long TimeoutMs) : IMessage;

/// <summary>A line (without its newline) or end of stream; <see cref="TimedOut"/> when nothing came in time.</summary>
[MemoryPackable]
internal sealed partial record StreamData(byte[] Data, bool EndOfStream, bool TimedOut) : IMessage;

/// <summary>Bytes for a piped stdin; <see cref="Close"/> closes it after writing.</summary>
[MemoryPackable]
internal sealed partial record StreamWriteRequest(ulong Puid, int NodeIndex, byte[] Data, bool Close) : IMessage;

[MemoryPackable]
internal sealed partial record TargetRequest(ulong Puid) : IMessage;

[MemoryPackable]
internal sealed partial record TargetReply(byte[] Payload) : IMessage;

[MemoryPackable]
internal sealed partial record GroupCreateRequest(GroupSpec Spec) : IMessage;

/// <summary>An operation on an existing group.</summary>
[MemoryPackable]
internal sealed partial record GroupCommand(ulong GroupId, GroupOp Op, long TimeoutMs, int Signal) : IMessage;

internal enum GroupOp
{
    Query = 0,
    Start = 1,
    Join = 2,
    Stop = 3,
    Signal = 4,
    Close = 5,
}

[MemoryPackable]
internal sealed partial record GroupStatusReply(GroupStatus Status) : IMessage;

/// <summary>Creates a channel or synchronization object hosted by a node (-1: the requester's node).</summary>
[MemoryPackable]
internal sealed partial record ObjectCreateRequest(ObjectKind Kind, string? Name, int HomeNode, long Capacity, long SlotSize, long MaxMessageBytes, long Parties, bool Flag, ulong Puid) : IMessage;

/// <summary>Attaches to an existing object by id, or by name when <see cref="Id"/> is 0.</summary>
[MemoryPackable]
internal sealed partial record ObjectAttachRequest(ulong Id, string? Name, ulong Puid) : IMessage;

/// <summary>Lets go of one reference; the last one destroys the object.</summary>
[MemoryPackable]
internal sealed partial record ObjectReleaseRequest(ulong Id, ulong Puid) : IMessage;

[MemoryPackable]
internal sealed partial record ObjectDescriptorReply(ObjectDescriptor Descriptor) : IMessage;

/// <summary>An operation on a hosted object, served by the object's home node.</summary>
[MemoryPackable]
internal sealed partial record ObjectRequest(ulong Id, ObjectOp Op, byte[] Payload, long TimeoutMs, long Argument, ulong Puid) : IMessage;

/// <summary>Result of an <see cref="ObjectRequest"/>: data and/or a value; <see cref="Status"/> says how it ended.</summary>
[MemoryPackable]
internal sealed partial record ObjectReply(ObjectStatus Status, byte[] Payload, long Value) : IMessage;

/// <summary>A node service introduces itself to the launcher (global services) after the link handshake.</summary>
[MemoryPackable]
internal sealed partial record NodeRegisterRequest(NodeDescriptor Descriptor, int Pid) : IMessage;

/// <summary>
/// A node service of an SSH fan-out tree reports that the node service it started on another host did not come up
/// (its ssh ended), so bring-up fails at once, naming the host, instead of waiting out its timeout.
/// </summary>
[MemoryPackable]
internal sealed partial record NodeStartFailedNotice(int Index, string Host, string Reason) : IMessage;

/// <summary>The run's node table, sent to each node service once every node has registered.</summary>
[MemoryPackable]
internal sealed partial record NodeTableReply(NodeDescriptor[] Nodes) : IMessage;

/// <summary>Global services ask a node service to start one process.</summary>
[MemoryPackable]
internal sealed partial record SpawnRequest(ulong Puid, ProcessSpec Spec, ulong GroupId, KeyValuePair<string, string>[] ExtraEnv) : IMessage;

[MemoryPackable]
internal sealed partial record ProcessDescriptorReply(ProcessDescriptor Process) : IMessage;

/// <summary>Global services ask a node service to signal one of its processes.</summary>
[MemoryPackable]
internal sealed partial record NodeSignalRequest(ulong Puid, int Signal) : IMessage;

/// <summary>A node service reports that one of its children was reaped (code, or signal).</summary>
[MemoryPackable]
internal sealed partial record ProcessExitedNotice(ulong Puid, int Code, int Signal) : IMessage;

/// <summary>Global services tell every node that a process is gone, so hosted objects let go of what it held.</summary>
[MemoryPackable]
internal sealed partial record ProcessGoneNotice(ulong Puid) : IMessage;

/// <summary>A line of forwarded output from a process on a node, for the launcher's stdout or stderr.</summary>
[MemoryPackable]
internal sealed partial record OutputNotice(string Label, byte[] Line, bool IsError) : IMessage;

/// <summary>Creates a node's part of an MPI job: its local ranks, the job's mapping and KVS name.</summary>
[MemoryPackable]
internal sealed partial record PmiJobRequest(ulong GroupId, int[] NodeOfRank, int[] LocalRanks, string KvsName, bool JobWideBarrier) : IMessage;

/// <summary>The PMI environment of each local rank, by rank.</summary>
[MemoryPackable]
internal sealed partial record PmiJobReply(int[] Ranks, KeyValuePair<string, string>[][] Environments) : IMessage;

[MemoryPackable]
internal sealed partial record PmiJobClose(ulong GroupId) : IMessage;

/// <summary>A rank of an MPI job connected, initialized, finalized, aborted, broke the protocol, or disconnected.</summary>
[MemoryPackable]
internal sealed partial record PmiEventNotice(ulong GroupId, int Rank, int Kind, int ExitCode, string? Message) : IMessage;

/// <summary>One node's puts at a barrier of a job spanning nodes; the reply carries every node's puts.</summary>
[MemoryPackable]
internal sealed partial record PmiExchangeRequest(ulong GroupId, int NodeIndex, KeyValuePair<string, string>[] Puts) : IMessage;

[MemoryPackable]
internal sealed partial record PmiExchangeReply(KeyValuePair<string, string>[] Puts) : IMessage;

/// <summary>A node created a named object: record the name run-wide (fails if it is taken).</summary>
[MemoryPackable]
internal sealed partial record ObjectRegisterRequest(ObjectDescriptor Descriptor) : IMessage;

[MemoryPackable]
internal sealed partial record ObjectLookupRequest(string Name) : IMessage;

[MemoryPackable]
internal sealed partial record ObjectUnregisterNotice(ObjectDescriptor Descriptor) : IMessage;

/// <summary>The run is ending: stop every process (with this patience between signals), clean up, and exit.</summary>
[MemoryPackable]
internal sealed partial record ShutdownRequest(long PatienceMs) : IMessage;

/// <summary>A node service's log file, gathered into the launcher's run directory when the run ends.</summary>
[MemoryPackable]
internal sealed partial record LogFileNotice(string Name, byte[] Content) : IMessage;
