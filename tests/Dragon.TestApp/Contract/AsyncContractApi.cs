namespace Dragon.TestApp;

/// <summary>
/// The contract's calls made with the async API. Where the current API has no async twin (Close, Set, Clear,
/// IsSet, Release, Value, Abort, Reset, Poll) it makes the blocking call, which does not wait for anything; where
/// an async wait has no timeout parameter (GetAsync, PutAsync) a token cancelled at the deadline stands in for it,
/// and a try-once (zero timeout) uses the non-waiting Try form. The 1.0 API adds each missing twin.
/// </summary>
public sealed class AsyncContractApi : ContractApi
{
    public static readonly AsyncContractApi Instance = new();

    private AsyncContractApi()
    {
    }

    public override string Mode => AsyncMode;

    public override async ValueTask Put<T>(DragonQueue<T> queue, T item, TimeSpan? timeout = null)
    {
        using var deadline = Deadline(timeout);
        await queue.PutAsync(item, deadline?.Token ?? default);
    }

    public override async ValueTask<bool> TryPut<T>(DragonQueue<T> queue, T item, TimeSpan timeout)
    {
        if (timeout == TimeSpan.Zero)
        {
            return queue.TryPut(item, TimeSpan.Zero);
        }

        using var deadline = Deadline(timeout)!;
        try
        {
            await queue.PutAsync(item, deadline.Token);
            return true;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return false;
        }
    }

    public override async ValueTask<T> Get<T>(DragonQueue<T> queue, TimeSpan? timeout = null)
    {
        using var deadline = Deadline(timeout);
        return await queue.GetAsync(deadline?.Token ?? default);
    }

    public override async ValueTask<(bool Got, T Item)> TryGet<T>(DragonQueue<T> queue, TimeSpan timeout)
    {
        if (timeout == TimeSpan.Zero)
        {
            return queue.TryGet(out var now, TimeSpan.Zero) ? (true, now) : (false, default!);
        }

        using var deadline = Deadline(timeout)!;
        try
        {
            return (true, await queue.GetAsync(deadline.Token));
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return (false, default!);
        }
    }

    public override ValueTask Close<T>(DragonQueue<T> queue)
    {
        queue.Close();
        return ValueTask.CompletedTask;
    }

    public override ValueTask Send<T>(Connection end, T item) => end.SendAsync(item);

    public override ValueTask<T> Receive<T>(Connection end, TimeSpan? timeout = null) => end.RecvAsync<T>(timeout, CancellationToken.None);

    public override async ValueTask<(bool Got, T Item)> TryReceive<T>(Connection end, TimeSpan timeout)
    {
        try
        {
            return (true, await end.RecvAsync<T>(timeout, CancellationToken.None));
        }
        catch (TimeoutException)
        {
            return (false, default!);
        }
    }

    public override ValueTask<bool> Poll(Connection end, TimeSpan timeout) => new(end.Poll(timeout));

    public override async ValueTask<List<T>> ReceiveAll<T>(Connection end)
    {
        var all = new List<T>();
        await foreach (var item in end.ReadAllAsync<T>())
        {
            all.Add(item);
        }

        return all;
    }

    public override ValueTask Close(Connection end)
    {
        end.Close();
        return ValueTask.CompletedTask;
    }

    public override ValueTask Set(DragonEvent @event)
    {
        @event.Set();
        return ValueTask.CompletedTask;
    }

    public override ValueTask Clear(DragonEvent @event)
    {
        @event.Clear();
        return ValueTask.CompletedTask;
    }

    public override ValueTask<bool> IsSet(DragonEvent @event) => new(@event.IsSet);

    public override async ValueTask Wait(DragonEvent @event) => await @event.WaitAsync();

    public override async ValueTask<bool> TryWait(DragonEvent @event, TimeSpan timeout) => await @event.WaitAsync(timeout);

    public override async ValueTask Acquire(DragonLock @lock) => await @lock.AcquireAsync();

    public override async ValueTask<bool> TryAcquire(DragonLock @lock, TimeSpan timeout) => await @lock.AcquireAsync(timeout);

    public override ValueTask Release(DragonLock @lock)
    {
        @lock.Release();
        return ValueTask.CompletedTask;
    }

    public override async ValueTask Acquire(DragonSemaphore semaphore) => await semaphore.AcquireAsync();

    public override async ValueTask<bool> TryAcquire(DragonSemaphore semaphore, TimeSpan timeout) => await semaphore.AcquireAsync(timeout);

    public override ValueTask Release(DragonSemaphore semaphore, int count = 1)
    {
        semaphore.Release(count);
        return ValueTask.CompletedTask;
    }

    public override ValueTask<int> GetValue(DragonSemaphore semaphore) => new(semaphore.Value);

    public override async ValueTask<int> Wait(DragonBarrier barrier, TimeSpan? timeout = null) => await barrier.WaitAsync(timeout);

    public override ValueTask Abort(DragonBarrier barrier)
    {
        barrier.Abort();
        return ValueTask.CompletedTask;
    }

    public override ValueTask Reset(DragonBarrier barrier)
    {
        barrier.Reset();
        return ValueTask.CompletedTask;
    }

    public override Task Get<T>(DragonQueue<T> queue, CancellationToken cancellationToken) => queue.GetAsync(cancellationToken).AsTask();

    public override Task Receive<T>(Connection end, CancellationToken cancellationToken) => end.RecvAsync<T>(cancellationToken).AsTask();

    public override Task Wait(DragonEvent @event, CancellationToken cancellationToken) => @event.WaitAsync(cancellationToken: cancellationToken);

    public override Task Acquire(DragonLock @lock, CancellationToken cancellationToken) => @lock.AcquireAsync(cancellationToken: cancellationToken);

    public override Task Acquire(DragonSemaphore semaphore, CancellationToken cancellationToken) => semaphore.AcquireAsync(cancellationToken: cancellationToken);

    /// <summary>A token cancelled after <paramref name="timeout"/>; null for no timeout.</summary>
    private static CancellationTokenSource? Deadline(TimeSpan? timeout) =>
        timeout is { } t && t != Timeout.InfiniteTimeSpan ? new CancellationTokenSource(t) : null;
}
