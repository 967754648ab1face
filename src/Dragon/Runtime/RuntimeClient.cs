using System.Net.Sockets;
using Dragon.Runtime.Protocol;

namespace Dragon.Runtime;

/// <summary>
/// The link from a user process to its node service: one Unix socket carrying a <see cref="FramedConnection"/>
/// (requests pipelined, writes coalesced), after a hello that proves the run's secret.
/// </summary>
internal sealed class RuntimeClient : IDisposable
{
    private static readonly System.Threading.Lock s_instanceLock = new();
    private static RuntimeClient? s_instance;
    private static (string SocketPath, string Secret, ulong Puid)? s_hosted;
    private static int s_noRuntimeHandler;
    private static long s_requestsSent;
    private const string NoRuntimeMarker = "Dragon.NoRuntime";

    private readonly FramedConnection _connection;

    /// <summary>How long a process that exits waits for its queued notices to be written.</summary>
    private static readonly TimeSpan s_exitFlush = TimeSpan.FromSeconds(10);

    private RuntimeClient(Socket socket)
    {
        _connection = new FramedConnection(socket, "the node service", dialled: true, new FrameHandlers { Notice = OnNotice }, static (_, reason) => Lost(reason));
        // Puts to other nodes return once queued to this connection: a process that ends normally writes them out
        // first, so what it put reaches its node service (and goes on from there).
        AppDomain.CurrentDomain.ProcessExit += (_, _) => _connection.WaitWritten(s_exitFlush);
        _ = _connection.Closed.ContinueWith(
            static (_, state) => Channels.RemoteSender.OnConnectionLost(((FramedConnection)state!).LostReason ?? new IOException("the connection closed")),
            _connection,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>What the node service tells this process unasked: delivery reports of its puts to other nodes.</summary>
    private static ValueTask OnNotice(IMessage notice, CancellationToken cancellationToken)
    {
        if (notice is ChannelPutAck ack)
        {
            Channels.RemoteSender.OnAck(ack);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Sends a notice (no reply); notices reach the node service in the order given.</summary>
    public ValueTask NotifyAsync(IMessage notice) => _connection.NotifyAsync(notice);

    public required HelloReply Hello { get; init; }

    public ulong Puid { get; init; }

    /// <summary>The connection of this process, made on first use from the environment the runtime set.</summary>
    public static RuntimeClient Current
    {
        get
        {
            if (s_instance is { } existing)
            {
                return existing;
            }

            lock (s_instanceLock)
            {
                s_instance ??= s_hosted is { } hosted ? Connect(hosted.SocketPath, hosted.Secret, hosted.Puid) : ConnectFromEnvironment();
                return s_instance;
            }
        }
    }

    /// <summary>True when this process was started by the runtime, or hosts one.</summary>
    public static bool IsAvailable => s_hosted is not null || Environment.GetEnvironmentVariable(RuntimeEnvironment.Socket) is not null;

    /// <summary>The nodes of the run, as the hello reported them.</summary>
    public IReadOnlyList<Node> Nodes => field ??= Hello.Nodes.Select(Node.From).ToArray();

    /// <summary>
    /// Points this process at a runtime it hosts itself (its node service runs in this process): the next
    /// <see cref="Current"/> connects there instead of reading the environment.
    /// </summary>
    internal static void UseHosted(string socketPath, string secret, ulong puid)
    {
        lock (s_instanceLock)
        {
            if (s_hosted is not null || s_instance is not null)
            {
                throw new InvalidOperationException("this process is already connected to a Dragon runtime");
            }

            s_hosted = (socketPath, secret, puid);
        }
    }

    /// <summary>Closes the connection to a hosted runtime that is ending; a later call may host another.</summary>
    internal static void EndHosted()
    {
        lock (s_instanceLock)
        {
            s_instance?.Dispose();
            s_instance = null;
            s_hosted = null;
        }
    }

    private static RuntimeClient ConnectFromEnvironment()
    {
        var path = Environment.GetEnvironmentVariable(RuntimeEnvironment.Socket);
        var secret = Environment.GetEnvironmentVariable(RuntimeEnvironment.Secret);
        if (path is null || secret is null)
        {
            throw NoRuntime();
        }

        _ = ulong.TryParse(Environment.GetEnvironmentVariable(RuntimeEnvironment.Puid), out var puid);
        return Connect(path, secret, puid);
    }

    /// <summary>
    /// The error of a runtime call in a program that is neither started by <c>dragon</c> nor hosting a runtime: a
    /// program can catch it; left unhandled it ends the program with its one line, not a stack trace, since the
    /// fix is in how the program is started, not in its code.
    /// </summary>
    private static DragonException NoRuntime()
    {
        var error = DragonErrors.NotInRuntime();
        error.Data[NoRuntimeMarker] = true;
        if (Interlocked.Exchange(ref s_noRuntimeHandler, 1) == 0)
        {
            AppDomain.CurrentDomain.UnhandledException += static (_, e) =>
            {
                if (e.ExceptionObject is DragonException unhandled && unhandled.Data.Contains(NoRuntimeMarker))
                {
                    Console.Error.WriteLine($"dragon: {unhandled.Message}");
                    Environment.Exit(1);
                }
            };
        }

        return error;
    }

    /// <summary>Connects to a node service socket and proves the run's secret.</summary>
    public static RuntimeClient Connect(string socketPath, string secret, ulong puid)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        FramedConnection.SizeControlBuffers(socket);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw DragonErrors.CannotReach(socketPath, e);
        }

        // Say hello synchronously before the reader starts so the reply is read in order.
        using var stream = new NetworkStream(socket, ownsSocket: false);
        var frame = FrameCodec.Encode(0, new HelloRequest(secret, puid, Environment.ProcessId));
        stream.Write(frame);
        var reply = FrameCodec.Read(stream);
        switch (reply?.Message)
        {
            case HelloReply hello:
                var node = Array.Find(hello.Nodes, n => n.Index == hello.NodeIndex)?.Name ?? string.Empty;
                Log.Connected(DragonRuntime.RuntimeLogger, hello.RunId, hello.NodeIndex, node, socketPath, puid);
                return new RuntimeClient(socket) { Hello = hello, Puid = puid };
            case ErrorReply error:
                socket.Dispose();
                throw DragonErrors.Refused(error.Message);
            default:
                socket.Dispose();
                throw DragonErrors.ClosedDuringHello();
        }
    }

    /// <summary>Sends a request and waits for its reply; an <see cref="ErrorReply"/> becomes an exception.</summary>
    public async Task<TReply> RequestAsync<TReply>(IMessage request, CancellationToken cancellationToken = default)
        where TReply : IMessage
    {
        var reply = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        return reply switch
        {
            TReply typed => typed,
            ErrorReply { Kind: ErrorKind.NodeLost } error => throw NodeLost(request, error),
            ErrorReply error => throw RemoteErrors.ToException(error, cancellationToken),
            _ => throw DragonErrors.UnexpectedReply(reply, request),
        };
    }

    private static Exception NodeLost(IMessage request, ErrorReply error)
    {
        Log.NodeLost(DragonRuntime.RuntimeLogger, request.GetType().Name, error.Context?.NodeIndex, error.Message);
        return RemoteErrors.ToException(error);
    }

    /// <summary>Blocking form for the synchronous API; never called from inside the runtime core.</summary>
    public TReply Request<TReply>(IMessage request)
        where TReply : IMessage => RequestAsync<TReply>(request).GetAwaiter().GetResult();

    /// <summary>
    /// Sends a request and waits for its one reply. Cancellation is a request too: a token that fires sends a
    /// <see cref="CancelRequest"/> and the wait goes on for the final reply, which says what was done (a message
    /// taken at the moment of the cancel comes back in it, never dropped). The connection's loss ends the wait.
    /// </summary>
    private Task<IMessage> SendAsync(IMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref s_requestsSent);
        return _connection.RequestAsync(request, cancellationToken);
    }

    /// <summary>Requests this process has sent to its node service, for tests that prove a path makes none.</summary>
    internal static long RequestsSent => Interlocked.Read(ref s_requestsSent);

    private static DragonException Lost(Exception reason) => DragonErrors.ConnectionLost(reason);

    public void Dispose() => _connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
