using System.Collections.Concurrent;
using Dragon.Runtime.Protocol;
using Dragon.Services.Runtime;
using Dragon.Services.Spawning;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Global;

/// <summary>
/// The run's namespace: processes and groups by id, placement, and join bookkeeping. One per run, beside the
/// primary node's service. Node services report exits here; joins complete from here.
/// </summary>
internal sealed partial class GlobalServices
{
    /// <summary>Puids start above 2^32, as in Dragon, so they never look like pids.</summary>
    private const ulong FirstPuid = 1UL << 32;

    private readonly ConcurrentDictionary<ulong, ProcessRecord> _processes = new();
    private readonly ConcurrentDictionary<ulong, GroupRecord> _groups = new();
    private readonly ConcurrentDictionary<string, ObjectDescriptor> _objectNames = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private IReadOnlyList<INodeControl> _nodes = [];
    private long _nextPuid = (long)FirstPuid;
    private long _nextGroup;
    private int _nextNode;

    public GlobalServices(RunContext run)
    {
        Run = run;
        _logger = run.Loggers.CreateLogger("global");
    }

    public RunContext Run { get; }

    public IReadOnlyList<INodeControl> Nodes => _nodes;

    public NodeDescriptor[] NodeDescriptors { get; private set; } = [];

    public void AttachNodes(IReadOnlyList<INodeControl> nodes)
    {
        _nodes = nodes;
        NodeDescriptors = nodes.Select(n => n.Descriptor).ToArray();
    }

    /// <summary>Starts processes, placed and batched per node; all or none: on a failure the ones started are killed.</summary>
    public ProcessDescriptor[] Start(IReadOnlyList<ProcessSpec> specs, ulong groupId = 0, Func<int, IReadOnlyDictionary<string, string>?>? extraEnv = null)
    {
        var placed = new int[specs.Count];
        for (var i = 0; i < specs.Count; i++)
        {
            placed[i] = Placement.Choose(specs[i].Placement, i, specs.Count, NodeDescriptors, NextDefaultNode);
        }

        return StartPlaced(specs, placed, groupId, extraEnv);
    }

    /// <summary>Starts processes on nodes already chosen.</summary>
    public ProcessDescriptor[] StartPlaced(IReadOnlyList<ProcessSpec> specs, IReadOnlyList<int> nodeIndexes, ulong groupId, Func<int, IReadOnlyDictionary<string, string>?>? extraEnv = null)
    {
        var started = new ProcessDescriptor[specs.Count];
        var count = 0;
        try
        {
            foreach (var i in Enumerable.Range(0, specs.Count).OrderBy(i => nodeIndexes[i]))
            {
                var puid = (ulong)Interlocked.Increment(ref _nextPuid) - 1;
                var record = new ProcessRecord(new ProcessDescriptor(puid, nodeIndexes[i], 0, false, false, false, groupId, specs[i].DisplayName), specs[i], i);
                _processes[puid] = record;
                try
                {
                    record.Descriptor = _nodes[nodeIndexes[i]].Spawn(puid, specs[i], groupId, extraEnv?.Invoke(i));
                }
                catch
                {
                    _processes.TryRemove(puid, out _);
                    throw;
                }

                started[i] = record.Descriptor;
                count++;
                LogStarted(puid, specs[i].DisplayName, nodeIndexes[i], record.Descriptor.Pid);
            }

            return started;
        }
        catch (ServiceException) when (count > 0)
        {
            foreach (var d in started.Where(d => d is not null))
            {
                var record = _processes[d.Puid];
                record.StopReason = "start of its batch failed";
                _nodes[d.NodeIndex].Signal(d.Puid, Signals.SIGKILL);
            }

            throw;
        }
    }

    private int NextDefaultNode() => (int)((uint)Interlocked.Increment(ref _nextNode) % (uint)Math.Max(_nodes.Count, 1));

