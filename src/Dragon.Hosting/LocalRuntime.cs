using System.Net;
using System.Runtime.InteropServices;
using Dragon.Runtime;
using Dragon.Services.Global;
using Dragon.Services.Node;
using Dragon.Services.Runtime;
using Dragon.Services.Spawning;

namespace Dragon;

/// <summary>
/// A one-machine Dragon runtime hosted by this program, the same as <c>dragon --local-nodes N</c>: node services run
/// in this process, and this program is the run's head, so <c>dotnet run</c>, a debugger or a test runner work
/// without the <c>dragon</c> command. Under <c>dragon</c> (or in a process the runtime started) it starts nothing
/// and the program uses the runtime it runs in, so one program serves both ways:
/// <code>await using var runtime = await LocalRuntime.StartAsync(nodes: 2);</code>
/// Disposing stops every process of the run (SIGINT, SIGTERM, SIGKILL, 200 ms apart) and removes its files; so do
/// Ctrl-C (SIGINT), SIGTERM and the end of the program. A host killed with SIGKILL leaves its processes to
/// <c>dragon cleanup</c>.
/// </summary>
public sealed class LocalRuntime : IAsyncDisposable, IDisposable
{
    private static readonly Lock s_gate = new();
    private static LocalRuntime? s_current;

    private readonly RunContext? _run;
    private readonly ConsoleSink? _sink;
    private readonly GlobalServices? _global;
    private readonly List<NodeService> _nodes = [];
    private readonly List<PosixSignalRegistration> _signals = [];
    private readonly SemaphoreSlim _stopping = new(1, 1);
    private bool _stopped;

    private LocalRuntime()
    {
    }

    private LocalRuntime(int nodes)
    {
        _sink = new ConsoleSink();
        _run = RunContext.Create(_sink, label: false);
        try
        {
            _global = new GlobalServices(_run);
            for (var i = 0; i < nodes; i++)
            {
                _nodes.Add(new NodeService(_run, i, nodes == 1 ? Environment.MachineName : $"local{i}", IPAddress.Loopback));
            }

            _global.AttachNodes(_nodes);
            foreach (var node in _nodes)
            {
                node.GlobalLink = new LocalGlobalLink(_global);
                node.Nodes = _global.NodeDescriptors;
            }
        }
        catch
        {
            StopAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>True when this instance hosts the run; false when the program runs under <c>dragon</c> already.</summary>
    public bool IsHosted => _run is not null;

    /// <summary>
    /// Starts a runtime of <paramref name="nodes"/> node services on this machine, with this program as its head; or,
    /// when the program already runs inside a Dragon runtime, starts nothing.
    /// </summary>
    /// <param name="nodes">Node services to start (1 to 64), as <c>dragon --local-nodes</c>.</param>
    /// <param name="cancellationToken">Cancels the start; nothing is left running.</param>
    /// <exception cref="InvalidOperationException">This process already hosts a runtime that has not been disposed.</exception>
    public static Task<LocalRuntime> StartAsync(int nodes = 1, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nodes, 64);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Start(nodes));
    }

    /// <inheritdoc cref="StartAsync"/>
    public static LocalRuntime Start(int nodes = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nodes, 64);
        lock (s_gate)
        {
            if (s_current is not null)
            {
                throw new InvalidOperationException("this process already hosts a Dragon runtime; dispose it before starting another");
            }

            if (RuntimeClient.IsAvailable)
            {
                // Started by dragon, or a process of a run (a method target runs the same Main): use that runtime.
                return new LocalRuntime();
            }

            var runtime = new LocalRuntime(nodes);
            RuntimeClient.UseHosted(runtime._nodes[0].SocketPath, runtime._run!.Secret, runtime._global!.AllocatePuid());
            runtime.WatchForTheEnd();
            s_current = runtime;
            return runtime;
        }
    }

    /// <summary>Stops every process of the run and removes its files; does nothing the second time.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc cref="DisposeAsync"/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <inheritdoc/>
    public override string ToString() => _run is null ? "the Dragon runtime this program runs in" : $"local Dragon runtime {_run.RunId} ({_nodes.Count} node(s))";

    private void WatchForTheEnd()
    {
        // Ctrl-C or SIGTERM: stop the run, then let the signal end the program as it would have. A program started
        // with SIGINT ignored (a background job of a shell without job control) would keep it ignored, as .NET keeps
        // an ignored signal ignored; like dragon (and mpiexec), a hosted runtime always answers Ctrl-C.
        _ = Native.signal(Signals.SIGINT, Native.SIG_DFL);
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
        {
            _signals.Add(PosixSignalRegistration.Create(signal, _ => StopAsync().AsTask().GetAwaiter().GetResult()));
        }

        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    private void OnProcessExit(object? sender, EventArgs e) => StopAsync().AsTask().GetAwaiter().GetResult();

    private async ValueTask StopAsync()
    {
        if (_run is null)
        {
            return;
        }

        await _stopping.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
            foreach (var registration in _signals)
            {
                registration.Dispose();
            }

            RuntimeClient.EndHosted();
            if (_global is not null)
            {
                await _global.StopAllAsync(TimeSpan.FromMilliseconds(200), "stopped: the program hosting the runtime ended it").ConfigureAwait(false);
            }

            // Output still in the pipes of processes that just ended goes out before the sink closes.
            await Task.WhenAny(Task.WhenAll(_nodes.Select(n => n.ForwardedOutputDrained)), Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false);
            foreach (var node in _nodes)
            {
                await node.DisposeAsync().ConfigureAwait(false);
            }

            _global?.Dispose();
            _run.Dispose();
            _run.RemoveFiles();
            _sink?.Dispose();
        }
        finally
        {
            lock (s_gate)
            {
                if (ReferenceEquals(s_current, this))
                {
                    s_current = null;
                }
            }

            _stopping.Release();
        }
    }
}
