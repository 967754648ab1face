using MemoryPack;

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

[MemoryPackable]
internal sealed partial record StdioSpec(StdioKind Kind, string? Path);

internal enum Distribution
{
    Default = 0,
    RoundRobin = 1,
    Block = 2,
}

[MemoryPackable]
internal sealed partial record PlacementSpec(int NodeIndex, string? NodeName, Distribution Distribution, int[]? Cpus);

/// <summary>A fully described process to start; built by the client from a ProcessTemplate.</summary>
[MemoryPackable]
internal sealed partial record ProcessSpec(
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

[MemoryPackable]
internal sealed partial record ProcessDescriptor(ulong Puid, int NodeIndex, int Pid, bool StdinPiped, bool StdoutPiped, bool StderrPiped, ulong GroupId, string DisplayName);

/// <summary>Where a process is in its life.</summary>
internal enum ProcessState
{
    Pending = 0,
    Running = 1,
    Exited = 2,
}

/// <summary>State of one process: exit code (or -signal), the signal, and a human reason.</summary>
[MemoryPackable]
internal sealed partial record ProcessStatus(ulong Puid, ProcessState State, int ExitCode, int Signal, string Reason, int NodeIndex, bool Failed);

/// <summary>A group: one or more (count, template) entries and its options.</summary>
[MemoryPackable]
internal sealed partial record GroupSpec(GroupMemberSpec[] Members, bool Restart, bool IgnoreErrorOnExit, long WalltimeMs, PmiMode Pmi);

[MemoryPackable]
internal sealed partial record GroupMemberSpec(int Count, ProcessSpec Template);

internal enum PmiMode
{
    None = 0,
    Simple = 1,
}

internal enum GroupState
{
    Pending = 0,
    Running = 1,
    Stopping = 2,
    Finished = 3,
    Closed = 4,
}

[MemoryPackable]
internal sealed partial record GroupStatus(
    ulong GroupId,
    GroupState State,
    ulong[] Puids,
    ulong[] InactivePuids,
    ProcessStatus[] Members,
    string? Failure,
    bool TimedOut);
