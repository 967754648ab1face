using System.Collections.Concurrent;
using Dragon.Runtime.Protocol;
using Dragon.Services.Diagnostics;
using Dragon.Services.Pmi;
using Dragon.Services.Runtime;
using Dragon.Services.Spawning;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Global;

/// <summary>
/// The run's namespace: processes and groups by id, placement, join bookkeeping, object names, and the loss of
/// nodes. One per run, in the launcher. Node services report exits here; joins complete from here.
/// </summary>
internal sealed partial class GlobalServices : IDisposable
{
    /// <summary>Puids start above 2^32, as in Dragon, so they never look like pids.</summary>
    private const ulong FirstPuid = 1UL << 32;

    private readonly ConcurrentDictionary<ulong, ProcessRecord> _processes = new();
    private readonly ConcurrentDictionary<ulong, GroupRecord> _groups = new();
    private readonly ConcurrentDictionary<string, ObjectDescriptor> _objectNames = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, string> _lostNodes = new();
    private readonly ILogger _logger;
    private IReadOnlyList<INodeControl> _nodes = [];

    // Processes started and not yet exited, per node: where a spread of new work should begin.
    private int[] _live = [];
    private long _nextPuid = (long)FirstPuid;
    private long _nextGroup;
    private int _nextNode;

    public GlobalServices(RunContext run)
    {
        Run = run;
        _logger = run.Loggers.CreateLogger("global");
        Metrics = new RunMetrics(this);
    }

    public RunContext Run { get; }

    /// <summary>The run's metrics (meter "Dragon"); disposed with these services.</summary>
    public RunMetrics Metrics { get; }

    /// <summary>Every process, group and metric sample of the run, for its report.</summary>
    public RunHistory History { get; } = new(FirstPuid);

    /// <summary>Processes started on <paramref name="node"/> and not yet exited.</summary>
    public int LiveOn(int node) => node < _live.Length ? Volatile.Read(ref _live[node]) : 0;

    /// <summary>Every record, for <c>dragon ps</c>: processes in start order.</summary>
    internal IEnumerable<ProcessRecord> Processes => _processes.Values.OrderBy(r => r.Puid);

    /// <summary>Every group not yet closed, for <c>dragon ps</c>.</summary>
    internal IEnumerable<GroupRecord> Groups => _groups.Values.OrderBy(g => g.Id);

    public void Dispose()
    {
        History.Dispose();
        Metrics.Dispose();
    }

    /// <summary>A node on another host sent its figures (channel traffic, CPU and memory) for metrics.</summary>
    public void OnNodeFigures(NodeMetricsNotice figures)
    {
        if ((uint)figures.NodeIndex < (uint)_nodes.Count && _nodes[figures.NodeIndex] is RemoteNode remote)
        {
            remote.ReportedFigures = figures;
        }
    }

    public IReadOnlyList<INodeControl> Nodes => _nodes;

    public NodeDescriptor[] NodeDescriptors { get; private set; } = [];

    /// <summary>Raised when a node is lost (its service died or its host's network went away).</summary>
    public event Action<int, string>? NodeLost;

    public void AttachNodes(IReadOnlyList<INodeControl> nodes)
    {
        _nodes = nodes;
        _live = new int[nodes.Count];
        NodeDescriptors = nodes.Select(n => n.Descriptor).ToArray();
    }

    /// <summary>
    /// A puid for a process the runtime did not start: a program that hosts the runtime itself. It identifies the
    /// program's requests (object references, lock ownership); the runtime neither watches nor stops it.
    /// </summary>
    public ulong AllocatePuid() => (ulong)Interlocked.Increment(ref _nextPuid) - 1;

    /// <summary>Most threads that spawn one node's batch at once.</summary>
    private const int MaxSpawnLanes = 4;

    /// <summary>A batch smaller than this many members per lane is not worth another thread.</summary>
    private const int MinMembersPerLane = 4;

