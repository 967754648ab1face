namespace Dragon;

/// <summary>
/// Base of the errors the runtime raises; the message names the thing and the reason, and the properties carry what
/// the runtime knew about it (each is null when it does not apply or was not known).
/// </summary>
public class DragonException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public DragonException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    public DragonException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception with no message.</summary>
    public DragonException()
    {
    }

    /// <summary>The process the error is about (its puid), if one.</summary>
    public ulong? Puid { get; internal set; }

    /// <summary>The node the error is about (its index in the run), if one.</summary>
    public int? NodeIndex { get; internal set; }

    /// <summary>The member index of the process in its group (the MPI rank in an MPI job), if it was a group member.</summary>
    public int? Rank { get; internal set; }

    /// <summary>The exit code of the process that failed, if it exited by itself.</summary>
    public int? ExitCode { get; internal set; }

    /// <summary>The signal that ended the process that failed, if a signal did.</summary>
    public int? Signal { get; internal set; }

    /// <summary>The name of the runtime object (queue, event, barrier, lock, semaphore) the error is about, if one.</summary>
    public string? ObjectName { get; internal set; }
}

/// <summary>A process could not be started: missing or non-executable program, bad cwd, bad placement.</summary>
public sealed class ProcessStartException : DragonException
{
    /// <summary>Creates the exception.</summary>
    public ProcessStartException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public ProcessStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ProcessStartException()
    {
    }
}

/// <summary>No process with the given puid exists in this run.</summary>
public sealed class ProcessNotFoundException : DragonException
{
    /// <summary>Creates the exception.</summary>
    public ProcessNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public ProcessNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ProcessNotFoundException()
    {
    }
}

/// <summary>
/// A member of a process group failed: the message names the member, its node, the code or signal and the reason,
/// e.g. <c>member 3 (puid 4294967301 on node local1) exited with code 7</c>.
/// </summary>
public sealed class ProcessGroupException : DragonException
{
    /// <summary>Creates the exception.</summary>
    public ProcessGroupException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public ProcessGroupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ProcessGroupException()
    {
    }
}

/// <summary>
/// A node of the run is lost (its service died or its host went silent) or cannot be reached, so a request that had to
/// be served there failed; <see cref="DragonException.NodeIndex"/> says which node.
/// </summary>
public sealed class NodeLostException : DragonException
{
    /// <summary>Creates the exception.</summary>
    public NodeLostException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public NodeLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public NodeLostException()
    {
    }
}

/// <summary>
/// No runtime object has the given name (it was destroyed, or never created); <see cref="DragonException.ObjectName"/>
/// says which name.
/// </summary>
public sealed class ObjectNotFoundException : DragonException
{
    /// <summary>Creates the exception.</summary>
    public ObjectNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public ObjectNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ObjectNotFoundException()
    {
    }
}
