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

    /// <summary>Puids of the members currently in the group (the latest incarnation of each).</summary>
    public IReadOnlyList<ulong> Puids => Query().Puids;

    /// <summary>Puids of members that have exited (including replaced incarnations under restart).</summary>
    public IReadOnlyList<ulong> InactivePuids => Query().InactivePuids;

    /// <summary>Exit code of every member that has exited, in the order they exited.</summary>
    public IReadOnlyList<(ulong Puid, int ExitCode)> ExitStatus =>
        Query().Members.Where(m => m.State == ProcessState.Exited).Select(m => (m.Puid, m.ExitCode)).ToArray();

    /// <summary>The current members as processes (for their piped streams, node, pid).</summary>
    public IReadOnlyList<DragonProcess> Processes =>
        RuntimeClient.Current.Request<QueryManyReply>(new QueryManyRequest([.. Query().Puids])).Processes.Select(d => new DragonProcess(d)).ToArray();

    /// <summary>True while any member runs.</summary>
    public bool IsRunning => Query().State is GroupState.Running or GroupState.Stopping;

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
    public void Init()
    {
        if (_id != 0)
        {
            return;
        }

        if (_members.Count == 0)
        {
            throw new InvalidOperationException("a process group needs at least one AddProcess before Init");
        }

        var spec = new GroupSpec(_members.ToArray(), Restart, IgnoreErrorOnExit, Timeouts.ToMilliseconds(Walltime), (PmiMode)Pmi);
        _id = RuntimeClient.Current.Request<GroupStatusReply>(new GroupCreateRequest(spec)).Status.GroupId;
    }

    /// <summary>Starts every member, batched per node.</summary>
    /// <exception cref="ProcessStartException">A member could not start; none of the group is left running.</exception>
    public void Start()
    {
        Init();
        _ = Command(GroupOp.Start);
    }

    /// <summary>
    /// Waits until every member has exited (true) or the timeout passes (false).
    /// </summary>
    /// <exception cref="ProcessGroupException">A member failed (unless errors are ignored); the message says which and why.</exception>
    public bool Join(TimeSpan? timeout = null) => JoinAsync(timeout).GetAwaiter().GetResult();

    /// <inheritdoc cref="Join"/>
    public async Task<bool> JoinAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var reply = await RuntimeClient.Current
            .RequestAsync<GroupStatusReply>(new GroupCommand(RequireId(), GroupOp.Join, Timeouts.ToMilliseconds(timeout), 0), cancellationToken)
            .ConfigureAwait(false);
        return !reply.Status.TimedOut;
    }

    /// <summary>Stops every member: SIGINT, then SIGTERM, then SIGKILL, <paramref name="patience"/> apart (default 2 s).</summary>
    public void Stop(TimeSpan? patience = null) =>
        Command(GroupOp.Stop, Timeouts.ToMilliseconds(patience ?? TimeSpan.FromSeconds(2)));

    /// <summary>Sends a signal to every running member.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The number is no Linux signal (1 to 64).</exception>
    public void Signal(int signal)
    {
        DragonProcess.ThrowIfNotASignal(signal);
        Command(GroupOp.Signal, signal: signal);
    }

    /// <summary>Kills every running member at once.</summary>
    public void Kill() => Signal(9);

    /// <summary>
    /// Stops what still runs (SIGINT, then SIGTERM, then SIGKILL, 2 s apart) and releases the group in the runtime.
    /// Does nothing when this instance already closed or disposed the group.
    /// </summary>
    public void Close() => Release(s_closePatience);

    /// <summary>
    /// Releases the group in the runtime, as <see cref="Close"/> does, but without its patience: members still
    /// running are signalled SIGINT, SIGTERM, SIGKILL 100 ms apart, so a dispose never waits seconds. Call
    /// <see cref="Stop"/> or <see cref="Close"/> first for a gentler stop. Does nothing after <see cref="Close"/>, after
    /// an earlier dispose, before <see cref="Init"/>, or when the group is already gone from the runtime.
    /// </summary>
    public void Dispose()
    {
        try
        {
            Release(s_disposePatience);
        }
        catch (ProcessNotFoundException)
        {
            // Closed through another reference (another process that was handed the group): nothing left to release.
        }
    }

    /// <summary>As <see cref="Dispose"/>, without blocking a thread while the members are stopped.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_id == 0 || Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        try
        {
            await RuntimeClient.Current.RequestAsync<GroupStatusReply>(
                new GroupCommand(_id, GroupOp.Close, Timeouts.ToMilliseconds(s_disposePatience), 0)).ConfigureAwait(false);
        }
        catch (ProcessNotFoundException)
        {
            // Closed through another reference: nothing left to release.
        }
    }

    private void Release(TimeSpan patience)
    {
        if (_id == 0 || Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        Command(GroupOp.Close, Timeouts.ToMilliseconds(patience));
    }

    private GroupStatus Query() => _id == 0
        ? new GroupStatus(0, GroupState.Pending, [], [], [], null, false)
        : Command(GroupOp.Query);

    private GroupStatus Command(GroupOp op, long timeoutMs = -1, int signal = 0) =>
        RuntimeClient.Current.Request<GroupStatusReply>(new GroupCommand(RequireId(), op, timeoutMs, signal)).Status;

    private ulong RequireId() => _id != 0 ? _id : throw new InvalidOperationException("the process group is not initialized; call Init or Start first");

    void IRuntimeObject<ProcessGroup>.WriteDescriptor(Utf8JsonWriter writer) => writer.WriteNumber("group", RequireId());

    static ProcessGroup IRuntimeObject<ProcessGroup>.FromDescriptor(JsonElement descriptor) => new(descriptor.GetProperty("group").GetUInt64());
}
