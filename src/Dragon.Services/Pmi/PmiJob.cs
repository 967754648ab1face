using System.Globalization;
using System.Net.Sockets;
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

    /// <summary>The environment a local rank needs (FD mode), its index on this node computed from <see cref="LocalRanks"/>.</summary>
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
    /// The environment a local rank needs: <c>PMI_FD</c> (<see cref="PmiEnvironment.RankFd"/>, where the spawner
    /// places the rank's end of <see cref="OpenRank"/>), <c>PMI_RANK</c>, <c>PMI_SIZE</c>, <c>MPI_LOCALNRANKS</c>
    /// and <c>MPI_LOCALRANKID</c>. The caller strips inherited variables (<see cref="PmiEnvironment.IsInherited"/>).
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
            [PmiEnvironment.Fd] = PmiEnvironment.RankFd.ToString(invariant),
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

    /// <summary>
    /// Makes the PMI connection of local <paramref name="rank"/>: a socketpair whose one end this server serves as
    /// that rank, and whose other end, returned, the rank inherits (the spawner places it at
    /// <see cref="PmiEnvironment.RankFd"/>). Both ends are close-on-exec, so no other child inherits either;
    /// the caller disposes the returned end once the rank is spawned. Whoever holds that end is the rank.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The rank is not served by this node.</exception>
    /// <exception cref="InvalidOperationException">The rank already has a connection, or the job is closed.</exception>
    public SafeSocketHandle OpenRank(int rank)
    {
        if ((uint)rank >= (uint)Size || _slots[rank] is not { } slot)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is not served by this node for job {KvsName}");
        }
        var (serverEnd, rankEnd) = RankSocketPair.Create();
        try
        {
            lock (_lock)
            {
                if (_disposed)
                {
                    throw new InvalidOperationException($"job {KvsName} is closed");
                }
                if (slot.Connection is not null)
                {
                    throw new InvalidOperationException($"rank {rank} of job {KvsName} already has its PMI connection");
                }
                slot.Connection = _server.Serve(this, rank, serverEnd);
            }
        }
        catch
        {
            serverEnd.Dispose();
            rankEnd.Dispose();
            throw;
        }
        return rankEnd;
    }

    /// <summary>The rank sent its first request: it is inside <c>MPI_Init</c>.</summary>
    internal void OnConnected(int rank)
    {
        lock (_lock)
        {
            var slot = _slots[rank]!;
            if (slot.State != PmiRankState.NotConnected)
            {
                return;
            }
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
        lock (_lock)
        {
            if (_slots[rank]!.State == PmiRankState.NotConnected)
            {
                // Its end closed before it ever spoke: it never reached MPI_Init, which its exit tells.
                return;
            }
        }
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
