namespace Dragon.Services.Node;

/// <summary>A descriptor served by the <see cref="ChildIo"/> loop: a child's pipe or its pidfd.</summary>
internal abstract class ChildIoEntry
{
    /// <summary>The descriptor, owned by the entry: closed by <see cref="ChildIo.Remove"/>.</summary>
    public int Fd { get; protected init; }

    /// <summary>The entry's key in the loop's table.</summary>
    public ulong Token { get; set; }

    /// <summary>In the epoll set now (loop thread only, once added).</summary>
    public bool IsWatched { get; set; }

    /// <summary>Loop thread: the descriptor is readable (or hung up).</summary>
    public abstract void OnReady(ChildIo loop);

    /// <summary>The descriptor could not be put in the set (on the loop thread, or on the thread that added it).</summary>
    public abstract void OnFailed(ChildIo loop, int errno);
}
