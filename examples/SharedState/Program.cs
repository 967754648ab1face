// Shared state through the distributed dictionary, the way Dragon's users share it: producers (simulations) write
// an array per step, a consumer waits for each step's arrays, aggregates them and keeps the result, with a checkpoint
// per step persisted to files; at the end a new dictionary is restored from the last persisted checkpoint.
// Run it with: dragon --local-nodes 2 examples/SharedState [--producers 4] [--steps 10] [--size 10000] [--dir DIR]
using System.Globalization;
using Dragon;
using SharedState;

int producers = 4, steps = 10, size = 10_000;
string? directory = null;
for (var i = 0; i < args.Length; i += 2)
{
    var value = i + 1 < args.Length ? args[i + 1] : null;
    switch (args[i])
    {
        case "--producers" when int.TryParse(value, CultureInfo.InvariantCulture, out var p) && p > 0:
            producers = p;
            break;
        case "--steps" when int.TryParse(value, CultureInfo.InvariantCulture, out var s) && s > 0:
            steps = s;
            break;
        case "--size" when int.TryParse(value, CultureInfo.InvariantCulture, out var n) && n > 0:
            size = n;
            break;
        case "--dir" when value is not null:
            directory = value;
            break;
        default:
            Console.Error.WriteLine($"SharedState: bad argument '{args[i]}'\nusage: SharedState [--producers N] [--steps N] [--size N] [--dir DIR]");
            return 2;
    }
}

var ownDirectory = directory is null;
directory ??= Directory.CreateTempSubdirectory("sharedstate-checkpoints").FullName;
try
{
    var options = new DragonDictionaryOptions
    {
        MemoryPerManager = ((long)producers * size * 8 * 4) + (64L << 20),
        WorkingSetSize = 3,
        PersistDirectory = directory,
        WaitForCheckpoints = true,
    };
    using var state = new DragonDictionary<string, double[]>(options);
    Console.WriteLine($"SharedState: {producers} producers on {SystemInfo.Nodes.Count} node(s), {steps} steps of {size} values, dictionary of {state.ManagerCount} managers");

    var workers = Enumerable.Range(0, producers)
        .Select(p => DragonProcess.Start(ProcessTemplate.FromMethod(Steps.Produce, state, p, steps, size) with { Policy = Policy.OnNode(p % SystemInfo.Nodes.Count) }))
        .Append(DragonProcess.Start(ProcessTemplate.FromMethod(Steps.Consume, state, producers, steps)))
        .ToArray();
    foreach (var worker in workers)
    {
        var code = await worker.JoinAsync();
        if (code != 0)
        {
            Console.Error.WriteLine($"SharedState: {worker} failed: {(await worker.GetStatusAsync()).ExitReason}");
            return 1;
        }
    }

    // The consumer kept each step's mean: read them back at the newest checkpoint, and check them against the arrays.
    state.SyncToNewestCheckpoint();
    var wrong = 0;
    for (var step = 0; step < steps; step++)
    {
        var expected = Steps.ExpectedMean(producers, step, size);
        var stored = state[$"mean/{step}"][0];
        wrong += Math.Abs(stored - expected) < 1e-9 ? 0 : 1;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step}: mean {stored:F6} (expected {expected:F6})"));
    }

    // A new dictionary (as a new run would make) restored from the newest persisted checkpoint.
    using var restored = new DragonDictionary<string, double[]>(options with { RestoreFrom = directory, PersistDirectory = null });
    var last = restored["mean"][0];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"restored checkpoint {restored.CheckpointId} from {directory}: mean {last:F6}"));
    wrong += Math.Abs(last - Steps.ExpectedMean(producers, steps - 1, size)) < 1e-9 ? 0 : 1;
    Console.WriteLine(wrong == 0 ? "SharedState: every step's mean is right" : $"SharedState: {wrong} means are wrong");
    return wrong == 0 ? 0 : 1;
}
finally
{
    if (ownDirectory)
    {
        Directory.Delete(directory, recursive: true);
    }
}
