using Dragon.Runtime.Protocol;

namespace Dragon.Services.Global;

/// <summary>Global services' view of one process: where it runs and how it ended.</summary>
internal sealed class ProcessRecord
{
    private readonly TaskCompletionSource<ProcessStatus> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ProcessRecord(ProcessDescriptor descriptor, ProcessSpec spec, int ordinal)
    {
        Descriptor = descriptor;
        Spec = spec;
        Ordinal = ordinal;
    }

    public ProcessDescriptor Descriptor { get; set; }

    public ProcessSpec Spec { get; }

    /// <summary>Position in its group (or 0), which placement and messages use.</summary>
    public int Ordinal { get; }

    public ulong Puid => Descriptor.Puid;

    public int NodeIndex => Descriptor.NodeIndex;

    /// <summary>Set when the runtime itself stops the process, so its death is not counted as a failure.</summary>
    public string? StopReason { get; set; }

    public Task<ProcessStatus> Exit => _exit.Task;

    public bool HasExited => _exit.Task.IsCompleted;

    public ProcessStatus Status => _exit.Task.IsCompleted
        ? _exit.Task.Result
        : new ProcessStatus(Puid, ProcessState.Running, 0, 0, "running", NodeIndex, Failed: false);

    public void Complete(ProcessStatus status) => _exit.TrySetResult(status);
}
