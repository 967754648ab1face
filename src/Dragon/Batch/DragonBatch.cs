using System.Text.RegularExpressions;
using Dragon.Runtime.Protocol;

namespace Dragon;

/// <summary>
/// A graph of tasks (C# functions on warm workers, processes, MPI jobs) that each start as soon as the tasks they depend
/// on have completed. A task whose dependency fails or is cancelled is cancelled with the reason, so nothing ever
/// waits on a result that will not come. Each task writes its own stdout and stderr logs, and the batch keeps a
/// manifest of what ran where and how it ended (<c>manifest.json</c> in <see cref="LogDirectory"/> when disposed).
/// </summary>
/// <remarks>
/// Dependencies are resolved here, in the program that owns the batch: a task is handed to a worker only once its
/// inputs exist, so a worker never blocks waiting for another task and more tasks than workers simply queue. A
/// function that would wait for another task's result should take it as an input (the <c>input</c> and
/// <c>dependsOn</c> forms) rather than block inside its worker.
/// </remarks>
public sealed partial class DragonBatch : IAsyncDisposable, IDisposable
{
    private readonly DragonPool _pool;
    private readonly List<BatchTask> _tasks = [];
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _processSlots;
    private readonly SemaphoreSlim _slotGate = new(1, 1);
    private readonly int _maxProcesses;
    private bool _disposed;

    private DragonBatch(DragonPool pool, string logDirectory, int maxProcesses)
    {
        _pool = pool;
        LogDirectory = logDirectory;
        _maxProcesses = maxProcesses;
        _processSlots = new SemaphoreSlim(maxProcesses, maxProcesses);
    }

    /// <summary>Starts a batch and its pool of workers.</summary>
    /// <exception cref="ArgumentException">Bad options (see <see cref="DragonPool.StartAsync"/>; a process limit below one).</exception>
    public static DragonBatch Start(DragonBatchOptions? options = null) => StartAsync(options).GetAwaiter().GetResult();

    /// <inheritdoc cref="Start"/>
    public static async Task<DragonBatch> StartAsync(DragonBatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new DragonBatchOptions();
        if (options.MaxRunningProcesses is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxRunningProcesses, "MaxRunningProcesses must be at least one (null for the pool's size)");
        }

