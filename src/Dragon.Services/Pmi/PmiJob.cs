using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Pmi;

/// <summary>
/// One MPI job served by a <see cref="PmiServer"/>: its KVS, its barrier and the state of its
/// local ranks. Created by <see cref="PmiServer.CreateJob"/>; <see cref="Dispose"/> drops it and
/// closes its ranks' connections.
/// </summary>
internal sealed partial class PmiJob : IDisposable
{
    private readonly PmiServer _server;
    private readonly ILogger _logger;
    private readonly System.Threading.Lock _lock = new();
    private readonly RankSlot?[] _slots;
    private readonly int[] _localRanks;
    private readonly byte[] _kvsNameBytes;

    // Not disposed: it owns no timer, and barrier completions may still read its token after Dispose.
    private readonly CancellationTokenSource _closing = new();
    private bool _disposed;

    internal PmiJob(
        PmiServer server,
        string kvsName,
        int size,
        int firstPmiId,
        PmiProcessMapping mapping,
        int[] localRanks,
        PmiBarrierExchange exchange,
        ILogger logger)
    {
        _server = server;
        _logger = logger;
        KvsName = kvsName;
        _kvsNameBytes = Encoding.Latin1.GetBytes(kvsName);
        Size = size;
        FirstPmiId = firstPmiId;
        Mapping = mapping;
        _localRanks = localRanks;
        _exchange = exchange;
        _slots = new RankSlot?[size];
        foreach (int rank in localRanks)
        {
            _slots[rank] = new RankSlot();
        }
        _kvsLookup = _kvs.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Raised on the server's I/O threads when a local rank changes state; handlers must be quick and must not block.</summary>
    /// <remarks>Each rank gets at most one final event (Finalized, Aborted, ProtocolError or Disconnected). None are raised after <see cref="Dispose"/>.</remarks>
    public event Action<PmiRankEvent>? RankEvent;

    /// <summary>The KVS name ranks get from <c>get_my_kvsname</c>.</summary>
    public string KvsName { get; }

    /// <summary>The number of ranks in the whole job.</summary>
    public int Size { get; }

    /// <summary>The universe size announced to ranks (the job size).</summary>
    public int UniverseSize => Size;

    /// <summary>Which node each rank runs on, answered for <c>PMI_process_mapping</c>.</summary>
    public PmiProcessMapping Mapping { get; }

    /// <summary>The ranks this node serves, ascending.</summary>
    public IReadOnlyList<int> LocalRanks => _localRanks;

    /// <summary>The PMI id of rank 0; rank r connects with <c>PMI_ID</c> = FirstPmiId + r.</summary>
    public int FirstPmiId { get; }

    /// <summary>The environment a local rank needs to reach this job (PORT mode), its index on this node computed from <see cref="LocalRanks"/>.</summary>
    public IReadOnlyDictionary<string, string> EnvironmentFor(int rank)
    {
        int localRankId = Array.BinarySearch(_localRanks, rank);
        if (localRankId < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is not served by this node for job {KvsName}");
        }
        return EnvironmentFor(rank, localRankId, _localRanks.Length);
    }

    /// <summary>
    /// The environment a local rank needs to reach this job: <c>PMI_PORT</c>, <c>PMI_ID</c>,
    /// <c>MPI_LOCALNRANKS</c>, <c>MPI_LOCALRANKID</c>, plus <c>PMI_RANK</c>/<c>PMI_SIZE</c> for the
    /// program's own use. The caller strips inherited variables (<see cref="PmiEnvironment.IsInherited"/>).
    /// </summary>
    public IReadOnlyDictionary<string, string> EnvironmentFor(int rank, int localRankId, int localRankCount)
    {
        if ((uint)rank >= (uint)Size || _slots[rank] is null)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is not served by this node for job {KvsName}");
        }
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(localRankCount);
        ArgumentOutOfRangeException.ThrowIfNegative(localRankId);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(localRankId, localRankCount);

        var invariant = CultureInfo.InvariantCulture;
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [PmiEnvironment.Port] = string.Create(invariant, $"{_server.ConnectAddress}:{_server.Port}"),
            [PmiEnvironment.Id] = (FirstPmiId + rank).ToString(invariant),
            [PmiEnvironment.Rank] = rank.ToString(invariant),
            [PmiEnvironment.Size] = Size.ToString(invariant),
            [PmiEnvironment.LocalRankCount] = localRankCount.ToString(invariant),
            [PmiEnvironment.LocalRankId] = localRankId.ToString(invariant),
        };
    }

    /// <summary>Where <paramref name="rank"/> stands now; <see cref="PmiRankState.NotConnected"/> for a rank that never reached <c>MPI_Init</c>.</summary>
    public PmiRankState GetRankState(int rank)
    {
        if ((uint)rank >= (uint)Size || _slots[rank] is not { } slot)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is not served by this node for job {KvsName}");
        }
        lock (_lock)
        {
            return slot.State;
        }
    }

    /// <summary>Drops the job from its server and closes its ranks' connections; raises no further events.</summary>
    public void Dispose()
    {
        List<PmiConnection> connections = [];
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            foreach (var slot in _slots)
            {
                if (slot?.Connection is { } connection)
                {
                    connections.Add(connection);
                }
            }
        }
        _server.RemoveJob(this);
        _closing.Cancel();
        foreach (var connection in connections)
        {
            connection.Close();
        }
        PmiLog.JobClosed(_logger, KvsName);
    }

    /// <inheritdoc/>
    public override string ToString() => $"PMI job {KvsName} ({Size} ranks, {_localRanks.Length} local)";

    /// <summary>Binds a connection that sent <c>initack</c> to <paramref name="rank"/>.</summary>
    internal void Attach(int rank, PmiConnection connection)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                throw new PmiProtocolException($"job {KvsName} is closed");
            }
            var slot = _slots[rank] ?? throw new PmiProtocolException($"rank {rank} of job {KvsName} is not served by this node");
            if (slot.State != PmiRankState.NotConnected)
            {
                throw new PmiProtocolException($"rank {rank} of job {KvsName} already connected (it is {slot.State})");
            }
            slot.Connection = connection;
            slot.State = PmiRankState.Connected;
        }
        Raise(new PmiRankEvent(this, rank, PmiRankEventKind.Connected));
    }

    internal void OnFinalize(int rank)
    {
        if (TryFinish(rank, PmiRankState.Finalized))
        {
            Raise(new PmiRankEvent(this, rank, PmiRankEventKind.Finalized));
        }
    }

    internal void OnAbort(int rank, int exitCode, string? message)
    {
        if (TryFinish(rank, PmiRankState.Aborted))
        {
            Raise(new PmiRankEvent(this, rank, PmiRankEventKind.Aborted, exitCode, message));
        }
    }

    internal void OnProtocolError(int rank, string reason)
    {
        if (TryFinish(rank, PmiRankState.Failed))
        {
            Raise(new PmiRankEvent(this, rank, PmiRankEventKind.ProtocolError, Message: reason));
        }
    }

    internal void OnDisconnected(int rank)
    {
        if (TryFinish(rank, PmiRankState.Disconnected))
        {
            Raise(new PmiRankEvent(this, rank, PmiRankEventKind.Disconnected));
        }
    }

    /// <summary>Moves a rank to a final state unless it is in one already.</summary>
    private bool TryFinish(int rank, PmiRankState final)
    {
        lock (_lock)
        {
            var slot = _slots[rank]!;
            if (_disposed || slot.State is PmiRankState.Finalized or PmiRankState.Aborted or PmiRankState.Failed or PmiRankState.Disconnected)
            {
                return false;
            }
            slot.State = final;
            return true;
        }
    }

    private void Raise(PmiRankEvent rankEvent)
    {
        if (Volatile.Read(ref _disposed))
        {
            return;
        }
        if (rankEvent.Kind is PmiRankEventKind.Aborted or PmiRankEventKind.ProtocolError or PmiRankEventKind.Disconnected)
        {
            PmiLog.RankFailed(_logger, rankEvent);
        }
        else
        {
            PmiLog.RankEvent(_logger, rankEvent);
        }
        try
        {
            RankEvent?.Invoke(rankEvent);
        }
        catch (Exception e)
        {
            PmiLog.HandlerFailed(_logger, KvsName, e);
        }
    }

    private sealed class RankSlot
    {
        public PmiConnection? Connection;
        public PmiRankState State;
        public bool InBarrier;
    }
}
