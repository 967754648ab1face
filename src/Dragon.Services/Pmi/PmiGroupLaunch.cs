using Dragon.Runtime.Protocol;
using Dragon.Services.Global;
using Dragon.Services.Spawning;

namespace Dragon.Services.Pmi;

/// <summary>
/// Makes a process group one MPI job: a PMI job on every node that has ranks (one KVS name, the real process
/// mapping, barriers exchanged once per node), each rank's PMI environment, and the failure rules: a rank that
/// aborts, exits before MPI_Init, dies after it, or breaks the protocol ends every rank of the job at once, and the
/// group reports the first failing rank, its node, its code or signal, and why.
/// </summary>
internal sealed class PmiGroupLaunch : IGroupLaunchHook
{
    private readonly GlobalServices _global;
    private readonly Dictionary<int, IReadOnlyDictionary<string, string>> _environments = [];
    private PmiRankState[] _states = [];
    private int[] _slotNodes = [];
    private int[] _nodes = [];
    private GroupRecord? _group;
    private PmiBarrierCoordinator? _barrier;
    private volatile bool _failed;
    private int _failedRank = -1;
    private (string Own, string Others)? _failedReasons;
    private long _startedAt;
    private int _initialized;

    private readonly PmiMode _mode;

    /// <param name="global">The run's global services.</param>
    /// <param name="mode">PMI-1 (served by <see cref="PmiServer"/>) or PMIx (by the embedded <see cref="PmixServer"/>).</param>
    public PmiGroupLaunch(GlobalServices global, PmiMode mode)
    {
        _global = global;
        _mode = mode;
    }

    public async Task BeforeStartAsync(GroupRecord group, IReadOnlyList<int> slotNodes)
    {
        _group = group;
        _startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        _global.Metrics.OnPmiJobStarted(slotNodes.Count);
        _slotNodes = slotNodes.ToArray();
        _states = new PmiRankState[_slotNodes.Length];
        _nodes = _slotNodes.Distinct().ToArray();
        _barrier = _nodes.Length > 1 ? new PmiBarrierCoordinator(_nodes.Length) : null;
        var kvsName = $"dragon_{_global.Run.RunId}_{group.Id}";
        var replies = await Task.WhenAll(_nodes.Select(node => _global.Nodes[node].CreatePmiJobAsync(new PmiJobRequest(
            group.Id,
            _slotNodes,
            Enumerable.Range(0, _slotNodes.Length).Where(r => _slotNodes[r] == node).ToArray(),
            kvsName,
            JobWideBarrier: _barrier is not null,
            _mode)))).ConfigureAwait(false);
        foreach (var reply in replies)
        {
            for (var i = 0; i < reply.Ranks.Length; i++)
            {
                _environments[reply.Ranks[i]] = reply.Environments[i].ToDictionary(kv => kv.Key, kv => kv.Value);
            }
        }
    }

    /// <summary>One node's puts at a barrier; completes with every node's once all have arrived.</summary>
    public Task<IReadOnlyDictionary<string, string>> ExchangeAsync(KeyValuePair<string, string>[] puts, CancellationToken cancellationToken) =>
        (_barrier ?? throw new ServiceException(Dragon.Runtime.Protocol.ErrorKind.InvalidArgument, "this MPI job runs on one node and has no job-wide barrier"))
            .Exchange(puts.ToDictionary(kv => kv.Key, kv => kv.Value), cancellationToken);

    public IReadOnlyDictionary<string, string>? EnvironmentFor(int slot) => _environments[slot];

    public void AfterStart(GroupRecord group, IReadOnlyList<ProcessRecord> slots)
    {
        // A rank that failed while the others were still being spawned: kill the ones that now have records.
        if (_failed)
        {
            KillRanks(_failedRank, _failedReasons);
        }
    }

    public void OnMemberExited(GroupRecord group, int slot, ProcessRecord record)
    {
        var status = record.Status;
        var state = _states[slot];
        if (state == PmiRankState.Finalized && !status.Failed)
        {
            return;
        }

        if (_failed || record.StopReason is not null)
        {
            KillRanks(_failedRank, _failedReasons);
            return;
        }

        var reason = state switch
        {
            PmiRankState.NotConnected when status.ExitCode == 0 => "exited with code 0 without ever connecting to PMI (not an MPI program?)",
            PmiRankState.NotConnected or PmiRankState.Connected => $"{status.Reason} before MPI_Init",
            PmiRankState.Finalized => $"{status.Reason} after MPI_Finalize",
            _ => $"{status.Reason} after MPI_Init, without MPI_Finalize",
        };
        var context = GroupRecord.MemberContext(slot, record);
        Fail(slot, reason, status.Signal != 0 ? 128 + status.Signal : status.ExitCode == 0 ? 1 : status.ExitCode, context.ExitCode, context.Signal);
    }

