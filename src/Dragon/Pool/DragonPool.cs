using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using Dragon.Pool;

namespace Dragon;

/// <summary>
/// Warm worker processes (this same program, JIT or Native AOT, started like C# method targets) that run many small
/// tasks each: submit a static method with an argument and get a <see cref="Task{TResult}"/>, or map it over inputs.
/// Tasks travel in chunks through the runtime's queues (shared memory on a node, pipelined puts across nodes). A worker
/// that dies is replaced and its tasks retried. <c>await using</c> it: disposing stops the workers and removes
/// everything the pool made.
/// </summary>
public sealed partial class DragonPool : IAsyncDisposable, IDisposable
{
    /// <summary>
    /// The meter pools record on in the owning process (tasks submitted, finished by outcome, retried; workers replaced;
    /// task latency): export it like any other, e.g. OpenTelemetry's <c>AddMeter(DragonPool.MeterName)</c>.
    /// </summary>
    public const string MeterName = PoolMetrics.MeterName;

    private readonly ConcurrentDictionary<MethodInfo, TaskMethod> _methods = new();
    private readonly DragonPoolOptions _options;
    private int _nextMethodId;
    private int _disposed;

    private DragonPool(DragonPoolOptions options, DragonQueue<ReadOnlyMemory<byte>> results)
    {
        _options = options;
        _results = results;
    }

    /// <summary>Starts a pool's workers and returns once they are started (they warm up while the first tasks queue).</summary>
    /// <exception cref="ArgumentException">Bad options (a count below one, negative retries, a node that does not exist).</exception>
    /// <exception cref="ProcessStartException">A worker could not start; none is left running.</exception>
    public static DragonPool Start(DragonPoolOptions? options = null) => StartAsync(options).GetAwaiter().GetResult();

