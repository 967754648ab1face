using System.Collections.Concurrent;
using Dragon.Runtime.Protocol;

namespace Dragon.Services.Node;

/// <summary>The node's part of Open MPI jobs: PMIx namespaces on the process's one embedded PMIx server.</summary>
internal sealed partial class NodeService
{
    private readonly ConcurrentDictionary<ulong, Pmi.PmixJob> _pmixJobs = new();
    private readonly System.Threading.Lock _pmixLock = new();
    private Pmi.PmixServer? _pmix;

    /// <summary>Registers the job's namespace and this node's ranks; each rank's environment comes from libpmix.</summary>
    private async Task<PmiJobReply> CreatePmixJobAsync(PmiJobRequest request)
    {
        var server = AcquirePmix();
        var names = Enumerable.Range(0, Math.Max(Nodes.Length, Descriptor.Index + 1))
            .Select(i => i == Descriptor.Index ? Descriptor.Name : i < Nodes.Length ? Nodes[i].Name : $"node{i}")
            .ToArray();
        // Open MPI's session directory and its shared-memory segments go in the run directory, not /tmp and
        // /dev/shm: a killed rank leaves them behind, and the run directory goes when the job or the run ends.
        var scratch = ScratchDirectory(request.GroupId);
        Directory.CreateDirectory(scratch);
        var extra = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Pmi.PmixKeys.ResourceManagerHint] = request.KvsName,
            ["OMPI_MCA_orte_tmpdir_base"] = scratch,
            ["OMPI_MCA_btl_vader_backing_directory"] = scratch,
        };
        var job = await Pmi.PmixJob.RegisterAsync(server, request.KvsName, request.NodeOfRank, names, Descriptor.Index, JobWideExchange(request), extra,
            Run.Loggers.CreateLogger($"pmix{Descriptor.Index}")).ConfigureAwait(false);
        var groupId = request.GroupId;
        job.RankEvent += e => GlobalLink.Notify(new PmiEventNotice(groupId, e.Rank, (int)e.Kind, e.ExitCode ?? 0, e.Message));
        _pmixJobs[groupId] = job;
        return new PmiJobReply(request.LocalRanks, request.LocalRanks.Select(r => job.EnvironmentFor(r).ToArray()).ToArray());
    }

    private string ScratchDirectory(ulong groupId) =>
        Path.Combine(Run.RunDir, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"ompi-{groupId}"));

    /// <summary>Deregisters an Open MPI job on this node and removes what its ranks left in its scratch directory.</summary>
    private void ClosePmixJob(ulong groupId)
    {
        if (_pmixJobs.TryRemove(groupId, out var job))
        {
            job.Dispose();
            try
            {
                Directory.Delete(ScratchDirectory(groupId), recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private Pmi.PmixServer AcquirePmix()
    {
        lock (_pmixLock)
        {
            return _pmix ??= Pmi.PmixServer.Acquire(Run.Loggers.CreateLogger($"pmix{Descriptor.Index}"), Descriptor.Name);
        }
    }

    /// <summary>Drops this node's PMIx jobs and its hold on the process's PMIx server (the last holder finalizes it).</summary>
    private void ReleasePmix()
    {
        foreach (var groupId in _pmixJobs.Keys)
        {
            ClosePmixJob(groupId);
        }

        lock (_pmixLock)
        {
            if (_pmix is not null)
            {
                _pmix = null;
                Pmi.PmixServer.Release();
            }
        }
    }
}
