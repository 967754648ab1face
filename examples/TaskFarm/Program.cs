// A task farm: Monte-Carlo estimates of pi mapped over many inputs on a pool of warm workers spread over every node,
// then a small task graph (a batch) that combines the estimates. Prints the throughput.
// Run it with: dragon --local-nodes 2 examples/TaskFarm [--tasks 100000] [--samples 1000] [--workers N]
using System.Diagnostics;
using Dragon;
using TaskFarm;

FarmOptions options;
try
{
    options = FarmOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"TaskFarm: {e.Message}");
    Console.Error.WriteLine(FarmOptions.Usage);
    return 2;
}

var batchLogs = Directory.CreateTempSubdirectory("taskfarm-batch").FullName;
try
{
    await using var batch = await DragonBatch.StartAsync(new DragonBatchOptions
    {
        LogDirectory = batchLogs,
        Pool = new DragonPoolOptions { Workers = options.Workers },
    });
    var pool = batch.Pool;
    var nodes = pool.Workers.Select(w => w.NodeIndex).Distinct().Count();
    Console.WriteLine($"TaskFarm: {pool.WorkerCount} workers on {nodes} node(s), {options.Tasks} tasks of {options.Samples} samples each");

    // The farm: one task per seed, results in input order.
    var inputs = Enumerable.Range(0, options.Tasks).Select(seed => new PiSample(seed, options.Samples));
    var clock = Stopwatch.StartNew();
    var hits = await pool.MapAsync(MonteCarlo.CountHits, inputs);
    var seconds = clock.Elapsed.TotalSeconds;
    var pi = 4.0 * hits.Sum() / ((double)options.Tasks * options.Samples);
    Console.WriteLine($"TaskFarm: {options.Tasks} tasks in {seconds:F2} s = {options.Tasks / seconds:F0} tasks/s");
    Console.WriteLine($"TaskFarm: pi ~ {pi:F6} (error {Math.Abs(pi - Math.PI):E2})");

    // The same estimate as a task graph: two halves estimated on workers, then combined once both are done.
    var half = options.Tasks / 2;
    var first = batch.Function(MonteCarlo.Estimate, new PiRange(0, half, options.Samples), name: "first-half");
    var second = batch.Function(MonteCarlo.Estimate, new PiRange(half, options.Tasks - half, options.Samples), name: "second-half");
    var combined = batch.Function(MonteCarlo.Average, () => new[] { first.GetResult(), second.GetResult() }, [first, second], name: "combine");
    Console.WriteLine($"TaskFarm: the batch's combined estimate is {await combined:F6} ({batch.Tasks.Count} tasks, logs in {batch.LogDirectory})");
    return 0;
}
finally
{
    Directory.Delete(batchLogs, recursive: true);
}