    /// <summary>Most processes in one spawn request to a node.</summary>
    private const int SpawnBatch = 64;

    /// <summary>Starts processes, placed and batched per node; all or none: on a failure the ones started are killed.</summary>
    public Task<ProcessDescriptor[]> StartAsync(IReadOnlyList<ProcessSpec> specs, ulong groupId = 0)
    {
        var placed = new int[specs.Count];
        var spread = SpreadOrder();
        for (var i = 0; i < specs.Count; i++)
        {
            placed[i] = Placement.Choose(specs[i].Placement, i, specs.Count, NodeDescriptors, spread, NextDefaultNode, IsLost);
        }

        return StartPlacedAsync(specs, placed, groupId);
    }

    /// <summary>Starts processes on nodes already chosen, the nodes in parallel, each node's batch in order.</summary>
    public async Task<ProcessDescriptor[]> StartPlacedAsync(
        IReadOnlyList<ProcessSpec> specs, IReadOnlyList<int> nodeIndexes, ulong groupId, Func<int, IReadOnlyDictionary<string, string>?>? extraEnv = null,
        System.Diagnostics.Activity? groupActivity = null)
    {
        foreach (var node in nodeIndexes.Distinct())
        {
            if (_lostNodes.TryGetValue(node, out var why))
            {
                throw new ServiceException(ErrorKind.StartFailed, $"node {NodeDescriptors[node].Name} is lost ({why}); nothing can start there", new ErrorContext(NodeIndex: node));
            }
        }

        var started = new ProcessDescriptor?[specs.Count];
        var records = new ProcessRecord[specs.Count];
        for (var i = 0; i < specs.Count; i++)
        {
            var puid = (ulong)Interlocked.Increment(ref _nextPuid) - 1;
            records[i] = new ProcessRecord(new ProcessDescriptor(puid, nodeIndexes[i], 0, false, false, false, groupId, specs[i].DisplayName), i);
            _processes[puid] = records[i];
            Interlocked.Increment(ref _live[nodeIndexes[i]]);
        }

        // Each node's share is split into lanes that spawn side by side, one per CPU of the node (at most
        // MaxSpawnLanes): a child's exec and loader cost CPU in the kernel while its parent waits in vfork, so one
        // lane leaves the other CPUs idle. Lane k takes members k, k + lanes, ... so members start roughly in order,
        // and sends them SpawnBatch at a time: one request and one reply per batch, not per process.
        // A failed start stops every lane: the request fails as a whole, so starting more would be wasted.
        var failed = 0;
        var batches = Enumerable.Range(0, specs.Count).GroupBy(i => nodeIndexes[i]).SelectMany(share =>
        {
            var members = share.ToArray();
            var lanes = Math.Clamp(Math.Min(members.Length / MinMembersPerLane, NodeDescriptors[share.Key].Cpus), 1, MaxSpawnLanes);
            return Enumerable.Range(0, lanes).Select(lane => Task.Run(async () =>
            {
                var mine = members.Where((_, m) => m % lanes == lane).ToArray();
                try
                {
                    for (var first = 0; first < mine.Length && Volatile.Read(ref failed) == 0; first += SpawnBatch)
                    {
                        var batch = mine.AsSpan(first, Math.Min(SpawnBatch, mine.Length - first)).ToArray();
                        await SpawnBatchAsync(share.Key, batch, specs, records, started, groupId, extraEnv, groupActivity).ConfigureAwait(false);
                    }
                }
                catch (Exception)
                {
                    Volatile.Write(ref failed, 1);
                    throw;
                }
            }));
        }).ToArray();
        try
        {
            await Task.WhenAll(batches).ConfigureAwait(false);
            return started.Select(d => d!).ToArray();
        }
        catch (Exception)
        {
            // Whatever ended a lane (a node's refusal, a lost link, a bug), the processes the others started must not
            // outlive the failed request: wait for every lane, then kill what started and forget what did not.
            try
            {
                await Task.WhenAll(batches).ConfigureAwait(false);
            }
            catch (Exception)
            {
            }

            for (var i = 0; i < specs.Count; i++)
            {
                if (started[i] is { } d)
                {
                    records[i].StopReason = "start of its batch failed";
                    _nodes[d.NodeIndex].Signal(d.Puid, Signals.SIGKILL);
                }
                else if (_processes.TryRemove(records[i].Puid, out _))
                {
                    Interlocked.Decrement(ref _live[records[i].NodeIndex]);
                }
            }

            var reasons = batches.Select(b => b.Exception?.InnerException).OfType<Exception>().ToArray();
            throw reasons.OfType<ServiceException>().FirstOrDefault() ?? new ServiceException(ErrorKind.Internal, $"starting the processes failed: {reasons.FirstOrDefault()?.Message}");
        }
    }

