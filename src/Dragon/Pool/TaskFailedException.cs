namespace Dragon;

/// <summary>
/// A task of a <see cref="DragonPool"/> failed: the method threw in its worker (<see cref="RemoteExceptionType"/>,
/// <see cref="RemoteStackTrace"/>), ran past the pool's task timeout, or its worker died more often than the pool
/// retries. <see cref="DragonException.Puid"/> and <see cref="DragonException.NodeIndex"/> name the worker.
/// </summary>
public sealed class TaskFailedException : DragonException
{
    /// <summary>Creates the exception.</summary>
    public TaskFailedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public TaskFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public TaskFailedException()
    {
    }

    /// <summary>Full name of the exception type the method threw in the worker; null when it did not throw.</summary>
    public string? RemoteExceptionType { get; internal set; }

    /// <summary>The message of the exception the method threw; null when it did not throw.</summary>
    public string? RemoteMessage { get; internal set; }

    /// <summary>Stack trace of the exception in the worker; null when the method did not throw.</summary>
    public string? RemoteStackTrace { get; internal set; }

    /// <summary>Name of the worker's node, if known.</summary>
    public string? NodeName { get; internal set; }

    /// <summary>How many times the task was started (more than one when its worker died under it).</summary>
    public int Attempts { get; internal set; }

    /// <summary>True when the task ran past the pool's task timeout.</summary>
    public bool TimedOut { get; internal set; }

    /// <inheritdoc/>
    public override string? StackTrace => RemoteStackTrace is null ? base.StackTrace : $"{RemoteStackTrace}\n--- in the caller ---\n{base.StackTrace}";
}
