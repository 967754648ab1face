using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dragon.Services.Pmi;

/// <summary>
/// A PMI-1 server on one TCP port that serves any number of MPI jobs at once, each a
/// <see cref="PmiJob"/> with its own KVS. Ranks reach it through <c>PMI_PORT</c> and name
/// themselves with <c>PMI_ID</c>: every job owns a range of PMI ids, so one port tells the jobs apart.
/// </summary>
internal sealed class PmiServer : IAsyncDisposable
{
    private const int ListenBacklog = 1024;

    private readonly IPAddress _bindAddress;
    private readonly int _requestedPort;
    private readonly ILogger _logger;
    private readonly System.Threading.Lock _lock = new();
    private readonly List<PmiJob> _jobs = [];
    private readonly Dictionary<string, string> _publishedNames = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<PmiConnection, byte> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private IPEndPoint? _endPoint;
    private Task? _acceptLoop;
    private int _nextPmiId;
    private int _nextJobNumber;
    private bool _disposed;

    /// <summary>Creates a server that will listen on <paramref name="bindAddress"/> (IPv4) and <paramref name="port"/> (0: ephemeral).</summary>
    /// <exception cref="ArgumentException">The address is not IPv4: MPICH's <c>PMI_PORT</c> parser takes <c>host:port</c> and no IPv6 literal.</exception>
    public PmiServer(IPAddress bindAddress, ILogger? logger = null, int port = 0)
    {
        ArgumentNullException.ThrowIfNull(bindAddress);
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);
        if (bindAddress.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"the PMI server needs an IPv4 address, got {bindAddress}: MPICH reads PMI_PORT as host:port", nameof(bindAddress));
        }
        _bindAddress = bindAddress;
        _requestedPort = port;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Where the server listens; valid after <see cref="StartAsync"/>.</summary>
    public IPEndPoint EndPoint => _endPoint ?? throw NotStarted();

    /// <summary>The TCP port; valid after <see cref="StartAsync"/>.</summary>
    public int Port => EndPoint.Port;

    /// <summary>The address ranks connect to: the bind address, or loopback when bound to any address.</summary>
    public IPAddress ConnectAddress => _bindAddress.Equals(IPAddress.Any) ? IPAddress.Loopback : _bindAddress;

    /// <summary>How long a new connection may take to send <c>cmd=initack</c> before it is closed.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Raised when a connection is closed before it named a rank of a live job (bad first line, unknown or taken PMI id).</summary>
    public event Action<PmiRejectedConnection>? ConnectionRejected;

    /// <summary>Binds, listens and starts accepting connections.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_listener is not null)
            {
                throw new InvalidOperationException("the PMI server is already started");
            }
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                listener.Bind(new IPEndPoint(_bindAddress, _requestedPort));
                listener.Listen(ListenBacklog);
            }
            catch
            {
                listener.Dispose();
                throw;
            }
            _listener = listener;
            _endPoint = (IPEndPoint)listener.LocalEndPoint!;
            _acceptLoop = AcceptLoopAsync(listener);
        }
        PmiLog.Listening(_logger, EndPoint);
        return Task.CompletedTask;
    }

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
            int port = _endPoint?.Port ?? throw NotStarted();
            if ((long)_nextPmiId + size > int.MaxValue)
            {
                throw new InvalidOperationException($"the PMI server has handed out {_nextPmiId} PMI ids and cannot fit a job of {size} more");
            }
            int number = _nextJobNumber++;
            kvsName ??= string.Create(CultureInfo.InvariantCulture, $"dragon_{Environment.ProcessId}_{port}_{number}");
            if (_jobs.Exists(j => j.KvsName == kvsName))
            {
                throw new ArgumentException($"a job with KVS name {kvsName} is already on this server", nameof(kvsName));
            }
            job = new PmiJob(this, kvsName, size, _nextPmiId, mapping, local, exchange ?? PmiJob.LocalOnlyExchange, _logger);
            _nextPmiId += size;
            _jobs.Add(job);
        }
        PmiLog.JobCreated(_logger, job.KvsName, size, local.Length, job.FirstPmiId, job.FirstPmiId + size - 1, mapping.Value);
        return job;
    }

    /// <summary>Stops listening, closes every job and connection, and waits for their loops to end.</summary>
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

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
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
        if (_endPoint is not null)
        {
            PmiLog.Stopped(_logger, _endPoint);
        }
        _stopping.Dispose();
    }

    /// <summary>Binds a connection to the job and rank its PMI id names.</summary>
    /// <exception cref="PmiProtocolException">No live job owns the id, or the rank is not local or already connected.</exception>
    internal (PmiJob Job, int Rank) Attach(int pmiId, PmiConnection connection)
    {
        PmiJob? job;
        lock (_lock)
        {
            job = _jobs.Find(j => pmiId >= j.FirstPmiId && pmiId - j.FirstPmiId < j.Size);
        }
        if (job is null)
        {
            throw new PmiProtocolException($"PMI id {pmiId} belongs to no live job on this server");
        }
        int rank = pmiId - job.FirstPmiId;
        job.Attach(rank, connection);
        return (job, rank);
    }

    internal void RemoveJob(PmiJob job)
    {
        lock (_lock)
        {
            _jobs.Remove(job);
        }
    }

    internal void Forget(PmiConnection connection) => _connections.TryRemove(connection, out _);

    internal void Reject(PmiConnection connection, string reason)
    {
        PmiLog.ConnectionRejected(_logger, connection.RemoteEndPoint, reason);
        try
        {
            ConnectionRejected?.Invoke(new PmiRejectedConnection(connection.RemoteEndPoint, reason));
        }
        catch (Exception e)
        {
            PmiLog.RejectHandlerFailed(_logger, e);
        }
    }

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

    private async Task AcceptLoopAsync(Socket listener)
    {
        var stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (stopping.IsCancellationRequested || e is ObjectDisposedException)
            {
                return;
            }
            catch (Exception e)
            {
                // Out of descriptors, or a connection reset while queued: keep serving the others.
                PmiLog.AcceptFailed(_logger, e);
                await Task.Delay(TimeSpan.FromMilliseconds(50), CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            PmiConnection connection;
            try
            {
                socket.NoDelay = true;
                connection = new PmiConnection(this, socket, _logger);
            }
            catch (SocketException)
            {
                // Reset by the peer between accept and here: nobody to serve.
                socket.Dispose();
                continue;
            }
            _connections.TryAdd(connection, 0);
            connection.Start(HandshakeTimeout);
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

    private static InvalidOperationException NotStarted() => new("the PMI server is not started");
}
