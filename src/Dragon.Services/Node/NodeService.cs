using System.Collections.Concurrent;
using System.Net.Sockets;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;
using Dragon.Services.Global;
using Dragon.Services.Runtime;
using Dragon.Services.Spawning;
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
    private readonly Task _acceptLoop;

    public NodeService(RunContext run, GlobalServices global, NodeDescriptor descriptor)
    {
        Run = run;
        Global = global;
        Descriptor = descriptor;
        _logger = run.Loggers.CreateLogger($"node{descriptor.Index}");
        SocketPath = RunLayout.NodeSocket(run.RunDir, descriptor.Index);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        File.SetUnixFileMode(SocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _listener.Listen(512);
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public RunContext Run { get; }

    public GlobalServices Global { get; }

    public NodeDescriptor Descriptor { get; }

    public string SocketPath { get; }

    /// <summary>Describes this machine as a node.</summary>
    public static NodeDescriptor DescribeLocal(int index, string name)
    {
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var bootId = File.Exists("/proc/sys/kernel/random/boot_id") ? File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim() : "unknown";
        return new NodeDescriptor(index, name, Environment.MachineName, Environment.ProcessorCount, memory, $"{bootId}/{name}");
    }

    public ProcessDescriptor Spawn(ulong puid, ProcessSpec spec, ulong groupId, IReadOnlyDictionary<string, string>? extraEnv)
    {
        var env = BuildEnvironment(puid, spec, extraEnv);
        string executable;
        try
        {
            if (spec.Cwd is not null && !Directory.Exists(spec.Cwd))
            {
                throw new SpawnException($"working directory {spec.Cwd} does not exist");
            }

            executable = ExecutableResolver.Resolve(spec.Executable, spec.Cwd, env.GetValueOrDefault("PATH"));
        }
        catch (SpawnException e)
        {
            throw new ServiceException(ErrorKind.StartFailed, e.Message);
        }

        var capture = Run.Label;
        SpawnedChild child;
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
                spec.Placement.Cpus);
        }
        catch (SpawnException e)
        {
            throw new ServiceException(ErrorKind.StartFailed, e.Message);
        }

        Run.RecordProcess(child.Pid);
        var label = $"[{puid}@{Descriptor.Name}] ";
        var stdout = Pump(child.StdoutRead, spec.Stdout, label, isError: false);
        var stderr = Pump(child.StderrRead, spec.Stderr, label, isError: true);
        var process = new LocalProcess(puid, child, stdout, stderr, spec.MethodTarget);
        _processes[puid] = process;
        process.WatchExit(OnChildExited);
        return new ProcessDescriptor(
            puid, Descriptor.Index, child.Pid, child.StdinWrite >= 0, spec.Stdout.Kind == StdioKind.Pipe, spec.Stderr.Kind == StdioKind.Pipe, groupId, spec.DisplayName);
    }

    private OutputPump? Pump(int fd, StdioSpec spec, string label, bool isError) => fd < 0
        ? null
        : spec.Kind == StdioKind.Pipe
            ? OutputPump.Piped(fd, label)
            : OutputPump.Forwarded(fd, Run.Output, Run.Label ? label : string.Empty, isError);

    private Dictionary<string, string> BuildEnvironment(ulong puid, ProcessSpec spec, IReadOnlyDictionary<string, string>? extraEnv)
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

        env[RuntimeEnvironment.RunId] = Run.RunId;
        env[RuntimeEnvironment.Socket] = SocketPath;
        env[RuntimeEnvironment.Secret] = Run.Secret;
        env[RuntimeEnvironment.Puid] = puid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env[RuntimeEnvironment.NodeIndex] = Descriptor.Index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env[RuntimeEnvironment.RunDir] = Run.RunDir;
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

    private void OnChildExited(LocalProcess process, int code, int signal)
    {
        // Output may still be in the pipes: it stays readable after the exit is reported.
        Global.OnExited(process.Puid, code, signal);
        LogReaped(process.Puid, process.Pid, code, signal);
    }

    public void Signal(ulong puid, int signal)
    {
        if (_processes.TryGetValue(puid, out var process))
        {
            process.Signal(signal);
        }
    }

    public LocalProcess Find(ulong puid) =>
        _processes.TryGetValue(puid, out var process)
            ? process
            : throw new ServiceException(ErrorKind.NotFound, $"no process with puid {puid} on node {Descriptor.Name}");

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var session = new ControlSession(this, client, _logger);
            _sessions[session] = 0;
            _ = session.RunAsync(_stopping.Token).ContinueWith(_ => _sessions.TryRemove(session, out byte _), TaskScheduler.Default);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
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

    [LoggerMessage(Level = LogLevel.Debug, Message = "reaped puid {Puid} pid {Pid}: code {Code} signal {Signal}")]
    private partial void LogReaped(ulong puid, int pid, int code, int signal);
}
