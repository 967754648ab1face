using System.Text.RegularExpressions;
using Dragon;

namespace MpiWorkflow;

/// <summary>One latency measurement: which producer's job, message size, and latency.</summary>
public sealed record Result(int Producer, int Size, double LatencyUs);

/// <summary>Why a producer's MPI job failed, sent back to main.</summary>
public sealed record ProducerFailure(int Producer, string Reason);

public static partial class Workflow
{
    public static int Run(WorkflowOptions options)
    {
        using var results = new DragonQueue<Result>(maxSize: 4096);
        using var failures = new DragonQueue<ProducerFailure>(maxSize: 64);
        using var shutdown = new DragonEvent();
        var consumer = DragonProcess.Start(ProcessTemplate.FromMethod(Consume, results, shutdown));

        var waiting = new System.Collections.Generic.Queue<int>(Enumerable.Range(0, options.Producers));
        var running = new Dictionary<ulong, int>();
        var failed = new List<string>();
        var reasons = new Dictionary<int, string>();
        while (waiting.Count > 0 || running.Count > 0)
        {
            while (running.Count < options.Concurrent && waiting.TryDequeue(out var id))
            {
                var producer = DragonProcess.Start(ProcessTemplate.FromMethod(Produce, id, options.Ranks, options.MpiExe, options.MpiArgs, results, failures));
                running[producer.Puid] = id;
            }

            foreach (var (puid, code) in DragonProcess.MultiJoin(running.Keys, joinAll: false).Exited)
            {
                var id = running[puid];
                running.Remove(puid);
                if (code != 0)
                {
                    // A failed producer puts its reason on the failures queue before it exits.
                    while (!reasons.ContainsKey(id) && failures.TryGet(out var failure, TimeSpan.FromSeconds(1)))
                    {
                        reasons[failure.Producer] = failure.Reason;
                    }

                    var reason = reasons.GetValueOrDefault(id) ?? DragonProcess.Attach(puid).GetStatus().ExitReason ?? $"exit code {code}";
                    failed.Add($"producer {id} failed: {reason}");
                    Console.Error.WriteLine($"main: producer {id} failed: {reason}");
                }
            }
        }

        shutdown.Set();
        consumer.Join();
        Console.WriteLine(failed.Count == 0
            ? $"main: all {options.Producers} producers finished"
            : $"main: {failed.Count} of {options.Producers} producers failed");
        return failed.Count == 0 && consumer.GetStatus().ExitCode == 0 ? 0 : 1;
    }

    /// <summary>
    /// Runs the MPI benchmark as a PMI group, rank 0's stdout piped to a parser, the rest discarded. The PMI flavour
    /// follows the executable: PMI-1 for an MPICH build, PMIx for an Open MPI one.
    /// </summary>
    public static int Produce(int id, int ranks, string mpiExe, string[] mpiArgs, DragonQueue<Result> results, DragonQueue<ProducerFailure> failures)
    {
        using var group = new ProcessGroup(pmi: Pmi.Auto);
        group.AddProcess(1, ProcessTemplate.Executable(mpiExe, mpiArgs) with { Stdout = Stdio.Pipe, Policy = Policy.RoundRobin });
        if (ranks > 1)
        {
            group.AddProcess(ranks - 1, ProcessTemplate.Executable(mpiExe, mpiArgs) with { Stdout = Stdio.DevNull, Policy = Policy.RoundRobin });
        }

        group.Start();
        var members = group.GetProcesses();
        foreach (var node in members.GroupBy(m => m.Node.Name))
        {
            Console.WriteLine($"producer {id}: node {node.Key} has {node.Count()} ranks");
        }

        var parsers = members.Where(m => m.Stdout is not null)
            .Select(m => DragonProcess.Start(ProcessTemplate.FromMethod(Parse, id, m.Stdout!, results)))
            .ToList();
        try
        {
            group.Join();
        }
        catch (ProcessGroupException e)
        {
            Console.Error.WriteLine($"producer {id}: {e.Message}");
            failures.Put(new ProducerFailure(id, e.Message));
            return 1;
        }
        finally
        {
            foreach (var parser in parsers)
            {
                parser.Join();
            }
        }

        return 0;
    }

    /// <summary>Reads rank 0's output to the end and puts each <c>size latency</c> row on the results queue.</summary>
    public static void Parse(int producer, Connection stdout, DragonQueue<Result> results)
    {
        foreach (var line in stdout.ReadAllAsync<string>().ToBlockingEnumerable())
        {
            var match = Row().Match(line);
            if (match.Success)
            {
                results.Put(new Result(producer, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
                    double.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)));
            }
        }
    }

    /// <summary>Logs results as they arrive until the shutdown event is set and the queue is drained.</summary>
    public static void Consume(DragonQueue<Result> results, DragonEvent shutdown)
    {
        var count = 0;
        while (true)
        {
            if (results.TryGet(out var result, TimeSpan.FromMilliseconds(100)))
            {
                count++;
                Console.WriteLine($"consumer: producer={result.Producer} size={result.Size} latency_us={result.LatencyUs.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            }
            else if (shutdown.IsSet())
            {
                break;
            }
        }

        Console.WriteLine($"consumer: {count} results");
    }

    [GeneratedRegex(@"^(\d+)\s+([\d.]+)")]
    private static partial Regex Row();
}
