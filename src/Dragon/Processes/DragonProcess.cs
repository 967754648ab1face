using System.Text.Json;
using System.Text.Json.Serialization;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;
using Dragon.Runtime.Serialization;

namespace Dragon;

/// <summary>A process of the run, on any node: started here or attached to by puid.</summary>
[JsonConverter(typeof(RuntimeObjectConverter<DragonProcess>))]
public sealed partial class DragonProcess : IRuntimeObject<DragonProcess>
{
    private readonly ProcessDescriptor _descriptor;
    private ProcessStatus? _final;

    internal DragonProcess(ProcessDescriptor descriptor)
    {
        _descriptor = descriptor;
        Stdout = descriptor.StdoutPiped ? new OutputConnection(descriptor.Puid, descriptor.NodeIndex, 1) : null;
        Stderr = descriptor.StderrPiped ? new OutputConnection(descriptor.Puid, descriptor.NodeIndex, 2) : null;
        Stdin = descriptor.StdinPiped ? new InputConnection(descriptor.Puid, descriptor.NodeIndex) : null;
    }

    /// <summary>Id of the process, unique in the run.</summary>
    public ulong Puid => _descriptor.Puid;

    /// <summary>The node the process runs on.</summary>
    public Node Node => SystemInfo.Nodes[_descriptor.NodeIndex];

    /// <summary>Operating-system pid on its node.</summary>
    public int Pid => _descriptor.Pid;

    /// <summary>Executable or method name, for messages.</summary>
    public string Name => _descriptor.DisplayName;

    /// <summary>The piped stdout, or null when stdout was not piped.</summary>
    public Connection? Stdout { get; }

    /// <summary>The piped stderr, or null when stderr was not piped.</summary>
    public Connection? Stderr { get; }

    /// <summary>The piped stdin, or null when stdin was not piped.</summary>
    public Connection? Stdin { get; }

    /// <summary>Whether the process has exited, and how (a round trip until it has exited; remembered after).</summary>
    public DragonProcessStatus GetStatus() => ToPublic(Status());

    /// <inheritdoc cref="GetStatus"/>
    public async Task<DragonProcessStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        if (_final is { } final)
        {
            return ToPublic(final);
        }