        var directory = Path.GetFullPath(options.LogDirectory ?? $"dragon-batch-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}");
        Directory.CreateDirectory(directory);
        var pool = await DragonPool.StartAsync(options.Pool, cancellationToken).ConfigureAwait(false);
        return new DragonBatch(pool, directory, options.MaxRunningProcesses ?? pool.WorkerCount);
    }

    /// <summary>Where the tasks' logs and the manifest go.</summary>
    public string LogDirectory { get; }

    /// <summary>The workers that run function tasks (usable for maps of their own).</summary>
    public DragonPool Pool => _pool;

    /// <summary>Every task added so far, in order.</summary>
    public IReadOnlyList<BatchTask> Tasks
    {
        get
        {
            lock (_lock)
            {
                return _tasks.ToArray();
            }
        }
    }

    /// <summary>Runs <paramref name="method"/>(<paramref name="argument"/>) on a worker, after <paramref name="dependsOn"/> complete.</summary>
    /// <param name="method">A named static method (as for <see cref="DragonPool.SubmitAsync"/>).</param>
    /// <param name="argument">Its argument.</param>
    /// <param name="name">The task's name (default the method's).</param>
    /// <param name="dependsOn">Tasks that must complete first.</param>
    /// <exception cref="ArgumentException">A lambda or instance method, types that cannot travel, or a dependency of another batch.</exception>
    public BatchTask<TResult> Function<TArg, TResult>(Func<TArg, TResult> method, TArg argument, string? name = null, IEnumerable<BatchTask>? dependsOn = null) =>
        Function(method, () => argument, dependsOn ?? [], name);

    /// <summary>Runs <paramref name="method"/> on the result of <paramref name="input"/> once it completes.</summary>
    /// <inheritdoc cref="Function{TArg, TResult}(Func{TArg, TResult}, TArg, string?, IEnumerable{BatchTask}?)"/>
    public BatchTask<TResult> Function<TArg, TResult>(Func<TArg, TResult> method, BatchTask<TArg> input, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Function(method, input.GetResult, [input], name);
    }

    /// <summary>
    /// Runs <paramref name="method"/> on an argument built from other tasks' results: once every task in
    /// <paramref name="dependsOn"/> has completed, <paramref name="argument"/> runs here (it may read their
    /// <see cref="BatchTask{TResult}.GetResult"/>) and its value goes to a worker.
    /// </summary>
    /// <inheritdoc cref="Function{TArg, TResult}(Func{TArg, TResult}, TArg, string?, IEnumerable{BatchTask}?)"/>
    public BatchTask<TResult> Function<TArg, TResult>(Func<TArg, TResult> method, Func<TArg> argument, IEnumerable<BatchTask> dependsOn, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(argument);
        _pool.CheckMethod(method);
        return Add<TResult>(name ?? method.Method.Name, BatchTaskKind.Function, dependsOn, (task, token) => RunFunctionAsync(task, method, argument(), token));
    }

    /// <summary>Starts a process from <paramref name="template"/> after <paramref name="dependsOn"/> complete; it fails when the process exits non-zero.</summary>
    /// <param name="template">What to run. Standard output and error left to inherit go to the task's log files.</param>
    /// <param name="name">The task's name (default the program's file name).</param>
    /// <param name="dependsOn">Tasks that must complete first.</param>
    public BatchTask<BatchProcessResult> Process(ProcessTemplate template, string? name = null, IEnumerable<BatchTask>? dependsOn = null) =>
        Job(template, 1, Pmi.None, name, dependsOn);

    /// <summary>
    /// Starts <paramref name="ranks"/> processes from <paramref name="template"/> as one job (an MPI job with
    /// <paramref name="pmi"/>) after <paramref name="dependsOn"/> complete; it fails as the group does (the first
    /// failing rank, its node and reason). Each rank's output left to inherit goes to its own log files.
    /// </summary>
    /// <param name="template">What each rank runs. Standard output and error left to inherit go to the rank's log files.</param>
    /// <param name="ranks">How many processes.</param>
    /// <param name="pmi">How the ranks find each other (<see cref="Pmi.Simple"/> for MPICH-family programs).</param>
    /// <param name="name">The task's name (default the program's file name).</param>
    /// <param name="dependsOn">Tasks that must complete first.</param>
    public BatchTask<BatchProcessResult> Job(ProcessTemplate template, int ranks, Pmi pmi = Pmi.Simple, string? name = null, IEnumerable<BatchTask>? dependsOn = null)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentOutOfRangeException.ThrowIfLessThan(ranks, 1);
        return Add<BatchProcessResult>(name ?? System.IO.Path.GetFileName(template.Program), ranks == 1 && pmi == Pmi.None ? BatchTaskKind.Process : BatchTaskKind.Job, dependsOn ?? [], (task, token) => RunGroupAsync(task, template, ranks, pmi, token));
    }

    /// <summary>
    /// Waits until every task added before the call has finished (completed, failed or been cancelled); tasks added
    /// later are not waited for. Never throws for a task's failure. Not to be called from a task's argument builder,
    /// which runs before its own task has finished.
    /// </summary>
    public Task FenceAsync(CancellationToken cancellationToken = default) => FenceAsync(null, cancellationToken);

    /// <inheritdoc cref="FenceAsync(CancellationToken)"/>
    /// <exception cref="TimeoutException">Some task had not finished after <paramref name="timeout"/>.</exception>
    public async Task FenceAsync(TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        var all = Task.WhenAll(Tasks.Select(t => t.Completion)).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await all.WaitAsync(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            var open = Tasks.Where(t => !t.Completion.IsCompleted).ToArray();
            throw new TimeoutException($"{open.Length} task(s) of the batch had not finished after {timeout}: {string.Join(", ", open.Take(5).Select(t => t.Describe()))}");
        }
    }

    /// <summary>Blocking twin of <see cref="FenceAsync(TimeSpan?, CancellationToken)"/>.</summary>
    public void Fence(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        FenceAsync(timeout, cancellationToken).GetAwaiter().GetResult();

    private BatchTask<TResult> Add<TResult>(string name, BatchTaskKind kind, IEnumerable<BatchTask> dependsOn, Func<BatchTask<TResult>, CancellationToken, Task<TResult>> work)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var dependencies = dependsOn.ToArray();
        foreach (var dependency in dependencies)
        {
            if (dependency?.Batch != this)
            {
                throw new ArgumentException(dependency is null ? "a dependency is null" : $"{dependency.Describe()} belongs to another batch", nameof(dependsOn));
            }
        }

        BatchTask<TResult> task;
        lock (_lock)
        {
            // Under the lock that dispose takes: a task is either refused or in the list dispose cancels.
            ObjectDisposedException.ThrowIf(_disposed, this);
            task = new BatchTask<TResult>(this, _tasks.Count + 1, name, kind, dependencies, work);
            _tasks.Add(task);
        }

        task.Schedule();
        return task;
    }

    private async Task<TResult> RunFunctionAsync<TArg, TResult>(BatchTask<TResult> task, Func<TArg, TResult> method, TArg argument, CancellationToken cancellationToken)
    {
        // Set on the pool's result reader before the result completes the await, so read after it without a lock.
        string? stdout = null, stderr = null;
        try
        {
            return await _pool.SubmitCapturedAsync(
                method,
                argument,
                (worker, output, errors) =>
                {
                    task.Placement.Ran(worker.Puid, worker.NodeIndex, worker.Slot);
                    (stdout, stderr) = (output, errors);
                },
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Written here, not on the pool's result reader: a slow or failing file system holds up this task only.
            task.Placement.Logged(WriteLog(task, ".out", stdout), WriteLog(task, ".err", stderr));
        }
    }

    private async Task<BatchProcessResult> RunGroupAsync(BatchTask<BatchProcessResult> task, ProcessTemplate template, int ranks, Pmi pmi, CancellationToken cancellationToken)
    {
        // One job larger than the limit runs alone rather than never.
        var slots = Math.Min(ranks, _maxProcesses);
        await _slotGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var taken = 0;
        try
        {
            for (; taken < slots; taken++)
            {
                await _processSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            if (taken > 0)
            {
                _processSlots.Release(taken);
            }

            throw;
        }
        finally
        {
            _slotGate.Release();
        }

        try
        {
            return await RunGroupCoreAsync(task, template, ranks, pmi, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _processSlots.Release(slots);
        }
    }

    private async Task<BatchProcessResult> RunGroupCoreAsync(BatchTask<BatchProcessResult> task, ProcessTemplate template, int ranks, Pmi pmi, CancellationToken cancellationToken)
    {
        var group = new ProcessGroup(pmi: pmi);
        await using (group.ConfigureAwait(false))
        {
            var (stdout, stderr) = (new string?[ranks], new string?[ranks]);
            for (var rank = 0; rank < ranks; rank++)
            {
                var suffix = ranks == 1 ? string.Empty : $".rank{rank}";
                stdout[rank] = template.Stdout.Kind == StdioKind.Inherit ? LogPath(task, suffix + ".out") : null;
                stderr[rank] = template.Stderr.Kind == StdioKind.Inherit ? LogPath(task, suffix + ".err") : null;
                group.AddProcess(1, template with
                {
                    Stdout = stdout[rank] is { } o ? Stdio.File(o) : template.Stdout,
                    Stderr = stderr[rank] is { } e ? Stdio.File(e) : template.Stderr,
                });
                task.Placement.Logged(stdout[rank], stderr[rank]);
            }

            await group.StartAsync(cancellationToken).ConfigureAwait(false);
            var members = await group.GetProcessesAsync(CancellationToken.None).ConfigureAwait(false);
            foreach (var member in members)
            {
                task.Placement.Ran(member.Puid, member.Node.Index, null);
            }

            try
            {
                await group.JoinAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await group.StopAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
                throw;
            }

            return new BatchProcessResult(members.Select(m => m.Puid).ToArray(), members.Select(m => m.Node.Index).ToArray(), stdout, stderr);
        }
    }

    /// <summary>
    /// Writes a function task's captured output to its log; nothing (and null) when it printed nothing. A log that
    /// cannot be written is reported on stderr and left out of the manifest: the task's own outcome stands.
    /// </summary>
    private string? WriteLog(BatchTask task, string extension, string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var path = LogPath(task, extension);
        try
        {
            File.WriteAllText(path, text);
            return path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"dragon batch: the log of {task.Describe()} could not be written to {path}: {e.Message}");
            return null;
        }
    }

    /// <summary>The log file of a task: its id and its name made safe for a file name (and short enough for one).</summary>
    private string LogPath(BatchTask task, string suffix)
    {
        var name = UnsafeCharacters().Replace(task.Name, "_");
        return System.IO.Path.Combine(LogDirectory, $"{task.Id:D5}-{name[..Math.Min(name.Length, 100)]}{suffix}");
    }

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex UnsafeCharacters();

    /// <inheritdoc/>
    public override string ToString() => $"batch of {Tasks.Count} tasks on {_pool}";
}