    /// <summary>
    /// Starts <paramref name="batch"/> (indexes into <paramref name="specs"/>) on one node with one request, and records
    /// each member the node started; throws the node's reason for the first that did not start.
    /// </summary>
    private async Task SpawnBatchAsync(
        int node, int[] batch, IReadOnlyList<ProcessSpec> specs, ProcessRecord[] records, ProcessDescriptor?[] started, ulong groupId,
        Func<int, IReadOnlyDictionary<string, string>?>? extraEnv, System.Diagnostics.Activity? groupActivity)
    {
        var clock = Metrics.StartClock();
        var activities = batch.Select(i => DragonActivities.StartProcess(records[i].Puid, node, specs[i].DisplayName, groupId, groupActivity)).ToArray();

        // Into the run's history before the request goes: a member that exits at once can be reported before the
        // reply that lists it, and its exit must find its entry.
        foreach (var i in batch)
        {
            History.OnStarted(records[i].Puid, node, specs[i].DisplayName, groupId, i);
        }

        var recorded = 0;
        try
        {
            // Members usually share one spec: each distinct spec travels once.
            var specIndex = new Dictionary<ProcessSpec, int>(ReferenceEqualityComparer.Instance);
            var distinct = new List<ProcessSpec>();
            var entries = new SpawnEntry[batch.Length];
            for (var k = 0; k < batch.Length; k++)
            {
                var i = batch[k];
                if (!specIndex.TryGetValue(specs[i], out var index))
                {
                    index = specIndex[specs[i]] = distinct.Count;
                    distinct.Add(specs[i]);
                }

                entries[k] = new SpawnEntry(records[i].Puid, index, groupId, extraEnv?.Invoke(i) is { } env ? [.. env] : []);
            }

            SpawnReply reply;
            try
            {
                reply = await _nodes[node].SpawnAsync(new SpawnRequest([.. distinct], entries)).ConfigureAwait(false);
            }
            catch (ServiceException e)
            {
                foreach (var activity in activities)
                {
                    activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, e.Message);
                }

                throw;
            }

            for (var k = 0; k < reply.Started.Length && k < batch.Length; k++)
            {
                var i = batch[k];
                var descriptor = reply.Started[k];
                activities[k]?.SetTag("process.pid", descriptor.Pid);
                if (!ReferenceEquals(descriptor.DisplayName, specs[i].DisplayName) && descriptor.DisplayName == specs[i].DisplayName)
                {
                    // A remote node's reply brings its own copy of the name: keep the spec's, which a group's
                    // members share, since the record stays for the whole run.
                    descriptor = descriptor with { DisplayName = specs[i].DisplayName };
                }

                records[i].Descriptor = descriptor;
                started[i] = descriptor;
                recorded = k + 1;
                Metrics.OnStarted(node, clock);
                LogStarted(descriptor.Puid, specs[i].DisplayName, node, descriptor.Pid);
            }

            if (reply.Failure is { } failure)
            {
                activities[Math.Min(reply.Started.Length, batch.Length - 1)]?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, failure.Message);
                throw new ServiceException(failure.Kind, failure.Message, failure.Context);
            }

