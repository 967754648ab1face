using System.Net;
using System.Net.Sockets;
using Dragon.Runtime.Protocol;
using Dragon.Services.Node;
using Dragon.Services.Runtime;
using Dragon.Services.Spawning;
using Dragon.Services.Transport;
using Microsoft.Extensions.Logging;

namespace Dragon.Launcher.Nodes;

/// <summary>
/// <c>dragon _node</c>: the node service of one host, started by the launcher over SSH or srun. It dials the
/// launcher, proves the run's secret, registers the host's hardware, serves until told the run is over (or until
/// the launcher is lost), then stops everything it started and removes what it made.
/// </summary>
internal static class NodeServiceMain
{
    public const string Command = "_node";

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        string? launcher = null, runId = null, indexText = null;
        string[] tree = [];
        var fanout = 0;
        var passOn = new List<string>();
        var label = false;
        var metrics = false;
        var level = LogLevel.None;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--launcher": launcher = args[++i]; passOn.AddRange([args[i - 1], args[i]]); break;
                case "--run-id": runId = args[++i]; passOn.AddRange([args[i - 1], args[i]]); break;
                case "--index": indexText = args[++i]; break;
                case "--label": label = true; passOn.Add(args[i]); break;
                case "--metrics": metrics = true; passOn.Add(args[i]); break;
                case "--run-base": Environment.SetEnvironmentVariable(RunLayout.BaseVariable, args[++i]); passOn.AddRange([args[i - 1], args[i]]); break;
                case "--log-level": level = Enum.Parse<LogLevel>(args[++i], ignoreCase: true); passOn.AddRange([args[i - 1], args[i]]); break;
                case "--fanout": fanout = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); passOn.AddRange([args[i - 1], args[i]]); break;
                case "--tree": tree = args[++i].Split(','); passOn.AddRange([args[i - 1], args[i]]); break;
                default: throw new UsageException($"unknown node service option '{args[i]}'");
            }
        }

        if (launcher is null || runId is null || indexText is null)
        {
            throw new UsageException("the node service needs --launcher HOST:PORT --run-id ID --index N|slurm");
        }

        var index = indexText == "slurm"
            ? int.Parse(Environment.GetEnvironmentVariable("SLURM_NODEID") ?? throw new UsageException("--index slurm outside a Slurm step"), System.Globalization.CultureInfo.InvariantCulture)
            : int.Parse(indexText, System.Globalization.CultureInfo.InvariantCulture);

        // The secret never appears on a command line: srun passes it in the environment, ssh on stdin.
        var secret = Environment.GetEnvironmentVariable("DRAGON_SECRET") ?? ReadFirstLineOfStdin()
            ?? throw new UsageException("the node service got no secret (DRAGON_SECRET or first line of stdin)");
        Environment.SetEnvironmentVariable("DRAGON_SECRET", null);

        // Start this node's share of the SSH tree first, so the next round of hosts comes up while this one registers.
        var children = fanout > 0
            ? NodeTree.Children(index, tree.Length, fanout)
                .Select(c => (Index: c, Starter: FanOut.StartOverSsh(tree[c], Environment.ProcessPath!, [Command, .. passOn, "--index", c.ToString(System.Globalization.CultureInfo.InvariantCulture)], secret)))
                .ToList()
            : [];

        var (host, port) = Links.ParseEndpoint(launcher);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(host, port).ConfigureAwait(false);
            using var handshake = new NetworkStream(socket, ownsSocket: false);
            await LinkHandshake.ConnectAsync(handshake, LinkHandshake.SecretBytes(secret), index, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or AuthenticationFailedException)
        {
            // The launcher refused or dropped this node (its handshake deadline passed, the run ended, a wrong
            // secret): nothing was started here yet, so there is nothing to clean.
            socket.Dispose();
            Console.Error.WriteLine($"dragon {Command}: node {index} could not join the launcher at {launcher}: {(e is EndOfStreamException ? "the launcher closed the connection during the handshake" : e.Message)}");
            foreach (var (_, child) in children)
            {
                child.Kill(entireProcessTree: true);
                child.Dispose();
            }

            return 1;
        }

        var sink = new LinkOutputSink();
        var run = RunContext.CreateForNode(runId, secret, index, sink, label, level == LogLevel.None ? null : dir => new FileLoggerFactory(dir, level));
        run.CaptureInherited = true;

        // If this service dies without cleaning up (SIGKILL, a crash), its fence kills what it started and removes its files.
        using var fence = Fence.Start(run.RunDir);
        var advertised = ((IPEndPoint)socket.LocalEndPoint!).Address;
        // Listen only where the other nodes dial (the address facing the launcher), never on every address. The
        // socket above is dual-stack, so an IPv4 address comes back mapped to IPv6.
        var listenAt = advertised.IsIPv4MappedToIPv6 ? advertised.MapToIPv4() : advertised;
        var node = new NodeService(run, index, Environment.MachineName, listenAt, advertised);
        var link = Links.Open(socket, peerIndex: -1, dialled: true, (request, cancellationToken) => RequestHandler.HandleLinkAsync(node, request, cancellationToken));
        var global = new RemoteGlobalLink(link);
        node.GlobalLink = global;
        sink.Link = global;
        try
        {
            // A child whose ssh ends before the run does never came up (or was lost): tell the launcher, which
            // fails a bring-up still waiting for it at once.
            foreach (var (childIndex, starter) in children)
            {
                _ = ReportIfStarterEndsAsync(link, node, childIndex, tree[childIndex], starter);
            }

            // The node table follows down the run's tree (RequestHandler), before the run's first process starts.
            var registered = await link.RequestAsync(new NodeRegisterRequest(node.Descriptor, Environment.ProcessId), CancellationToken.None).ConfigureAwait(false);
            if (registered is ErrorReply refused)
            {
                throw new InvalidOperationException($"the launcher refused this node: {refused.Message}");
            }

            using var reporting = new CancellationTokenSource();
            var reporter = metrics ? ReportFiguresAsync(node, global, reporting.Token) : Task.CompletedTask;
            var ended = await Task.WhenAny(node.ShutdownRequested, link.Closed).ConfigureAwait(false);
            if (ended != node.ShutdownRequested)
            {
                Console.Error.WriteLine($"dragon {Command}: node {index} lost the launcher: {link.LostReason?.Message}");
            }

            // A node service that lost the launcher has lost the run: it fences itself (SIGTERM, SIGKILL a short
            // grace later) rather than leave processes no one can reach any more.
            await reporting.CancelAsync().ConfigureAwait(false);
            await reporter.ConfigureAwait(false);
            var patience = ended == node.ShutdownRequested ? node.ShutdownRequested.Result : s_fenceGrace;
            await StopProcessesAsync(node, patience, skipInterrupt: ended != node.ShutdownRequested).ConfigureAwait(false);
            await DrainOutputAsync(node, global, link).ConfigureAwait(false);
            SendLogs(run, global, index);
            await global.FlushAsync().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            return ended == node.ShutdownRequested ? 0 : 1;
        }
        finally
        {
            foreach (var (_, child) in children)
            {
                // Each child node service ends with the run (told by the launcher, or on losing it); its ssh follows.
                if (!child.WaitForExit(TimeSpan.FromSeconds(10)))
                {
                    child.Kill(entireProcessTree: true);
                }

                child.Dispose();
            }

            // The end of the run reaches this node's children over its links to them: let it, before they close.
            await node.ShutdownSpread.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            await node.DisposeAsync().ConfigureAwait(false);
            await link.DisposeAsync().ConfigureAwait(false);
            run.Dispose();
            run.RemoveFiles(index);
            fence.Dispose();
        }
    }

    /// <summary>
    /// The first line of stdin, read a byte at a time so nothing after it is consumed, without <see cref="Console.In"/>
    /// (whose terminal and signal set-up cost each node service about a millisecond); null at end of file.
    /// </summary>
    private static string? ReadFirstLineOfStdin()
    {
        FileStream stdin;
        try
        {
            stdin = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(0, ownsHandle: false), FileAccess.Read, bufferSize: 0);
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            // No stdin at all: no secret on it.
            return null;
        }

        using var input = stdin;
        var line = new List<byte>(80);
        var one = new byte[1];
        while (Read(input, one) == 1)
        {
            if (one[0] == (byte)'\n')
            {
                return System.Text.Encoding.UTF8.GetString([.. line]).TrimEnd('\r');
            }

            if (line.Count >= 4096)
            {
                throw new UsageException("the first line of the node service's stdin (the run's secret) is longer than 4096 bytes");
            }

            line.Add(one[0]);
        }

        return line.Count > 0 ? System.Text.Encoding.UTF8.GetString([.. line]) : null;

        static int Read(FileStream input, byte[] one)
        {
            try
            {
                return input.Read(one, 0, 1);
            }
            catch (IOException)
            {
                return 0;
            }
        }
    }

    private static async Task ReportIfStarterEndsAsync(FramedConnection link, NodeService node, int childIndex, string host, System.Diagnostics.Process starter)
    {
        await starter.WaitForExitAsync().ConfigureAwait(false);
        if (link.Closed.IsCompleted || node.ShutdownRequested.IsCompleted)
        {
            return;
        }

        var error = (await starter.StandardError.ReadToEndAsync().ConfigureAwait(false)).Trim();
        var reason = $"ssh from {Environment.MachineName} exited with code {starter.ExitCode}" + (error.Length > 0 ? $": {error}" : string.Empty);
        try
        {
            await link.NotifyAsync(new NodeStartFailedNotice(childIndex, host, reason)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The link is gone: the run is ending anyway.
        }
    }

    /// <summary>
    /// Waits until the output of this node's processes has reached the launcher, for as long as it keeps moving (a
    /// slow terminal only slows it): the service must not end with lines still in its pipes. A stream that a
    /// stray descendant keeps open is given up after <see cref="s_outputStall"/> without progress.
    /// </summary>
    /// <summary>How often a node service on another host sends its figures while the run exports metrics.</summary>
    private static readonly TimeSpan s_figuresInterval = TimeSpan.FromSeconds(2);

    /// <summary>Sends this node's figures (channel traffic, CPU, memory) to global services until cancelled.</summary>
    private static async Task ReportFiguresAsync(NodeService node, RemoteGlobalLink global, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(s_figuresInterval);
        try
        {
            do
            {
                global.Notify(node.SampleFigures());
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // The run is ending.
        }
    }

    private static async Task DrainOutputAsync(NodeService node, RemoteGlobalLink global, FramedConnection link)
    {
        var drained = node.ForwardedOutputDrained;
        var accepted = global.OutputAccepted;
        var lastProgress = Environment.TickCount64;
        while (!drained.IsCompleted && !link.Closed.IsCompleted && Environment.TickCount64 - lastProgress < s_outputStall.TotalMilliseconds)
        {
            await Task.WhenAny(drained, Task.Delay(100)).ConfigureAwait(false);
            if (global.OutputAccepted != accepted)
            {
                accepted = global.OutputAccepted;
                lastProgress = Environment.TickCount64;
            }
        }
    }

    private static readonly TimeSpan s_outputStall = TimeSpan.FromSeconds(10);

    /// <summary>Gathers this node's logs into the launcher's run directory, named after the node.</summary>
    private static void SendLogs(RunContext run, RemoteGlobalLink global, int index)
    {
        run.Loggers.Dispose();
        var logs = Path.Combine(run.RunDir, "logs");
        if (!Directory.Exists(logs))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(logs, "*.log"))
        {
            global.Notify(new LogFileNotice($"n{index}-{Path.GetFileName(file)}", File.ReadAllBytes(file)));
        }
    }

    /// <summary>How long processes get between SIGTERM and SIGKILL when the launcher is lost.</summary>
    private static readonly TimeSpan s_fenceGrace = TimeSpan.FromSeconds(1);

    /// <summary>Whatever still runs here: SIGINT (unless skipped), SIGTERM, SIGKILL, a patience apart.</summary>
    private static async Task StopProcessesAsync(NodeService node, TimeSpan patience, bool skipInterrupt)
    {
        foreach (var signal in new[] { Signals.SIGINT, Signals.SIGTERM, Signals.SIGKILL })
        {
            var alive = node.RunningProcesses.ToArray();
            if (alive.Length == 0)
            {
                return;
            }

            if ((patience == TimeSpan.Zero && signal != Signals.SIGKILL) || (skipInterrupt && signal == Signals.SIGINT))
            {
                continue;
            }

            foreach (var process in alive)
            {
                process.Signal(signal);
            }

            var deadline = DateTime.UtcNow + (signal == Signals.SIGKILL ? TimeSpan.FromSeconds(5) : patience);
            while (node.RunningProcesses.Any() && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20).ConfigureAwait(false);
            }
        }
    }
}
