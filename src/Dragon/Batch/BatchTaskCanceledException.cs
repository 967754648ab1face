namespace Dragon;

/// <summary>
/// A batch task was cancelled: by <see cref="BatchTask.Cancel"/>, because a task it depends on failed or was cancelled
/// (then <see cref="Exception.InnerException"/> is that task's error), or because the batch ended first.
/// </summary>
public sealed class BatchTaskCanceledException : OperationCanceledException
{
    /// <summary>Creates the exception.</summary>
    public BatchTaskCanceledException(string message)
        : base(message)
    {
        Reason = message;
    }

    /// <summary>Creates the exception with its cause.</summary>
    public BatchTaskCanceledException(string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = message;
    }

    /// <summary>Creates the exception with no message.</summary>
    public BatchTaskCanceledException()
    {
        Reason = string.Empty;
    }

    internal BatchTaskCanceledException(int taskId, string taskName, string reason, Exception? cause)
        : base($"batch task {taskId} '{taskName}' was cancelled: {reason}", cause)
    {
        TaskId = taskId;
        TaskName = taskName;
        Reason = reason;
    }

    /// <summary>The cancelled task's <see cref="BatchTask.Id"/>.</summary>
    public int TaskId { get; }

    /// <summary>The cancelled task's name.</summary>
    public string? TaskName { get; }

    /// <summary>Why: the reason given to <see cref="BatchTask.Cancel"/>, or which dependency did not complete and why.</summary>
    public string Reason { get; }
}
