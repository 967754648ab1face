using System.Diagnostics;
using System.Text.Json;

namespace Dragon.TestApp;

/// <summary>
/// Runs generated plans of queue operations against a queue homed on node 1 from the head on node 0: puts with a
/// timeout, cancelled puts, gets with a timeout, cancelled gets, a get cancelled while a put races it, and a
/// consumer killed while it waits. Writes what was sent and what was received, in order, for the test to judge.
/// </summary>
public static class CancelPlanScenario
{
    /// <summary>One operation: its kind, the producer it puts for (0 or 1), and a delay in milliseconds.</summary>
    public enum OpKind
    {
        Put = 0,
        PutCancelled = 1,
        GetTimeout = 2,
        GetCancelled = 3,
        GetCancelledRacingPut = 4,
        KillWaitingConsumer = 5,
    }

    public sealed record Op(OpKind Kind, int Producer, int DelayMs);

    /// <summary>Per case: items whose put succeeded, items received in the order the head received them, cancel delays.</summary>
    public sealed record CaseResult(long[] Sent, long[] Received, double[] CancelMs, int ConsumersKilled);

    private const long ProducerStride = 1_000_000;

    public static int Run(string planPath, string resultPath)
    {
        Console.WriteLine($"INFO run {SystemInfo.RunId}");
        var plan = JsonSerializer.Deserialize<Op[][]>(File.ReadAllText(planPath))!;
        var results = plan.Select(RunCase).ToArray();
        File.WriteAllText(resultPath, JsonSerializer.Serialize(results));
        return 0;
    }

    private static CaseResult RunCase(Op[] ops)
    {
        using var queue = new DragonQueue<long>(maxSize: 4, node: 1);
        var sent = new List<long>();
        var received = new List<long>();
        var cancelMs = new List<double>();
        var next = new long[2];
        var killed = 0;
        foreach (var op in ops)
        {
            var item = (op.Producer * ProducerStride) + next[op.Producer]++;
            switch (op.Kind)
            {
                case OpKind.Put:
                    if (queue.TryPut(item, TimeSpan.FromMilliseconds(op.DelayMs)))
                    {
                        sent.Add(item);
                    }

                    break;
                case OpKind.PutCancelled:
                    using (var cts = new CancellationTokenSource(op.DelayMs))
                    {
                        try
                        {
                            queue.PutAsync(item, cts.Token).AsTask().GetAwaiter().GetResult();
                            sent.Add(item);
                        }
                        catch (OperationCanceledException)
                        {
                        }
                    }

                    break;
                case OpKind.GetTimeout:
                    if (queue.TryGet(out var got, TimeSpan.FromMilliseconds(op.DelayMs)))
                    {
                        received.Add(got);
                    }

                    break;
                case OpKind.GetCancelled:
                    GetCancelled(queue, op.DelayMs, null, received, cancelMs, sent);
                    break;
                case OpKind.GetCancelledRacingPut:
                    GetCancelled(queue, op.DelayMs, item, received, cancelMs, sent);
                    break;
                case OpKind.KillWaitingConsumer:
                    // Only on an empty queue: the consumer must be waiting, not taking, when it dies.
                    if (sent.Count == received.Count)
                    {
                        KillWaitingConsumer(queue, node: op.Producer);
                        killed++;
                    }

                    break;
            }
        }

        while (queue.TryGet(out var left, TimeSpan.FromMilliseconds(300)))
        {
            received.Add(left);
        }

        return new CaseResult([.. sent], [.. received], [.. cancelMs], killed);
    }

    /// <summary>A get cancelled after a delay; with <paramref name="racing"/>, a put of that item races the cancel.</summary>
    private static void GetCancelled(DragonQueue<long> queue, int delayMs, long? racing, List<long> received, List<double> cancelMs, List<long> sent)
    {
        using var cts = new CancellationTokenSource();
        var get = queue.GetAsync(cts.Token).AsTask();
        Thread.Sleep(delayMs);
        Task<bool>? put = null;
        if (racing is { } item)
        {
            put = Task.Run(() => queue.TryPut(item, TimeSpan.FromMilliseconds(500)));
            if (delayMs % 2 == 1)
            {
                Thread.Sleep(1);
            }
        }

        var waited = !get.IsCompleted;
        var clock = Stopwatch.StartNew();
        cts.Cancel();
        try
        {
            received.Add(get.GetAwaiter().GetResult());
        }
        catch (OperationCanceledException)
        {
            if (waited && racing is null)
            {
                cancelMs.Add(clock.Elapsed.TotalMilliseconds);
            }
        }

        if (put is not null && put.GetAwaiter().GetResult())
        {
            sent.Add(racing!.Value);
        }
    }

    private static void KillWaitingConsumer(DragonQueue<long> queue, int node)
    {
        var consumer = DragonProcess.Start(ProcessTemplate.FromMethod(WaitForOne, queue) with { Policy = Policy.OnNode(node) });
        Thread.Sleep(400);
        consumer.Kill();
        consumer.Join(TimeSpan.FromSeconds(30));

        // The home node learns of the exit through global services; give it that moment.
        Thread.Sleep(100);
    }

    public static int WaitForOne(DragonQueue<long> queue)
    {
        var item = queue.Get();
        Console.WriteLine($"INFO a consumer that should have been killed took {item}");
        return 3;
    }
}
