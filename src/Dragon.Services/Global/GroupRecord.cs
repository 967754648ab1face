using Dragon.Runtime.Protocol;
using Dragon.Services.Diagnostics;

namespace Dragon.Services.Global;

/// <summary>
/// The state machine of one process group in global services: start (batched per node), restart of members that
/// exit, the first failure, walltime, stop escalation, and the joins waiting on it.
/// </summary>
internal sealed class GroupRecord
{
    private readonly System.Threading.Lock _lock = new();
    private readonly GlobalServices _global;
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<ProcessRecord> _exited = [];
    private ProcessRecord[] _slots = [];
    private ProcessSpec[] _slotSpecs = [];
    private int[] _slotNodes = [];
    private GroupState _state = GroupState.Pending;
    private string? _failure;
    private System.Diagnostics.Activity? _activity;
    private ErrorContext? _failureContext;
    private Timer? _walltime;

    public GroupRecord(ulong id, GroupSpec spec, GlobalServices global)
    {
        Id = id;
        Spec = spec;
        _global = global;
    }

    public ulong Id { get; }

    public GroupSpec Spec { get; }

    /// <summary>Hook for MPI groups: extra environment per rank, and a callback once the ranks are started.</summary>
    public IGroupLaunchHook? LaunchHook { get; set; }

    public async Task StartAsync()
    {
        lock (_lock)
        {
            if (_state != GroupState.Pending)
            {
                throw new ServiceException(ErrorKind.Closed, $"process group {Id} was already started");
            }

            _slotSpecs = Spec.Members.SelectMany(m => Enumerable.Repeat(m.Template, m.Count)).ToArray();
            var spread = _global.SpreadOrder();
            _slotNodes = _slotSpecs.Select((s, i) => Placement.Choose(s.Placement, i, _slotSpecs.Length, _global.NodeDescriptors, spread, () => spread[i % spread.Length], _global.IsLost)).ToArray();
            _state = GroupState.Running;
        }

        _activity = DragonActivities.StartGroup(Id, _slotSpecs.Length, Spec.Pmi != PmiMode.None);
        if (LaunchHook is { } launch)
        {
            await launch.BeforeStartAsync(this, _slotNodes).ConfigureAwait(false);
        }

        ProcessDescriptor[] started;
        try
        {
            started = await _global.StartPlacedAsync(_slotSpecs, _slotNodes, Id, LaunchHook is { } hook ? i => hook.EnvironmentFor(i) : null, _activity).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            lock (_lock)
            {
                _state = GroupState.Finished;
            }

            DragonActivities.EndGroup(Interlocked.Exchange(ref _activity, null), e.Message);
            _finished.TrySetResult();
            throw;
        }

        lock (_lock)
        {
            _slots = started.Select(d => _global.Find(d.Puid)).ToArray();
        }

        LaunchHook?.AfterStart(this, _slots);
        if (Spec.WalltimeMs > 0)
        {
            _walltime = new Timer(_ => OnWalltime(), null, Spec.WalltimeMs, Timeout.Infinite);
        }

        // Members may have exited before the slots were recorded.
        foreach (var record in _slots.Where(r => r.HasExited).ToArray())
        {
            OnMemberExited(record);
        }
    }

    public IReadOnlyList<ProcessRecord> Slots => _slots;

    public void OnMemberExited(ProcessRecord record)
    {
        ProcessSpec? respawn = null;
        int slot;
        lock (_lock)
        {
            slot = Array.IndexOf(_slots, record);
            if (slot < 0 || _exited.Contains(record))
            {
                return;
            }

            _exited.Add(record);
            var status = record.Status;
            // An MPI group's launch hook judges its ranks itself (a rank's death there means the whole job's).
            if (status.Failed && !Spec.IgnoreErrorOnExit && LaunchHook is null)
            {
                Fail($"member {slot} ({_global.Describe(record)}) {status.Reason}", status.Signal != 0 ? 128 + status.Signal : status.ExitCode, MemberContext(slot, record));
            }

            if (Spec.Restart && _state == GroupState.Running)
            {
                respawn = _slotSpecs[slot];
            }
            else if (_slots.All(r => r.HasExited))
            {
                Finish();
            }
        }

        LaunchHook?.OnMemberExited(this, slot, record);
        if (respawn is not null)
        {
            _ = RespawnAsync(slot, respawn);
        }
    }

    private async Task RespawnAsync(int slot, ProcessSpec spec)
    {
        try
        {
            var descriptor = (await _global.StartPlacedAsync([spec], [_slotNodes[slot]], Id).ConfigureAwait(false))[0];
            var record = _global.Find(descriptor.Puid);
            lock (_lock)
            {
                _slots[slot] = record;
            }

            if (record.HasExited)
            {
                OnMemberExited(record);
            }
        }
        catch (ServiceException e)
        {
            lock (_lock)
            {
                Fail($"member {slot} could not be restarted: {e.Message}", 1, (e.Context ?? new ErrorContext()) with { Rank = slot });
                if (_slots.All(r => r.HasExited))
                {
                    Finish();
                }
            }
        }
    }

