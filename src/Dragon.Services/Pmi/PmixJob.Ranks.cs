using System.Globalization;

namespace Dragon.Services.Pmi;

internal sealed partial class PmixJob
{
    /// <summary>
    /// The facts Open MPI 4.1 reads in MPI_Init: sizes, the node and proc maps, this node's peers, and for every rank
    /// its node, host and local/node rank (a missing per-rank key fails MPI_Init with "Not found").
    /// </summary>
    private PmixInfoList DescribeJob(PmixJobMap map)
    {
        var size = (uint)Size;
        var info = new PmixInfoList()
            .AddUInt32(PmixKeys.UniverseSize, size)
            .AddUInt32(PmixKeys.JobSize, size)
            .AddUInt32(PmixKeys.MaxProcs, size)
            .Add(PmixKeys.JobId, Nspace)
            .AddUInt32(PmixKeys.JobNumApps, 1)
            .AddBool(PmixKeys.Spawned, false)
            .AddUInt32(PmixKeys.LocalSize, (uint)_localRanks.Length)
            .AddUInt32(PmixKeys.NodeSize, (uint)_localRanks.Length)
            .AddUInt32(PmixKeys.NumNodes, (uint)map.NodeCount)
            .Add(PmixKeys.NodeMap, map.NodeMap())
            .Add(PmixKeys.ProcMap, map.ProcMap())
            .Add(PmixKeys.LocalPeers, string.Join(',', _localRanks))
            .AddRank(PmixKeys.LocalLeader, _localRanks[0])
            .AddUInt32(PmixKeys.NodeId, (uint)_jobNode)
            .Add(PmixKeys.Hostname, map.Names[_jobNode]);

        for (var rank = 0; rank < Size; rank++)
        {
            using var proc = new PmixInfoList()
                .AddRank(PmixKeys.Rank, rank)
                .AddUInt32(PmixKeys.AppNum, 0)
                .AddRank(PmixKeys.AppLeader, 0)
                .AddRank(PmixKeys.GlobalRank, rank)
                .AddRank(PmixKeys.AppRank, rank)
                .Add(PmixKeys.Hostname, map.Names[map.JobNodeOfRank(rank)])
                .AddUInt32(PmixKeys.NodeId, (uint)map.JobNodeOfRank(rank));
            var localIndex = Array.BinarySearch(_localRanks, rank);
            if (localIndex >= 0)
            {
                proc.AddUInt16(PmixKeys.LocalRank, (ushort)localIndex).AddUInt16(PmixKeys.NodeRank, (ushort)localIndex);
            }
            info.AddArray(PmixKeys.ProcData, proc);
        }
        return info;
    }

    /// <summary>
    /// The rank finished PMIx_Init, the first step of Open MPI's MPI_Init. It also counts as initialized: a fence
    /// among ranks of one node completes inside libpmix, so no later point of MPI_Init is visible to the runtime.
    /// </summary>
    internal void OnConnected(int rank)
    {
        Move(rank, PmiRankState.NotConnected, PmiRankState.Connected, PmiRankEventKind.Connected);
        Move(rank, PmiRankState.Connected, PmiRankState.Initialized, PmiRankEventKind.Initialized);
    }

    internal void OnFinalized(int rank)
    {
        if (TryFinish(rank, PmiRankState.Finalized))
        {
            Raise(new PmixRankEvent(rank, PmiRankEventKind.Finalized));
        }
    }

    internal void OnAbort(int rank, int status, string? message, nint cbfunc, nint cbdata)
    {
        bool closed;
        lock (_lock)
        {
            closed = _disposed;
            if (!closed)
            {
                _pendingAborts.Add((cbfunc, cbdata));
            }
        }
        if (closed)
        {
            PmixServer.CompleteLater(cbfunc, cbdata, PmixNative.Success);
            return;
        }
        PmixLog.RankAborted(Logger, Nspace, rank, status, message);
        if (TryFinish(rank, PmiRankState.Aborted))
        {
            // Open MPI 4.1 sends "N/A" when MPI_Abort was given no message of its own.
            var text = string.IsNullOrWhiteSpace(message) || message.Trim() == "N/A" ? null : message.Trim();
            Raise(new PmixRankEvent(rank, PmiRankEventKind.Aborted, status, text));
        }
    }

    /// <summary>
    /// A fence all local ranks entered: this node's data goes out once, the data of every node (in node order)
    /// comes back, once.
    /// </summary>
    internal async Task<byte[]> FenceAsync(byte[] local)
    {
        var epoch = Interlocked.Increment(ref _fences);
        if (_exchange is null)
        {
            PmixLog.FenceComplete(Logger, Nspace, epoch, local.Length, local.Length);
            return local;
        }

        var key = string.Create(CultureInfo.InvariantCulture, $"pmix.fence.{_jobNode:D6}");
        var all = await _exchange(new Dictionary<string, string> { [key] = Convert.ToBase64String(local) }, _closing.Token).ConfigureAwait(false);
        var gathered = all.Where(kv => kv.Key.StartsWith("pmix.fence.", StringComparison.Ordinal))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .SelectMany(kv => Convert.FromBase64String(kv.Value))
            .ToArray();
        PmixLog.FenceComplete(Logger, Nspace, epoch, local.Length, gathered.Length);
        return gathered;
    }

    private void Move(int rank, PmiRankState from, PmiRankState to, PmiRankEventKind kind)
    {
        lock (_lock)
        {
            if (_disposed || _states[rank] != from)
            {
                return;
            }
            _states[rank] = to;
        }
        Raise(new PmixRankEvent(rank, kind));
    }

    private bool TryFinish(int rank, PmiRankState final)
    {
        lock (_lock)
        {
            if (_disposed || _states[rank] is PmiRankState.Finalized or PmiRankState.Aborted or PmiRankState.Failed or PmiRankState.Disconnected)
            {
                return false;
            }
            _states[rank] = final;
            return true;
        }
    }

    private void Raise(PmixRankEvent rankEvent)
    {
        PmixLog.RankEvent(Logger, Nspace, rankEvent.Rank, rankEvent.Kind);
        try
        {
            RankEvent?.Invoke(rankEvent);
        }
        catch (Exception e)
        {
            PmixLog.HandlerFailed(Logger, Nspace, e);
        }
    }
}
