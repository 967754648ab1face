using System.Diagnostics;
using System.Text.Json;

namespace Dragon.TestApp;

/// <summary>
/// Cancelled waits on objects homed on another node (node 1, the head on node 0): a cancelled GetAsync takes
/// nothing, a cancelled lock or semaphore acquire leaves nothing held, a cancelled barrier wait is not counted.
/// Writes a typed result (JSON) for the test to judge; it judges nothing itself.
/// </summary>
public static class CrossNodeCancelScenario
{
    private const int Trials = 5;

    public static int Run(string resultPath)
    {
        Console.WriteLine($"INFO run {SystemInfo.RunId}");
        Check.That(SystemInfo.Nodes.Count >= 2, "the run has two nodes");

        using var queue = new DragonQueue<int>(maxSize: 4, node: 1);
        var (queueMs, queueCancelled) = CancelTrials(token => queue.GetAsync(token).AsTask());

        // Another process puts one item: it must reach the next get, not a cancelled one.
        var putter = DragonProcess.Start(ProcessTemplate.FromMethod(PutOne, queue, 42) with { Policy = Policy.OnNode(0) });
        putter.Join(TimeSpan.FromSeconds(60));
        int? item = queue.TryGet(out var got, TimeSpan.FromSeconds(5)) ? got : null;

        using var @lock = new DragonLock(node: 1);
        @lock.Acquire();
        var (lockMs, _) = CancelTrials(token => @lock.AcquireAsync(cancellationToken: token));
        @lock.Release();
        var lockFree = @lock.TryAcquire(TimeSpan.FromMilliseconds(500));
        if (lockFree)
        {
            @lock.Release();
        }

        using var semaphore = new DragonSemaphore(1, node: 1);
        semaphore.Acquire();
        var (semaphoreMs, _) = CancelTrials(token => semaphore.AcquireAsync(cancellationToken: token));
        semaphore.Release();
        var semaphoreFree = semaphore.TryAcquire(TimeSpan.FromMilliseconds(500));

        using var @event = new DragonEvent(node: 1);
        var (eventMs, _) = CancelTrials(token => @event.WaitAsync(cancellationToken: token));

        using var barrier = new DragonBarrier(2, node: 1);
        var (barrierMs, _) = CancelTrials(token => barrier.WaitAsync(cancellationToken: token), trials: 1);

        // Alone at a barrier of two, a wait must time out; it passes at once if the cancelled wait still counts.
        bool counted;
        try
        {
            barrier.Wait(TimeSpan.FromMilliseconds(300));
            counted = true;
        }
        catch (TimeoutException)
        {
            counted = false;
        }

        var result = new CrossNodeCancelResult(queueMs, queueCancelled, item, lockMs, lockFree, semaphoreMs, semaphoreFree, eventMs, barrierMs, counted);
        File.WriteAllText(resultPath, JsonSerializer.Serialize(result));
        return 0;
    }

    public static int PutOne(DragonQueue<int> queue, int value)
    {
        queue.Put(value);
        return 0;
    }

    /// <summary>Starts a wait, cancels it after 150 ms, and times how long the task takes to end.</summary>
    private static (double[] Delays, bool AllCancelled) CancelTrials(Func<CancellationToken, Task> start, int trials = Trials)
    {
        var delays = new double[trials];
        var allCancelled = true;
        for (var trial = 0; trial < trials; trial++)
        {
            using var cts = new CancellationTokenSource();
            var wait = start(cts.Token);
            Thread.Sleep(150);
            var clock = Stopwatch.StartNew();
            cts.Cancel();
            var ended = Task.WhenAny(wait, Task.Delay(TimeSpan.FromSeconds(3))).GetAwaiter().GetResult() == wait;
            delays[trial] = ended ? clock.Elapsed.TotalMilliseconds : double.PositiveInfinity;
            allCancelled &= wait.IsCanceled || wait.Exception?.InnerException is OperationCanceledException;
        }

        return (delays, allCancelled);
    }
}
