namespace Dragon.Channels.Internal;

// A joinable ring's count of unfinished items (see the design comment in ShmRing.cs): TaskDone and Join.
internal sealed unsafe partial class ShmRing
{
    /// <summary>
    /// Marks one item of a joinable ring finished; wakes the joiners when none is left. False (and no change) when
    /// every item sent is already finished.
    /// </summary>
    public bool TaskDone()
    {
        ThrowIfDisposed();
        var observed = Volatile.Read(ref _header->Unfinished);
        while (true)
        {
            if (observed <= 0)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _header->Unfinished, observed - 1, observed);
            if (seen == observed)
            {
                break;
            }

            observed = seen;
        }

        // The exchange was a full fence: a joiner that registered before reading the count is seen here.
        if (observed == 1 && Volatile.Read(ref _header->JoinWaiters) != 0)
        {
            Interlocked.Increment(ref _header->JoinEvent);
            Futex.Wake(&_header->JoinEvent, int.MaxValue);
        }

        return true;
    }

    /// <summary>Items sent and not yet marked finished, a snapshot.</summary>
    public long Unfinished
    {
        get
        {
            ThrowIfDisposed();
            return Volatile.Read(ref _header->Unfinished);
        }
    }

    /// <summary>Waits until every item sent has been marked finished; false when <paramref name="timeout"/> passed first.</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled while waiting.</exception>
    public bool WaitAllDone(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (Volatile.Read(ref _header->Unfinished) == 0)
        {
            return true;
        }

        var deadline = WaitDeadline.From(timeout);
        Interlocked.Increment(ref _header->JoinWaiters);
        try
        {
            while (true)
            {
                // Registered, then the event, then the count: a TaskDone that empties the count after this read
                // sees the registration and bumps the event, so the sleep below cannot miss it.
                var observed = Volatile.Read(ref _header->JoinEvent);
                if (Volatile.Read(ref _header->Unfinished) == 0)
                {
                    return true;
                }

                var remaining = deadline.RemainingNanoseconds();
                if (remaining == 0)
                {
                    return false;
                }

                if (cancellationToken.IsCancellationRequested)
                {
                    ThrowCancelled(cancellationToken);
                }

                Futex.Wait(&_header->JoinEvent, observed, SleepSlice(remaining, cancellationToken));
            }
        }
        finally
        {
            Interlocked.Decrement(ref _header->JoinWaiters);
        }
    }
}
