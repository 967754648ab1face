using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dragon.Services.Pmi;

/// <summary>
/// The PMI-1 server of one node: serves any number of MPI jobs at once, each a <see cref="PmiJob"/> with
/// its own KVS. It listens nowhere. Each rank reaches it through one end of a socketpair made for that rank
/// (<see cref="PmiJob.OpenRank"/>) and inherited as <c>PMI_FD</c>, so the rank is known from the pair and no
/// other process can speak for it.
/// </summary>
internal sealed class PmiServer : IAsyncDisposable
{
    // Unique KVS names for jobs created without one, across every server of the process.
    private static int s_nextJobNumber;

    private readonly ILogger _logger;
    private readonly System.Threading.Lock _lock = new();
    private readonly List<PmiJob> _jobs = [];
    private readonly Dictionary<string, string> _publishedNames = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<PmiConnection, byte> _connections = new();
    private bool _disposed;

    /// <summary>Creates a server; jobs can be created at once.</summary>
    public PmiServer(ILogger? logger = null) => _logger = logger ?? NullLogger.Instance;

    /// <summary>Creates a job whose ranks can connect at once.</summary>
    /// <param name="size">The number of ranks in the whole job (<c>MPI_COMM_WORLD</c> size).</param>
    /// <param name="mapping">Which node each rank is on; default: all on one node.</param>
    /// <param name="localRanks">The ranks served by this node; default: all of them.</param>
    /// <param name="exchange">Called once per barrier when every local rank arrived; default: this node's puts are all the puts.</param>
    /// <param name="kvsName">The KVS name, the same on every node of a job; default: a new unique name.</param>
    public PmiJob CreateJob(
        int size,
        PmiProcessMapping? mapping = null,
        IReadOnlyCollection<int>? localRanks = null,
        PmiBarrierExchange? exchange = null,
        string? kvsName = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        mapping ??= PmiProcessMapping.SingleNode(size);
        if (mapping.Size != size)
        {
            throw new ArgumentException($"the process mapping covers {mapping.Size} ranks, the job has {size}", nameof(mapping));
        }
        int[] local = ValidateLocalRanks(size, localRanks);
        if (kvsName is not null)
        {
            ValidateKvsName(kvsName);
        }

        PmiJob job;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            kvsName ??= string.Create(CultureInfo.InvariantCulture, $"dragon_{Environment.ProcessId}_{Interlocked.Increment(ref s_nextJobNumber)}");
            if (_jobs.Exists(j => j.KvsName == kvsName))
            {
                throw new ArgumentException($"a job with KVS name {kvsName} is already on this server", nameof(kvsName));
            }
            job = new PmiJob(this, kvsName, size, mapping, local, exchange ?? PmiJob.LocalOnlyExchange, _logger);
            _jobs.Add(job);
        }
        PmiLog.JobCreated(_logger, job.KvsName, size, local.Length, mapping.Value);
        return job;
    }

    /// <summary>Closes every job and connection, and waits for their loops to end.</summary>
    public async ValueTask DisposeAsync()
    {
        PmiJob[] jobs;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            jobs = [.. _jobs];
        }

        foreach (var job in jobs)
        {
            job.Dispose();
        }
        var connections = _connections.Keys.ToArray();
        foreach (var connection in connections)
        {
            connection.Close();
        }
        await Task.WhenAll(connections.Select(c => c.Completion)).ConfigureAwait(false);
    }

    /// <summary>Serves <paramref name="socket"/> as the connection of <paramref name="rank"/> of <paramref name="job"/>.</summary>
    internal PmiConnection Serve(PmiJob job, int rank, Socket socket)
    {
        var connection = new PmiConnection(this, job, rank, socket, _logger);
        lock (_lock)
        {
            if (_disposed)
            {
                socket.Dispose();
                throw new ObjectDisposedException(nameof(PmiServer));
            }
            _connections.TryAdd(connection, 0);
        }
        connection.Start();
        return connection;
    }

    internal void RemoveJob(PmiJob job)
    {
        lock (_lock)
        {
            _jobs.Remove(job);
        }
    }

    internal void Forget(PmiConnection connection) => _connections.TryRemove(connection, out _);

    // The name service (publish_name / lookup_name) spans every job of this server, as
    // MPI_Publish_name is meant to let separate jobs find each other.
    internal bool TryPublish(string service, string port)
    {
        lock (_lock)
        {
            return _publishedNames.TryAdd(service, port);
        }
    }

    internal bool TryUnpublish(string service)
    {
        lock (_lock)
        {
            return _publishedNames.Remove(service);
        }
    }

    internal string? Lookup(string service)
    {
        lock (_lock)
        {
            return _publishedNames.GetValueOrDefault(service);
        }
    }

    private static int[] ValidateLocalRanks(int size, IReadOnlyCollection<int>? localRanks)
    {
        if (localRanks is null)
        {
            return [.. Enumerable.Range(0, size)];
        }
        int[] local = [.. localRanks.Order()];
        if (local.Length == 0)
        {
            throw new ArgumentException("a job needs at least one local rank", nameof(localRanks));
        }
        for (int i = 0; i < local.Length; i++)
        {
            if (local[i] < 0 || local[i] >= size)
            {
                throw new ArgumentOutOfRangeException(nameof(localRanks), $"local rank {local[i]} is outside 0..{size - 1}");
            }
            if (i > 0 && local[i] == local[i - 1])
            {
                throw new ArgumentException($"local rank {local[i]} is listed twice", nameof(localRanks));
            }
        }
        return local;
    }

    private static void ValidateKvsName(string kvsName)
    {
        if (kvsName.Length is 0 or > 256 || kvsName.Any(c => c <= ' ' || c == '=' || c >= '\x7F'))
        {
            throw new ArgumentException($"KVS name '{kvsName}' must be 1..256 printable ASCII characters without spaces or '='", nameof(kvsName));
        }
    }
}
