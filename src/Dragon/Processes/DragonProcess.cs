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
        StdoutConnection = descriptor.StdoutPiped ? new OutputConnection(descriptor.Puid, descriptor.NodeIndex, 1) : null;
        StderrConnection = descriptor.StderrPiped ? new OutputConnection(descriptor.Puid, descriptor.NodeIndex, 2) : null;
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
    public Connection? StdoutConnection { get; }

    /// <summary>The piped stderr, or null when stderr was not piped.</summary>
    public Connection? StderrConnection { get; }

    /// <summary>The piped stdin, or null when stdin was not piped.</summary>
    public Connection? Stdin { get; }

    /// <summary>True until the process has exited.</summary>
    public bool IsAlive => Status().State != ProcessState.Exited;

    /// <summary>Exit code once exited (minus the signal number when killed by a signal); null while running.</summary>
    public int? ExitCode => Status() is { State: ProcessState.Exited } s ? s.ExitCode : null;

    /// <summary>Why the process ended (<c>exited with code 3</c>, <c>killed by signal 9 (SIGKILL)</c>, ...); null while running.</summary>
    public string? ExitReason => Status() is { State: ProcessState.Exited } s ? s.Reason : null;

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
    public static DragonProcess Attach(ulong puid)
    {
        var reply = RuntimeClient.Current.Request<QueryReply>(new QueryRequest(puid));
        return new DragonProcess(reply.Process);
    }

    /// <summary>Waits for the process to exit; returns its exit code, or null if the timeout passed first.</summary>
    public int? Join(TimeSpan? timeout = null)
    {
        var status = JoinCore(timeout, CancellationToken.None).GetAwaiter().GetResult();
        return status.State == ProcessState.Exited ? status.ExitCode : null;
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> JoinAsync(CancellationToken cancellationToken = default)
    {
        var status = await JoinCore(null, cancellationToken).ConfigureAwait(false);
        return status.ExitCode;
    }

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

    /// <summary>Sends a signal to the process (and its process group).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The number is no Linux signal (1 to 64).</exception>
    public void Signal(int signal)
    {
        ThrowIfNotASignal(signal);
        RuntimeClient.Current.Request<Ack>(new SignalRequest(Puid, signal));
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
