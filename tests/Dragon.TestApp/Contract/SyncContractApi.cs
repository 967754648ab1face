namespace Dragon.TestApp;

/// <summary>The contract's calls made with the blocking API; each returns a completed task.</summary>
public sealed class SyncContractApi : ContractApi
{
    public static readonly SyncContractApi Instance = new();

    private SyncContractApi()
    {
    }

    public override string Mode => SyncMode;

    public override ValueTask Put<T>(DragonQueue<T> queue, T item, TimeSpan? timeout = null)
    {
        queue.Put(item, timeout);
        return ValueTask.CompletedTask;
    }

    public override ValueTask<bool> TryPut<T>(DragonQueue<T> queue, T item, TimeSpan timeout) => new(queue.TryPut(item, timeout));

    public override ValueTask<T> Get<T>(DragonQueue<T> queue, TimeSpan? timeout = null) => new(queue.Get(timeout));

    public override ValueTask<(bool Got, T Item)> TryGet<T>(DragonQueue<T> queue, TimeSpan timeout)
    {
        var got = queue.TryGet(out var item, timeout);
        return new((got, item));
    }

    public override ValueTask Flush<T>(ContractChannel<T> channel)
    {
        if (channel.Queue is { } queue)
        {
            queue.Flush(TimeSpan.FromSeconds(10));
        }
        else
        {
            channel.End!.Flush(TimeSpan.FromSeconds(10));
        }

        return ValueTask.CompletedTask;
    }

    public override ValueTask Close<T>(DragonQueue<T> queue)
    {
        queue.Close();
        return ValueTask.CompletedTask;
    }

    public override ValueTask Send<T>(Connection end, T item)
    {
        end.Send(item);
        return ValueTask.CompletedTask;
    }

    public override ValueTask<T> Receive<T>(Connection end, TimeSpan? timeout = null) => new(end.Receive<T>(timeout));

    public override ValueTask<(bool Got, T Item)> TryReceive<T>(Connection end, TimeSpan timeout) =>
        new(end.TryReceive(out T item, timeout) ? (true, item) : (false, default!));

    public override ValueTask<bool> Poll(Connection end, TimeSpan timeout) => new(end.Poll(timeout));

    public override ValueTask<List<T>> ReceiveAll<T>(Connection end)
    {
        var all = new List<T>();
        while (true)
        {
            try
            {
                all.Add(end.Receive<T>());
            }
            catch (EndOfStreamException)
            {
                return new(all);
            }
        }
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

    public override ValueTask<bool> IsSet(DragonEvent @event) => new(@event.IsSet());

    public override ValueTask Wait(DragonEvent @event)
    {
        @event.Wait();
        return ValueTask.CompletedTask;
    }

    public override ValueTask<bool> TryWait(DragonEvent @event, TimeSpan timeout) => new(@event.TryWait(timeout));

    public override ValueTask Acquire(DragonLock @lock)
    {
        @lock.Acquire();
        return ValueTask.CompletedTask;
    }

    public override ValueTask<bool> TryAcquire(DragonLock @lock, TimeSpan timeout) => new(@lock.TryAcquire(timeout));

    public override ValueTask Release(DragonLock @lock)
    {
        @lock.Release();
        return ValueTask.CompletedTask;
    }

    public override ValueTask Acquire(DragonSemaphore semaphore)
    {
        semaphore.Acquire();
        return ValueTask.CompletedTask;
    }

    public override ValueTask<bool> TryAcquire(DragonSemaphore semaphore, TimeSpan timeout) => new(semaphore.TryAcquire(timeout));

    public override ValueTask Release(DragonSemaphore semaphore, int count = 1)
    {
        semaphore.Release(count);
        return ValueTask.CompletedTask;
    }

    public override ValueTask<int> GetValue(DragonSemaphore semaphore) => new(semaphore.GetValue());

    public override ValueTask<int> Wait(DragonBarrier barrier, TimeSpan? timeout = null) => new(barrier.Wait(timeout));

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

    // A blocking call given a token, made on a thread of its own so the case can cancel it from here.
    public override Task Get<T>(DragonQueue<T> queue, CancellationToken cancellationToken) => Blocking(() => queue.Get(null, cancellationToken));

    public override Task Receive<T>(Connection end, CancellationToken cancellationToken) => Blocking(() => end.Receive<T>(null, cancellationToken));

    public override Task Wait(DragonEvent @event, CancellationToken cancellationToken) => Blocking(() => @event.Wait(null, cancellationToken));

    public override Task Acquire(DragonLock @lock, CancellationToken cancellationToken) => Blocking(() => @lock.Acquire(null, cancellationToken));

    public override Task Acquire(DragonSemaphore semaphore, CancellationToken cancellationToken) => Blocking(() => semaphore.Acquire(null, cancellationToken));

    private static Task Blocking(Action call) => Task.Factory.StartNew(call, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}
