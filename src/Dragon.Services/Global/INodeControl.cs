using Dragon.Runtime.Protocol;

namespace Dragon.Services.Global;

/// <summary>What global services ask of a node service; in-process on one machine, over the transport across nodes.</summary>
internal interface INodeControl
{
    NodeDescriptor Descriptor { get; }

    /// <summary>Starts a process; throws <see cref="ServiceException"/> naming what was wrong.</summary>
    ProcessDescriptor Spawn(ulong puid, ProcessSpec spec, ulong groupId, IReadOnlyDictionary<string, string>? extraEnv);

    /// <summary>Signals a process of this node (its whole process group); a process already gone is ignored.</summary>
    void Signal(ulong puid, int signal);

    /// <summary>A process of the run exited (on any node): objects hosted here let go of what it held.</summary>
    void OnProcessExited(ulong puid);
}
