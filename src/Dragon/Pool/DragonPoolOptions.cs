namespace Dragon;

/// <summary>How a <see cref="DragonPool"/> is sized, placed and how it treats failures.</summary>
public sealed record DragonPoolOptions
{
    /// <summary>
    /// How many workers, spread round-robin over the nodes; null for the default: what the run was granted (each
    /// machine's CPUs as its node service sees them, which follows the affinity mask and the cgroup limit).
    /// </summary>
    public int? Workers { get; init; }

    /// <summary>Workers on every node (overrides <see cref="Workers"/>).</summary>
    public int? WorkersPerNode { get; init; }

    /// <summary>One worker per entry, placed by it (a node by index or name, CPUs); overrides the counts above.</summary>
    public IReadOnlyList<Policy>? Placement { get; init; }

    /// <summary>How many times a task whose worker died is run again before it fails (default 3).</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>
    /// Longest a single task may run; a task past it fails with a <see cref="TaskFailedException"/> (not retried), and
    /// its worker, stuck in the method, is ended and replaced. Null for no limit.
    /// </summary>
    public TimeSpan? TaskTimeout { get; init; }

    /// <summary>Variables added to the workers' environment.</summary>
    public IReadOnlyDictionary<string, string?>? Env { get; init; }

    /// <summary>The workers' standard output (default inherit: the launcher's output).</summary>
    public Stdio Stdout { get; init; } = Stdio.Inherit;

    /// <summary>The workers' standard error (default inherit).</summary>
    public Stdio Stderr { get; init; } = Stdio.Inherit;
}

/// <summary>A worker of a pool: which process it is and where it runs.</summary>
/// <param name="Slot">Position of the worker in the pool (a replacement takes the slot of the worker it replaces).</param>
/// <param name="Puid">The worker process.</param>
/// <param name="NodeIndex">The node it runs on.</param>
public sealed record PoolWorkerInfo(int Slot, ulong Puid, int NodeIndex);

/// <summary>A worker that died and the one that took its place; raised by <see cref="DragonPool.WorkerReplaced"/>.</summary>
/// <param name="Lost">The worker that died.</param>
/// <param name="Reason">How it ended (<c>killed by signal 9 (SIGKILL)</c>, <c>node lost</c>, ...).</param>
/// <param name="Replacement">The worker started in its place, or null when none could be started.</param>
/// <param name="TasksRetried">Tasks it held that were queued again.</param>
/// <param name="TasksFailed">Tasks it held that had used up their retries and failed.</param>
public sealed record WorkerReplacement(PoolWorkerInfo Lost, string Reason, PoolWorkerInfo? Replacement, int TasksRetried, int TasksFailed);
