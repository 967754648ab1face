using System.Runtime.InteropServices;
using Dragon.Services.Spawning;

namespace Dragon.Services.Node;

/// <summary>A child of this node service: its pid, its pipes, and the thread that reaps it.</summary>
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

    /// <summary>Starts a thread that waits for the child and reports (code, signal).</summary>
    public void WatchExit(Action<LocalProcess, int, int> onExit)
    {
        if (Reaper.Shared?.Watch(Pid, (code, signal) => Finish(onExit, code, signal)) == true)
        {
            return;
        }

        var thread = new Thread(
            () =>
            {
                int status;
                while (Native.waitpid(Pid, out status, 0) < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno != Native.EINTR)
                    {
                        // Not ours to reap any more (ECHILD): report it as lost rather than hang.
                        onExit(this, -1, 0);
                        return;
                    }
                }

                var (code, signal) = Native.DecodeWaitStatus(status);
                Finish(onExit, code, signal);
            },
            maxStackSize: 128 * 1024)
        { IsBackground = true, Name = $"reap {Pid}" };
        thread.Start();
    }

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
