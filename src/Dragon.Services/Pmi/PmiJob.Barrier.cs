namespace Dragon.Services.Pmi;

/// <summary>
/// Completes a job-wide barrier across nodes: takes this node's puts since the last barrier and
/// returns every node's puts (this node's included), once every node's local ranks arrived.
/// </summary>
/// <remarks>Called once per barrier, after all local ranks sent <c>barrier_in</c>; they get <c>barrier_out</c> when it returns.</remarks>
internal delegate Task<IReadOnlyDictionary<string, string>> PmiBarrierExchange(
    IReadOnlyDictionary<string, string> localPuts,
    CancellationToken cancellationToken);

internal sealed partial class PmiJob
{
    private static readonly PmiBarrierExchange s_localOnlyExchange =
        (localPuts, _) => Task.FromResult(localPuts);

    private readonly PmiBarrierExchange _exchange;
    private int _barrierArrivals;
    private long _barrierEpoch;

    /// <summary>The exchange of a job on one node: the local puts are all there is.</summary>
    internal static PmiBarrierExchange LocalOnlyExchange => s_localOnlyExchange;

    /// <summary>How many barriers have completed (all local ranks arrived and the exchange ran).</summary>
    public long CompletedBarriers => Interlocked.Read(ref _barrierEpoch);

    /// <summary>
    /// Records <c>barrier_in</c> from <paramref name="rank"/>. The first one marks the rank
    /// initialized; the last local arrival runs the exchange and releases every local rank.
    /// </summary>
    /// <exception cref="PmiProtocolException">The rank is already waiting in this barrier.</exception>
    internal void EnterBarrier(int rank)
    {
        bool first;
        Dictionary<string, string>? localPuts = null;
        long epoch = 0;
        lock (_lock)
        {
            var slot = _slots[rank]!;
            if (slot.InBarrier)
            {
                throw new PmiProtocolException($"rank {rank} sent barrier_in twice without barrier_out between");
            }
            slot.InBarrier = true;
            first = slot.State == PmiRankState.Connected;
            if (first)
            {
                slot.State = PmiRankState.Initialized;
            }
            if (++_barrierArrivals == _localRanks.Length)
            {
                // Ranks cannot send the next barrier_in before their barrier_out, so the count
                // and the put set start over here while the exchange runs.
                _barrierArrivals = 0;
                localPuts = _pendingPuts;
                _pendingPuts = new Dictionary<string, string>(StringComparer.Ordinal);
                epoch = _barrierEpoch + 1;
            }
        }

        if (first)
        {
            Raise(new PmiRankEvent(this, rank, PmiRankEventKind.Initialized));
        }
        if (localPuts is not null)
        {
            _ = CompleteBarrierAsync(localPuts, epoch);
        }
    }

    private async Task CompleteBarrierAsync(Dictionary<string, string> localPuts, long epoch)
    {
        IReadOnlyDictionary<string, string> allPuts;
        try
        {
            allPuts = await _exchange(localPuts, _closing.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            FailBarrier(e);
            return;
        }

        List<PmiConnection> waiting = [];
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            if (!ReferenceEquals(allPuts, localPuts))
            {
                foreach (var (key, value) in allPuts)
                {
                    _kvs[key] = value;
                }
            }
            foreach (var slot in _slots)
            {
                if (slot is { InBarrier: true })
                {
                    slot.InBarrier = false;
                    if (slot.Connection is { } connection)
                    {
                        waiting.Add(connection);
                    }
                }
            }
            Interlocked.Exchange(ref _barrierEpoch, epoch);
        }

        PmiLog.BarrierComplete(_logger, KvsName, epoch, localPuts.Count, allPuts.Count);
        foreach (var connection in waiting)
        {
            connection.SendBarrierOut();
        }
    }

    // Without the exchange the local ranks can never get a consistent KVS: fail each of them so
    // MPI_Init errors out in the rank instead of hanging.
    private void FailBarrier(Exception exception)
    {
        List<(int Rank, PmiConnection? Connection)> waiting = [];
        lock (_lock)
        {
            for (int rank = 0; rank < _slots.Length; rank++)
            {
                if (_slots[rank] is { InBarrier: true } slot)
                {
                    waiting.Add((rank, slot.Connection));
                }
            }
        }
        PmiLog.ExchangeFailed(_logger, KvsName, waiting.Count, exception);
        foreach (var (rank, connection) in waiting)
        {
            OnProtocolError(rank, $"barrier exchange failed: {exception.Message}");
            connection?.Close();
        }
    }
}
