using System.Diagnostics;
using System.Text.Json;

namespace Dragon.TestApp;

/// <summary>Functions the batch scenarios run as tasks.</summary>
public static class BatchTasks
{
    public static long Square(long x)
    {
        Console.WriteLine($"square of {x}");
        Console.Error.WriteLine($"a note on stderr from {x}");
        return x * x;
    }

    public static long AddOne(long x) => x + 1;

    public static long Sum(long[] values) => values.Sum();

    public static long Fail(long x) => throw new InvalidOperationException($"task input {x} is refused");

    public static long Nap(long ms)
    {
        Thread.Sleep((int)ms);
        return ms;
    }
}

/// <summary>Batch scenarios: a diamond graph with an MPI job in it, cancel propagation, and many tasks on two workers.</summary>
public static class BatchScenarios
{
    /// <summary>a -> (b, c = a 2-rank MPI job) -> d, per-task logs, the manifest; a failure cancels its dependant.</summary>
    public static async Task<int> Diamond(string mpitest)
    {
        var logs = Directory.CreateTempSubdirectory("dragon-batch-test").FullName;
        var before = ShmFiles();
        try
        {
            var batch = await DragonBatch.StartAsync(new DragonBatchOptions { LogDirectory = logs, Pool = new DragonPoolOptions { Workers = 2 } });
            BatchTask<long> a, b, d;
            BatchTask<BatchProcessResult> c;
            await using (batch)
            {
                a = batch.Function(BatchTasks.Square, 3L, name: "a");
                b = batch.Function(BatchTasks.AddOne, a, name: "b");
                c = batch.Job(ProcessTemplate.Executable(mpitest, "hello") with { Policy = Policy.RoundRobin }, 2, Pmi.Simple, name: "c", dependsOn: [a]);
                d = batch.Function(BatchTasks.Sum, () => new long[] { b.GetResult(), c.GetResult().Puids.Count }, [b, c], name: "d");
                var failing = batch.Function(BatchTasks.Fail, 13L, name: "e");
                var orphan = batch.Function(BatchTasks.AddOne, failing, name: "f");

                Check.That(await d.AsTask().WaitAsync(TimeSpan.FromSeconds(120)) == 12, $"d = (a+1) + ranks of c = 12: {d.GetResult()}");
                Check.That(a.GetResult() == 9 && b.GetResult() == 10, $"a = 9, b = 10: {a.GetResult()}, {b.GetResult()}");
                var mpi = c.GetResult();
                Check.That(mpi.Puids.Count == 2 && mpi.NodeIndexes.Distinct().Count() == Math.Min(2, SystemInfo.Nodes.Count), $"the MPI job ran 2 ranks on nodes {string.Join(",", mpi.NodeIndexes)}");
                for (var rank = 0; rank < 2; rank++)
                {
                    var text = File.ReadAllText(mpi.StdoutLogs[rank]!);
                    Check.That(text.Contains($"rank={rank} size=2", StringComparison.Ordinal), $"rank {rank}'s own log {Path.GetFileName(mpi.StdoutLogs[rank])} says rank={rank} size=2");
                }

                var manifestNow = batch.GetManifest();
                var (ma, mc, md) = (manifestNow[0], manifestNow[2], manifestNow[3]);
                Check.That(mc.StartedAt >= ma.FinishedAt && md.StartedAt >= manifestNow[1].FinishedAt && md.StartedAt >= mc.FinishedAt, "each task started after its dependencies finished");
                var aLog = ma.StdoutLogs.Single();
                Check.That(File.ReadAllText(aLog).Trim() == "square of 3" && File.ReadAllText(ma.StderrLogs.Single()).Contains("a note on stderr from 3", StringComparison.Ordinal), $"a's output is in its own logs ({Path.GetFileName(aLog)})");
                Check.That(ma.WorkerSlot is not null && ma.Puids.Count == 1, $"a ran on worker slot {ma.WorkerSlot}, puid {ma.Puids.SingleOrDefault()}");

                var failed = await Check.ThrowsAsync<TaskFailedException>(() => failing.AsTask(), "the failing task");
                Check.That(failed.RemoteMessage == "task input 13 is refused" && failing.State == BatchTaskState.Failed, $"e failed with its remote message: {failed.RemoteMessage}");
                var canceled = await Check.ThrowsAsync<BatchTaskCanceledException>(() => orphan.AsTask(), "the failing task's dependant");
                Check.That(canceled.Reason.Contains("its dependency task 5 'e' failed", StringComparison.Ordinal) && canceled.InnerException is TaskFailedException, $"f is cancelled naming e: {canceled.Message}");
                Check.That(orphan.GetManifestEntry() is { State: BatchTaskState.Canceled, StartedAt: null, Puids.Count: 0 }, "f never ran");
            }

            var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(logs, "manifest.json"))).RootElement.GetProperty("tasks");
            Check.That(manifest.GetArrayLength() == 6, $"the manifest lists the 6 tasks");
            Check.That(manifest[2].GetProperty("kind").GetString() == "Job" && manifest[2].GetProperty("puids").GetArrayLength() == 2 && manifest[2].GetProperty("state").GetString() == "Completed", "the manifest shows the MPI job's 2 ranks, completed");
            Check.That(manifest[3].GetProperty("dependsOn").EnumerateArray().Select(e => e.GetInt32()).SequenceEqual([2, 3]), "the manifest shows d depends on b and c");
            Check.That(manifest[5].GetProperty("state").GetString() == "Canceled" && manifest[5].GetProperty("reason").GetString()!.Contains("'e' failed", StringComparison.Ordinal), "the manifest shows f cancelled with its reason");
            var left = ShmFiles().Except(before).ToArray();
            Check.That(left.Length == 0, $"no shared-memory file left by the batch ({string.Join(", ", left)})");
            return 0;
        }
        finally
        {
            Directory.Delete(logs, recursive: true);
        }
    }

    /// <summary>Cancelling a running process task stops it and cancels its dependants, with reasons; a running function's too.</summary>
    public static async Task<int> Cancel()
    {
        var logs = Directory.CreateTempSubdirectory("dragon-batch-test").FullName;
        try
        {
            await using var batch = await DragonBatch.StartAsync(new DragonBatchOptions { LogDirectory = logs, Pool = new DragonPoolOptions { Workers = 2 } });
            var sleeper = batch.Process(ProcessTemplate.Executable("/bin/sleep", "60"), name: "sleeper");
            var x = batch.Function(BatchTasks.AddOne, () => 1L, [sleeper], name: "x");
            var y = batch.Function(BatchTasks.AddOne, x, name: "y");
            var clock = Stopwatch.StartNew();
            while (sleeper.GetManifestEntry().Puids.Count == 0 && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(20);
            }

            var puid = sleeper.GetManifestEntry().Puids.Single();
            Check.That(sleeper.State == BatchTaskState.Running, $"the sleeper runs as puid {puid}");
            clock.Restart();
            Check.That(sleeper.Cancel("the operator said stop"), "the cancel took");
            var e = await Check.ThrowsAsync<BatchTaskCanceledException>(() => y.AsTask().WaitAsync(TimeSpan.FromSeconds(10)), "awaiting the grandchild");
            Check.That(e.Reason.Contains("'x' was cancelled: its dependency task 1 'sleeper' was cancelled: the operator said stop", StringComparison.Ordinal), $"y names the chain: {e.Message}");
            Check.That(new[] { x, y }.All(t => t.GetManifestEntry() is { State: BatchTaskState.Canceled, StartedAt: null, Puids.Count: 0, WorkerSlot: null }), "x and y never ran");
            var status = await (await DragonProcess.AttachAsync(puid)).JoinAsync(TimeSpan.FromSeconds(10));
            Check.That(clock.Elapsed < TimeSpan.FromSeconds(8), $"the sleeper was stopped within {clock.ElapsedMilliseconds} ms (exit {status})");
            Check.That(!sleeper.Cancel("again"), "a second cancel reports the task had finished");

            var nap = batch.Function(BatchTasks.Nap, 20_000L, name: "nap");
            await Task.Delay(500);
            clock.Restart();
            nap.Cancel("no time to nap");
            await Check.ThrowsAsync<BatchTaskCanceledException>(() => nap.AsTask(), "a running function cancelled");
            Check.That(clock.Elapsed < TimeSpan.FromSeconds(2), $"the running function's await ended within {clock.ElapsedMilliseconds} ms");
            var later = batch.Function(BatchTasks.AddOne, 41L);
            Check.That(await later.AsTask().WaitAsync(TimeSpan.FromSeconds(60)) == 42, "the batch runs the next task");
            return 0;
        }
        finally
        {
            Directory.Delete(logs, recursive: true);
        }
    }

    /// <summary>10,000 tasks, each depending on an earlier one, queued at once on 2 workers: all complete, no deadlock.</summary>
    public static async Task<int> Many()
    {
        var logs = Directory.CreateTempSubdirectory("dragon-batch-test").FullName;
        try
        {
            await using var batch = await DragonBatch.StartAsync(new DragonBatchOptions { LogDirectory = logs, Pool = new DragonPoolOptions { Workers = 2 } });
            Check.That(batch.Pool.WorkerCount == 2, "2 workers");
            var clock = Stopwatch.StartNew();
            var tasks = new BatchTask<long>[10_000];
            tasks[0] = batch.Function(BatchTasks.AddOne, 0L);
            for (var i = 1; i < tasks.Length; i++)
            {
                // A tree: task i takes task (i-1)/2's result, so depth is log2 and thousands wait at once.
                tasks[i] = batch.Function(BatchTasks.AddOne, tasks[(i - 1) / 2]);
            }

            await batch.FenceAsync().WaitAsync(TimeSpan.FromSeconds(240));
            var wrong = Enumerable.Range(0, tasks.Length).Where(i => tasks[i].GetResult() != Depth(i) + 1).Take(3).ToArray();
            Check.That(wrong.Length == 0, $"10000 tasks on 2 workers completed with the right values in {clock.Elapsed.TotalSeconds:F1} s (first wrong: {string.Join(",", wrong)})");
            var slots = batch.GetManifest().GroupBy(m => m.WorkerSlot).ToDictionary(g => g.Key ?? -1, g => g.Count());
            Check.That(slots.Count == 2 && slots.Keys.All(k => k is 0 or 1), $"the manifest shows both workers ran tasks: {string.Join(", ", slots.Select(p => $"slot {p.Key}: {p.Value}"))}");
            await Check.ThrowsAsync<TimeoutException>(() => Fence(batch), "a fence past its timeout");
            return 0;
        }
        finally
        {
            Directory.Delete(logs, recursive: true);
        }

        static long Depth(int i) => i == 0 ? 0 : Depth((i - 1) / 2) + 1;

        static Task Fence(DragonBatch batch)
        {
            batch.Function(BatchTasks.Nap, 3_000L, name: "slow");
            return batch.FenceAsync(TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>Process tasks past MaxRunningProcesses wait for room: with a limit of one they never overlap.</summary>
    public static async Task<int> Limits()
    {
        var logs = Directory.CreateTempSubdirectory("dragon-batch-test").FullName;
        try
        {
            await using var batch = await DragonBatch.StartAsync(new DragonBatchOptions { LogDirectory = logs, MaxRunningProcesses = 1, Pool = new DragonPoolOptions { Workers = 1 } });
            var sleepers = Enumerable.Range(0, 4).Select(i => batch.Process(ProcessTemplate.Executable("/bin/sleep", "0.3"), name: $"sleep{i}")).ToArray();
            var job = batch.Job(ProcessTemplate.Executable("/bin/true"), 3, Pmi.None, name: "wide");
            await batch.FenceAsync(TimeSpan.FromSeconds(60));
            Check.That(sleepers.All(t => t.State == BatchTaskState.Completed) && job.State == BatchTaskState.Completed, "4 sleepers and a 3-process job larger than the limit completed");
            var runs = sleepers.Select(t => t.GetManifestEntry()).OrderBy(m => m.FinishedAt).ToArray();
            var overlaps = runs.Zip(runs.Skip(1)).Count(p => p.Second.FinishedAt! - p.First.FinishedAt! < TimeSpan.FromMilliseconds(250));
            Check.That(overlaps == 0, $"with a limit of one the sleepers ran one after another (ends {string.Join(", ", runs.Select(r => r.FinishedAt!.Value.ToString("ss.fff", System.Globalization.CultureInfo.InvariantCulture)))})");
            Check.That(File.Exists(Path.Combine(logs, "00001-sleep0.out")) && File.Exists(Path.Combine(logs, "00005-wide.rank2.err")), "each process and each rank has its own log files");
            return 0;
        }
        finally
        {
            Directory.Delete(logs, recursive: true);
        }
    }

    private static string[] ShmFiles() => Directory.GetFiles("/dev/shm", $"dragon-{SystemInfo.RunId}*");
}
