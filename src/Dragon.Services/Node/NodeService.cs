using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;
using Dragon.Services.Global;
using Dragon.Services.Objects;
using Dragon.Services.Runtime;
using Dragon.Services.Spawning;
using Dragon.Services.Transport;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Node;

/// <summary>
/// The service of one node: parent of every process on it. Serves the node's processes over a Unix socket in the
/// run directory, spawns, captures output, reaps, and reports exits to global services.
/// </summary>
internal sealed partial class NodeService : INodeControl, IAsyncDisposable
{
    private readonly ConcurrentDictionary<ulong, LocalProcess> _processes = new();
    private readonly ConcurrentDictionary<ControlSession, byte> _sessions = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private readonly Socket _listener;
    private readonly Socket _linkListener;
    private readonly Task _acceptLoop;
    private readonly Task _linkAcceptLoop;
    private readonly ConcurrentDictionary<int, Task<FramedConnection>> _links = new();
    private readonly byte[] _secret;

    /// <summary>The run's secret as bytes, for checking what a new connection presents.</summary>
    public ReadOnlySpan<byte> SecretBytes => _secret;

    private readonly ConcurrentDictionary<ulong, Pmi.PmiJob> _pmiJobs = new();

    /// <summary>The service's own environment, read once: every child starts from it (less the runtime's variables).</summary>
    private readonly Lazy<Dictionary<string, string>> _baseEnvironment = new(() =>
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            var key = (string)entry.Key;
            if (!key.StartsWith("DRAGON_", StringComparison.Ordinal) && key != "DOTNET_STARTUP_HOOKS")
            {
                env[key] = (string?)entry.Value ?? string.Empty;
            }
        }

