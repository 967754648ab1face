using System.Text.Json;
using System.Text.Json.Serialization;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;
using Dragon.Runtime.Serialization;

namespace Dragon;

/// <summary>How the members of a group find each other as one MPI job.</summary>
public enum Pmi
{
    /// <summary>Not an MPI job.</summary>
    None = 0,

    /// <summary>PMI-1 "simple" wire protocol, served by the runtime (MPICH and its family).</summary>
    Simple = 1,

    /// <summary>PMIx, served by the node services through the embedded libpmix.so.2 (Open MPI 4.1 and later).</summary>
    Pmix = 2,

    /// <summary>
    /// <see cref="Simple"/> or <see cref="Pmix"/>, chosen at <see cref="ProcessGroup.Init"/> from the MPI library each
    /// executable links (libmpich.so: PMI-1; Open MPI's libmpi.so.40: PMIx); an executable that names neither is an error.
    /// </summary>
    Auto = 3,
}

/// <summary>Where a process group is in its life.</summary>
public enum ProcessGroupState
{
    /// <summary>Created, not started.</summary>
    Pending = 0,

    /// <summary>Members are running.</summary>
    Running = 1,

    /// <summary>A stop is escalating through its signals.</summary>
    Stopping = 2,

    /// <summary>Every member has exited.</summary>
    Finished = 3,

    /// <summary>Closed: released in the runtime.</summary>
    Closed = 4,
}

/// <summary>A process group's state and members, from <see cref="ProcessGroup.GetStatus"/>.</summary>
/// <param name="State">Where the group is in its life.</param>
/// <param name="Puids">Puids of the members currently in the group (the latest incarnation of each).</param>
/// <param name="InactivePuids">Puids of members that have exited (including replaced incarnations under restart).</param>
/// <param name="ExitStatus">Exit code of every member that has exited, in the order they exited.</param>
/// <param name="Failure">Why the group failed (which member, how), or null.</param>
public sealed record ProcessGroupStatus(
    ProcessGroupState State,
    IReadOnlyList<ulong> Puids,
    IReadOnlyList<ulong> InactivePuids,
    IReadOnlyList<(ulong Puid, int ExitCode)> ExitStatus,
    string? Failure)
{
    /// <summary>True while any member runs.</summary>
    public bool IsRunning => State is ProcessGroupState.Running or ProcessGroupState.Stopping;
}

/// <summary>
/// Processes started, watched and stopped together, like Dragon's ProcessGroup. The group lives in the runtime's
/// global services: it can be passed to another process and used there.
/// </summary>
[JsonConverter(typeof(RuntimeObjectConverter<ProcessGroup>))]
public sealed class ProcessGroup : IRuntimeObject<ProcessGroup>, IDisposable, IAsyncDisposable
{
    private static readonly TimeSpan s_closePatience = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_disposePatience = TimeSpan.FromMilliseconds(100);

    private readonly List<GroupMemberSpec> _members = [];
    private ulong _id;
    private int _released;

    /// <summary>Creates an empty group.</summary>
    /// <param name="restart">Start a member again each time one exits, until the group is stopped.</param>
    /// <param name="ignoreErrorOnExit">A member's non-zero exit or signal death is not an error of the group.</param>
    /// <param name="walltime">Stop the group (and fail it, unless ignored) once it has run this long.</param>
    /// <param name="pmi">Start the members as the ranks of one MPI job.</param>
    public ProcessGroup(bool restart = false, bool ignoreErrorOnExit = false, TimeSpan? walltime = null, Pmi pmi = Pmi.None)
    {
        Restart = restart;
        IgnoreErrorOnExit = ignoreErrorOnExit;
        Walltime = walltime;
        Pmi = pmi;
    }

    private ProcessGroup(ulong id)
        : this() => _id = id;

    /// <summary>Whether members are started again when they exit.</summary>
    public bool Restart { get; }

    /// <summary>Whether member failures are ignored.</summary>
    public bool IgnoreErrorOnExit { get; }

    /// <summary>The group's time limit, if any.</summary>
    public TimeSpan? Walltime { get; }

    /// <summary>The PMI mode of the group.</summary>
    public Pmi Pmi { get; }

    /// <summary>Id of the group in the run; 0 before <see cref="Init"/>.</summary>
    public ulong Id => _id;

    /// <summary>The group's state and members (one round trip).</summary>
    public ProcessGroupStatus GetStatus() => ToPublic(Query());

    /// <inheritdoc cref="GetStatus"/>
    public async Task<ProcessGroupStatus> GetStatusAsync(CancellationToken cancellationToken = default) =>
        ToPublic(_id == 0 ? NotInitialized : await CommandAsync(GroupOp.Query, -1, 0, cancellationToken).ConfigureAwait(false));