    /// <inheritdoc cref="Start"/>
    public static async Task<DragonPool> StartAsync(DragonPoolOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new DragonPoolOptions();
        var plan = PlanWorkers(options, SystemInfo.Nodes);
        var pool = new DragonPool(options, new DragonQueue<ReadOnlyMemory<byte>>(maxSize: 1024, name: NewName() + "-results"));
        try
        {
            await pool.StartWorkersAsync(plan, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await pool.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return pool;
    }

    /// <summary>How many workers the pool keeps.</summary>
    public int WorkerCount => _slots.Length;

    /// <summary>The current workers (a replacement appears in the slot of the worker it replaced).</summary>
    public IReadOnlyList<PoolWorkerInfo> Workers
    {
        get
        {
            lock (_lock)
            {
                return _slots.Select(s => s.Info).ToArray();
            }
        }
    }

    /// <summary>Every worker that died and what replaced it, oldest first.</summary>
    public IReadOnlyList<WorkerReplacement> Replacements
    {
        get
        {
            lock (_lock)
            {
                return _replacements.ToArray();
            }
        }
    }

    /// <summary>Raised (on a thread-pool thread) when a worker died and was replaced, or could not be.</summary>
    public event EventHandler<WorkerReplacement>? WorkerReplaced;

    /// <summary>Runs <paramref name="method"/>(<paramref name="argument"/>) on a worker.</summary>
    /// <returns>The method's result; a <see cref="TaskFailedException"/> when it threw, timed out or its workers kept dying.</returns>
    /// <exception cref="ArgumentException">A lambda, an instance method, or types that cannot travel between processes.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public Task<TResult> SubmitAsync<TArg, TResult>(Func<TArg, TResult> method, TArg argument, CancellationToken cancellationToken = default)
    {
        var taskMethod = MethodFor(method);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TResult>(cancellationToken);
        }

        var job = new SubmitJob<TArg, TResult>(taskMethod, argument);
        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.UnsafeRegister(static (j, token) => ((SubmitJob<TArg, TResult>)j!).Cancel(token), job);
            job.Task.ContinueWith(static (_, r) => ((CancellationTokenRegistration)r!).Dispose(), registration, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        Enqueue(new Segment(job, 0, 1));
        return job.Task;
    }

    /// <summary>
    /// A submit whose worker captures the task's console output (a batch's function tasks): <paramref name="ran"/> gets
    /// the worker and what the task printed before the returned task completes.
    /// </summary>
    internal Task<TResult> SubmitCapturedAsync<TArg, TResult>(Func<TArg, TResult> method, TArg argument, Action<PoolWorkerInfo, string?, string?> ran, CancellationToken cancellationToken)
    {
        var taskMethod = MethodFor(method);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TResult>(cancellationToken);
        }

        var job = new CapturedSubmitJob<TArg, TResult>(taskMethod, argument, ran);
        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.UnsafeRegister(static (j, token) => ((CapturedSubmitJob<TArg, TResult>)j!).Cancel(token), job);
            job.Task.ContinueWith(static (_, r) => ((CancellationTokenRegistration)r!).Dispose(), registration, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        Enqueue(new Segment(job, 0, 1));
        return job.Task;
    }

    /// <summary>
    /// Runs <paramref name="method"/> on every input and returns the results in input order. Inputs go to workers in
    /// chunks of <paramref name="chunkSize"/> (default, as Python's <c>Pool.map</c>: inputs / (workers x 4), rounded
    /// up). The first task that fails fails the map; cancelling stops sending chunks at once (chunks a worker already
    /// holds run to their end, their results dropped).
    /// </summary>
    /// <exception cref="ArgumentException">A lambda, an instance method, types that cannot travel, or a chunk size below one.</exception>
    public Task<TResult[]> MapAsync<TArg, TResult>(Func<TArg, TResult> method, IEnumerable<TArg> inputs, int? chunkSize = null, CancellationToken cancellationToken = default)
    {
        var (taskMethod, items) = PrepareMap(method, inputs, chunkSize);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TResult[]>(cancellationToken);
        }

        var job = new OrderedMapJob<TArg, TResult>(taskMethod, items);
        if (items.Length == 0)
        {
            job.CompleteEmpty();
            return job.Task;
        }

        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.UnsafeRegister(static (j, token) => ((OrderedMapJob<TArg, TResult>)j!).Cancel(token), job);
            job.Task.ContinueWith(static (_, r) => ((CancellationTokenRegistration)r!).Dispose(), registration, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        Enqueue(Chunks(job, chunkSize));
        return job.Task;
    }

    /// <summary>
    /// Runs <paramref name="method"/> on every input and yields the results as they arrive, in no particular order.
    /// The work starts when enumeration starts; leaving the loop early or cancelling stops sending chunks.
    /// </summary>
    /// <inheritdoc cref="MapAsync"/>
    public IAsyncEnumerable<TResult> MapUnorderedAsync<TArg, TResult>(Func<TArg, TResult> method, IEnumerable<TArg> inputs, int? chunkSize = null, CancellationToken cancellationToken = default)
    {
        var (taskMethod, items) = PrepareMap(method, inputs, chunkSize);
        return StreamAsync(new UnorderedMapJob<TArg, TResult>(taskMethod, items), chunkSize, cancellationToken);
    }

    private async IAsyncEnumerable<TResult> StreamAsync<TArg, TResult>(UnorderedMapJob<TArg, TResult> job, int? chunkSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (job.Count > 0)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            Enqueue(Chunks(job, chunkSize));
        }

        try
        {
            await foreach (var result in job.Results.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return result;
            }
        }
        finally
        {
            // Left early, cancelled or failed: what is still queued is dropped.
            job.Finish(null);
        }
    }

    private (TaskMethod Method, TArg[] Items) PrepareMap<TArg, TResult>(Func<TArg, TResult> method, IEnumerable<TArg> inputs, int? chunkSize)
    {
        var taskMethod = MethodFor(method);
        ArgumentNullException.ThrowIfNull(inputs);
        if (chunkSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, "a chunk holds at least one task");
        }

        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return (taskMethod, inputs.ToArray());
    }

    /// <summary>The job cut in chunks: the given size, or Python's default of inputs / (workers x 4) rounded up.</summary>
    private IEnumerable<Segment> Chunks(PoolJob job, int? chunkSize)
    {
        var size = chunkSize ?? Math.Max(1, (int)Math.Ceiling(job.Count / (4.0 * Math.Max(1, _slots.Length))));
        for (var start = 0; start < job.Count; start += size)
        {
            yield return new Segment(job, start, Math.Min(size, job.Count - start));
        }
    }

    /// <summary>Checks now that <paramref name="method"/> can run as a task (a batch's function, run later).</summary>
    internal void CheckMethod(Delegate method) => MethodFor(method);

    private TaskMethod MethodFor(Delegate method)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (method.Target is not null)
        {
            return TaskMethod.Create(0, method); // throws, naming the method
        }

        return _methods.TryGetValue(method.Method, out var known)
            ? known
            : _methods.GetOrAdd(method.Method, static (_, state) => TaskMethod.Create(Interlocked.Increment(ref state.Pool._nextMethodId), state.Method), (Pool: this, Method: method));
    }

    private static string NewName() => "dragon-pool-" + Guid.NewGuid().ToString("N")[..12];

    /// <inheritdoc/>
    public override string ToString() => $"pool of {_slots.Length} workers";
}
