namespace Dragon.Runtime.Protocol;

/// <summary>Where a standard stream of a new process goes.</summary>
internal enum StdioKind
{
    Inherit = 0,
    Pipe = 1,
    DevNull = 2,
    File = 3,
    /// <summary>stderr only: into the same place as stdout.</summary>
    Stdout = 4,
}

internal sealed record StdioSpec(StdioKind Kind, string? Path);

internal enum Distribution
{
    Default = 0,
    RoundRobin = 1,
    Block = 2,
}

internal sealed record PlacementSpec(int NodeIndex, string? NodeName, Distribution Distribution, int[]? Cpus);

/// <summary>A fully described process to start; built by the client from a ProcessTemplate.</summary>
internal sealed record ProcessSpec(
    string Executable,
    string[] Args,
    string? Cwd,
    KeyValuePair<string, string>[] Env,
    StdioSpec Stdin,
    StdioSpec Stdout,
    StdioSpec Stderr,
    PlacementSpec Placement,
    byte[]? MethodTarget,
    string DisplayName);

internal sealed record ProcessDescriptor(ulong Puid, int NodeIndex, int Pid, bool StdinPiped, bool StdoutPiped, bool StderrPiped, ulong GroupId, string DisplayName);

/// <summary>Where a process is in its life.</summary>
internal enum ProcessState
{
    Pending = 0,
    Running = 1,
    Exited = 2,
}

/// <summary>State of one process: exit code (or -signal), the signal, and a human reason.</summary>
internal sealed record ProcessStatus(ulong Puid, ProcessState State, int ExitCode, int Signal, string Reason, int NodeIndex, bool Failed);

/// <summary>A group: one or more (count, template) entries and its options.</summary>
internal sealed record GroupSpec(GroupMemberSpec[] Members, bool Restart, bool IgnoreErrorOnExit, long WalltimeMs, PmiMode Pmi);

internal sealed record GroupMemberSpec(int Count, ProcessSpec Template);

internal enum PmiMode
{
    None = 0,
    Simple = 1,
    Pmix = 2,

    /// <summary>Chosen from the executables by the client before the group reaches the runtime; never on the wire.</summary>
    Auto = 3,
}

internal enum GroupState
{
    Pending = 0,
    Running = 1,
    Stopping = 2,
    Finished = 3,
    Closed = 4,
}

internal sealed record GroupStatus(
    ulong GroupId,
    GroupState State,
    ulong[] Puids,
    ulong[] InactivePuids,
    ProcessStatus[] Members,
    string? Failure,
    bool TimedOut);

/// <summary>The kinds of objects node services host for the run.</summary>
internal enum ObjectKind
{
    Channel = 0,
    Event = 1,
    Barrier = 2,
    Lock = 3,
    Semaphore = 4,

    /// <summary>One manager's shard of a dictionary (Dictionary/Internal/DictShard.cs).</summary>
    DictionaryShard = 5,
}

/// <summary>
/// What a process needs to use a hosted object; the home node is encoded in the top 16 bits of the id. A channel's
/// <see cref="ShmPath"/> is its ring file; an event's, lock's or semaphore's is the slab file of its slot, at byte
/// <see cref="ShmOffset"/> (Sync/Internal/SyncSlot.cs).
/// </summary>
internal sealed record ObjectDescriptor(ulong Id, ObjectKind Kind, string Name, int HomeNode, string? ShmPath, long Capacity, long SlotSize, long MaxMessageBytes, long Parties, bool Flag, long ShmOffset = 0)
{
    public static int HomeOf(ulong id) => (int)(id >> 48);
}

internal enum ObjectOp
{
    Send = 0,
    Receive = 1,
    CloseChannel = 2,
    Poll = 3,
    EventSet = 10,
    EventClear = 11,
    EventIsSet = 12,
    EventWait = 13,
    BarrierWait = 20,
    BarrierAbort = 21,
    BarrierReset = 22,
    LockAcquire = 30,
    LockRelease = 31,
    SemaphoreAcquire = 40,
    SemaphoreRelease = 41,
    SemaphoreValue = 42,
    TaskDone = 50,
    JoinQueue = 51,
    DictGet = 60,
    DictPut = 61,
    DictRemove = 62,
    DictContains = 63,
    DictPutMany = 64,
    DictAdd = 65,
    DictWaitFor = 66,
    DictScan = 67,
    DictCount = 68,
    DictStats = 69,
    DictClear = 70,
    DictFreeze = 71,
    DictPersist = 72,
    DictRestore = 73,
    DictGetMany = 74,

    /// <summary>
    /// The puts of several callers of one process, in the order asked: each goes in or is refused on its own (a put
    /// refused for the manager's room does not stop the ones after it, as if each had been sent alone).
    /// </summary>
    DictPutEach = 75,
}

internal enum ObjectStatus
{
    Ok = 0,
    TimedOut = 1,
    EndOfStream = 2,
    Closed = 3,
    Broken = 4,
    Destroyed = 5,
    Invalid = 6,

    /// <summary>Stopped by a <see cref="CancelRequest"/>; nothing was taken or granted.</summary>
    Cancelled = 7,
}
