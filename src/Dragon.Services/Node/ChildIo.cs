using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Dragon.Services.Spawning;

namespace Dragon.Services.Node;

/// <summary>
/// One thread that serves every child of this process: it reads each child's stdout and stderr pipes (non-blocking)
/// and watches each child's exit through its pidfd, all in one epoll set. A child costs descriptors and a few small
/// objects, never a thread: with a thread per pipe and per exit, 1,024 children held over 2,000 threads.
/// <para>
/// Once an entry is added (from the spawning thread), what the loop owns (which descriptors are in the set, each
/// stream's partial line, the full sinks) is touched on the loop thread only. Other threads reach it by
/// <see cref="Post"/>: a command queued, then an eventfd written to wake the loop. Back-pressure is a descriptor taken out of the set (<see cref="Pause"/>): a stream whose
/// reader or sink is full is not read, so its child blocks in write, and it is put back (<see cref="Resume"/>) when
/// there is room. Taken out rather than left in with no events: a pipe whose writer closed reports EPOLLHUP
/// whatever is asked, and would wake the loop for ever.
/// </para>
/// </summary>
internal sealed unsafe class ChildIo
{
    /// <summary>Bytes read from a pipe at once; also the longest line delivered whole.</summary>
    public const int ReadBytes = OutputPump.MaxLineBytes;

    private const int MaxEvents = 256;
    private const ulong WakeToken = 0;

    private static readonly Lazy<ChildIo> s_shared = new(() => new ChildIo());

    private readonly int _epoll;
    private readonly int _wake;
    private readonly ConcurrentQueue<Action> _commands = new();
    private readonly ConcurrentDictionary<ulong, ChildIoEntry> _entries = new();
    private readonly Dictionary<IOutputSink, SinkGate> _fullSinks = [];
    private long _lastToken;
    private int _wakePending;

    private ChildIo()
    {
        _epoll = Native.epoll_create1(Native.O_CLOEXEC);
        _wake = Native.eventfd(0, Native.EFD_NONBLOCK | Native.EFD_CLOEXEC);
        if (_epoll < 0 || _wake < 0 || Native.EpollCtl(_epoll, Native.EPOLL_CTL_ADD, _wake, Native.EPOLLIN, WakeToken) != 0)
        {
            throw new InvalidOperationException($"cannot create the child I/O loop: {Native.ErrorText(Marshal.GetLastPInvokeError())}");
        }

        new Thread(Run, maxStackSize: 256 * 1024) { IsBackground = true, Name = "child io" }.Start();
    }

    /// <summary>The loop of this process, started on first use.</summary>
    public static ChildIo Shared => s_shared.Value;

    /// <summary>The loop's read buffer: one for all streams, since one stream is read at a time. Loop thread only.</summary>
    public byte[] ReadBuffer { get; } = new byte[ReadBytes];

    /// <summary>
    /// From any thread: adds an entry (its descriptor already open) to the set, at once rather than by a command, so
    /// a spawn never wakes the loop: the loop touches the entry only once its descriptor is ready, after this.
    /// </summary>
    public void Add(ChildIoEntry entry)
    {
        entry.Token = (ulong)Interlocked.Increment(ref _lastToken);
        _entries[entry.Token] = entry;
        Watch(entry);
    }

    /// <summary>From any thread: puts a paused entry back in the set.</summary>
    public void Resume(ChildIoEntry entry) => Post(() =>
    {
        if (!entry.IsWatched && _entries.ContainsKey(entry.Token))
        {
            Watch(entry);
        }
    });

    /// <summary>Loop thread: takes an entry out of the set until <see cref="Resume"/>.</summary>
    public void Pause(ChildIoEntry entry)
    {
        if (entry.IsWatched)
        {
            _ = Native.EpollCtl(_epoll, Native.EPOLL_CTL_DEL, entry.Fd, 0, 0);
            entry.IsWatched = false;
        }
    }

    /// <summary>Loop thread: forgets an entry and closes its descriptor.</summary>
    public void Remove(ChildIoEntry entry)
    {
        Pause(entry);
        _entries.TryRemove(entry.Token, out _);
        _ = Native.close(entry.Fd);
    }

    /// <summary>
    /// Loop thread, before a forwarded stream is read: true when its sink is full, and then the stream is paused
    /// until the sink has room again. While one sink is full no stream writes to it, so it holds one batch too many
    /// at most, however many children write to it.
    /// </summary>
    public bool HoldIfFull(IOutputSink sink, ChildIoEntry stream)
    {
        if (!_fullSinks.TryGetValue(sink, out var gate))
        {
            return false;
        }

        Pause(stream);
        gate.Waiting.Add(stream);
        return true;
    }

    /// <summary>Loop thread: a write left the sink full; the stream waits (with any other) until <paramref name="room"/>.</summary>
    public void Hold(IOutputSink sink, Task room, ChildIoEntry stream)
    {
        Pause(stream);
        if (_fullSinks.TryGetValue(sink, out var held))
        {
            // Already held (a last line handed on at end of file): the first wait frees them all.
            held.Waiting.Add(stream);
            return;
        }

        var gate = new SinkGate();
        _fullSinks[sink] = gate;
        gate.Waiting.Add(stream);
        _ = room.ContinueWith(
            _ => Post(() =>
            {
                _fullSinks.Remove(sink);
                foreach (var waiting in gate.Waiting)
                {
                    if (!waiting.IsWatched && _entries.ContainsKey(waiting.Token))
                    {
                        Watch(waiting);
                    }
                }
            }),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private void Watch(ChildIoEntry entry)
    {
        // Marked first: the loop may see the descriptor ready as soon as it is in the set.
        entry.IsWatched = true;
        if (Native.EpollCtl(_epoll, Native.EPOLL_CTL_ADD, entry.Fd, Native.EPOLLIN, entry.Token) == 0)
        {
            return;
        }

        entry.IsWatched = false;

        // Out of kernel memory for the set: the entry cannot be served; it ends now rather than never.
        entry.OnFailed(this, Marshal.GetLastPInvokeError());
    }

    private void Post(Action command)
    {
        _commands.Enqueue(command);
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            ulong one = 1;
            _ = Native.write(_wake, (byte*)&one, sizeof(ulong));
        }
    }

    private void Run()
    {
        var events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * Native.EpollEventBytes));
        while (true)
        {
            var n = Native.epoll_wait(_epoll, events, MaxEvents, -1);
            if (n < 0)
            {
                // EINTR; nothing else can fail on a valid set and buffer.
                continue;
            }

            for (var i = 0; i < n; i++)
            {
                var token = Native.EpollData(events, i);
                if (token == WakeToken)
                {
                    RunCommands();
                }
                else if (_entries.TryGetValue(token, out var entry) && entry.IsWatched)
                {
                    // An entry paused or removed earlier in this batch is skipped: its event is stale.
                    entry.OnReady(this);
                }
            }
        }
    }

    private void RunCommands()
    {
        ulong count;
        _ = Native.read(_wake, (byte*)&count, sizeof(ulong));
        _ = Interlocked.Exchange(ref _wakePending, 0);
        while (_commands.TryDequeue(out var command))
        {
            command();
        }
    }

    /// <summary>The streams held back while a sink is full.</summary>
    private sealed class SinkGate
    {
        public List<ChildIoEntry> Waiting { get; } = [];
    }
}
