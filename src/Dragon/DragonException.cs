namespace Dragon;

/// <summary>Base of the errors the runtime raises; the message names the thing and the reason.</summary>
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
