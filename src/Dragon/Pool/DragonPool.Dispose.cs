using Dragon.Pool;

namespace Dragon;

// Shutdown: tasks not yet answered fail with ObjectDisposedException; each worker's queue is closed, so the worker
// ends by itself once it has finished the message in hand; what has not ended within the patience is stopped with the
// group's signals (SIGINT, SIGTERM, SIGKILL); then the result queue is closed (ending the reader) and every queue
// released, which removes their shared-memory files.
public sealed partial class DragonPool
{
    /// <summary>Stops the workers, waits for them, and removes every queue of the pool. Tasks not yet done fail.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <inheritdoc cref="Dispose"/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        WorkerSlot[] slots;
        List<Segment> abandoned;
        Task[] watchers;
        lock (_lock)
        {
            slots = _slots.ToArray();
            abandoned = [.. _retries, .. _pending, .. _inflight.Values.SelectMany(d => d.Segments)];
            _retries.Clear();
            _pending.Clear();
            _inflight.Clear();
            watchers = _watchers.ToArray();
        }

        foreach (var segment in abandoned)
        {
            segment.Job.Fail(segment.Start, new ObjectDisposedException(nameof(DragonPool), $"the pool was disposed before {segment.Job.Describe(segment.Start)} was done"));
        }

        foreach (var slot in slots)
        {
            await slot.Stopping.CancelAsync().ConfigureAwait(false);
            if (slot.Sender is { } sender)
            {
                await sender.ConfigureAwait(false);
            }

            await BestEffortAsync(() => slot.Tasks.CloseAsync().AsTask()).ConfigureAwait(false);
        }

        await Task.WhenAll(slots.Select(ExitOrStopAsync)).ConfigureAwait(false);
        if (_group is not null)
        {
            await BestEffortAsync(() => _group.DisposeAsync().AsTask()).ConfigureAwait(false);
        }

        // Watchers of exited workers return at once now that the pool is disposed.
        await Task.WhenAll(watchers).ConfigureAwait(false);
        // Closing ends the reader once it has drained; the cancel is for a close that could not be made (the runtime
        // ending): a reader waiting on the ring looks at its token within 20 ms.
        await BestEffortAsync(() => _results.CloseAsync().AsTask()).ConfigureAwait(false);
        if (_reader is not null)
        {
            if (await Task.WhenAny(_reader, Task.Delay(s_exitPatience)).ConfigureAwait(false) != _reader)
            {
                await _readerStop.CancelAsync().ConfigureAwait(false);
            }

            await _reader.ConfigureAwait(false);
        }

        _readerStop.Dispose();

        lock (_lock)
        {
            _retiredQueues.AddRange(slots.Select(s => s.Tasks));
        }

        foreach (var queue in _retiredQueues.Distinct())
        {
            await BestEffortAsync(() => queue.DisposeAsync().AsTask()).ConfigureAwait(false);
        }

        _results.Dispose();
    }

    /// <summary>Waits for a worker to end after its queue closed; past the patience, kills it.</summary>
    private static async Task ExitOrStopAsync(WorkerSlot slot)
    {
        try
        {
            await slot.Process.JoinAsync(s_exitPatience).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await BestEffortAsync(() => slot.Process.KillAsync()).ConfigureAwait(false);
            await BestEffortAsync(() => slot.Process.JoinAsync(s_exitPatience)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DragonException or IOException or InvalidOperationException)
        {
            // Already gone from the runtime, or the runtime is ending: nothing left to wait for.
        }
    }

    /// <summary>A step of shutdown that must not stop the next: the runtime may be ending, or the object already gone.</summary>
    private static async Task BestEffortAsync(Func<Task> step)
    {
        try
        {
            await step().ConfigureAwait(false);
        }
        catch (Exception e) when (e is DragonException or IOException or InvalidOperationException or TimeoutException or ObjectDisposedException)
        {
        }
    }
}
