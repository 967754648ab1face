using Microsoft.Extensions.Logging;

namespace Dragon.Services.Pmi;

/// <summary>What happened to one rank of a <see cref="PmixJob"/>, from libpmix's upcalls.</summary>
internal readonly record struct PmixRankEvent(int Rank, PmiRankEventKind Kind, int? ExitCode = null, string? Message = null);

/// <summary>
/// One Open MPI job as this node's part of it: a PMIx namespace registered with the process's <see cref="PmixServer"/>
/// (the job and per-rank facts Open MPI reads in MPI_Init), its local ranks registered as clients with the environment
/// libpmix gives each (<see cref="EnvironmentFor"/>), their states, and fences carried to the other nodes through
/// the same job-wide exchange as a PMI-1 barrier. <see cref="Dispose"/> deregisters it.
/// </summary>
internal sealed partial class PmixJob : IDisposable
{
    private readonly PmixServer _server;
    private readonly System.Threading.Lock _lock = new();
    private readonly int[] _localRanks;
    private readonly PmiRankState[] _states;
    private readonly Dictionary<int, IReadOnlyDictionary<string, string>> _environments = [];
    private readonly List<(nint CbFunc, nint CbData)> _pendingAborts = [];
    private readonly PmiBarrierExchange? _exchange;
    private readonly int _jobNode;
    private readonly CancellationTokenSource _closing = new();
    private long _fences;
    private bool _disposed;

    private PmixJob(PmixServer server, string nspace, int size, int[] localRanks, int jobNode, PmiBarrierExchange? exchange, ILogger logger)
    {
        _server = server;
        Nspace = nspace;
        Size = size;
        _localRanks = localRanks;
        _jobNode = jobNode;
        _exchange = exchange;
        Logger = logger;
        _states = new PmiRankState[size];
    }

    /// <summary>Raised on libpmix's thread when a local rank changes state; handlers must be quick and must not block.</summary>
    public event Action<PmixRankEvent>? RankEvent;

    /// <summary>The job's PMIx namespace, the same on every node (Open MPI derives its job id from it).</summary>
    public string Nspace { get; }

    /// <summary>The number of ranks in the whole job.</summary>
    public int Size { get; }

    /// <summary>The ranks this node serves, ascending.</summary>
    public IReadOnlyList<int> LocalRanks => _localRanks;

    internal ILogger Logger { get; }

    /// <summary>
    /// Registers the namespace and this node's ranks with the PMIx server and prepares each rank's environment.
    /// </summary>
    /// <param name="server">The process's PMIx server.</param>
    /// <param name="nspace">The namespace, the same on every node of the job.</param>
    /// <param name="nodeOfRank">The runtime's node index of every rank.</param>
    /// <param name="nodeNames">The name of every runtime node, by index (PMIx's host names).</param>
    /// <param name="thisNode">The runtime node index of this node.</param>
    /// <param name="exchange">Carries a fence's data to the other nodes; null when every rank is on this node.</param>
    /// <param name="extraEnvironment">Added to every rank's environment (the resource-manager hint and scratch settings).</param>
    /// <param name="logger">Where the job logs.</param>
    public static async Task<PmixJob> RegisterAsync(
        PmixServer server,
        string nspace,
        int[] nodeOfRank,
        IReadOnlyList<string> nodeNames,
        int thisNode,
        PmiBarrierExchange? exchange,
        IReadOnlyDictionary<string, string> extraEnvironment,
        ILogger logger)
    {
        var size = nodeOfRank.Length;
        var local = Enumerable.Range(0, size).Where(r => nodeOfRank[r] == thisNode).ToArray();
        if (local.Length == 0)
        {
            throw new ArgumentException($"PMIx job {nspace} has no rank on node {thisNode}", nameof(nodeOfRank));
        }
        var map = PmixJobMap.Create(nodeOfRank, nodeNames);
        var job = new PmixJob(server, nspace, size, local, map.JobNodeOf(thisNode), exchange, logger);
        server.Add(job);
        try
        {
            using (var info = job.DescribeJob(map))
            {
                await PmixRegistration.RegisterNamespaceAsync(nspace, local.Length, info).ConfigureAwait(false);
            }

            foreach (var rank in local)
            {
                await PmixRegistration.RegisterClientAsync(nspace, rank).ConfigureAwait(false);
                var environment = PmixRegistration.ForkEnvironment(nspace, rank);
                foreach (var (name, value) in extraEnvironment)
                {
                    environment[name] = value;
                }
                job._environments[rank] = environment;
            }
            PmixLog.JobRegistered(logger, nspace, size, local.Length, map.NodeMapInput, map.ProcMapInput);
            return job;
        }
        catch
        {
            job.Dispose();
            throw;
        }
    }

    /// <summary>The environment libpmix prepared for local <paramref name="rank"/> (PMIX_NAMESPACE, PMIX_RANK, the server URI, ...).</summary>
    public IReadOnlyDictionary<string, string> EnvironmentFor(int rank) =>
        _environments.TryGetValue(rank, out var environment)
            ? environment
            : throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is not served by this node for PMIx job {Nspace}");

    /// <summary>Where local <paramref name="rank"/> stands now.</summary>
    public PmiRankState GetRankState(int rank)
    {
        lock (_lock)
        {
            return _states[rank];
        }
    }

    /// <summary>Deregisters the namespace, answers any abort still pending, and raises no further events.</summary>
    public void Dispose()
    {
        List<(nint CbFunc, nint CbData)> aborts;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            aborts = [.. _pendingAborts];
            _pendingAborts.Clear();
        }
        _closing.Cancel();
        foreach (var (cbfunc, cbdata) in aborts)
        {
            PmixServer.CompleteLater(cbfunc, cbdata, PmixNative.Success);
        }
        PmixRegistration.DeregisterNamespace(Nspace);
        _server.Remove(this);
        PmixLog.JobClosed(Logger, Nspace);
    }

    /// <inheritdoc/>
    public override string ToString() => $"PMIx job {Nspace} ({Size} ranks, {_localRanks.Length} local)";
}
