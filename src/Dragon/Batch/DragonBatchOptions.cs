namespace Dragon;

/// <summary>How a <see cref="DragonBatch"/> runs its tasks and where it keeps their logs.</summary>
public sealed record DragonBatchOptions
{
    /// <summary>The warm workers that run function tasks (default: a pool sized from what the run was granted).</summary>
    public DragonPoolOptions? Pool { get; init; }

    /// <summary>
    /// Where each task's stdout and stderr logs and the batch's <c>manifest.json</c> go (created if missing); default
    /// a new <c>dragon-batch-&lt;time&gt;-&lt;id&gt;</c> directory in the current one. A process's logs are written on the
    /// node it runs on, so across machines this should be a shared file system.
    /// </summary>
    public string? LogDirectory { get; init; }

    /// <summary>
    /// Most processes that process and job tasks run at once (default: the pool's worker count); tasks past it wait,
    /// so a graph of many process tasks queues rather than floods the nodes. A job larger than this runs alone.
    /// </summary>
    public int? MaxRunningProcesses { get; init; }
}
