using System.Diagnostics;

namespace Dragon.TestApp;

/// <summary>
/// The queue's API promises: a cancelled wait on a local ring ends promptly and takes nothing; a joinable queue
/// counts an item before anyone can take it; a taken name fails a create and leaves no ring file behind.
/// </summary>
public static class QueueApiScenarios
{
    private const int Trials = 5;
    private static readonly TimeSpan s_cancelBound = TimeSpan.FromMilliseconds(100);

    /// <summary>GetAsync, PutAsync and a pipe's ReceiveAsync on this node's ring, each cancelled while it waits.</summary>
    public static int Cancel()
    {
        using var queue = new DragonQueue<int>(maxSize: 1);
        CheckCancels("GetAsync on an empty queue", token => queue.GetAsync(token).AsTask());
        queue.Put(7);
        Check.That(queue.TryGet(out var item, TimeSpan.Zero) && item == 7, "the cancelled gets took nothing: the next item goes to the next get");
        Check.That(!queue.TryGet(out _, TimeSpan.Zero), "and nothing else is in the queue");

        queue.Put(1);
        CheckCancels("PutAsync on a full queue", token => queue.PutAsync(2, token).AsTask());
        Check.That(queue.TryGet(out item, TimeSpan.Zero) && item == 1, "the first item is still there");
        Check.That(!queue.TryGet(out _, TimeSpan.Zero), "and the cancelled puts put nothing");

        var (reader, writer) = DragonPipe.Create(duplex: false);
        CheckCancels("ReceiveAsync on an empty pipe", token => reader.ReceiveAsync<int>(token).AsTask());
        writer.Send(5);
        Check.That(reader.Receive<int>(TimeSpan.FromSeconds(5)) == 5, "the cancelled receives took nothing from the pipe");
        reader.Close();
        writer.Close();
        return 0;
    }

    private static void CheckCancels(string what, Func<CancellationToken, Task> start)
    {
        var delays = new List<double>();
        for (var trial = 0; trial < Trials; trial++)
        {
            using var cts = new CancellationTokenSource();
            var wait = start(cts.Token);
            Thread.Sleep(150);
            Check.That(!wait.IsCompleted, $"{what} waits (trial {trial})");
            var clock = Stopwatch.StartNew();
            cts.Cancel();
            var ended = Task.WhenAny(wait, Task.Delay(TimeSpan.FromSeconds(3))).GetAwaiter().GetResult() == wait;
            var took = clock.Elapsed.TotalMilliseconds;
            Check.That(ended, $"{what} ended after its cancel (trial {trial}: {(ended ? $"{took:F0} ms" : "still pending after 3 s")})");
            Check.That(wait.IsCanceled || wait.Exception?.InnerException is OperationCanceledException, $"{what} ended as cancelled ({wait.Status})");
            delays.Add(took);
        }

        delays.Sort();
        var median = delays[Trials / 2];
        Check.That(median < s_cancelBound.TotalMilliseconds, $"{what}: a cancel takes effect within {s_cancelBound.TotalMilliseconds} ms (median {median:F1} ms, max {delays[^1]:F1} ms)");
    }

    /// <summary>
    /// A consumer process takes items as fast as it can and calls TaskDone at once; the head puts many items. No
    /// TaskDone may find its item uncounted, and Join returns once the consumer is through.
    /// </summary>
    public static int JoinableFastConsumer(string layoutName, int count)
    {
        var layout = ChannelLayout.Parse(layoutName);
        using var queue = new DragonQueue<int>(maxSize: 64, joinable: true, node: layout.Home);
        var consumer = layout.Start(ConsumeAndMarkDone, queue, count);
        for (var i = 0; i < count; i++)
        {
            // Bounded, so a consumer that died of a TaskDone error fails the scenario instead of hanging it.
            queue.Put(i, timeout: TimeSpan.FromSeconds(20));
        }

        Check.That(Scenario.Returns(() => queue.Join(TimeSpan.FromSeconds(120))), $"{layout}: Join returned after {count} items were put and marked done");
        Scenario.JoinedOk(consumer, "the consumer (it fails on a TaskDone error)", seconds: 120);
        Check.Throws<InvalidOperationException>(() => queue.TaskDone(), "one TaskDone more than items put");
        return 0;
    }

    public static void ConsumeAndMarkDone(DragonQueue<int> queue, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var item = queue.Get(timeout: TimeSpan.FromSeconds(60));
            queue.TaskDone();
            if (item != i)
            {
                throw new InvalidOperationException($"item {item} arrived where {i} was expected");
            }
        }
    }

    /// <summary>
    /// A queue on node 1 named as one that exists: the create fails naming the name, and node 1 keeps no ring file
    /// for it (needs <c>--local-nodes 2</c>).
    /// </summary>
    public static int NameTaken()
    {
        var prefix = $"dragon-{Environment.GetEnvironmentVariable("DRAGON_RUN_ID")}-";
        using var first = new DragonQueue<int>(name: "taken-name", node: 1);
        var before = RingFiles(prefix);
        Check.That(before.Length > 0, $"the run's ring files are visible ({before.Length} under /dev/shm/{prefix}*)");
        var e = Check.Throws<ArgumentException>(() => new DragonQueue<int>(name: "taken-name", node: 1).Dispose(), "a second queue with the same name");
        Check.That(e.Message.Contains("taken-name", StringComparison.Ordinal), "the error names the name");
        var after = RingFiles(prefix);
        Check.That(after.Length == before.Length, $"the failed create left no ring file ({before.Length} before, {after.Length} after: {string.Join(", ", after.Except(before))})");
        first.Put(1);
        Check.That(first.Get(timeout: TimeSpan.FromSeconds(5)) == 1, "the first queue still works");
        return 0;
    }

    private static string[] RingFiles(string prefix) =>
        Directory.EnumerateFiles("/dev/shm", prefix + "*").Select(Path.GetFileName).OfType<string>().ToArray();
}
