using System.Diagnostics;
using System.Globalization;
using Dragon.Fuzz;
using Dragon.Fuzz.Targets;

// Feeds mutated inputs to every decoder that reads bytes from a socket, shared memory or an MPI rank.
// Usage: Dragon.Fuzz [--count N] [--seed S] [--from I] [--target NAME] [--hang-seconds T] [--save DIR]
// Exit code: 0 when every input either decoded or was refused with a documented exception; 1 on any other
// exception; 3 on a hang; a crash of the process shows as its own status.
var count = 1_000_000L;
var seed = 1;
var from = 0L;
var only = (string?)null;
var hang = TimeSpan.FromSeconds(10);
var save = Path.Combine(Path.GetTempPath(), "dragon-fuzz");
for (var i = 0; i < args.Length; i++)
{
    var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i++])
    {
        case "--count":
            count = long.Parse(value, CultureInfo.InvariantCulture);
            break;
        case "--seed":
            seed = int.Parse(value, CultureInfo.InvariantCulture);
            break;
        case "--from":
            from = long.Parse(value, CultureInfo.InvariantCulture);
            break;
        case "--target":
            only = value;
            break;
        case "--hang-seconds":
            hang = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture));
            break;
        case "--save":
            save = value;
            break;
        default:
            Console.Error.WriteLine($"unknown option {args[i - 1]}");
            return 2;
    }
}

using var shm = new ShmRingHeaderTarget();
FuzzTarget[] targets =
[
    new ControlFrameTarget(), new ControlStreamTarget(), new HelloTarget(), new LinkHandshakeTarget(), new LinkFramesTarget(),
    new PmiLineTarget(), new ChannelMessageTarget(), shm,
];
var chosen = targets.Where(t => only is null || t.Name == only).ToArray();
if (chosen.Length == 0)
{
    Console.Error.WriteLine($"no target {only}; targets: {string.Join(", ", targets.Select(t => t.Name))}");
    return 2;
}

var runner = new FuzzRunner(seed, hang, save);
var clock = Stopwatch.StartNew();
long failed = 0;
foreach (var target in chosen)
{
    var result = runner.Run(target, from, count);
    Console.WriteLine(result);
    failed += result.FailureCount;
}

Console.WriteLine($"fuzz: {chosen.Length} targets x {count} inputs (seed {seed}) in {clock.Elapsed.TotalSeconds:F1} s: {failed} failures, 0 hangs, 0 crashes");
return failed == 0 ? 0 : 1;
