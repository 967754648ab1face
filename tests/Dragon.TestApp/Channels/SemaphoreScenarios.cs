using System.Diagnostics;

namespace Dragon.TestApp;

/// <summary>A bounded Semaphore shared by processes on different nodes.</summary>
public static class SemaphoreScenarios
{
    private const int Workers = 6;
    private const int SemaphoreValue = 2;
    private const int Acquisitions = 20;

    /// <summary>
    /// A bounded semaphore of 2 shared by six processes on three nodes: the times each spent inside never overlap
    /// more than two deep; releasing above the bound is refused; a zero-value acquire times out.
    /// </summary>
    public static int Bound()
    {
        SyncLayout.RequireNodes(3);
        using var semaphore = new DragonSemaphore(SemaphoreValue, bounded: true, node: SyncLayout.Home);
        using var reports = new DragonQueue<long[]>(maxSize: 16, node: SyncLayout.Home);
        var workers = Enumerable.Range(0, Workers).Select(w => SyncLayout.Start(SyncLayout.NodeOf(w), HoldSemaphore, semaphore, reports, Acquisitions)).ToArray();
        var edges = new List<(long Time, int Delta)>();
        for (var w = 0; w < Workers; w++)
        {
            var intervals = reports.Get(timeout: TimeSpan.FromSeconds(120));
            for (var i = 0; i < intervals.Length; i += 2)
            {
                edges.Add((intervals[i], +1));
                edges.Add((intervals[i + 1], -1));
            }
        }

        foreach (var worker in workers)
        {
            Scenario.JoinedOk(worker, $"worker on node {worker.Node.Index}", seconds: 120);
        }

        // Leaving sorts before entering at the same instant: the intervals are measured strictly inside the hold.
        var inside = 0;
        var most = 0;
        foreach (var (_, delta) in edges.OrderBy(e => e.Time).ThenBy(e => e.Delta))
        {
            inside += delta;
            most = Math.Max(most, inside);
        }

        Check.That(edges.Count == Workers * Acquisitions * 2, $"{Workers} processes on nodes {string.Join(",", workers.Select(w => w.Node.Index))} each held the semaphore {Acquisitions} times");
        Check.That(most <= SemaphoreValue, $"never more than {SemaphoreValue} inside at once (at most {most})");
        Check.That(semaphore.GetValue() == SemaphoreValue, $"the value is back to {SemaphoreValue}");
        var bounded = Check.Throws<InvalidOperationException>(() => semaphore.Release(), "releasing a bounded semaphore above its initial value");
        Check.That(bounded.Message.Contains("above its initial value 2", StringComparison.Ordinal), "the error gives the bound");
        Check.That(semaphore.GetValue() == SemaphoreValue, "and the value did not change");
        var misuse = SyncLayout.Start(2, SemaphoreTimeouts, semaphore);
        Scenario.JoinedOk(misuse, "semaphore timeouts on node 2");
        return 0;
    }

    public static void HoldSemaphore(DragonSemaphore semaphore, DragonQueue<long[]> reports, int times)
    {
        var intervals = new long[times * 2];
        for (var i = 0; i < times; i++)
        {
            Check.That(semaphore.TryAcquire(TimeSpan.FromSeconds(60)), $"acquired #{i}");
            intervals[2 * i] = Stopwatch.GetTimestamp();
            Thread.Sleep(3);
            intervals[(2 * i) + 1] = Stopwatch.GetTimestamp();
            semaphore.Release();
        }

        reports.Put(intervals);
    }

    public static int SemaphoreTimeouts(DragonSemaphore semaphore)
    {
        Check.That(semaphore.TryAcquire(TimeSpan.Zero) && semaphore.TryAcquire(TimeSpan.Zero), "two zero-timeout acquires take the value to 0");
        Check.That(!semaphore.TryAcquire(TimeSpan.Zero), "a third with zero timeout is false at once");
        var millis = Scenario.Millis(() => Check.That(!semaphore.TryAcquire(TimeSpan.FromMilliseconds(400)), "Acquire with a timeout at value 0 is false"));
        Check.That(millis >= 380 && millis < 2000, $"after about its timeout (400 ms asked, {millis} ms taken)");
        semaphore.Release(2);
        Check.That(semaphore.GetValue() == 2, "Release(2) gives both back");
        Check.Throws<InvalidOperationException>(() => semaphore.Release(), "and one more is refused from this node too");
        return 0;
    }
}