    /// <summary>A rank's PMI event, from the node service that serves it (in the order it happened there).</summary>
    public void OnRankEvent(int rank, PmiRankEventKind kind, int exitCode, string? message)
    {
        if (rank < 0 || rank >= _states.Length)
        {
            return;
        }

        // Wire-up ends when the last rank enters its first barrier: MPI_Init is exchanging business cards.
        if (kind == PmiRankEventKind.Initialized && _states[rank] < PmiRankState.Initialized
            && Interlocked.Increment(ref _initialized) == _states.Length)
        {
            _global.Metrics.OnPmiWiredUp(System.Diagnostics.Stopwatch.GetElapsedTime(_startedAt), _states.Length);
        }

        _states[rank] = kind switch
        {
            PmiRankEventKind.Connected => PmiRankState.Connected,
            PmiRankEventKind.Initialized => PmiRankState.Initialized,
            PmiRankEventKind.Finalized => PmiRankState.Finalized,
            PmiRankEventKind.Aborted => PmiRankState.Aborted,
            PmiRankEventKind.ProtocolError => PmiRankState.Failed,
            _ => _states[rank] == PmiRankState.NotConnected ? PmiRankState.NotConnected : PmiRankState.Disconnected,
        };
        switch (kind)
        {
            case PmiRankEventKind.Aborted:
                Fail(rank, $"aborted (MPI_Abort with code {exitCode}){(string.IsNullOrEmpty(message) ? string.Empty : ": " + message)}", exitCode, exitCode, null,
                    $"called MPI_Abort with code {exitCode}", $"killed: rank {rank} called MPI_Abort with code {exitCode}");
                break;
            case PmiRankEventKind.ProtocolError:
                Fail(rank, $"failed: PMI protocol error: {message}", 1, null, null);
                break;
        }
    }

    /// <param name="rank">The failing rank.</param>
    /// <param name="reason">What the group reports.</param>
    /// <param name="exitCode">The group's exit code.</param>
    /// <param name="rankExitCode">The rank's own exit (or abort) code, when it has one.</param>
    /// <param name="rankSignal">The signal that ended the rank, when one did.</param>
    /// <param name="ownReason">The stop reason of the failing rank itself if it is still running (an aborting rank waits to be killed).</param>
    /// <param name="othersReason">The stop reason of every other rank.</param>
    private void Fail(int rank, string reason, int exitCode, int? rankExitCode, int? rankSignal, string? ownReason = null, string? othersReason = null)
    {
        if (_group is not { } group)
        {
            return;
        }

        var where = rank < group.Slots.Count
            ? $"rank {rank} (puid {group.Slots[rank].Puid} on node {_global.NodeDescriptors[_slotNodes[rank]].Name})"
            : $"rank {rank} (on node {_global.NodeDescriptors[_slotNodes[rank]].Name})";
        if (!_failed)
        {
            _failedRank = rank;
            _failedReasons = (ownReason ?? $"killed: {reason}", othersReason ?? $"killed: rank {rank} of the MPI job failed");
            _failed = true;
            var puid = rank < group.Slots.Count ? group.Slots[rank].Puid : (ulong?)null;
            group.Fail($"MPI job: {where} {reason}", exitCode, new ErrorContext(puid, _slotNodes[rank], rank, rankExitCode, rankSignal));
        }

        KillRanks(_failedRank, _failedReasons);
    }

    /// <summary>One rank failed: the job cannot go on, so every other rank is killed now (hydra would hang or lose the code).</summary>
    /// <param name="failed">The rank that failed.</param>
    /// <param name="reasons">Stop reasons for the failed rank and for the others; null for a generic one.</param>
    private void KillRanks(int failed, (string Own, string Others)? reasons)
    {
        if (_group is not { } group)
        {
            return;
        }

        foreach (var (slot, record) in group.Slots.Index())
        {
            if (record.HasExited)
            {
                continue;
            }

            // The first reason given sticks: a rank killed because another aborted keeps saying so.
            record.StopReason ??= reasons is { } given
                ? slot == failed ? given.Own : given.Others
                : "killed: another rank of the MPI job failed";
            _global.Nodes[record.NodeIndex].Signal(record.Puid, Signals.SIGKILL);
        }
    }

    public void OnClosed(GroupRecord group)
    {
        foreach (var node in _nodes)
        {
            _global.Nodes[node].ClosePmiJob(group.Id);
        }
    }
}

/// <summary>
/// The job-wide fence for an MPI job over several nodes: each node hands in its ranks' puts once per barrier; when
/// every node has, each gets all the puts.
/// </summary>
internal sealed class PmiBarrierCoordinator(int nodes)
{
    private readonly System.Threading.Lock _lock = new();
    private Dictionary<string, string> _puts = new(StringComparer.Ordinal);
    private TaskCompletionSource<IReadOnlyDictionary<string, string>> _round = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _arrived;

    public Task<IReadOnlyDictionary<string, string>> Exchange(IReadOnlyDictionary<string, string> localPuts, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            foreach (var (key, value) in localPuts)
            {
                _puts[key] = value;
            }

            var round = _round;
            if (++_arrived == nodes)
            {
                round.TrySetResult(_puts);
                _puts = new Dictionary<string, string>(StringComparer.Ordinal);
                _round = new TaskCompletionSource<IReadOnlyDictionary<string, string>>(TaskCreationOptions.RunContinuationsAsynchronously);
                _arrived = 0;
            }

            return round.Task.WaitAsync(cancellationToken);
        }
    }
}
