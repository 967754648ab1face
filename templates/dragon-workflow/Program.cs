using Dragon;

// Run with `dotnet run` (the program hosts a runtime of 2 nodes itself), with `dragon --local-nodes 2 .` (dragon
// builds the project; on a cluster, `dragon --hosts ...` or inside a Slurm allocation), or published Native AOT:
// `dotnet publish -p:PublishAot=true -o publish` then `dragon --local-nodes 2 publish/DragonWorkflow`.
// A group of worker methods, spread over the nodes, takes numbers from one queue and answers on another.
const int Workers = 4;
const int Count = 100;
var timeout = TimeSpan.FromSeconds(60);

// Under dragon (and in the worker processes) this starts nothing and uses the run the program is in.
await using var runtime = await LocalRuntime.StartAsync(nodes: 2);

using var numbers = new DragonQueue<int>();
using var sums = new DragonQueue<long[]>();
using var group = new ProcessGroup();
group.AddProcess(Workers, ProcessTemplate.FromMethod(Workflow.SumOfSquares, numbers, sums) with { Policy = Policy.RoundRobin });
group.Start();

for (var n = 1; n <= Count; n++)
{
    numbers.Put(n, timeout);
}

for (var w = 0; w < Workers; w++)
{
    numbers.Put(Workflow.Stop, timeout);
}

long total = 0;
var nodes = new HashSet<long>();
for (var w = 0; w < Workers; w++)
{
    var sum = sums.Get(timeout);
    total += sum[Workflow.Sum];
    nodes.Add(sum[Workflow.Node]);
}

group.Join(timeout);
Console.WriteLine($"{Workers} workers on {nodes.Count} nodes: sum of squares 1..{Count} = {total}");

/// <summary>The methods the workflow runs in processes of their own.</summary>
public static class Workflow
{
    /// <summary>Tells a worker there are no more numbers.</summary>
    public const int Stop = 0;

    /// <summary>Where a worker's answer has its sum.</summary>
    public const int Sum = 0;

    /// <summary>Where a worker's answer has the index of the node it ran on.</summary>
    public const int Node = 1;

    /// <summary>A worker: adds up the squares of the numbers it takes until <see cref="Stop"/>, then answers once.</summary>
    public static void SumOfSquares(DragonQueue<int> numbers, DragonQueue<long[]> sums)
    {
        long sum = 0;
        for (var n = numbers.Get(); n != Stop; n = numbers.Get())
        {
            sum += (long)n * n;
        }

        sums.Put([sum, Dragon.Node.Current.Index]);
    }
}
