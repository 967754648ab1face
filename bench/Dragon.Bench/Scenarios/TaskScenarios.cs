using System.Diagnostics;

namespace Dragon.Bench.Scenarios;

/// <summary>The trivial task of the tasks benchmark (x*x), the same function the Python peers run.</summary>
public static class BenchTasks
{
    public static long Square(int x) => (long)x * x;

    /// <summary>A task of a fixed 10 ms (a sleep, as Dask's and Python's pool benchmarks time short tasks).</summary>
    public static int Nap(int ms)
    {
        Thread.Sleep(ms);
        return ms;
    }
}

/// <summary>
/// A <see cref="DragonPool"/> of warm workers: SUBMITS tasks submitted one at a time (a task each,
/// then awaited together), and one map of MAPPED inputs with the default chunking. The pool is
/// started and warmed (a first small map) before the clock starts, as the peers' pools are. Then NAPS tasks of 10 ms
/// mapped with the default chunking: the wall time against the ideal, NAPS x 10 ms / workers.
/// </summary>
public static class TaskScenarios
{
    public static int Run(int submits, int mapped, int workers, int naps)
    {
        Report.RunId();
        using var pool = DragonPool.Start(new DragonPoolOptions { Workers = workers });
        var warm = pool.MapAsync(BenchTasks.Square, Enumerable.Range(0, 1_000), chunkSize: 10).GetAwaiter().GetResult();
        if (warm[999] != 999L * 999)
        {
            return Fail("the warm-up map returned a wrong result");
        }

        var futures = new Task<long>[submits];
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < submits; i++)
        {
            futures[i] = pool.SubmitAsync(BenchTasks.Square, i);
        }

        Task.WhenAll(futures).GetAwaiter().GetResult();
        var submitted = Stopwatch.GetTimestamp();
        if (futures[submits - 1].Result != (long)(submits - 1) * (submits - 1))
        {
            return Fail("a submitted task returned a wrong result");
        }

        Report.Value("submit_per_s", submits / Seconds(start, submitted));

        var inputs = Enumerable.Range(0, mapped).ToArray();
        start = Stopwatch.GetTimestamp();
        var results = pool.MapAsync(BenchTasks.Square, inputs).GetAwaiter().GetResult();
        var mappedAt = Stopwatch.GetTimestamp();
        if (results.Length != mapped || results[mapped - 1] != (long)(mapped - 1) * (mapped - 1))
        {
            return Fail("the map returned wrong results");
        }

        Report.Value("map_per_s", mapped / Seconds(start, mappedAt));

        if (naps > 0)
        {
            start = Stopwatch.GetTimestamp();
            var slept = pool.MapAsync(BenchTasks.Nap, Enumerable.Repeat(10, naps)).GetAwaiter().GetResult();
            var napped = Stopwatch.GetTimestamp();
            if (slept.Length != naps)
            {
                return Fail("the map of naps returned wrong results");
            }

            Report.Value("nap_wall_s", Seconds(start, napped));
            Report.Value("nap_ideal_s", naps * 0.010 / pool.WorkerCount);
        }

        return 0;
    }

    private static double Seconds(long start, long end) => (end - start) / (double)Stopwatch.Frequency;

    private static int Fail(string why)
    {
        Console.Error.WriteLine(why);
        return 1;
    }
}