        return env;
    });

    /// <param name="run">The run this node belongs to.</param>
    /// <param name="index">The node's index in the run.</param>
    /// <param name="name">The node's name (host name, or localN).</param>
    /// <param name="linkAddress">Where to accept links from other nodes.</param>
    /// <param name="advertised">The address other nodes dial; null for <paramref name="linkAddress"/>.</param>
    public NodeService(RunContext run, int index, string name, IPAddress linkAddress, IPAddress? advertised = null)
    {
        Run = run;
        _secret = LinkHandshake.SecretBytes(run.Secret);
        _logger = run.Loggers.CreateLogger($"node{index}");
        _linkListener = new Socket(linkAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _linkListener.Bind(new IPEndPoint(linkAddress, 0));
        _linkListener.Listen(128);
        var endpoint = (IPEndPoint)_linkListener.LocalEndPoint!;
        Descriptor = DescribeLocal(index, name, $"{advertised ?? endpoint.Address}:{endpoint.Port}");
        Objects = new HostedObjects(run, index, destroyed => GlobalLink.Notify(new ObjectUnregisterNotice(destroyed)), _logger);
        _figures = new Diagnostics.NodeFigures(index, Objects, LinkSockets);
        SocketPath = RunLayout.NodeSocket(run.RunDir, index);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        File.SetUnixFileMode(SocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _listener.Listen(512);
        _acceptLoop = Task.Run(AcceptLoopAsync);
        _linkAcceptLoop = Task.Run(AcceptLinksAsync);
        _pmi = new Lazy<Pmi.PmiServer>(() => new Pmi.PmiServer(run.Loggers.CreateLogger($"pmi{index}")));
    }

    private readonly Lazy<Pmi.PmiServer> _pmi;
    private readonly Diagnostics.NodeFigures _figures;

    /// <summary>The PMI server of this node, created on first use by an MPI group; it listens nowhere (ranks get socketpairs).</summary>
    public Pmi.PmiServer PmiServer => _pmi.Value;

    /// <summary>Channels and synchronization objects whose home is this node.</summary>
    public HostedObjects Objects { get; }

    public RunContext Run { get; }

    /// <summary>How this node reaches global services; set once the node is part of a run.</summary>
    public IGlobalLink GlobalLink { get; set; } = null!;

    /// <summary>The run's node table (endpoints for links), set at bring-up.</summary>
    public NodeDescriptor[] Nodes { get; set; } = [];

    public NodeDescriptor Descriptor { get; }

    public string SocketPath { get; }

    /// <summary>Describes this machine as a node.</summary>
    public static NodeDescriptor DescribeLocal(int index, string name, string endpoint)
    {
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var bootId = File.Exists("/proc/sys/kernel/random/boot_id") ? File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim() : "unknown";
        return new NodeDescriptor(index, name, Environment.MachineName, GrantedCpus(), memory, $"{bootId}/{name}", endpoint);
    }

    /// <summary>
    /// The CPUs this node may use: the affinity mask and cgroup limit (<see cref="Environment.ProcessorCount"/>), and
    /// inside a Slurm job no more than the job was granted on this node (<c>SLURM_CPUS_ON_NODE</c>), which Slurm does
    /// not always enforce with a mask (task/none).
    /// </summary>
    internal static int GrantedCpus()
    {
        var cpus = Environment.ProcessorCount;
        return Environment.GetEnvironmentVariable("SLURM_JOB_ID") is { Length: > 0 }
            && int.TryParse(Environment.GetEnvironmentVariable("SLURM_CPUS_ON_NODE"), out var granted) && granted > 0
            ? Math.Min(cpus, granted)
            : cpus;
    }

    public Task<SpawnReply> SpawnAsync(SpawnRequest request) => Task.FromResult(Spawn(request));

    /// <summary>
    /// Starts a request's entries in order and stops at the first that cannot start. Whatever the failure, the reply
    /// lists every process started before it: they run, and the caller must know them to account for them.
    /// </summary>
    public SpawnReply Spawn(SpawnRequest request)
    {
        var started = new ProcessDescriptor[request.Entries.Length];
        for (var k = 0; k < request.Entries.Length; k++)
        {
            var entry = request.Entries[k];
            try
            {
                var extraEnv = entry.ExtraEnv.Length == 0 ? null : entry.ExtraEnv.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
                started[k] = Spawn(entry.Puid, request.Specs[entry.Spec], entry.GroupId, extraEnv);
            }
            catch (ServiceException e)
            {
                return new SpawnReply(started[..k], e.ToReply());
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return new SpawnReply(started[..k], new ErrorReply(ErrorKind.Internal, $"starting process {entry.Puid} on node {Descriptor.Name} failed: {e.Message}", new ErrorContext(entry.Puid, Descriptor.Index)));
            }
        }

        return new SpawnReply(started, null);
    }

    public ProcessDescriptor Spawn(ulong puid, ProcessSpec spec, ulong groupId, IReadOnlyDictionary<string, string>? extraEnv)
    {
        SpawnInput.Validate(spec);
        var env = BuildEnvironment(puid, spec, extraEnv);
        string executable;
        try
        {
            if (spec.Cwd is not null && !Directory.Exists(spec.Cwd))
            {
                throw new SpawnException(File.Exists(spec.Cwd)
                    ? $"working directory {spec.Cwd} is not a directory"
                    : $"working directory {spec.Cwd} does not exist");
            }

            executable = ExecutableResolver.Resolve(spec.Executable, spec.Cwd, env.GetValueOrDefault("PATH"));
        }
        catch (SpawnException e)
        {
            throw new ServiceException(ErrorKind.StartFailed, e.Message, new ErrorContext(puid, Descriptor.Index));
        }

        var capture = Run.Label || Run.CaptureInherited;
        SpawnedChild child;
        var startsNotBefore = ProcessIdentity.BootTicks();
        using var pmiEnd = OpenPmiRank(groupId, extraEnv);
        try
        {
            child = Spawner.Spawn(
                executable,
                [spec.Executable, .. spec.Args],
                env.Select(kv => $"{kv.Key}={kv.Value}").ToArray(),
                spec.Cwd,
                spec.Stdin,
                spec.Stdout,
                spec.Stderr,
                capture,
                spec.Placement.Cpus,
                pmiEnd is null ? null : ((int)pmiEnd.DangerousGetHandle(), Pmi.PmiEnvironment.RankFd));
        }
        catch (SpawnException e)
        {
            throw new ServiceException(ErrorKind.StartFailed, e.Message, new ErrorContext(puid, Descriptor.Index));
        }

        LocalProcess process;
        var watched = false;
        try
        {
            Run.RecordProcess(child.Pid, startsNotBefore, ProcessIdentity.BootTicks());
            var label = $"[{puid}@{Descriptor.Name}] ";
            var stdout = Pump(child.StdoutRead, spec.Stdout, label, isError: false);
            var stderr = Pump(child.StderrRead, spec.Stderr, label, isError: true);
            process = new LocalProcess(puid, child, stdout, stderr, spec.MethodTarget);
            _processes[puid] = process;
            process.WatchExit(OnChildExited);
            watched = true;
            foreach (var pump in new[] { stdout, stderr })
            {
                _ = pump?.Drained.ContinueWith(_ => RetireIfSpent(process), TaskScheduler.Default);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or SpawnException)
        {
            // The child runs, but this service could not record or watch it (a full disk for the record, no
            // descriptors left for its pipes): it is killed now, never left running unknown to everyone.
            _ = Native.kill(-child.Pid, Signals.SIGKILL);
            if (!watched)
            {
                _processes.TryRemove(puid, out _);
                _ = Native.waitpid(child.Pid, out _, 0);
            }

            throw new ServiceException(ErrorKind.StartFailed, $"process {puid} started as pid {child.Pid} on node {Descriptor.Name} but could not be watched, so it was killed: {e.Message}", new ErrorContext(puid, Descriptor.Index));
        }

        return new ProcessDescriptor(
            puid, Descriptor.Index, child.Pid, child.StdinWrite >= 0, spec.Stdout.Kind == StdioKind.Pipe, spec.Stderr.Kind == StdioKind.Pipe, groupId, spec.DisplayName);
    }

    /// <summary>The rank's end of its PMI socketpair when this spawn is a rank of an MPI job on this node, else null.</summary>
    private System.Net.Sockets.SafeSocketHandle? OpenPmiRank(ulong groupId, IReadOnlyDictionary<string, string>? extraEnv)
    {
        if (extraEnv is null || !extraEnv.ContainsKey(Pmi.PmiEnvironment.Fd)
            || !extraEnv.TryGetValue(Pmi.PmiEnvironment.Rank, out var rankText)
            || !int.TryParse(rankText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var rank))
        {
            return null;
        }

        if (!_pmiJobs.TryGetValue(groupId, out var job))
        {
            throw new ServiceException(ErrorKind.StartFailed, $"MPI job of group {groupId} has no PMI job on node {Descriptor.Name}", new ErrorContext(NodeIndex: Descriptor.Index, Rank: rank));
        }

        try
        {
            return job.OpenRank(rank);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException or IOException)
        {
            throw new ServiceException(ErrorKind.StartFailed, $"rank {rank} cannot get its PMI connection on node {Descriptor.Name}: {e.Message}", new ErrorContext(NodeIndex: Descriptor.Index, Rank: rank));
        }
    }

    private OutputPump? Pump(int fd, StdioSpec spec, string label, bool isError)
    {
        if (fd < 0)
        {
            return null;
        }

        if (spec.Kind == StdioKind.Pipe)
        {
            return OutputPump.Piped(fd, label);
        }

        var pump = OutputPump.Forwarded(fd, Run.Output, Run.Label ? label : string.Empty, isError);
        _forwarding[pump] = 0;
        _ = pump.Drained.ContinueWith(_ => _forwarding.TryRemove(pump, out byte _), TaskScheduler.Default);
        return pump;
    }

    private readonly ConcurrentDictionary<OutputPump, byte> _forwarding = new();

    /// <summary>Completes when every forwarded stream open now has reached end of file and handed on all its lines.</summary>
    public Task ForwardedOutputDrained => Task.WhenAll(_forwarding.Keys.Select(p => p.Drained));

    /// <summary>
    /// Once a process exited and its output was all handed on or read, no one can ask anything of it that needs more
    /// than "it is gone": its record (pipes, method target, pumps) is replaced by one shared stand-in.
    /// </summary>
    public void RetireIfSpent(LocalProcess process)
    {
        if (process.IsSpent)
        {
            _processes.TryUpdate(process.Puid, LocalProcess.Retired, process);
        }
    }

    private Dictionary<string, string> BuildEnvironment(ulong puid, ProcessSpec spec, IReadOnlyDictionary<string, string>? extraEnv)
    {
        var env = new Dictionary<string, string>(_baseEnvironment.Value, StringComparer.Ordinal);

        env[RuntimeEnvironment.RunId] = Run.RunId;
        env[RuntimeEnvironment.Socket] = SocketPath;
        env[RuntimeEnvironment.Secret] = Run.Secret;
        env[RuntimeEnvironment.Puid] = puid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env[RuntimeEnvironment.NodeIndex] = Descriptor.Index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env[RuntimeEnvironment.RunDir] = Run.RunDir;
        if (Pmi.PmiEnvironment.IsRankEnvironment(extraEnv))
        {
            // An MPI rank must not see the PMI settings of a launcher that itself runs under mpiexec.
            foreach (var key in env.Keys.Where(Pmi.PmiEnvironment.IsInherited).ToArray())
            {
                env.Remove(key);
            }
        }

        foreach (var (key, value) in extraEnv ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        foreach (var (key, value) in spec.Env)
        {
            if (value == ProcessTemplate.EnvUnsetMarker)
            {
                env.Remove(key);
            }
            else
            {
                env[key] = value;
            }
        }

        return env;
    }

    /// <summary>The control sessions of this node's processes, by puid (the last one a process opened).</summary>
    private readonly ConcurrentDictionary<ulong, ControlSession> _sessionOf = new();

    public void SessionStarted(ulong puid, ControlSession session) => _sessionOf[puid] = session;

    public void SessionEnded(ulong puid, ControlSession session) => _sessionOf.TryRemove(new KeyValuePair<ulong, ControlSession>(puid, session));

    /// <summary>How long an exit waits for the process's control session to be read to its end.</summary>
    private static readonly TimeSpan s_sessionDrain = TimeSpan.FromSeconds(2);

    private void OnChildExited(LocalProcess process, int code, int signal)
    {
        if (_sessionOf.TryGetValue(process.Puid, out var session) && !session.Ended.IsCompleted)
        {
            // What the process sent before it exited (puts to other nodes above all) is served before its exit is
            // told: whoever waits for the exit and then uses the channel finds those messages on their way first.
            _ = session.Ended.WaitAsync(s_sessionDrain).ContinueWith(_ => ReportExit(process, code, signal), TaskScheduler.Default);
            return;
        }

        ReportExit(process, code, signal);
    }

    private void ReportExit(LocalProcess process, int code, int signal)
    {
        // Output may still be in the pipes: it stays readable after the exit is reported.
        GlobalLink.Notify(new ProcessExitedNotice(process.Puid, code, signal));
        LogReaped(process.Puid, process.Pid, code, signal);
        RetireIfSpent(process);
    }

    /// <summary>This node's channel traffic and host use, read now.</summary>
    public NodeMetricsNotice SampleFigures() => _figures.Sample();

    /// <summary>This node's links to other nodes (the ones it dialled or was dialled on), and to the launcher (peer -1).</summary>
    private IEnumerable<(int Peer, Socket Socket)> LinkSockets()
    {
        foreach (var (peer, link) in _links)
        {
            if (link.IsCompletedSuccessfully)
            {
                yield return (peer, link.Result.Socket);
            }
        }

        if (GlobalLink is RemoteGlobalLink launcher)
        {
            yield return (-1, launcher.Socket);
        }
    }

    public void Signal(ulong puid, int signal)
    {
        if (_processes.TryGetValue(puid, out var process))
        {
            process.Signal(signal);
        }
    }

    public void OnProcessExited(ulong puid) => Objects.OnProcessExited(puid);


    public Task<PmiJobReply> CreatePmiJobAsync(PmiJobRequest request)
    {
        if (request.Mode == PmiMode.Pmix)
        {
            return CreatePmixJobAsync(request);
        }

        var server = PmiServer;
        var groupId = request.GroupId;
        var job = server.CreateJob(request.NodeOfRank.Length, Pmi.PmiProcessMapping.FromNodeOfRank(request.NodeOfRank), request.LocalRanks, JobWideExchange(request), request.KvsName);
        job.RankEvent += e => GlobalLink.Notify(new PmiEventNotice(groupId, e.Rank, (int)e.Kind, e.ExitCode ?? 0, e.Message));
        _pmiJobs[groupId] = job;
        return Task.FromResult(new PmiJobReply(request.LocalRanks, request.LocalRanks.Select(r => job.EnvironmentFor(r).ToArray()).ToArray()));
    }

    /// <summary>How a PMI barrier or PMIx fence reaches the other nodes: through global services, once per node; null on one node.</summary>
    private Pmi.PmiBarrierExchange? JobWideExchange(PmiJobRequest request)
    {
        var groupId = request.GroupId;
        return request.JobWideBarrier
            ? async (puts, cancellationToken) =>
            {
                var reply = await GlobalLink.RequestAsync(new PmiExchangeRequest(groupId, Descriptor.Index, puts.ToArray()), cancellationToken).ConfigureAwait(false);
                return reply is PmiExchangeReply all
                    ? all.Puts.ToDictionary(kv => kv.Key, kv => kv.Value)
                    : throw new InvalidOperationException($"the job-wide PMI barrier failed: {(reply as ErrorReply)?.Message}");
            }
            : null;
    }

    public void ClosePmiJob(ulong groupId)
    {
        if (_pmiJobs.TryRemove(groupId, out var job))
        {
            job.Dispose();
        }

        ClosePmixJob(groupId);
    }

    private readonly TaskCompletionSource<TimeSpan> _shutdown = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes (with the patience to use) when global services tell this node the run is ending.</summary>
    public Task<TimeSpan> ShutdownRequested => _shutdown.Task;

    public void RequestShutdown(TimeSpan patience) => _shutdown.TrySetResult(patience);

    /// <summary>The width of the run's tree, from the node table (0 before it arrives).</summary>
    public int TreeWidth { get; private set; }

    /// <summary>
    /// Takes the run's node table and passes it to this node's children in the run's tree; completes when every node
    /// below this one holds it, and fails naming the first that could not be reached.
    /// </summary>
    public async Task TakeNodeTableAsync(NodeTableRequest table, CancellationToken cancellationToken)
    {
        if (table.FanOut < 1 || Descriptor.Index >= table.Nodes.Length)
        {
            throw new ServiceException(ErrorKind.InvalidArgument, $"node {Descriptor.Name} got a node table of {table.Nodes.Length} nodes and fan-out {table.FanOut}, which does not hold it");
        }

        Nodes = table.Nodes;
        TreeWidth = table.FanOut;
        await Task.WhenAll(NodeTree.Children(Descriptor.Index, Nodes.Length, TreeWidth).Select(child => PassDownAsync(child, table, cancellationToken))).ConfigureAwait(false);
    }

    /// <summary>Passing the end of the run on to this node's children; the service waits for it before it closes its links.</summary>
    public Task ShutdownSpread { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// The end of the run, from the launcher or this node's parent: passes it on to this node's children, then stops
    /// here. Completes once every child has it, and fails naming the first that could not be told, so the launcher
    /// tells that part of the tree itself.
    /// </summary>
    public Task ShutdownAsync(ShutdownRequest shutdown)
    {
        var spread = ShutdownSpread = Task.WhenAll(NodeTree.Children(Descriptor.Index, Nodes.Length, TreeWidth).Select(child => PassDownAsync(child, shutdown, CancellationToken.None)));
        RequestShutdown(TimeSpan.FromMilliseconds(shutdown.PatienceMs));
        return spread;
    }

    /// <summary>Sends a request of the run's tree to a child; its error reply, or no answer in time, fails naming the child.</summary>
    private async Task PassDownAsync(int child, IMessage request, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(s_treeDeadline);
        IMessage reply;
        try
        {
            // A cancelled request only tells the child to stop and still waits for its answer: the wait itself is
            // bounded, so a child that stopped answering (stopped, not gone) fails this node's answer, named.
            reply = await ForwardAsync(child, request, deadline.Token).WaitAsync(s_treeDeadline, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when ((e is TimeoutException || (e is OperationCanceledException && deadline.IsCancellationRequested)) && !cancellationToken.IsCancellationRequested && !_stopping.IsCancellationRequested)
        {
            throw new ServiceException(ErrorKind.NodeLost, $"node {Nodes[child].Name} did not answer {request.GetType().Name} within {s_treeDeadline.TotalSeconds:F0} s", new ErrorContext(NodeIndex: child));
        }

        if (reply is ErrorReply error)
        {
            throw new ServiceException(error.Kind, error.Message, error.Context);
        }
    }

    /// <summary>How long a node of the run's tree waits for a child (and so for the child's own subtree) to answer.</summary>
    private static readonly TimeSpan s_treeDeadline = TimeSpan.FromSeconds(20);

    /// <summary>Every process of this node still running (for teardown).</summary>
    public IEnumerable<LocalProcess> RunningProcesses => _processes.Values.Where(p => !p.Exited);

    /// <summary>The link to another node's service, dialled on first use (one per pair of nodes that talk).</summary>
    public Task<FramedConnection> LinkTo(int peer) =>
        _links.GetOrAdd(peer, p => DialAsync(p));

    private async Task<FramedConnection> DialAsync(int peer)
    {
        // A host that vanished answers nothing: give the dial as long as a handshake, not TCP's minutes.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        deadline.CancelAfter(LinkHandshake.Deadline);
        return await Links.DialAsync(Nodes[peer].Endpoint, peer, Descriptor.Index, _secret, ServeLinkAsync, deadline.Token).ConfigureAwait(false);
    }

    /// <summary>Sends a request to another node's service and waits for its reply.</summary>
    public Task<IMessage> ForwardAsync(int peer, IMessage request, CancellationToken cancellationToken) => ForwardAsync(peer, request, relay: false, cancellationToken);

    /// <summary>
    /// As <see cref="ForwardAsync(int, IMessage, CancellationToken)"/>; with <paramref name="relay"/>, the caller only
    /// passes the reply back to the process that asked, and does so on the link's reader as the reply comes (see
    /// <see cref="FramedConnection.RequestAsync(IMessage, bool, CancellationToken)"/>): one wake-up of a thread less on
    /// every request a process makes of another node.
    /// </summary>
    public async Task<IMessage> ForwardAsync(int peer, IMessage request, bool relay, CancellationToken cancellationToken)
    {
        var dialling = LinkTo(peer);
        try
        {
            var link = await dialling.ConfigureAwait(false);
            return await link.RequestAsync(request, relay, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or AuthenticationFailedException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested && !_stopping.IsCancellationRequested))
        {
            // Forget the link (or the failed dial), so a node that comes back is dialled afresh.
            _links.TryRemove(new KeyValuePair<int, Task<FramedConnection>>(peer, dialling));
            throw new ServiceException(ErrorKind.NodeLost, $"node {Nodes[peer].Name} is lost or cannot be reached: {e.Message}", new ErrorContext(NodeIndex: peer));
        }
    }

    /// <summary>Puts of this node's processes to channels on other nodes.</summary>
    public RemotePuts RemotePuts => field ??= new RemotePuts(this, _logger);

    /// <summary>Sends a delivery report to the node of the sender it is for (the sender key's top 16 bits).</summary>
    public void SendPutAck(ChannelPutAck ack)
    {
        var senderNode = (int)(ack.Sender >> 48);
        if (senderNode == Descriptor.Index)
        {
            RemotePuts.OnAck(ack);
            return;
        }

        _ = SendPutAckAsync(senderNode, ack);
    }

    private async Task SendPutAckAsync(int senderNode, ChannelPutAck ack)
    {
        try
        {
            var link = await LinkTo(senderNode).ConfigureAwait(false);
            await link.NotifyAsync(ack).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or AuthenticationFailedException or OperationCanceledException or ObjectDisposedException)
        {
            // The sender's node is gone, and with it whoever waited for this report.
        }
    }

    private Task<IMessage> ServeLinkAsync(IMessage request, CancellationToken cancellationToken) =>
        RequestHandler.HandleLinkAsync(this, request, cancellationToken);

    private async Task AcceptLinksAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            if (await Listener.AcceptAsync(_linkListener, e => LogAcceptFailed("link", e.Message), _stopping.Token).ConfigureAwait(false) is not { } socket)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                var remote = socket.RemoteEndPoint?.ToString() ?? "unknown";
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                    timeout.CancelAfter(LinkHandshake.Deadline);
                    var link = await Links.AcceptedAsync(socket, _secret, _ => ServeLinkAsync, timeout.Token).ConfigureAwait(false);
                    _links.TryAdd(link.PeerIndex, Task.FromResult(link));
                    _acceptedLinks.Add(link);
                }
                catch (Exception e) when (e is AuthenticationFailedException or IOException or SocketException or OperationCanceledException or EndOfStreamException)
                {
                    LogLinkRefused(remote, e.Message);
                    socket.Dispose();
                }
            });
        }
    }

    private readonly ConcurrentBag<FramedConnection> _acceptedLinks = [];

    /// <summary>True when the process was started by this node service (running, or exited and not yet forgotten).</summary>
    public bool Hosts(ulong puid) => _processes.ContainsKey(puid);

    public LocalProcess Find(ulong puid) =>
        _processes.TryGetValue(puid, out var process)
            ? process
            : throw new ServiceException(ErrorKind.NotFound, $"no process with puid {puid} on node {Descriptor.Name}", new ErrorContext(puid, Descriptor.Index));

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            if (await Listener.AcceptAsync(_listener, e => LogAcceptFailed("control", e.Message), _stopping.Token).ConfigureAwait(false) is not { } client)
            {
                return;
            }

            FramedConnection.SizeControlBuffers(client);
            var session = new ControlSession(this, client, _logger);
            _sessions[session] = 0;
            _ = session.RunAsync(_stopping.Token).ContinueWith(_ => _sessions.TryRemove(session, out byte _), TaskScheduler.Default);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        _linkListener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        await _linkAcceptLoop.ConfigureAwait(false);
        Objects.DestroyAll();
        if (_pmi.IsValueCreated)
        {
            await _pmi.Value.DisposeAsync().ConfigureAwait(false);
        }

        ReleasePmix();

        foreach (var link in _links.Values.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result).Concat(_acceptedLinks).Distinct())
        {
            await link.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var session in _sessions.Keys)
        {
            session.Dispose();
        }

        _stopping.Dispose();
        try
        {
            File.Delete(SocketPath);
        }
        catch (IOException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "accepting a {Kind} connection failed (retrying): {Reason}")]
    private partial void LogAcceptFailed(string kind, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "refused a link from {Remote}: {Reason}")]
    private partial void LogLinkRefused(string remote, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "reaped puid {Puid} pid {Pid}: code {Code} signal {Signal}")]
    private partial void LogReaped(ulong puid, int pid, int code, int signal);
}
