using Dragon.Runtime.Protocol;

namespace Dragon.Services.Global;

/// <summary>
/// Global services' view of one process: where it runs and how it ended. A process can be asked about for the
/// whole run, so its record stays; but once it exited, only what a query or a join can return is kept (descriptor
/// and status, about 300 bytes with its table entry): the spec it was started from, with its arguments and
/// environment, is never held, and the waiting machinery is dropped at the exit.
/// </summary>
internal sealed class ProcessRecord
{
    private TaskCompletionSource<ProcessStatus>? _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ProcessStatus? _status;

    public ProcessRecord(ProcessDescriptor descriptor, int ordinal)
    {
        Descriptor = descriptor;
        Ordinal = ordinal;
    }

    public ProcessDescriptor Descriptor { get; set; }

    /// <summary>Position in its group (or 0), which placement and messages use.</summary>
    public int Ordinal { get; }

    public ulong Puid => Descriptor.Puid;

    public int NodeIndex => Descriptor.NodeIndex;

    /// <summary>When the process was recorded as started (a <see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
    public long StartedAt { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>When its exit was recorded (a <see cref="System.Diagnostics.Stopwatch"/> timestamp), or 0 while it runs.</summary>
    public long EndedAt => Volatile.Read(ref _endedAt);

    private long _endedAt;

    /// <summary>How long it ran, or has run so far.</summary>
    public TimeSpan Runtime => System.Diagnostics.Stopwatch.GetElapsedTime(StartedAt, EndedAt is var end and not 0 ? end : System.Diagnostics.Stopwatch.GetTimestamp());

    /// <summary>Set when the runtime itself stops the process, so its death is not counted as a failure.</summary>
    public string? StopReason { get; set; }

    public Task<ProcessStatus> Exit
    {
        get
        {
            // The status is published before the completion source is let go, so one of the two is always there.
            var exit = Volatile.Read(ref _exit);
            return exit is not null ? exit.Task : Task.FromResult(Volatile.Read(ref _status)!);
        }
    }

    public bool HasExited => Volatile.Read(ref _status) is not null;

    public ProcessStatus Status => Volatile.Read(ref _status) ?? new ProcessStatus(Puid, ProcessState.Running, 0, 0, "running", NodeIndex, Failed: false);

    /// <summary>Records the exit; false when it was recorded before (only the first status counts).</summary>
    public bool Complete(ProcessStatus status)
    {
        var exit = _exit;
        if (exit is null || Interlocked.CompareExchange(ref _status, status, null) is not null)
        {
            return false;
        }

        Volatile.Write(ref _endedAt, System.Diagnostics.Stopwatch.GetTimestamp());
        Volatile.Write(ref _exit, null);
        exit.TrySetResult(status);
        return true;
    }
}