    public ProcessRecord Find(ulong puid) =>
        _processes.TryGetValue(puid, out var record)
            ? record
            : throw new ServiceException(ErrorKind.NotFound, $"no process with puid {puid} in this run");

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
        }

        return records.Select(r => r.Status).ToArray();
    }

    public void Signal(ulong puid, int signal)
    {
        var record = Find(puid);
        if (!record.HasExited)
        {
            _nodes[record.NodeIndex].Signal(puid, signal);
        }
    }

    /// <summary>Called by a node service when one of its children was reaped.</summary>
    public void OnExited(ulong puid, int code, int signal)
    {
        if (!_processes.TryGetValue(puid, out var record))
        {
            return;
        }

        var reason = signal != 0 ? $"killed by signal {signal} ({Signals.Name(signal)})" : $"exited with code {code}";
        var stoppedByUs = record.StopReason is not null && (signal != 0 || code != 0);
        if (stoppedByUs)
        {
            reason = $"{record.StopReason} ({reason})";
        }

        var failed = (code != 0 || signal != 0) && !stoppedByUs;
        foreach (var node in _nodes)
        {
            node.OnProcessExited(puid);
        }

        LogExited(puid, reason);
        record.Complete(new ProcessStatus(puid, ProcessState.Exited, code, signal, reason, record.NodeIndex, failed));
        if (record.Descriptor.GroupId != 0 && _groups.TryGetValue(record.Descriptor.GroupId, out var group))
        {
            group.OnMemberExited(record);
        }
    }

    /// <summary>Stops every process still running: SIGINT, SIGTERM, SIGKILL, <paramref name="patience"/> apart.</summary>
    public Task StopAllAsync(TimeSpan patience, string reason) =>
        Escalation.StopAsync(_processes.Values.Where(r => !r.HasExited).ToArray(), this, patience, reason);

    /// <summary>Creates an object through <paramref name="create"/> and records its name, which must be new.</summary>
    public ObjectDescriptor RegisterObject(string? name, Func<ObjectDescriptor> create)
    {
        if (!string.IsNullOrEmpty(name) && _objectNames.ContainsKey(name))
        {
            throw new ServiceException(ErrorKind.InvalidArgument, $"an object named '{name}' already exists in this run; attach to it instead");
        }

        var descriptor = create();
        if (!_objectNames.TryAdd(descriptor.Name, descriptor))
        {
            throw new ServiceException(ErrorKind.InvalidArgument, $"an object named '{descriptor.Name}' already exists in this run; attach to it instead");
        }

        return descriptor;
    }

    public ObjectDescriptor LookupObject(string name) =>
        _objectNames.TryGetValue(name, out var descriptor)
            ? descriptor
            : throw new ServiceException(ErrorKind.ObjectNotFound, $"no object named '{name}' in this run (it was destroyed, or never created)");

    public void OnObjectDestroyed(ObjectDescriptor descriptor) => _objectNames.TryRemove(new KeyValuePair<string, ObjectDescriptor>(descriptor.Name, descriptor));

    public ulong[] RunningPuids() => _processes.Values.Where(r => !r.HasExited).Select(r => r.Puid).ToArray();

    public GroupRecord CreateGroup(GroupSpec spec)
    {
        if (spec.Members.Length == 0 || spec.Members.Any(m => m.Count < 1))
        {
            throw new ServiceException(ErrorKind.InvalidArgument, "a process group needs at least one member");
        }

        var id = (ulong)Interlocked.Increment(ref _nextGroup);
        var group = new GroupRecord(id, spec, this);
        if (spec.Pmi == PmiMode.Simple)
        {
            group.LaunchHook = new Pmi.PmiGroupLaunch(this);
        }

        _groups[id] = group;
        return group;
    }

    public GroupRecord FindGroup(ulong id) =>
        _groups.TryGetValue(id, out var group)
            ? group
            : throw new ServiceException(ErrorKind.NotFound, $"no process group {id} in this run");

    public void RemoveGroup(ulong id) => _groups.TryRemove(id, out _);

    internal string Describe(ProcessRecord record) =>
        $"puid {record.Puid} on node {NodeDescriptors[record.NodeIndex].Name}, {record.Spec.DisplayName}";

    [LoggerMessage(Level = LogLevel.Information, Message = "started puid {Puid} ({Name}) on node {Node} as pid {Pid}")]
    private partial void LogStarted(ulong puid, string name, int node, int pid);

    [LoggerMessage(Level = LogLevel.Information, Message = "puid {Puid} {Reason}")]
    private partial void LogExited(ulong puid, string reason);
}
