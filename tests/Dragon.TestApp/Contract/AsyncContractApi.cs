namespace Dragon.TestApp;

/// <summary>The contract's calls made with the async API: every one is the async twin of the blocking call.</summary>
public sealed class AsyncContractApi : ContractApi
{
    public static readonly AsyncContractApi Instance = new();

    private AsyncContractApi()
    {
    }

    public override string Mode => AsyncMode;

    public override ValueTask Put<T>(DragonQueue<T> queue, T item, TimeSpan? timeout = null) => queue.PutAsync(item, timeout);

    public override ValueTask<bool> TryPut<T>(DragonQueue<T> queue, T item, TimeSpan timeout) => queue.TryPutAsync(item, timeout);

    public override ValueTask<T> Get<T>(DragonQueue<T> queue, TimeSpan? timeout = null) => queue.GetAsync(timeout);

    public override ValueTask<(bool Got, T Item)> TryGet<T>(DragonQueue<T> queue, TimeSpan timeout) => queue.TryGetAsync(timeout);

    public override ValueTask Close<T>(DragonQueue<T> queue) => queue.CloseAsync();

    public override ValueTask Flush<T>(ContractChannel<T> channel) =>
        new(channel.Queue is { } queue ? queue.FlushAsync(TimeSpan.FromSeconds(10)) : channel.End!.FlushAsync(TimeSpan.FromSeconds(10)));

    public override ValueTask Send<T>(Connection end, T item) => end.SendAsync(item);

    public override ValueTask<T> Receive<T>(Connection end, TimeSpan? timeout = null) => end.ReceiveAsync<T>(timeout);

    public override async ValueTask<(bool Got, T Item)> TryReceive<T>(Connection end, TimeSpan timeout) =>
        await end.PollAsync(timeout) ? (true, await end.ReceiveAsync<T>(TimeSpan.Zero)) : (false, default!);

    public override ValueTask<bool> Poll(Connection end, TimeSpan timeout) => end.PollAsync(timeout);

    public override async ValueTask<List<T>> ReceiveAll<T>(Connection end)
    {
        var all = new List<T>();
        await foreach (var item in end.ReadAllAsync<T>())
        {
            all.Add(item);
        }

        return all;
    }

    public override ValueTask Close(Connection end) => end.CloseAsync();

    public override async ValueTask Set(DragonEvent @event) => await @event.SetAsync();

    public override async ValueTask Clear(DragonEvent @event) => await @event.ClearAsync();

    public override async ValueTask<bool> IsSet(DragonEvent @event) => await @event.IsSetAsync();

    public override async ValueTask Wait(DragonEvent @event) => await @event.WaitAsync();

    public override async ValueTask<bool> TryWait(DragonEvent @event, TimeSpan timeout) => await @event.TryWaitAsync(timeout);

    public override async ValueTask Acquire(DragonLock @lock) => await @lock.AcquireAsync();

    public override async ValueTask<bool> TryAcquire(DragonLock @lock, TimeSpan timeout) => await @lock.TryAcquireAsync(timeout);

    public override async ValueTask Release(DragonLock @lock) => await @lock.ReleaseAsync();

    public override async ValueTask Acquire(DragonSemaphore semaphore) => await semaphore.AcquireAsync();

    public override async ValueTask<bool> TryAcquire(DragonSemaphore semaphore, TimeSpan timeout) => await semaphore.TryAcquireAsync(timeout);

    public override async ValueTask Release(DragonSemaphore semaphore, int count = 1) => await semaphore.ReleaseAsync(count);

    public override async ValueTask<int> GetValue(DragonSemaphore semaphore) => await semaphore.GetValueAsync();

    public override async ValueTask<int> Wait(DragonBarrier barrier, TimeSpan? timeout = null) => await barrier.WaitAsync(timeout);

    public override async ValueTask Abort(DragonBarrier barrier) => await barrier.AbortAsync();

    public override async ValueTask Reset(DragonBarrier barrier) => await barrier.ResetAsync();

    public override Task Get<T>(DragonQueue<T> queue, CancellationToken cancellationToken) => queue.GetAsync(cancellationToken).AsTask();

    public override Task Receive<T>(Connection end, CancellationToken cancellationToken) => end.ReceiveAsync<T>(cancellationToken).AsTask();

    public override Task Wait(DragonEvent @event, CancellationToken cancellationToken) => @event.WaitAsync(cancellationToken);

    public override Task Acquire(DragonLock @lock, CancellationToken cancellationToken) => @lock.AcquireAsync(cancellationToken);

    public override Task Acquire(DragonSemaphore semaphore, CancellationToken cancellationToken) => semaphore.AcquireAsync(cancellationToken);
}
