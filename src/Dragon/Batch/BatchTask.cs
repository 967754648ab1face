using System.Runtime.CompilerServices;

namespace Dragon;

/// <summary>What a batch task runs.</summary>
public enum BatchTaskKind
{
    /// <summary>A static C# method on the batch's warm workers.</summary>
    Function = 0,

    /// <summary>One process (an executable or a method target).</summary>
    Process = 1,

    /// <summary>A group of ranks started as one job, an MPI program when it has PMI.</summary>
    Job = 2,
}

/// <summary>Where a batch task is in its life.</summary>
public enum BatchTaskState
{
    /// <summary>Waiting for its dependencies (or, for a process, for room to run).</summary>
    Waiting = 0,

    /// <summary>Its inputs are ready and it was handed to a worker or started.</summary>
    Running = 1,

    /// <summary>Finished with a result.</summary>
    Completed = 2,

    /// <summary>Finished with an error: it threw, exited non-zero or was lost with its worker.</summary>
    Failed = 3,

    /// <summary>Cancelled, by <see cref="BatchTask.Cancel"/>, because a dependency did not complete, or by the batch's end.</summary>
    Canceled = 4,
}

/// <summary>
/// A task of a <see cref="DragonBatch"/>: it starts as soon as every task it depends on has completed, and is cancelled
/// (with the reason) when one of them fails or is cancelled. Its console output goes to its own log files.
/// </summary>
public abstract class BatchTask
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly TaskCompletionSource _workDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private BatchTaskState _state;
    private int _waitingFor;

    private protected BatchTask(DragonBatch batch, int id, string name, BatchTaskKind kind, IReadOnlyList<BatchTask> dependsOn)
    {
        Batch = batch;
        Id = id;
        Name = name;
        Kind = kind;
        DependsOn = dependsOn;
        SubmittedAt = DateTimeOffset.UtcNow;
    }

    /// <summary>Position of the task in its batch, from 1.</summary>
    public int Id { get; }

    /// <summary>The task's name (the method's or the program's unless given): its logs and manifest entry use it.</summary>
    public string Name { get; }

    /// <summary>What it runs.</summary>
    public BatchTaskKind Kind { get; }

    /// <summary>The tasks whose completion it waits for.</summary>
    public IReadOnlyList<BatchTask> DependsOn { get; }

    /// <summary>Where it is in its life.</summary>
    public BatchTaskState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>Why it failed or was cancelled; null while it is waiting, running or when it completed.</summary>
    public string? Reason { get; private set; }

    /// <summary>
    /// Completes when the task does: faulted with the task's error when it failed, and with a
    /// <see cref="BatchTaskCanceledException"/> (an <see cref="OperationCanceledException"/> that says why) when it was
    /// cancelled.
    /// </summary>
    public abstract Task Completion { get; }

    internal DragonBatch Batch { get; }

    internal DateTimeOffset SubmittedAt { get; }

    internal DateTimeOffset? StartedAt { get; private set; }

    internal DateTimeOffset? FinishedAt { get; private set; }

    /// <summary>What ran it: worker slot (functions), processes and their nodes, and the log files written.</summary>
    internal BatchPlacement Placement { get; } = new();

    /// <summary>
    /// Completes once nothing of the task runs any more (a cancelled process is stopped, a function's await ended):
    /// exactly once per task, whichever way it ended. What the batch's dispose waits for.
    /// </summary>
    internal Task WorkDone => _workDone.Task;

    internal Exception? Error { get; private set; }

    /// <summary>
    /// Cancels the task unless it has finished: a waiting task never runs, a running process or job is stopped, a
    /// function's await ends at once (the method runs to its end in its worker, its result dropped). Tasks that depend
    /// on it are cancelled in turn, naming this one.
    /// </summary>
    /// <param name="reason">Why, reported to everyone awaiting it or its dependants.</param>
    /// <returns>False when it had already finished.</returns>
    public bool Cancel(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return CancelCore(reason, null);
    }

    /// <summary>The task's line of the batch's manifest as it stands now: what ran it, where, and how it ended.</summary>
    public BatchManifestEntry GetManifestEntry()
    {
        lock (_gate)
        {
            return Placement.Entry(this, _state, Reason, StartedAt, FinishedAt);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"task {Id} '{Name}' ({Kind}, {State})";

    internal string Describe() => $"task {Id} '{Name}'";

    /// <summary>Starts now, or once the dependencies complete.</summary>
    internal void Schedule()
    {
        _waitingFor = DependsOn.Count;
        if (DependsOn.Count == 0)
        {
            Launch();
            return;
        }

        foreach (var dependency in DependsOn)
        {
            // Asynchronous continuations: a long chain of dependants must not cascade on one stack.
            dependency.Completion.ContinueWith(
                static (_, state) =>
                {
                    var (self, dependency) = ((BatchTask, BatchTask))state!;
                    self.DependencyDone(dependency);
                },
                (this, dependency),
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
        }
    }

    private void DependencyDone(BatchTask dependency)
    {
        if (dependency.State == BatchTaskState.Completed)
        {
            if (Interlocked.Decrement(ref _waitingFor) == 0)
            {
                Launch();
            }

            return;
        }

        var how = dependency.State == BatchTaskState.Failed ? "failed" : "was cancelled";
        CancelCore($"its dependency {dependency.Describe()} {how}: {dependency.Reason}", dependency.Error);
    }

    private void Launch()
    {
        lock (_gate)
        {
            if (_state != BatchTaskState.Waiting)
            {
                return;
            }

            _state = BatchTaskState.Running;
            StartedAt = DateTimeOffset.UtcNow;
        }

        _ = RunAsync(_cancel.Token);
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ExecuteAsync(cancellationToken).ConfigureAwait(false);
            if (Finish(BatchTaskState.Completed, null, null))
            {
                Publish(null);
            }
        }
        catch (Exception e)
        {
            // Cancelled: Cancel already published the outcome, and Finish refuses a second one.
            if (Finish(BatchTaskState.Failed, e.Message, e))
            {
                Publish(e);
            }
        }
        finally
        {
            ReleaseWork();
            _workDone.TrySetResult();
        }
    }

    private bool CancelCore(string reason, Exception? cause)
    {
        var error = new BatchTaskCanceledException(Id, Name, reason, cause);
        bool wasWaiting;
        lock (_gate)
        {
            if (_state is not (BatchTaskState.Waiting or BatchTaskState.Running))
            {
                return false;
            }

            wasWaiting = _state == BatchTaskState.Waiting;
            (_state, Reason, Error, FinishedAt) = (BatchTaskState.Canceled, reason, error, DateTimeOffset.UtcNow);
        }

        // The outcome first, so a fence or an await never sees the work end before it; then the running work is told.
        Publish(error);
        try
        {
            _cancel.Cancel();
        }
        catch (AggregateException)
        {
            // A registration of the work threw; the task is cancelled all the same and its work ends on its own.
        }

        if (wasWaiting)
        {
            ReleaseWork();
            _workDone.TrySetResult();
        }

        return true;
    }

    /// <summary>The one transition out of Running: false when a cancel got there first.</summary>
    private bool Finish(BatchTaskState state, string? reason, Exception? error)
    {
        lock (_gate)
        {
            if (_state != BatchTaskState.Running)
            {
                return false;
            }

            (_state, Reason, Error, FinishedAt) = (state, reason, error, DateTimeOffset.UtcNow);
            return true;
        }
    }

    /// <summary>Runs the task's work and keeps its result; throws what it failed with.</summary>
    private protected abstract Task ExecuteAsync(CancellationToken cancellationToken);

    /// <summary>Completes <see cref="Completion"/> with the kept result (<paramref name="error"/> null) or the error.</summary>
    private protected abstract void Publish(Exception? error);

    /// <summary>Drops what the work held (its argument), so a finished task keeps only its result.</summary>
    private protected abstract void ReleaseWork();
}

/// <summary>A batch task with a result: await it, or read <see cref="GetResult"/> once it has completed.</summary>
/// <typeparam name="TResult">What the task produces.</typeparam>
public sealed class BatchTask<TResult> : BatchTask
{
    private readonly TaskCompletionSource<TResult> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Func<BatchTask<TResult>, CancellationToken, Task<TResult>>? _work;
    private TResult? _value;

    internal BatchTask(DragonBatch batch, int id, string name, BatchTaskKind kind, IReadOnlyList<BatchTask> dependsOn, Func<BatchTask<TResult>, CancellationToken, Task<TResult>> work)
        : base(batch, id, name, kind, dependsOn)
    {
        _work = work;
    }

    /// <summary>The task's result as a <see cref="Task{TResult}"/>; results are kept until the batch is gone.</summary>
    public Task<TResult> AsTask() => _result.Task;

    /// <inheritdoc/>
    public override Task Completion => _result.Task;

    /// <summary>Lets the task be awaited directly.</summary>
    public TaskAwaiter<TResult> GetAwaiter() => _result.Task.GetAwaiter();

    /// <summary>The result; blocks until the task finishes.</summary>
    /// <exception cref="BatchTaskCanceledException">It was cancelled (the reason names why, or which dependency did not complete).</exception>
    /// <exception cref="TaskFailedException">A function that threw or was lost with its worker.</exception>
    /// <exception cref="ProcessGroupException">A process or job that failed.</exception>
    public TResult GetResult() => _result.Task.GetAwaiter().GetResult();

    private protected override async Task ExecuteAsync(CancellationToken cancellationToken) =>
        _value = await _work!(this, cancellationToken).ConfigureAwait(false);

    private protected override void ReleaseWork() => _work = null;

    private protected override void Publish(Exception? error)
    {
        // A cancelled task faults with its BatchTaskCanceledException (an OperationCanceledException): awaiting it
        // then throws the exception that says why, where a cancelled Task would throw a bare TaskCanceledException.
        if (error is null)
        {
            _result.TrySetResult(_value!);
        }
        else if (_result.TrySetException(error))
        {
            // Observed here: a failed or cancelled task nobody awaits (dispose cancels every unfinished one) must not
            // raise TaskScheduler.UnobservedTaskException later; awaiting it still throws.
            _ = _result.Task.Exception;
        }
    }
}