        var reply = await RuntimeClient.Current.RequestAsync<QueryReply>(new QueryRequest(Puid), cancellationToken).ConfigureAwait(false);
        return ToPublic(Remember(reply.Status));
    }

    /// <summary>Starts a process from a template.</summary>
    /// <exception cref="ProcessStartException">The program is missing or not executable, the cwd is bad, or placement failed.</exception>
    public static DragonProcess Start(ProcessTemplate template) => StartAsync(template).GetAwaiter().GetResult();

    /// <summary>Starts a process from a template.</summary>
    public static async Task<DragonProcess> StartAsync(ProcessTemplate template, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(template);
        var reply = await RuntimeClient.Current
            .RequestAsync<StartReply>(new StartRequest([template.ToSpec()]), cancellationToken)
            .ConfigureAwait(false);
        return new DragonProcess(reply.Processes[0]);
    }

    /// <summary>Attaches to an existing process of the run by puid.</summary>
    /// <exception cref="ProcessNotFoundException">No such process.</exception>
    public static DragonProcess Attach(ulong puid) => new(RuntimeClient.Current.Request<QueryReply>(new QueryRequest(puid)).Process);

    /// <inheritdoc cref="Attach"/>
    public static async Task<DragonProcess> AttachAsync(ulong puid, CancellationToken cancellationToken = default) =>
        new((await RuntimeClient.Current.RequestAsync<QueryReply>(new QueryRequest(puid), cancellationToken).ConfigureAwait(false)).Process);

    /// <summary>Waits for the process to exit, up to <paramref name="timeout"/> (forever if null), and returns its exit code.</summary>
    /// <exception cref="TimeoutException">Still running when the timeout passed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public int Join(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        JoinCore(timeout, cancellationToken).GetAwaiter().GetResult() is { State: ProcessState.Exited } status
            ? status.ExitCode
            : throw StillRunning(timeout);

    /// <summary>Waits for the process to exit within <paramref name="timeout"/> (zero: just look); false if it still runs.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public bool TryJoin(TimeSpan timeout, out int exitCode, CancellationToken cancellationToken = default)
    {
        var status = JoinCore(timeout, cancellationToken).GetAwaiter().GetResult();
        exitCode = status.ExitCode;
        return status.State == ProcessState.Exited;
    }

    /// <summary>Waits for the process to exit, as long as it takes, and returns its exit code.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public Task<int> JoinAsync(CancellationToken cancellationToken = default) => JoinAsync(null, cancellationToken);

    /// <inheritdoc cref="Join"/>
    public async Task<int> JoinAsync(TimeSpan? timeout, CancellationToken cancellationToken = default) =>
        await JoinCore(timeout, cancellationToken).ConfigureAwait(false) is { State: ProcessState.Exited } status
            ? status.ExitCode
            : throw StillRunning(timeout);

    private async Task<ProcessStatus> JoinCore(TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (_final is { } final)
        {
            return final;
        }

        var reply = await RuntimeClient.Current
            .RequestAsync<JoinReply>(new JoinRequest([Puid], true, Timeouts.ToMilliseconds(timeout)), cancellationToken)
            .ConfigureAwait(false);
        return Remember(reply.Statuses[0]);
    }

    private TimeoutException StillRunning(TimeSpan? timeout) => Timeouts.Expired($"{this} did not exit", timeout);

    /// <summary>Sends a signal to the process (and its process group).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The number is no Linux signal (1 to 64).</exception>
    public void Signal(int signal)
    {
        ThrowIfNotASignal(signal);
        RuntimeClient.Current.Request<Ack>(new SignalRequest(Puid, signal));
    }

    /// <inheritdoc cref="Signal"/>
    public async Task SignalAsync(int signal, CancellationToken cancellationToken = default)
    {
        ThrowIfNotASignal(signal);
        await RuntimeClient.Current.RequestAsync<Ack>(new SignalRequest(Puid, signal), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Linux numbers its signals 1 to 64 (SIGRTMAX); anything else would fail in kill(2) or mean nothing.</summary>
    internal static void ThrowIfNotASignal(int signal, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(signal))] string? paramName = null)
    {
        if (signal is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(paramName, signal, $"signal {signal} is not a signal number (1 to 64)");
        }
    }

    /// <summary>Sends SIGTERM.</summary>
    public void Terminate() => Signal(15);

    /// <summary>Sends SIGKILL.</summary>
    public void Kill() => Signal(9);

    /// <summary>Sends SIGTERM.</summary>
    public Task TerminateAsync(CancellationToken cancellationToken = default) => SignalAsync(15, cancellationToken);

    /// <summary>Sends SIGKILL.</summary>
    public Task KillAsync(CancellationToken cancellationToken = default) => SignalAsync(9, cancellationToken);

    /// <inheritdoc/>
    public override string ToString() => $"process {Puid} ({Name}) on node {_descriptor.NodeIndex}";

    private ProcessStatus Status()
    {
        if (_final is { } final)
        {
            return final;
        }

        return Remember(RuntimeClient.Current.Request<QueryReply>(new QueryRequest(Puid)).Status);
    }

    private static DragonProcessStatus ToPublic(ProcessStatus status) => status.State == ProcessState.Exited
        ? new DragonProcessStatus(true, status.ExitCode, status.Signal == 0 ? null : status.Signal, status.Reason)
        : new DragonProcessStatus(false, null, null, null);

    private ProcessStatus Remember(ProcessStatus status)
    {
        if (status.State == ProcessState.Exited)
        {
            _final = status;
        }

        return status;
    }

    void IRuntimeObject<DragonProcess>.WriteDescriptor(Utf8JsonWriter writer) => writer.WriteNumber("puid", Puid);

    static DragonProcess IRuntimeObject<DragonProcess>.FromDescriptor(JsonElement descriptor) => Attach(descriptor.GetProperty("puid").GetUInt64());
}

/// <summary>Whether a process has exited and how; from <see cref="DragonProcess.GetStatus"/>.</summary>
/// <param name="HasExited">True once the process has exited.</param>
/// <param name="ExitCode">Exit code once exited (minus the signal number when killed by a signal); null while running.</param>
/// <param name="Signal">The signal that killed it, if one did; null otherwise and while running.</param>
/// <param name="ExitReason">Why it ended (<c>exited with code 3</c>, <c>killed by signal 9 (SIGKILL)</c>, <c>node lost</c>); null while running.</param>
public sealed record DragonProcessStatus(bool HasExited, int? ExitCode, int? Signal, string? ExitReason);
