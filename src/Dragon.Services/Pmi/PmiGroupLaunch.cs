using Dragon.Runtime.Protocol;
using Dragon.Services.Global;
using Dragon.Services.Node;
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
    private readonly Dictionary<int, PmiJob> _jobs = [];
    private int[] _slotNodes = [];
    private GroupRecord? _group;
    private volatile bool _failed;

    public PmiGroupLaunch(GlobalServices global) => _global = global;

    public async Task BeforeStartAsync(GroupRecord group, IReadOnlyList<int> slotNodes)
    {
        _group = group;
        _slotNodes = slotNodes.ToArray();
        var mapping = PmiProcessMapping.FromNodeOfRank(_slotNodes);
        var kvsName = $"dragon_{_global.Run.RunId}_{group.Id}";
        var nodes = _slotNodes.Distinct().ToArray();
        var exchange = nodes.Length > 1 ? new PmiBarrierCoordinator(nodes.Length) : null;
        foreach (var node in nodes)
        {
            var server = await ((NodeService)_global.Nodes[node]).PmiServerAsync().ConfigureAwait(false);
            var local = Enumerable.Range(0, _slotNodes.Length).Where(r => _slotNodes[r] == node).ToArray();
            var job = server.CreateJob(_slotNodes.Length, mapping, local, exchange is null ? null : exchange.Exchange, kvsName);
            job.RankEvent += OnRankEvent;
            _jobs[node] = job;
        }
    }

    public IReadOnlyDictionary<string, string>? EnvironmentFor(int slot) => _jobs[_slotNodes[slot]].EnvironmentFor(slot);

    public void AfterStart(GroupRecord group, IReadOnlyList<ProcessRecord> slots)
    {
    }

    public void OnMemberExited(GroupRecord group, int slot, ProcessRecord record)
    {
        var status = record.Status;
        var state = _jobs[_slotNodes[slot]].GetRankState(slot);
        if (state == PmiRankState.Finalized && !status.Failed)
        {
            return;
        }

        if (_failed || record.StopReason is not null)
        {
            KillRanks();
            return;
        }

        var reason = state switch
        {
            PmiRankState.NotConnected when status.ExitCode == 0 => "exited with code 0 without ever connecting to PMI (not an MPI program?)",
            PmiRankState.NotConnected or PmiRankState.Connected => $"{status.Reason} before MPI_Init",
            PmiRankState.Finalized => $"{status.Reason} after MPI_Finalize",
            _ => $"{status.Reason} after MPI_Init, without MPI_Finalize",
        };
        Fail(slot, reason);
    }

    private void OnRankEvent(PmiRankEvent e)
    {
        switch (e.Kind)
        {
            case PmiRankEventKind.Aborted:
                Fail(e.Rank, $"aborted (MPI_Abort with code {e.ExitCode}){(string.IsNullOrEmpty(e.Message) ? string.Empty : ": " + e.Message)}");
                break;
            case PmiRankEventKind.ProtocolError:
                Fail(e.Rank, $"failed: PMI protocol error: {e.Message}");
                break;
        }
    }

    private void Fail(int rank, string reason)
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
            _failed = true;
            group.Fail($"MPI job: {where} {reason}");
        }

        KillRanks();
    }

    /// <summary>One rank failed: the job cannot go on, so every other rank is killed now (hydra would hang or lose the code).</summary>
    private void KillRanks()
    {
        if (_group is not { } group)
        {
            return;
        }

        foreach (var record in group.Slots.Where(r => !r.HasExited))
        {
            record.StopReason ??= "killed: another rank of the MPI job failed";
            _global.Nodes[record.NodeIndex].Signal(record.Puid, Signals.SIGKILL);
        }
    }

    public void OnClosed(GroupRecord group)
    {
        foreach (var job in _jobs.Values)
        {
            job.RankEvent -= OnRankEvent;
            job.Dispose();
        }

        _jobs.Clear();
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