            if (reply.Started.Length != batch.Length)
            {
                throw new ServiceException(ErrorKind.Internal, $"node {NodeDescriptors[node].Name} answered a request to start {batch.Length} processes with {reply.Started.Length} and no reason", new ErrorContext(NodeIndex: node));
            }
        }
        catch (Exception e)
        {
            // The members that did not start end in the history as failed, with the reason.
            foreach (var i in batch.Skip(recorded))
            {
                History.OnExited(records[i].Puid, 0, 0, $"not started: {e.Message}", ExitKind.Failed);
            }

            throw;
        }
        finally
        {
            foreach (var activity in activities)
            {
                activity?.Dispose();
            }
        }
    }

    /// <summary>
    /// The nodes still alive, least busy first (fewest live processes; ties by index): a group spread over the nodes
    /// starts where there is room, so two concurrent two-rank jobs on four nodes use all four. One sort per start,
    /// over the nodes, never over the processes.
    /// </summary>
    public int[] SpreadOrder()
    {
        var live = Enumerable.Range(0, _nodes.Count).Where(n => !IsLost(n)).ToArray();
        var load = live.Select(n => Volatile.Read(ref _live[n])).ToArray();
        Array.Sort(load, live);
        return live;
    }

    /// <summary>Whether a node was lost (its service died or its host went silent).</summary>
    public bool IsLost(int node) => _lostNodes.ContainsKey(node);

    private int NextDefaultNode()
    {
        for (var attempt = 0; attempt < _nodes.Count; attempt++)
        {
            var node = (int)((uint)Interlocked.Increment(ref _nextNode) % (uint)Math.Max(_nodes.Count, 1));
            if (!_lostNodes.ContainsKey(node))
            {
                return node;
            }
        }

        return 0;
    }

    public ProcessRecord Find(ulong puid) =>
        _processes.TryGetValue(puid, out var record)
            ? record
            : throw new ServiceException(ErrorKind.NotFound, $"no process with puid {puid} in this run", new ErrorContext(Puid: puid));

    /// <summary>Waits for any or all of the processes, up to a timeout; returns the status of each.</summary>
    public async Task<ProcessStatus[]> JoinAsync(ulong[] puids, bool all, long timeoutMs, CancellationToken cancellationToken)
    {
        var records = puids.Select(Find).ToArray();
        var exits = records.Select(r => (Task)r.Exit).ToArray();
        var done = all ? Task.WhenAll(exits) : Task.WhenAny(exits);
        if (!done.IsCompleted && timeoutMs != 0)
        {
            var delay = Task.Delay(timeoutMs < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(timeoutMs), cancellationToken);
            await Task.WhenAny(done, delay).ConfigureAwait(false);
            if (!done.IsCompleted)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        return records.Select(r => r.Status).ToArray();
    }

    public void Signal(ulong puid, int signal)
    {
        Signals.ThrowIfInvalid(signal);
        var record = Find(puid);
        if (!record.HasExited)
        {
            _nodes[record.NodeIndex].Signal(puid, signal);
        }
    }

    /// <summary>Called when a node service reaped one of its children.</summary>
    public void OnExited(ulong puid, int code, int signal)
    {
        if (!_processes.TryGetValue(puid, out var record) || record.HasExited)
        {
            return;
        }

        var reason = ExitReason(code, signal);
        var stoppedByUs = record.StopReason is not null && (signal != 0 || code != 0);
        if (stoppedByUs)
        {
            reason = $"{record.StopReason} ({reason})";
        }

        Complete(record, new ProcessStatus(puid, ProcessState.Exited, code, signal, reason, record.NodeIndex, (code != 0 || signal != 0) && !stoppedByUs), stoppedByUs);
    }

    private void Complete(ProcessRecord record, ProcessStatus status, bool stoppedByUs = false, bool nodeLost = false) =>
        _ = CompleteAsync(record, status, stoppedByUs, nodeLost);

    /// <summary>
    /// Every node first lets go of the process (its pending gets and acquires withdrawn, its locks handed on), and only
    /// then does anyone waiting on the exit hear of it: a joiner that puts a message right after the join returns can
    /// never have it taken by a wait of the dead process. A node that does not answer in time is being lost.
    /// </summary>
    private async Task CompleteAsync(ProcessRecord record, ProcessStatus status, bool stoppedByUs, bool nodeLost)
    {
        // The process's own node passes the notice on to the nodes the process used (it saw every request go). If
        // that node is lost, nobody knows which those were: every live node hears of it.
        var notices = !_lostNodes.ContainsKey(record.NodeIndex)
            ? [NoticeAsync(_nodes[record.NodeIndex], record.Puid)]
            : _nodes.Index().Where(n => !_lostNodes.ContainsKey(n.Index)).Select(n => NoticeAsync(n.Item, record.Puid)).ToArray();
        try
        {
            await Task.WhenAll(notices).WaitAsync(s_exitNoticePatience).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Go on: a node that cannot answer within seconds is about to be reported lost.
        }

        if (!record.Complete(status))
        {
            return;
        }

        Interlocked.Decrement(ref _live[record.NodeIndex]);
        Metrics.OnExited(status, stoppedByUs, nodeLost);
        History.OnExited(record.Puid, status.ExitCode, status.Signal, status.Reason, RunHistory.KindOf(status, stoppedByUs, nodeLost));
        LogExited(record.Puid, status.Reason);
        if (record.Descriptor.GroupId != 0 && _groups.TryGetValue(record.Descriptor.GroupId, out var group))
        {
            group.OnMemberExited(record);
        }
    }

    private static readonly TimeSpan s_exitNoticePatience = TimeSpan.FromSeconds(5);

    /// <summary>One node's notice; whatever it throws is logged, never allowed to keep the exit from completing.</summary>
    private async Task NoticeAsync(INodeControl node, ulong puid)
    {
        try
        {
            await node.OnProcessExitedAsync(puid).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogExitNoticeFailed(puid, node.Descriptor.Name, e.Message);
        }
    }

    /// <summary>The usual reasons, made once: every exited process keeps its status for the rest of the run.</summary>
    private static readonly string?[] s_exitReasons = new string?[256 + 65];

    private static string ExitReason(int code, int signal)
    {
        var slot = signal is > 0 and <= 64 ? 256 + signal : signal == 0 && code is >= 0 and < 256 ? code : -1;
        if (slot < 0)
        {
            return signal != 0 ? $"killed by signal {signal} ({Signals.Name(signal)})" : $"exited with code {code}";
        }

        return s_exitReasons[slot] ??= signal != 0 ? $"killed by signal {signal} ({Signals.Name(signal)})" : $"exited with code {code}";
    }

    /// <summary>A node is gone: every process there is reported dead with reason "node lost"; its groups fail.</summary>
    public void OnNodeLost(int node, string why)
    {
        if (!_lostNodes.TryAdd(node, why))
        {
            return;
        }

        LogNodeLost(NodeDescriptors[node].Name, why);
        foreach (var record in _processes.Values.Where(r => r.NodeIndex == node && !r.HasExited).ToArray())
        {
            Complete(record, new ProcessStatus(record.Puid, ProcessState.Exited, -1, 0, $"node lost: {NodeDescriptors[node].Name} ({why})", node, Failed: true), nodeLost: true);
        }

        NodeLost?.Invoke(node, why);
    }

    /// <summary>Stops every process still running: SIGINT, SIGTERM, SIGKILL, <paramref name="patience"/> apart.</summary>
    public Task StopAllAsync(TimeSpan patience, string reason) =>
        Escalation.StopAsync(_processes.Values.Where(r => !r.HasExited).ToArray(), this, patience, reason);

    public ulong[] RunningPuids() => _processes.Values.Where(r => !r.HasExited).Select(r => r.Puid).ToArray();

    public GroupRecord CreateGroup(GroupSpec spec)
    {
        if (spec.Members.Length == 0 || spec.Members.Any(m => m.Count < 1))
        {
            throw new ServiceException(ErrorKind.InvalidArgument, "a process group needs at least one member");
        }

        var id = (ulong)Interlocked.Increment(ref _nextGroup);
        var group = new GroupRecord(id, spec, this);
        if (spec.Pmi == PmiMode.Auto)
        {
            throw new ServiceException(ErrorKind.InvalidArgument, "PMI mode Auto must be resolved to Simple or Pmix from the executables before the group is created");
        }

        if (spec.Pmi != PmiMode.None)
        {
            group.LaunchHook = new PmiGroupLaunch(this, spec.Pmi);
        }

        _groups[id] = group;
        History.OnGroupCreated(id, spec.Pmi != PmiMode.None, spec.Members.Sum(m => m.Count));
        return group;
    }

    public GroupRecord FindGroup(ulong id) =>
        _groups.TryGetValue(id, out var group)
            ? group
            : throw new ServiceException(ErrorKind.NotFound, $"no process group {id} in this run");

    public void RemoveGroup(ulong id)
    {
        if (_groups.TryRemove(id, out var group))
        {
            var last = group.Status(timedOut: false);
            History.OnGroupState(id, last.State.ToString().ToLowerInvariant(), last.Failure);
        }
    }

    public void OnPmiEvent(PmiEventNotice notice)
    {
        if (_groups.TryGetValue(notice.GroupId, out var group) && group.LaunchHook is PmiGroupLaunch launch)
        {
            launch.OnRankEvent(notice.Rank, (PmiRankEventKind)notice.Kind, notice.ExitCode, notice.Message);
        }
    }

    public Task<IReadOnlyDictionary<string, string>> PmiExchangeAsync(ulong groupId, KeyValuePair<string, string>[] puts, CancellationToken cancellationToken) =>
        FindGroup(groupId).LaunchHook is PmiGroupLaunch launch
            ? launch.ExchangeAsync(puts, cancellationToken)
            : throw new ServiceException(ErrorKind.InvalidArgument, $"process group {groupId} is not an MPI job");

    /// <summary>Records a named object's name run-wide; a taken name is refused.</summary>
    public void RegisterObjectName(ObjectDescriptor descriptor)
    {
        if (!_objectNames.TryAdd(descriptor.Name, descriptor))
        {
            throw new ServiceException(ErrorKind.InvalidArgument, $"an object named '{descriptor.Name}' already exists in this run; attach to it instead");
        }
    }

    public ObjectDescriptor LookupObject(string name) =>
        _objectNames.TryGetValue(name, out var descriptor)
            ? descriptor
            : throw new ServiceException(ErrorKind.ObjectNotFound, $"no object named '{name}' in this run (it was destroyed, or never created)", new ErrorContext(ObjectName: name));

    public void OnObjectDestroyed(ObjectDescriptor descriptor) => _objectNames.TryRemove(new KeyValuePair<string, ObjectDescriptor>(descriptor.Name, descriptor));

    internal string Describe(ProcessRecord record) =>
        $"puid {record.Puid} on node {NodeDescriptors[record.NodeIndex].Name}, {record.Descriptor.DisplayName}";

    [LoggerMessage(Level = LogLevel.Information, Message = "started puid {Puid} ({Name}) on node {Node} as pid {Pid}")]
    private partial void LogStarted(ulong puid, string name, int node, int pid);

    [LoggerMessage(Level = LogLevel.Information, Message = "puid {Puid} {Reason}")]
    private partial void LogExited(ulong puid, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "telling node {Node} that process {Puid} exited failed: {Reason}")]
    private partial void LogExitNoticeFailed(ulong puid, string node, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "node {Node} lost: {Why}")]
    private partial void LogNodeLost(string node, string why);
}
