using System.Diagnostics.CodeAnalysis;
using Dragon.Pool;
using Dragon.Runtime;

namespace Dragon;

// Workers: placed by plan, started together as one process group, each watched through the runtime's exit
// notification (a join held open in the node service, never a poll). A worker that exits while the pool is in use is
// replaced in its slot, on its node if it can be, and the work messages it held are queued again.
public sealed partial class DragonPool
{
    private static readonly TimeSpan s_exitPatience = TimeSpan.FromSeconds(2);

    private readonly List<WorkerReplacement> _replacements = [];
    private readonly List<Task> _watchers = [];
    private readonly List<DragonQueue<ReadOnlyMemory<byte>>> _retiredQueues = [];
    private WorkerSlot[] _slots = [];
    private ProcessGroup? _group;
    private Task? _reader;
    private int _generation;

    /// <summary>Node (and CPUs) of each worker: the explicit list, workers per node, or a count round-robin over nodes.</summary>
    internal static (int Node, IReadOnlyList<int>? Cpus)[] PlanWorkers(DragonPoolOptions options, IReadOnlyList<Node> nodes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxRetries, nameof(options.MaxRetries));
        if (options.TaskTimeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), timeout, "TaskTimeout must be positive (null for none)");
        }

        if (options.Placement is { } placement)
        {
            if (placement.Count == 0)
            {
                throw new ArgumentException("Placement lists no worker; give at least one policy or leave it null", nameof(options));
            }

            return placement.Select((p, i) => (NodeOf(p, i, nodes), p.Cpus)).ToArray();
        }

        if (options.WorkersPerNode is { } perNode)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(perNode, 1, nameof(options.WorkersPerNode));
            return nodes.SelectMany(n => Enumerable.Repeat((n.Index, (IReadOnlyList<int>?)null), perNode)).ToArray();
        }

        var count = options.Workers ?? GrantedCpus(nodes);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1, nameof(options.Workers));
        return Enumerable.Range(0, count).Select(i => (nodes[i % nodes.Count].Index, (IReadOnlyList<int>?)null)).ToArray();
    }

    /// <summary>
    /// The CPUs the run was granted: each node reports what its service may use (its affinity mask and cgroup limit,
    /// never the machine's raw count), and nodes that share one machine (<c>--local-nodes</c>) share its CPUs.
    /// </summary>
    internal static int GrantedCpus(IReadOnlyList<Node> nodes) =>
        nodes.GroupBy(n => n.Id.Split('/')[0]).Sum(machine => machine.Max(n => n.Cpus));

    private static int NodeOf(Policy policy, int position, IReadOnlyList<Node> nodes)
    {
        if (policy.NodeIndex is { } index)
        {
            return index < nodes.Count
                ? index
                : throw new ArgumentException($"Placement[{position}] names node {index}, but the run has {nodes.Count} nodes", "options");
        }

        return policy.NodeName is { } name ? SystemInfo.NodeByName(name).Index : nodes[position % nodes.Count].Index;
    }

    private async Task StartWorkersAsync((int Node, IReadOnlyList<int>? Cpus)[] plan, CancellationToken cancellationToken)
    {
        var queues = new List<DragonQueue<ReadOnlyMemory<byte>>>();
        try
        {
            var group = _group = new ProcessGroup(ignoreErrorOnExit: true);
            for (var i = 0; i < plan.Length; i++)
            {
                queues.Add(NewTaskQueue(i, plan[i].Node));
                group.AddProcess(1, WorkerTemplate(queues[i], plan[i].Node, plan[i].Cpus));
            }

            await group.StartAsync(cancellationToken).ConfigureAwait(false);
            var processes = await group.GetProcessesAsync(cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                _slots = processes.Select((p, i) => new WorkerSlot(i, p.Node.Index, p, queues[i])).ToArray();
            }
        }
        catch
        {
            foreach (var queue in queues)
            {
                queue.Dispose();
            }

            throw;
        }

        _reader = Task.Factory.StartNew(ReadResults, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        lock (_lock)
        {
            foreach (var slot in _slots)
            {
                Activate(slot);
            }
        }
    }

    /// <summary>Starts a worker's sender and exit watch (under the lock).</summary>
    private void Activate(WorkerSlot slot)
    {
        slot.Sender = SendAsync(slot);
        _watchers.Add(WatchAsync(slot));
    }

    private DragonQueue<ReadOnlyMemory<byte>> NewTaskQueue(int slot, int node) =>
        new(maxSize: 4 * Window, name: $"{_results.Name[..^"-results".Length]}-w{slot}-{Interlocked.Increment(ref _generation)}", node: node);

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The worker entry is a method of this library, kept by the delegate that names it.")]
    private ProcessTemplate WorkerTemplate(DragonQueue<ReadOnlyMemory<byte>> tasks, int node, IReadOnlyList<int>? cpus)
    {
        var timeoutMs = _options.TaskTimeout is { } timeout ? (long)Math.Max(1, timeout.TotalMilliseconds) : 0L;
        return ProcessTemplate.FromMethod(PoolWorkerLoop.Run, tasks.Name, _results.Name, (long)RuntimeClient.Current.Puid, timeoutMs) with
        {
            Policy = new Policy { NodeIndex = node, Cpus = cpus },
            Env = _options.Env,
            Stdout = _options.Stdout,
            Stderr = _options.Stderr,
        };
    }

    /// <summary>Waits for the worker's exit notification; an exit while the pool is in use replaces it.</summary>
    private async Task WatchAsync(WorkerSlot slot)
    {
        string reason;
        DragonProcessStatus? status = null;
        try
        {
            await slot.Process.JoinAsync(CancellationToken.None).ConfigureAwait(false);
            status = await slot.Process.GetStatusAsync(CancellationToken.None).ConfigureAwait(false);
            reason = status.ExitReason ?? "exited";
        }
        catch (Exception e) when (e is DragonException or IOException or InvalidOperationException)
        {
            reason = $"lost from view: {e.Message}";
        }

        if (Volatile.Read(ref _disposed) == 0)
        {
            await ReplaceAsync(slot, reason, status).ConfigureAwait(false);
        }
    }

    private async Task ReplaceAsync(WorkerSlot lost, string reason, DragonProcessStatus? status)
    {
        Log.WorkerLost(DragonRuntime.RuntimeLogger, lost.Slot, lost.Process.Puid, lost.NodeIndex, reason);
        var failed = new List<Segment>();
        var retried = 0;
        await lost.Stopping.CancelAsync().ConfigureAwait(false);
        lock (_lock)
        {
            lost.Alive = false;
            foreach (var dispatch in _inflight.Values.Where(d => d.Worker == lost).ToArray())
            {
                _inflight.Remove(dispatch.Id);
                foreach (var segment in dispatch.Segments.Where(s => !s.Job.IsFinished))
                {
                    segment.Retries++;
                    if (segment.Retries > _options.MaxRetries)
                    {
                        failed.Add(segment);
                    }
                    else
                    {
                        _retries.Enqueue(segment);
                        _pendingTasks += segment.Count;
                        retried += segment.Count;
                    }
                }
            }

            _retiredQueues.Add(lost.Tasks);
        }

        foreach (var segment in failed)
        {
            var error = Failure(
                $"{segment.Job.Describe(segment.Start)} was lost with its worker, which {reason}; it was started {segment.Retries} times ({_options.MaxRetries} retries allowed)",
                lost,
                segment);
            error.Attempts = segment.Retries;
            error.Signal = status?.Signal;
            error.ExitCode = status?.Signal is null ? status?.ExitCode : null;
            segment.Job.Fail(segment.Start, error);
        }

        WorkerSlot? replacement = null;
        try
        {
            replacement = await StartReplacementAsync(lost).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DragonException or InvalidOperationException or ArgumentException)
        {
            Log.WorkerNotReplaced(DragonRuntime.RuntimeLogger, lost.Slot, e.Message);
        }

        var record = new WorkerReplacement(lost.Info, reason, replacement?.Info, retried, failed.Sum(s => s.Count));
        PoolMetrics.Add(PoolMetrics.Retried, retried);
        PoolMetrics.Add(PoolMetrics.Finished, record.TasksFailed, "given_up");
        PoolMetrics.Add(PoolMetrics.WorkersReplaced, replacement is null ? 0 : 1);
        lock (_lock)
        {
            _replacements.Add(record);
            if (replacement is not null)
            {
                _slots[lost.Slot] = replacement;
                Activate(replacement);
            }
        }

        if (replacement is null)
        {
            FailAllIfNoWorker(reason);
        }

        WorkerReplaced?.Invoke(this, record);
        Pump();
    }

    /// <summary>A new worker in the lost one's slot: on its node, else on the others in turn (its node may be lost).</summary>
    private async Task<WorkerSlot> StartReplacementAsync(WorkerSlot lost)
    {
        var nodes = SystemInfo.Nodes;
        Exception? last = null;
        for (var k = 0; k < nodes.Count; k++)
        {
            var node = (lost.NodeIndex + k) % nodes.Count;
            var queue = NewTaskQueue(lost.Slot, node);
            try
            {
                var process = await DragonProcess.StartAsync(WorkerTemplate(queue, node, null)).ConfigureAwait(false);
                if (Volatile.Read(ref _disposed) != 0)
                {
                    await process.KillAsync().ConfigureAwait(false);
                    queue.Dispose();
                    throw new ObjectDisposedException(nameof(DragonPool));
                }

                return new WorkerSlot(lost.Slot, node, process, queue);
            }
            catch (Exception e) when (e is DragonException)
            {
                queue.Dispose();
                last = e;
            }
        }

        throw last ?? new InvalidOperationException("the run has no node");
    }

    /// <summary>With no live worker and none that could start, nothing queued would ever run: fail it, with the reason.</summary>
    private void FailAllIfNoWorker(string reason)
    {
        List<Segment> stranded;
        lock (_lock)
        {
            if (_slots.Any(s => s.Alive))
            {
                return;
            }

            stranded = [.. _retries, .. _pending];
            _retries.Clear();
            _pending.Clear();
            _pendingTasks = 0;
        }

        foreach (var segment in stranded)
        {
            segment.Job.Fail(segment.Start, new TaskFailedException($"{segment.Job.Describe(segment.Start)} cannot run: every worker of the pool is gone and none could be started (last: {reason})"));
        }
    }
}
