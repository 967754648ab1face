using System.Diagnostics;

namespace Dragon.TestApp;

/// <summary>Task methods the pool scenarios (and the tasks benchmark's shape) run on warm workers.</summary>
public static class PoolTasks
{
    public static long Square(int x) => (long)x * x;

    /// <summary>A square that takes about 40 µs, so a map of 100,000 lasts long enough to kill a worker in it.</summary>
    public static long SlowSquare(int x)
    {
        var until = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 25_000);
        while (Stopwatch.GetTimestamp() < until)
        {
        }

        return (long)x * x;
    }

    public static int Nap(int ms)
    {
        Thread.Sleep(ms);
        return ms;
    }

    public static int Fail(int x) => x == 13 ? throw new InvalidOperationException($"unlucky {x}") : x;

    public static string Where(int x) => $"{x}@{Node.Current.Index}";
}

/// <summary>Pool scenarios: a map across nodes with a worker killed in it, failures, cancellation and shutdown.</summary>
public static class PoolScenarios
{
    /// <summary>100,000 tasks over every node, one worker SIGKILLed mid-map: every result in order, the replacement reported.</summary>
    public static async Task<int> MapWithKill()
    {
        await using var pool = await DragonPool.StartAsync();
        var nodes = SystemInfo.Nodes.Count;
        Check.That(pool.WorkerCount == SystemInfo.Nodes.GroupBy(n => n.Id.Split('/')[0]).Sum(g => g.Max(n => n.Cpus)), $"the default size follows the granted CPUs: {pool.WorkerCount} workers");
        Check.That(pool.Workers.Select(w => w.NodeIndex).Distinct().Count() == Math.Min(nodes, pool.WorkerCount), $"workers on every node: {string.Join(",", pool.Workers.Select(w => w.NodeIndex))}");
        var replaced = new TaskCompletionSource<WorkerReplacement>(TaskCreationOptions.RunContinuationsAsynchronously);
        pool.WorkerReplaced += (_, r) => replaced.TrySetResult(r);

        var warm = await pool.MapAsync(PoolTasks.Where, Enumerable.Range(0, 2 * pool.WorkerCount), chunkSize: 1);
        Check.That(warm.Length == 2 * pool.WorkerCount, $"a first map ran: {string.Join(" ", warm)}");

        var inputs = Enumerable.Range(0, 100_000).ToArray();
        var clock = Stopwatch.StartNew();
        var map = pool.MapAsync(PoolTasks.SlowSquare, inputs);
        await Task.Delay(500);
        var victim = pool.Workers.Last(w => w.NodeIndex == nodes - 1);
        Check.That(!map.IsCompleted, $"the map still ran after {clock.ElapsedMilliseconds} ms");
        await DragonProcess.Attach(victim.Puid).KillAsync();
        var results = await map.WaitAsync(TimeSpan.FromSeconds(240));
        Check.That(results.Length == inputs.Length, $"{results.Length} results of {inputs.Length}");
        var wrong = Enumerable.Range(0, inputs.Length).Where(i => results[i] != (long)i * i).Take(5).ToArray();
        Check.That(wrong.Length == 0, $"every result present and in input order (first wrong: {string.Join(",", wrong)}) in {clock.Elapsed.TotalSeconds:F1} s");

        var record = await replaced.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Check.That(record.Lost.Puid == victim.Puid && record.Reason.Contains("signal 9", StringComparison.Ordinal), $"the killed worker is reported: puid {record.Lost.Puid} {record.Reason}");
        Check.That(record.Replacement is { } r && r.Puid != victim.Puid && pool.Workers.Any(w => w.Puid == r.Puid), $"a replacement took slot {record.Lost.Slot}: puid {record.Replacement?.Puid} on node {record.Replacement?.NodeIndex}");
        Check.That(record.TasksRetried > 0 && record.TasksFailed == 0, $"its in-flight tasks were retried: {record.TasksRetried}");
        Check.That(pool.Replacements.Count == 1, "the pool lists one replacement");

        var unordered = new List<long>();
        await foreach (var value in pool.MapUnorderedAsync(PoolTasks.Square, Enumerable.Range(0, 10_000)))
        {
            unordered.Add(value);
        }

        Check.That(unordered.Order().SequenceEqual(Enumerable.Range(0, 10_000).Select(i => (long)i * i)), "the unordered map after the replacement returns every result");
        return 0;
    }

