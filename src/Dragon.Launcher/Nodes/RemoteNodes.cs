using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dragon.Runtime.Protocol;
using Dragon.Services.Global;
using Dragon.Services.Node;
using Dragon.Services.Runtime;
using Dragon.Services.Transport;
using Microsoft.Extensions.Logging;

namespace Dragon.Launcher.Nodes;

/// <summary>
/// Node services on other hosts: started over SSH (in parallel) or with one srun step, each dialling back to the
/// launcher over an authenticated link and registering its hardware; the head program starts only once every node
/// has. A node whose link breaks is reported lost to global services.
/// </summary>
internal sealed class RemoteNodes : IAsyncDisposable
{
    private static readonly TimeSpan s_bringUpTimeout = TimeSpan.FromSeconds(60);

    private readonly RunContext _run;
    private readonly GlobalServices _global;
    private readonly List<System.Diagnostics.Process> _starters = [];
    private readonly List<RemoteNode> _nodes = [];
    private readonly Socket _listener;
    private volatile bool _shuttingDown;
    private FramedConnection?[] _bringUpLinks = [];
    private int _treeWidth = 1;

    private RemoteNodes(RunContext run, GlobalServices global, Socket listener)
    {
        _run = run;
        _global = global;
        _listener = listener;
    }

    public static async Task<RemoteNodes> StartAsync(RunContext run, GlobalServices global, NodeLaunchPlan plan, LauncherOptions options)
    {
        var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(plan.ListenAddress, 0));
        listener.Listen(256);
        var nodes = new RemoteNodes(run, global, listener);
        try
        {
            await nodes.BringUpAsync(plan, options).ConfigureAwait(false);
            return nodes;
        }
        catch
        {
            await nodes.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task BringUpAsync(NodeLaunchPlan plan, LauncherOptions options)
    {
        var count = plan.Hosts.Count;
        var endpoint = (IPEndPoint)_listener.LocalEndPoint!;
        var descriptors = new NodeDescriptor?[count];
        var links = new FramedConnection?[count];
        _bringUpLinks = links;
        var registered = 0;
        var stored = 0;
        var allStored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var allRegistered = new TaskCompletionSource<NodeDescriptor[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var secret = LinkHandshake.SecretBytes(_run.Secret);
        var startFailed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task<IMessage> ServeAsync(int peer, IMessage request, CancellationToken cancellationToken)
        {
            if (request is NodeStartFailedNotice failed)
            {
                // From a node of the fan-out tree about a host it started; after bring-up, a lost node is seen
                // through its own link.
                if (failed.Index >= 0 && failed.Index < count && descriptors[failed.Index] is null)
                {
                    startFailed.TrySetResult($"node services did not come up on {failed.Host}: {failed.Reason}");
                }

                return new Ack();
            }

            if (request is NodeRegisterRequest register)
            {
                if (peer < 0 || peer >= count || descriptors[peer] is not null)
                {
                    throw new ServiceException(ErrorKind.InvalidArgument, $"node index {peer} is not expected or already registered");
                }

                descriptors[peer] = register.Descriptor with { Index = peer, Name = plan.Hosts[peer] };
                if (Interlocked.Increment(ref registered) == count)
                {
                    allRegistered.TrySetResult(descriptors.Select(d => d!).ToArray());
                }

                // The node table comes later, down the run's tree, once every node has registered.
                return new Ack();
            }

            return await GlobalRequestHandler.HandleAsync(_global, request, cancellationToken).ConfigureAwait(false);
        }

        using var bringUp = new CancellationTokenSource(s_bringUpTimeout);
        var accepting = Task.Run(async () =>
        {
            while (Volatile.Read(ref registered) < count && !bringUp.IsCancellationRequested)
            {
                var socket = await Listener.AcceptAsync(_listener, e => Console.Error.WriteLine($"dragon: accepting a node connection failed (retrying): {e.Message}"), bringUp.Token).ConfigureAwait(false);
                if (socket is null)
                {
                    return;
                }

                _ = Task.Run(async () =>
                {
                    try
                    {
                        // A connection that has not proven the run's secret in a few seconds is closed.
                        using var handshake = CancellationTokenSource.CreateLinkedTokenSource(bringUp.Token);
                        handshake.CancelAfter(LinkHandshake.Deadline);
                        var link = await Links.AcceptedAsync(socket, secret, peer => (request, token) => ServeAsync(peer, request, token), handshake.Token).ConfigureAwait(false);
                        if (link.PeerIndex >= 0 && link.PeerIndex < count && Interlocked.CompareExchange(ref links[link.PeerIndex], link, null) is null
                            && Interlocked.Increment(ref stored) == count)
                        {
                            allStored.TrySetResult();
                        }
                    }
                    catch (Exception e) when (e is AuthenticationFailedException or IOException or SocketException or OperationCanceledException or EndOfStreamException)
                    {
                        Console.Error.WriteLine($"dragon: refused a node connection from {socket.RemoteEndPoint}: {e.Message}");
                        socket.Dispose();
                    }
                });
            }
        });

        using var progress = Status.BringUpProgress.Start(count, () => Volatile.Read(ref registered));
        StartNodeServices(plan, $"{endpoint.Address}:{endpoint.Port}", options);
        var starterExits = _starters.Select(p => p.WaitForExitAsync()).ToArray();
        var done = await Task.WhenAny(allRegistered.Task, startFailed.Task, Task.WhenAny(starterExits.DefaultIfEmpty(Task.Delay(Timeout.Infinite))), Task.Delay(s_bringUpTimeout)).ConfigureAwait(false);
        if (done == startFailed.Task)
        {
            // The report came over a link whose accept may not have stored it yet; let it, so disposal closes it
            // and that node service cleans up before the launcher exits.
            await Task.Delay(50).ConfigureAwait(false);
            throw new Services.Spawning.SpawnException(startFailed.Task.Result);
        }

        if (done != allRegistered.Task)
        {
            var missing = Enumerable.Range(0, count).Where(i => descriptors[i] is null).Select(i => plan.Hosts[i]).ToArray();
            var why = _starters.Where(p => p.HasExited).Select(p => $"{p.StartInfo.FileName} exited with code {p.ExitCode}: {ReadError(p)}").FirstOrDefault()
                ?? $"no answer within {s_bringUpTimeout.TotalSeconds:F0} s";
            throw new Services.Spawning.SpawnException($"node services did not come up on {string.Join(", ", missing)}: {why}");
        }

        var table = await allRegistered.Task.ConfigureAwait(false);
        progress.Dispose();

        // A node registers over its link before the accept that made the link has stored it: wait for the last
        // store, not a fixed time.
        await Task.WhenAny(allStored.Task, Task.Delay(LinkHandshake.Deadline)).ConfigureAwait(false);
        var nodes = new List<RemoteNode>(count);
        for (var i = 0; i < count; i++)
        {
            var link = links[i] ?? throw new Services.Spawning.SpawnException($"the link to node {plan.Hosts[i]} was lost during bring-up");
            nodes.Add(new RemoteNode(table[i], link));
        }

        // The table goes to the first FanOut nodes, each passes it to its children, and each answers once its whole
        // subtree holds it: the launcher sends it FanOut times, not once per node, and the head starts only after
        // every node has it.
        // If it fails, the nodes are not attached yet: disposal closes their links and gives their services time to
        // remove their files, as after any failed bring-up.
        _treeWidth = FanOut.Width;
        var tableRequest = new NodeTableRequest(table, _treeWidth);
        try
        {
            await Task.WhenAll(NodeTree.Roots(count, _treeWidth).Select(async root =>
            {
                if (await links[root]!.RequestAsync(tableRequest, CancellationToken.None).WaitAsync(s_bringUpTimeout).ConfigureAwait(false) is ErrorReply error)
                {
                    throw new Services.Spawning.SpawnException($"the node table did not reach every node: {error.Message}");
                }
            })).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or IOException)
        {
            throw new Services.Spawning.SpawnException($"the node table did not reach every node within {s_bringUpTimeout.TotalSeconds:F0} s: {e.Message}");
        }

        _nodes.AddRange(nodes);
        _global.AttachNodes(_nodes);
        foreach (var (index, node) in _nodes.Index())
        {
            _ = node.Closed.ContinueWith(
                _ =>
                {
                    if (!_shuttingDown)
                    {
                        // A link that ended on a bad frame says so; otherwise the service went away.
                        _global.OnNodeLost(index, node.LostReason is InvalidDataException bad ? $"its link broke: {bad.Message}" : "its node service stopped answering");
                    }
                },
                TaskScheduler.Default);
        }
    }

    private void StartNodeServices(NodeLaunchPlan plan, string launcher, LauncherOptions options)
    {
        var exe = Environment.GetEnvironmentVariable("DRAGON_REMOTE_EXE") ?? Environment.ProcessPath!;
        var common = new List<string> { NodeServiceMain.Command, "--launcher", launcher, "--run-id", _run.RunId };
        if (RunLayout.ExplicitBase() is { } runBase)
        {
            // Otherwise each host chooses its own base directory by the same rule (its runtime directory or /tmp).
            common.AddRange(["--run-base", runBase]);
        }

        // A report keeps stderr tails by process: the lines must come labelled (the launcher drops the label again).
        if (options.Label || options.Report is not null)
        {
            common.Add("--label");
        }

        if (options.MetricsPort is not null || options.Report is not null)
        {
            common.Add("--metrics");
        }

        if (options.LogLevel != LogLevel.None)
        {
            common.AddRange(["--log-level", options.LogLevel.ToString()]);
        }

        switch (plan.Kind)
        {
            case "slurm":
                var srun = new ProcessStartInfo("srun") { RedirectStandardError = true, RedirectStandardInput = true };
                foreach (var a in new[] { $"--nodes={plan.Hosts.Count}", $"--ntasks={plan.Hosts.Count}", "--ntasks-per-node=1", "--overlap", "--cpu-bind=none", "--kill-on-bad-exit=0", $"--nodelist={string.Join(',', plan.Hosts)}", "--export=ALL", exe })
                {
                    srun.ArgumentList.Add(a);
                }

                foreach (var a in common.Concat(["--index", "slurm"]))
                {
                    srun.ArgumentList.Add(a);
                }

                srun.Environment["DRAGON_SECRET"] = _run.Secret;
                _starters.Add(System.Diagnostics.Process.Start(srun)!);
                break;
            case "fork":
                for (var i = 0; i < plan.Hosts.Count; i++)
                {
                    var start = new ProcessStartInfo(exe, common.Concat(["--index", i.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                    {
                        RedirectStandardInput = true,
                        RedirectStandardError = true,
                    };
                    var process = System.Diagnostics.Process.Start(start)!;
                    FanOut.GiveSecret(process, _run.Secret);
                    _starters.Add(process);
                }

                break;
            default:
                // A tree of SSH starts: this launcher starts the roots, each node service its own children.
                var width = FanOut.Width;
                var tree = new[] { "--fanout", width.ToString(System.Globalization.CultureInfo.InvariantCulture), "--tree", string.Join(',', plan.Hosts) };
                foreach (var i in NodeTree.Roots(plan.Hosts.Count, width))
                {
                    _starters.Add(FanOut.StartOverSsh(plan.Hosts[i], exe, [.. common, .. tree, "--index", i.ToString(System.Globalization.CultureInfo.InvariantCulture)], _run.Secret));
                }

                break;
        }
    }

    private static string ReadError(System.Diagnostics.Process process)
    {
        try
        {
            return process.StandardError.ReadToEnd().Trim();
        }
        catch (InvalidOperationException)
        {
            return string.Empty;
        }
    }

    /// <summary>
    /// Tells every node the run is over, down the run's tree (each node tells its children); a part of the tree that
    /// could not be told that way, because a node in it is lost, is told directly. Then waits for the services to
    /// exit, and kills any that did not.
    /// </summary>
    public async Task ShutdownAsync(TimeSpan patience)
    {
        _shuttingDown = true;
        static async Task<bool> TellAsync(RemoteNode node, TimeSpan patience, TimeSpan wait)
        {
            try
            {
                await node.ShutdownAsync(patience).WaitAsync(wait).ConfigureAwait(false);
                return true;
            }
            catch (Exception e) when (e is ServiceException or TimeoutException or IOException)
            {
                return false;
            }
        }

        await Task.WhenAll(NodeTree.Roots(_nodes.Count, _treeWidth).Select(async root =>
        {
            if (!await TellAsync(_nodes[root], patience, TimeSpan.FromSeconds(10)).ConfigureAwait(false))
            {
                await Task.WhenAll(NodeTree.Subtree(root, _nodes.Count, _treeWidth).Select(n => TellAsync(_nodes[n], patience, TimeSpan.FromSeconds(5)))).ConfigureAwait(false);
            }
        })).ConfigureAwait(false);
        await Task.WhenAll(_starters.Select(p => p.WaitForExitAsync().WaitAsync(patience * 3 + TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default))).ConfigureAwait(false);

        // A node service's last notices (its log files) may still be in its link when its starter has exited: the
        // reader serves notices in order before it sees the end, so once every link has ended, all were handled.
        await Task.WhenAll(_nodes.Select(n => n.Closed)).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _shuttingDown = true;
        _listener.Dispose();
        foreach (var node in _nodes)
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }

        // After a failed bring-up, the node services that did connect end when their link closes and remove their
        // files; give them a moment to, so the failed run leaves nothing behind, before killing their starters.
        var unattached = _nodes.Count == 0 ? _bringUpLinks.OfType<FramedConnection>().ToArray() : [];
        foreach (var link in unattached)
        {
            await link.DisposeAsync().ConfigureAwait(false);
        }

        if (unattached.Length > 0)
        {
            await Task.WhenAll(_starters.Select(p => p.WaitForExitAsync())).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }

        foreach (var starter in _starters)
        {
            if (!starter.HasExited)
            {
                starter.Kill(entireProcessTree: true);
            }

            starter.Dispose();
        }
    }
}

/// <summary>Which hosts run node services and how they are started (ssh, slurm, or fork on this machine).</summary>
internal sealed record NodeLaunchPlan(string Kind, IReadOnlyList<string> Hosts, IPAddress ListenAddress)
{
    /// <summary>Chooses hosts and the way to start them from the options and the environment (a Slurm allocation).</summary>
    public static NodeLaunchPlan? From(LauncherOptions options)
    {
        var inSlurm = Environment.GetEnvironmentVariable("SLURM_JOB_ID") is not null;
        var kind = options.Wlm ?? (options.Hosts.Count > 0 ? "ssh" : inSlurm ? "slurm" : "local");
        if (kind == "local")
        {
            return null;
        }

        IReadOnlyList<string> hosts = kind switch
        {
            "slurm" => SlurmHosts(),
            "fork" => Enumerable.Range(0, options.LocalNodes).Select(i => $"local{i}").ToArray(),
            _ => options.Hosts.Count > 0 ? options.Hosts : throw new UsageException("--wlm ssh needs --hosts or --hostfile"),
        };
        if (options.Nodes is { } n)
        {
            hosts = n <= hosts.Count ? hosts.Take(n).ToArray() : throw new UsageException($"--nodes {n} asks for more than the {hosts.Count} host(s) available");
        }

        var listen = kind == "fork" ? IPAddress.Loopback : AddressFacing(hosts[0]);
        return new NodeLaunchPlan(kind, hosts, listen);
    }

    private static string[] SlurmHosts()
    {
        var list = Environment.GetEnvironmentVariable("SLURM_JOB_NODELIST") ?? Environment.GetEnvironmentVariable("SLURM_NODELIST")
            ?? throw new UsageException("--wlm slurm outside a Slurm allocation (no SLURM_JOB_NODELIST)");
        var start = new ProcessStartInfo("scontrol", ["show", "hostnames", list]) { RedirectStandardOutput = true };
        using var scontrol = System.Diagnostics.Process.Start(start)!;
        var hosts = scontrol.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        scontrol.WaitForExit();
        return hosts.Length > 0 ? hosts : throw new UsageException($"cannot expand the Slurm node list '{list}'");
    }

    /// <summary>The local address that routes to <paramref name="host"/> (a UDP connect sends nothing).</summary>
    private static IPAddress AddressFacing(string host)
    {
        var address = Dns.GetHostAddresses(host).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? throw new UsageException($"cannot resolve host '{host}'");
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Connect(address, 9);
        return ((IPEndPoint)probe.LocalEndPoint!).Address;
    }
}
