using System.Diagnostics;

namespace Dragon.TestApp;

/// <summary>The semaphore cases: a bound shared by processes, its value, try-acquire timing out; (async mode) a cancelled acquire.</summary>
public static class SemaphoreCases
{
    private const int Workers = 3;
    private const int Value = 2;
    private const int Holds = 15;
    private static readonly TimeSpan s_asked = TimeSpan.FromMilliseconds(1000);

    /// <summary>
    /// A bounded semaphore of 2 shared by worker processes that each report when they held it; then the value, a
    /// release above the bound, and try-acquires at value 0 from the head.
    /// </summary>
    public static async Task<SemaphoreResult> Bound(ContractApi api, ContractLayout layout)
    {
        using var semaphore = ContractApi.NewSemaphore(layout.Home, Value, bounded: true);
        using var reports = ContractApi.NewQueue<long[]>(layout.Home, 8);
        var workers = Enumerable.Range(0, Workers).Select(_ => ContractLayout.Start(layout, Hold, api.Mode, semaphore, reports, Holds)).ToArray();
        var edges = new List<(long Time, int Delta)>();
        for (var w = 0; w < Workers; w++)
        {
            var intervals = await api.Get(reports, TimeSpan.FromSeconds(120));
            for (var i = 0; i + 1 < intervals.Length; i += 2)
            {
                edges.Add((intervals[i], +1));
                edges.Add((intervals[i + 1], -1));
            }
        }

        ContractLayout.JoinAll(workers);

        // Leaving sorts before entering at the same instant: the intervals are measured strictly inside the hold.
        int inside = 0, most = 0;
        foreach (var (_, delta) in edges.OrderBy(e => e.Time).ThenBy(e => e.Delta))
        {
            inside += delta;
            most = Math.Max(most, inside);
        }

        var valueAfterWorkers = await api.GetValue(semaphore);
        var aboveBound = await Measure.Thrown(() => api.Release(semaphore));
        var valueAfterRefused = await api.GetValue(semaphore);
        for (var i = 0; i < Value; i++)
        {
            await api.TryAcquire(semaphore, TimeSpan.FromSeconds(5));
        }

        var zeroAtZero = await api.TryAcquire(semaphore, TimeSpan.Zero);
        var (timedAtZero, timedMs) = await Measure.Ms(() => api.TryAcquire(semaphore, s_asked));
        await api.Release(semaphore, Value);
        return new SemaphoreResult(
            Workers, Holds, edges.Count / 2, most, valueAfterWorkers, aboveBound, valueAfterRefused, zeroAtZero, timedAtZero, timedMs,
            s_asked.TotalMilliseconds, await api.GetValue(semaphore));
    }

    /// <summary>Holds the semaphore <paramref name="times"/> times for about 3 ms; reports (enter, leave) timestamps.</summary>
    public static async Task<int> Hold(string mode, DragonSemaphore semaphore, DragonQueue<long[]> reports, int times)
    {
        var api = ContractApi.For(mode);
        var intervals = new long[times * 2];
        for (var i = 0; i < times; i++)
        {
            await api.Acquire(semaphore);
            intervals[2 * i] = Stopwatch.GetTimestamp();
            Thread.Sleep(3);
            intervals[(2 * i) + 1] = Stopwatch.GetTimestamp();
            await api.Release(semaphore);
        }

        await api.Put(reports, intervals);
        return 0;
    }

    /// <summary>At value 0 an acquire is cancelled; after a release, the next acquire gets the permit.</summary>
    public static async Task<CancelResult> CancelledAcquire(ContractApi api, ContractLayout layout)
    {
        using var semaphore = ContractApi.NewSemaphore(layout.Home, 1, bounded: false);
        await api.Acquire(semaphore);
        var (ended, ms) = await Measure.Cancel(token => api.Acquire(semaphore, token));
        await api.Release(semaphore);
        return new CancelResult(ended, ms, await api.TryAcquire(semaphore, TimeSpan.FromSeconds(2)));
    }
}