    /// <summary>A task that throws: the caller gets the remote type, message, stack and node; the pool goes on.</summary>
    public static async Task<int> Failures()
    {
        await using var pool = await DragonPool.StartAsync(new DragonPoolOptions { Workers = 2 });
        var e = await ThrowsAsync<TaskFailedException>(() => pool.SubmitAsync(PoolTasks.Fail, 13), "a task that throws");
        Check.That(e.RemoteExceptionType == typeof(InvalidOperationException).FullName && e.RemoteMessage == "unlucky 13", $"remote type and message: {e.RemoteExceptionType}: {e.RemoteMessage}");
        Check.That(e.RemoteStackTrace?.Contains("PoolTasks.Fail", StringComparison.Ordinal) == true, $"remote stack: {e.RemoteStackTrace}");
        Check.That(e.Puid is { } puid && pool.Workers.Any(w => w.Puid == puid) && e.NodeIndex is not null && e.NodeName is not null, $"worker puid {e.Puid} on node {e.NodeIndex} ({e.NodeName})");
        Check.That(await pool.SubmitAsync(PoolTasks.Square, 12) == 144, "a later task succeeds");

        var inMap = await ThrowsAsync<TaskFailedException>(() => pool.MapAsync(PoolTasks.Fail, Enumerable.Range(0, 100)), "a map with a failing task");
        Check.That(inMap.Message.Contains("task 13 of a map", StringComparison.Ordinal), $"the map's error names the task: {inMap.Message}");
        Check.That((await pool.MapAsync(PoolTasks.Fail, Enumerable.Range(20, 50))).SequenceEqual(Enumerable.Range(20, 50)), "a later map succeeds");

        var lambda = Check.Throws<ArgumentException>(() => pool.SubmitAsync((int x) => x + 1, 1), "a lambda is refused");
        Check.That(lambda.Message.Contains("lambda", StringComparison.Ordinal), "the error says why");
        Check.Throws<ArgumentException>(() => pool.SubmitAsync(Task.FromResult, 1), "a method whose result cannot travel is refused");

        await using var timed = await DragonPool.StartAsync(new DragonPoolOptions { Workers = 1, TaskTimeout = TimeSpan.FromMilliseconds(500) });
        var slow = await ThrowsAsync<TaskFailedException>(() => timed.SubmitAsync(PoolTasks.Nap, 30_000), "a task past the timeout");
        Check.That(slow.TimedOut && slow.Message.Contains("timeout", StringComparison.Ordinal), $"it says so: {slow.Message}");
        Check.That(await timed.SubmitAsync(PoolTasks.Nap, 1).WaitAsync(TimeSpan.FromSeconds(60)) == 1, "the pool's replacement worker runs the next task");
        return 0;
    }