    /// <summary>The current members as processes, for their piped streams, node and pid (two round trips).</summary>
    public IReadOnlyList<DragonProcess> GetProcesses() => GetProcessesAsync().GetAwaiter().GetResult();

    /// <inheritdoc cref="GetProcesses"/>
    public async Task<IReadOnlyList<DragonProcess>> GetProcessesAsync(CancellationToken cancellationToken = default)
    {
        var status = await GetStatusAsync(cancellationToken).ConfigureAwait(false);
        var reply = await RuntimeClient.Current
            .RequestAsync<QueryManyReply>(new QueryManyRequest([.. status.Puids]), cancellationToken)
            .ConfigureAwait(false);
        return reply.Processes.Select(d => new DragonProcess(d)).ToArray();
    }

    /// <summary>Adds <paramref name="count"/> members started from <paramref name="template"/>.</summary>
    public void AddProcess(int count, ProcessTemplate template)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentNullException.ThrowIfNull(template);
        if (_id != 0)
        {
            throw new InvalidOperationException($"group {_id} is already initialized; add processes before Init");
        }

        _members.Add(new GroupMemberSpec(count, template.ToSpec()));
    }

    /// <summary>Registers the group with the runtime (Start does it if needed).</summary>
    public void Init() => InitAsync().GetAwaiter().GetResult();

    /// <inheritdoc cref="Init"/>
    public async Task InitAsync(CancellationToken cancellationToken = default)
    {
        if (_id != 0)
        {
            return;
        }

        if (_members.Count == 0)
        {
            throw new InvalidOperationException("a process group needs at least one AddProcess before Init");
        }

        var spec = new GroupSpec(_members.ToArray(), Restart, IgnoreErrorOnExit, Timeouts.ToMilliseconds(Walltime), ResolvePmi());
        _id = (await RuntimeClient.Current.RequestAsync<GroupStatusReply>(new GroupCreateRequest(spec), cancellationToken).ConfigureAwait(false)).Status.GroupId;
    }

    /// <summary>The PMI mode the runtime serves: <see cref="Pmi.Auto"/> becomes the one every member's executable needs.</summary>
    private PmiMode ResolvePmi()
    {
        if (Pmi != Pmi.Auto)
        {
            return (PmiMode)Pmi;
        }

        var modes = _members.Select(m => (m.Template.Executable, Mode: MpiLibraryProbe.Detect(m.Template.Executable, m.Template.Cwd))).ToArray();
        if (modes.Select(m => m.Mode).Distinct().Count() > 1)
        {
            var simple = modes.First(m => m.Mode == PmiMode.Simple).Executable;
            var pmix = modes.First(m => m.Mode == PmiMode.Pmix).Executable;
            throw new ArgumentException($"Pmi.Auto: {simple} links MPICH (PMI-1) but {pmix} links Open MPI (PMIx); one MPI job needs one MPI library");
        }

        return modes[0].Mode;
    }

    /// <summary>Starts every member, batched per node.</summary>
    /// <exception cref="ProcessStartException">A member could not start; none of the group is left running.</exception>
    public void Start() => StartAsync().GetAwaiter().GetResult();

    /// <inheritdoc cref="Start"/>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await InitAsync(cancellationToken).ConfigureAwait(false);
        await CommandAsync(GroupOp.Start, -1, 0, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits until every member has exited, up to <paramref name="timeout"/> (forever if null).</summary>
    /// <exception cref="TimeoutException">Members still ran when the timeout passed (they go on running).</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting (the members go on running).</exception>
    /// <exception cref="ProcessGroupException">A member failed (unless errors are ignored); the message says which and why.</exception>
    public void Join(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        JoinAsync(timeout, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Waits until every member has exited within <paramref name="timeout"/> (zero: just look); false if some still run.</summary>
    /// <exception cref="ProcessGroupException">A member failed (unless errors are ignored).</exception>
    public bool TryJoin(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        TryJoinAsync(timeout, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Waits until every member has exited, as long as it takes.</summary>
    /// <exception cref="ProcessGroupException">A member failed (unless errors are ignored).</exception>
    public Task JoinAsync(CancellationToken cancellationToken = default) => JoinAsync(null, cancellationToken);

    /// <inheritdoc cref="Join"/>
    public async Task JoinAsync(TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        if (!await TryJoinCoreAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            throw Timeouts.Expired($"process group {_id} still had members running", timeout);
        }
    }

    /// <inheritdoc cref="TryJoin"/>
    public Task<bool> TryJoinAsync(TimeSpan timeout, CancellationToken cancellationToken = default) => TryJoinCoreAsync(timeout, cancellationToken);

    private async Task<bool> TryJoinCoreAsync(TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var reply = await RuntimeClient.Current
            .RequestAsync<GroupStatusReply>(new GroupCommand(RequireId(), GroupOp.Join, Timeouts.ToMilliseconds(timeout), 0), cancellationToken)
            .ConfigureAwait(false);
        return !reply.Status.TimedOut;
    }

    /// <summary>Stops every member: SIGINT, then SIGTERM, then SIGKILL, <paramref name="patience"/> apart (default 2 s).</summary>
    public void Stop(TimeSpan? patience = null) => StopAsync(patience).GetAwaiter().GetResult();

    /// <inheritdoc cref="Stop"/>
    public Task StopAsync(TimeSpan? patience = null, CancellationToken cancellationToken = default) =>
        CommandAsync(GroupOp.Stop, Timeouts.ToMilliseconds(patience ?? s_closePatience), 0, cancellationToken);

    /// <summary>Sends a signal to every running member.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The number is no Linux signal (1 to 64).</exception>
    public void Signal(int signal) => SignalAsync(signal).GetAwaiter().GetResult();

    /// <inheritdoc cref="Signal"/>
    public Task SignalAsync(int signal, CancellationToken cancellationToken = default)
    {
        DragonProcess.ThrowIfNotASignal(signal);
        return CommandAsync(GroupOp.Signal, -1, signal, cancellationToken);
    }

    /// <summary>Kills every running member at once.</summary>
    public void Kill() => Signal(9);

    /// <inheritdoc cref="Kill"/>
    public Task KillAsync(CancellationToken cancellationToken = default) => SignalAsync(9, cancellationToken);

    /// <summary>
    /// Stops what still runs (SIGINT, then SIGTERM, then SIGKILL, 2 s apart) and releases the group in the runtime.
    /// Does nothing when this instance already closed or disposed the group.
    /// </summary>
    public void Close() => ReleaseAsync(s_closePatience, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="Close"/>
    public Task CloseAsync(CancellationToken cancellationToken = default) => ReleaseAsync(s_closePatience, cancellationToken);

    /// <summary>
    /// Releases the group in the runtime, as <see cref="Close"/> does, but without its patience: members still
    /// running are signalled SIGINT, SIGTERM, SIGKILL 100 ms apart, so a dispose never waits seconds. Call
    /// <see cref="Stop"/> or <see cref="Close"/> first for a gentler stop. Does nothing after <see cref="Close"/>, after
    /// an earlier dispose, before <see cref="Init"/>, or when the group is already gone from the runtime.
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>As <see cref="Dispose"/>, without blocking a thread while the members are stopped.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await ReleaseAsync(s_disposePatience, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ProcessNotFoundException)
        {
            // Closed through another reference (another process that was handed the group): nothing left to release.
        }
    }

    private async Task ReleaseAsync(TimeSpan patience, CancellationToken cancellationToken)
    {
        if (_id == 0 || Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        await CommandAsync(GroupOp.Close, Timeouts.ToMilliseconds(patience), 0, cancellationToken).ConfigureAwait(false);
    }

    private static GroupStatus NotInitialized => new(0, GroupState.Pending, [], [], [], null, false);

    private GroupStatus Query() => _id == 0 ? NotInitialized : CommandAsync(GroupOp.Query, -1, 0, CancellationToken.None).GetAwaiter().GetResult();

    private async Task<GroupStatus> CommandAsync(GroupOp op, long timeoutMs, int signal, CancellationToken cancellationToken) =>
        (await RuntimeClient.Current
            .RequestAsync<GroupStatusReply>(new GroupCommand(RequireId(), op, timeoutMs, signal), cancellationToken)
            .ConfigureAwait(false)).Status;

    private static ProcessGroupStatus ToPublic(GroupStatus status) => new(
        (ProcessGroupState)status.State,
        status.Puids,
        status.InactivePuids,
        status.Members.Where(m => m.State == ProcessState.Exited).Select(m => (m.Puid, m.ExitCode)).ToArray(),
        status.Failure);

    private ulong RequireId() => _id != 0 ? _id : throw new InvalidOperationException("the process group is not initialized; call Init or Start first");

    void IRuntimeObject<ProcessGroup>.WriteDescriptor(Utf8JsonWriter writer) => writer.WriteNumber("group", RequireId());

    static ProcessGroup IRuntimeObject<ProcessGroup>.FromDescriptor(JsonElement descriptor) => new(descriptor.GetProperty("group").GetUInt64());
}
