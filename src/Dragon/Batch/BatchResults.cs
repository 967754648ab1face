namespace Dragon;

/// <summary>What a process or job task ran: its processes, where, and the log files of each.</summary>
/// <param name="Puids">The processes, in rank order.</param>
/// <param name="NodeIndexes">The node of each process.</param>
/// <param name="StdoutLogs">The file each process's standard output went to (null when the template chose another place).</param>
/// <param name="StderrLogs">The file each process's standard error went to (null likewise).</param>
public sealed record BatchProcessResult(IReadOnlyList<ulong> Puids, IReadOnlyList<int> NodeIndexes, IReadOnlyList<string?> StdoutLogs, IReadOnlyList<string?> StderrLogs);

/// <summary>One line of a batch's manifest: what a task was, what ran it, where, and how it ended.</summary>
/// <param name="Id">The task's id.</param>
/// <param name="Name">The task's name.</param>
/// <param name="Kind">What it ran.</param>
/// <param name="DependsOn">Ids of the tasks it waited for.</param>
/// <param name="State">How it ended (or where it is, for a manifest taken before the end).</param>
/// <param name="Reason">Why it failed or was cancelled.</param>
/// <param name="WorkerSlot">The pool worker that ran a function task.</param>
/// <param name="Puids">The processes that ran it (the worker, for a function).</param>
/// <param name="NodeIndexes">Their nodes.</param>
/// <param name="SubmittedAt">When it was added to the batch.</param>
/// <param name="StartedAt">When its inputs were ready and it was handed on to run.</param>
/// <param name="FinishedAt">When it ended.</param>
/// <param name="StdoutLogs">Its standard output's log files (a function's only when it printed something).</param>
/// <param name="StderrLogs">Its standard error's log files, likewise.</param>
public sealed record BatchManifestEntry(
    int Id,
    string Name,
    BatchTaskKind Kind,
    IReadOnlyList<int> DependsOn,
    BatchTaskState State,
    string? Reason,
    int? WorkerSlot,
    IReadOnlyList<ulong> Puids,
    IReadOnlyList<int> NodeIndexes,
    DateTimeOffset SubmittedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<string> StdoutLogs,
    IReadOnlyList<string> StderrLogs);

/// <summary>What ran a task, filled in as it runs (guarded by its own lock: the result reader and the task write it).</summary>
internal sealed class BatchPlacement
{
    private readonly Lock _lock = new();
    private readonly List<ulong> _puids = [];
    private readonly List<int> _nodes = [];
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private int? _workerSlot;

    public void Ran(ulong puid, int node, int? workerSlot)
    {
        lock (_lock)
        {
            _puids.Add(puid);
            _nodes.Add(node);
            _workerSlot = workerSlot ?? _workerSlot;
        }
    }

    public void Logged(string? stdout, string? stderr)
    {
        lock (_lock)
        {
            if (stdout is not null)
            {
                _stdout.Add(stdout);
            }

            if (stderr is not null)
            {
                _stderr.Add(stderr);
            }
        }
    }

    public BatchManifestEntry Entry(BatchTask task, BatchTaskState state, string? reason, DateTimeOffset? startedAt, DateTimeOffset? finishedAt)
    {
        lock (_lock)
        {
            return new BatchManifestEntry(
                task.Id,
                task.Name,
                task.Kind,
                task.DependsOn.Select(d => d.Id).ToArray(),
                state,
                reason,
                _workerSlot,
                _puids.ToArray(),
                _nodes.ToArray(),
                task.SubmittedAt,
                startedAt,
                finishedAt,
                _stdout.ToArray(),
                _stderr.ToArray());
        }
    }
}