    /// <summary>The pool's meter, read with a listener in this process: every task counted once, by outcome, with a latency.</summary>
    public static async Task<int> Metrics()
    {
        var sums = new System.Collections.Concurrent.ConcurrentDictionary<string, double>();
        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == DragonPool.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var outcome = tags.Length > 0 ? $"/{tags[0].Value}" : string.Empty;
            sums.AddOrUpdate(instrument.Name + outcome, value, (_, sum) => sum + value);
        });
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => latencies.Add(value));
        listener.Start();

        await using (var pool = await DragonPool.StartAsync(new DragonPoolOptions { Workers = 2 }))
        {
            for (var i = 0; i < 10; i++)
            {
                Check.That(await pool.SubmitAsync(PoolTasks.Square, i) == i * i, $"task {i}");
            }

            await ThrowsAsync<TaskFailedException>(() => pool.SubmitAsync(PoolTasks.Fail, 13), "a task that throws");
            Check.That((await pool.MapAsync(PoolTasks.Square, Enumerable.Range(0, 100))).Length == 100, "a map of 100");
        }

        double Sum(string name) => sums.GetValueOrDefault(name);
        Check.That(Sum("dragon.pool.tasks.submitted") == 111, $"111 tasks submitted: {Sum("dragon.pool.tasks.submitted")}");
        Check.That(Sum("dragon.pool.tasks.finished/ok") == 110, $"110 finished ok: {Sum("dragon.pool.tasks.finished/ok")}");
        Check.That(Sum("dragon.pool.tasks.finished/failed") == 1, $"1 failed: {Sum("dragon.pool.tasks.finished/failed")}");
        Check.That(Sum("dragon.pool.tasks.retried") == 0 && Sum("dragon.pool.workers.replaced") == 0, "nothing retried or replaced");
        Check.That(latencies.Count == 111 && latencies.All(s => s > 0 && s < 60), $"a latency per task: {latencies.Count}");
        return 0;
    }

    /// <summary>Cancelling a map returns promptly and leaves the pool usable.</summary>
    public static async Task<int> Cancel()
    {
        await using var pool = await DragonPool.StartAsync(new DragonPoolOptions { Workers = 2 });
        using var cancel = new CancellationTokenSource();
        var map = pool.MapAsync(PoolTasks.Nap, Enumerable.Repeat(20, 2_000), chunkSize: 1, cancel.Token);
        await Task.Delay(300);
        var clock = Stopwatch.StartNew();
        cancel.Cancel();
        await ThrowsAsync<OperationCanceledException>(() => map, "the cancelled map");
        Check.That(clock.Elapsed < TimeSpan.FromSeconds(1), $"it stopped within {clock.ElapsedMilliseconds} ms");
        clock.Restart();
        Check.That(await pool.SubmitAsync(PoolTasks.Square, 9).WaitAsync(TimeSpan.FromSeconds(10)) == 81, $"the pool runs the next task ({clock.ElapsedMilliseconds} ms)");

        using var stop = new CancellationTokenSource();
        var seen = 0;
        var stream = ThrowsAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in pool.MapUnorderedAsync(PoolTasks.Nap, Enumerable.Repeat(10, 1_000), chunkSize: 1, stop.Token))
            {
                if (++seen == 10)
                {
                    await stop.CancelAsync();
                }
            }
        }, "the cancelled unordered map");
        await stream;
        Check.That(seen >= 10 && seen < 1_000, $"the stream ended after {seen} results");
        Check.That((await pool.MapAsync(PoolTasks.Square, Enumerable.Range(0, 1000))).Length == 1000, "a map after both cancels completes");
        return 0;
    }

    /// <summary>The default pool inside a Slurm allocation: one worker per granted CPU, not per CPU of the machines.</summary>
    public static async Task<int> Sizing(int expected)
    {
        var nodes = SystemInfo.Nodes;
        Check.That(true, $"nodes and their granted CPUs: {string.Join(", ", nodes.Select(n => $"{n.Name}={n.Cpus}"))}; machine CPUs here {Environment.ProcessorCount}");
        await using var pool = await DragonPool.StartAsync();
        Check.That(pool.WorkerCount == expected, $"the default pool has {pool.WorkerCount} workers, one per granted CPU (expected {expected})");
        var where = await pool.MapAsync(PoolTasks.Where, Enumerable.Range(0, 4 * expected), chunkSize: 1);
        Check.That(pool.Workers.Select(w => w.NodeIndex).Distinct().Count() == Math.Min(nodes.Count, expected), $"workers on every node: {string.Join(" ", where)}");
        return 0;
    }

    /// <summary>Disposing the pool leaves no worker process and no shared-memory file of its queues.</summary>
    public static async Task<int> Shutdown()
    {
        var before = ShmFiles();
        var pool = await DragonPool.StartAsync(new DragonPoolOptions { WorkersPerNode = 1 });
        var workers = pool.Workers.Select(w => DragonProcess.Attach(w.Puid)).ToArray();
        Check.That((await pool.MapAsync(PoolTasks.Square, Enumerable.Range(0, 1000))).Length == 1000, $"{workers.Length} workers ran a map");
        Check.That(ShmFiles().Except(before).Any(), $"the pool's queues are in /dev/shm: {string.Join(", ", ShmFiles().Except(before))}");
        var clock = Stopwatch.StartNew();
        await pool.DisposeAsync();
        Check.That(clock.Elapsed < TimeSpan.FromSeconds(10), $"disposed in {clock.ElapsedMilliseconds} ms");
        foreach (var worker in workers)
        {
            var status = await worker.GetStatusAsync();
            Check.That(status.HasExited && status.ExitCode == 0, $"worker {worker.Puid} on node {worker.Node.Index} exited by itself: {status.ExitReason}");
        }

        var left = ShmFiles().Except(before).ToArray();
        Check.That(left.Length == 0, $"no shared-memory file left by the pool ({string.Join(", ", left)})");
        await Check.ThrowsAsync<ObjectDisposedException>(() => pool.SubmitAsync(PoolTasks.Square, 1), "a submit after dispose");
        return 0;
    }

    /// <summary>A pool's owner (a child process) killed: its workers notice and exit by themselves.</summary>
    public static async Task<int> OwnerKilled()
    {
        using var report = new DragonQueue<long>(maxSize: 16);
        var owner = await DragonProcess.StartAsync(ProcessTemplate.FromMethod(OwnPool, report));
        var workers = new List<DragonProcess>();
        for (var i = 0; i < 2; i++)
        {
            workers.Add(await DragonProcess.AttachAsync((ulong)await report.GetAsync(TimeSpan.FromSeconds(60))));
        }

        Check.That(workers.All(w => !w.GetStatus().HasExited), $"the owner's pool runs workers {string.Join(", ", workers.Select(w => w.Puid))}");
        await owner.KillAsync();
        foreach (var worker in workers)
        {
            var code = await worker.JoinAsync(TimeSpan.FromSeconds(30));
            Check.That(code == 76, $"worker {worker.Puid} exited by itself ({code}) after its owner was killed");
        }

        return 0;
    }

    public static async Task<int> OwnPool(DragonQueue<long> report)
    {
        var pool = await DragonPool.StartAsync(new DragonPoolOptions { Workers = 2 });
        _ = await pool.MapAsync(PoolTasks.Square, Enumerable.Range(0, 100));
        foreach (var worker in pool.Workers)
        {
            await report.PutAsync((long)worker.Puid);
        }

        await Task.Delay(TimeSpan.FromMinutes(5));
        return 0;
    }

    private static string[] ShmFiles() => Directory.GetFiles("/dev/shm", RuntimeShmPattern());

    private static string RuntimeShmPattern() => $"dragon-{SystemInfo.RunId}*";

    private static Task<T> ThrowsAsync<T>(Func<Task> action, string what)
        where T : Exception => Check.ThrowsAsync<T>(action, what);
}