    /// <summary>The exit code that stands for the first failure (the failing member's code, 128+signal, or an abort code).</summary>
    public int FailureExitCode { get; private set; }

    /// <summary>What a failed member's exception carries: its puid, node, member index (rank), and code or signal.</summary>
    /// <remarks>A member of a lost node has neither a code nor a signal (its status says -1).</remarks>
    public static ErrorContext MemberContext(int slot, ProcessRecord record)
    {
        var status = record.Status;
        return new ErrorContext(
            record.Puid,
            record.NodeIndex,
            slot,
            status.Signal == 0 && status.ExitCode >= 0 ? status.ExitCode : null,
            status.Signal != 0 ? status.Signal : null);
    }

    /// <summary>Records the first failure; joins throw it, with <paramref name="context"/> for the exception's properties.</summary>
    public void Fail(string failure, int exitCode = 1, ErrorContext? context = null)
    {
        lock (_lock)
        {
            if (_failure is null)
            {
                _failure = failure;
                _failureContext = context;
                FailureExitCode = exitCode;
            }
        }

        _failed.TrySetResult();
    }

    private void Finish()
    {
        _state = GroupState.Finished;
        DragonActivities.EndGroup(Interlocked.Exchange(ref _activity, null), _failure);
        _walltime?.Dispose();
        _finished.TrySetResult();
    }

    private void OnWalltime()
    {
        if (!Spec.IgnoreErrorOnExit)
        {
            Fail($"walltime of {TimeSpan.FromMilliseconds(Spec.WalltimeMs)} exceeded");
        }

        _ = StopAsync(TimeSpan.FromSeconds(2), "walltime exceeded");
    }

    public async Task<GroupStatus> JoinAsync(long timeoutMs, CancellationToken cancellationToken)
    {
        RequireStarted();
        var waits = new List<Task> { _finished.Task, _failed.Task };
        if (timeoutMs >= 0)
        {
            waits.Add(Task.Delay(TimeSpan.FromMilliseconds(timeoutMs), cancellationToken));
        }
        else
        {
            waits.Add(Task.Delay(Timeout.Infinite, cancellationToken));
        }

        await Task.WhenAny(waits).ConfigureAwait(false);
        if (!_finished.Task.IsCompleted && !_failed.Task.IsCompleted)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }

        if (_failure is { } failure)
        {
            throw new ServiceException(ErrorKind.GroupFailed, $"process group {Id}: {failure}", _failureContext);
        }

        return Status(timedOut: !_finished.Task.IsCompleted);
    }

    public async Task<GroupStatus> StopAsync(TimeSpan patience, string reason = "stopped by the runtime")
    {
        ProcessRecord[] alive;
        lock (_lock)
        {
            if (_state == GroupState.Pending)
            {
                Finish();
                return Status(false);
            }

            if (_state == GroupState.Running)
            {
                _state = GroupState.Stopping;
            }

            alive = _slots.Where(r => !r.HasExited).ToArray();
        }

        await Escalation.StopAsync(alive, _global, patience, reason).ConfigureAwait(false);
        lock (_lock)
        {
            if (_slots.All(r => r.HasExited))
            {
                Finish();
            }
        }

        return Status(false);
    }

    public void Signal(int signal)
    {
        Spawning.Signals.ThrowIfInvalid(signal);
        RequireStarted();
        foreach (var record in _slots.Where(r => !r.HasExited))
        {
            _global.Nodes[record.NodeIndex].Signal(record.Puid, signal);
        }
    }

    public async Task CloseAsync(TimeSpan patience)
    {
        await StopAsync(patience).ConfigureAwait(false);
        lock (_lock)
        {
            _state = GroupState.Closed;
        }

        LaunchHook?.OnClosed(this);
        _global.RemoveGroup(Id);
    }

    public GroupStatus Status(bool timedOut)
    {
        lock (_lock)
        {
            return new GroupStatus(
                Id,
                _state,
                _slots.Select(r => r.Puid).ToArray(),
                _exited.Select(r => r.Puid).ToArray(),
                _exited.Select(r => r.Status).Concat(_slots.Where(r => !r.HasExited).Select(r => r.Status)).ToArray(),
                _failure,
                timedOut);
        }
    }

    private void RequireStarted()
    {
        if (_state == GroupState.Pending)
        {
            throw new ServiceException(ErrorKind.Closed, $"process group {Id} has not been started");
        }
    }
}

/// <summary>What an MPI (PMI) group adds to the life of a group.</summary>
internal interface IGroupLaunchHook
{
    Task BeforeStartAsync(GroupRecord group, IReadOnlyList<int> slotNodes);

    IReadOnlyDictionary<string, string>? EnvironmentFor(int slot);

    void AfterStart(GroupRecord group, IReadOnlyList<ProcessRecord> slots);

    void OnMemberExited(GroupRecord group, int slot, ProcessRecord record);

    void OnClosed(GroupRecord group);
}
