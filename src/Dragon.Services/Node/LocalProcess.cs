using Dragon.Services.Spawning;

namespace Dragon.Services.Node;

/// <summary>A child of this node service: its pid, its pipes, and how its exit is reported.</summary>
internal sealed class LocalProcess
{
    private readonly System.Threading.Lock _stdinLock = new();
    private int _stdinFd;

    public LocalProcess(ulong puid, SpawnedChild child, OutputPump? stdout, OutputPump? stderr, byte[]? methodTarget)
    {
        Puid = puid;
        Pid = child.Pid;
        _stdinFd = child.StdinWrite;
        Stdout = stdout;
        Stderr = stderr;
        MethodTarget = methodTarget;
    }

    /// <summary>Stands for every process that exited and whose output was all taken (see <see cref="NodeService.RetireIfSpent"/>).</summary>
    public static LocalProcess Retired { get; } = new();

    private LocalProcess()
    {
        _stdinFd = -1;
        Exited = true;
    }

    /// <summary>Exited, and nothing of its output is left to hand on or to read.</summary>
    public bool IsSpent => Exited && (Stdout?.IsConsumed ?? true) && (Stderr?.IsConsumed ?? true);

    public ulong Puid { get; }

    public int Pid { get; }

    public OutputPump? Stdout { get; }

    public OutputPump? Stderr { get; }

    public byte[]? MethodTarget { get; }

    /// <summary>Set once the child has been reaped; from then on its pid may belong to someone else.</summary>
    public volatile bool Exited;

    /// <summary>Has the child I/O loop report its exit as (code, signal), on the loop's thread.</summary>
    public void WatchExit(Action<LocalProcess, int, int> onExit) =>
        ChildIoExit.Watch(Pid, (code, signal) => Finish(onExit, code, signal));

    private void Finish(Action<LocalProcess, int, int> onExit, int code, int signal)
    {
        Exited = true;
        CloseStdin();
        onExit(this, code, signal);
    }

    /// <summary>Signals the child's whole process group (it leads its own session).</summary>
    public void Signal(int signal)
    {
        if (Exited)
        {
            return;
        }

        if (Native.kill(-Pid, signal) != 0)
        {
            _ = Native.kill(Pid, signal);
        }
    }

    public bool WriteStdin(ReadOnlySpan<byte> data, bool close)
    {
        lock (_stdinLock)
        {
            if (_stdinFd < 0)
            {
                return data.IsEmpty && close;
            }

            var ok = Native.WriteAll(_stdinFd, data);
            if (close)
            {
                CloseStdinLocked();
            }

            return ok;
        }
    }

    private void CloseStdin()
    {
        lock (_stdinLock)
        {
            CloseStdinLocked();
        }
    }

    private void CloseStdinLocked()
    {
        if (_stdinFd >= 0)
        {
            _ = Native.close(_stdinFd);
            _stdinFd = -1;
        }
    }
}
