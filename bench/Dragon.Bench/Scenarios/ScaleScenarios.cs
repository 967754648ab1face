using System.Diagnostics;

namespace Dragon.Bench.Scenarios;

/// <summary>The node service at scale (<c>scripts/bench scale</c>): big groups over many nodes, and sync-object costs.</summary>
internal static class ScaleScenarios
{
    /// <summary>A group of <paramref name="count"/> <c>/bin/true</c>, round-robin over every node, started and joined.</summary>
    public static int TrueGroup(int count)
    {
        Report.RunId();
        using var group = new ProcessGroup();
        group.AddProcess(count, ProcessTemplate.Executable("/bin/true") with { Policy = Policy.RoundRobin });
        var start = Stopwatch.GetTimestamp();
        group.Start();
        var started = Stopwatch.GetTimestamp();
        group.Join();
        var end = Stopwatch.GetTimestamp();
        Report.Value("group_ms", Report.Milliseconds(start, end));
        Report.Value("group_start_ms", Report.Milliseconds(start, started));
        return 0;
    }

#if !NATIVE_AOT_HEAD
    /// <summary>
    /// Event set+clear and lock acquire+release from this process, <paramref name="count"/> times each, in microseconds
    /// per pair; and a barrier round of two processes of this node (median, microseconds).
    /// </summary>
    public static int SyncOps(int count)
    {
        Report.RunId();
        using var ev = new DragonEvent();
        using var gate = new DragonLock();
        // Warm for 300 ms, not a number of turns: the JIT compiles a callee again, optimized, about 100 ms after its
        // first 30 calls, on a background thread; that compilation (2-3 ms here) must not land in the timed loop.
        for (var warm = Stopwatch.StartNew(); warm.ElapsedMilliseconds < 300;)
        {
            ev.Set();
            ev.Clear();
            gate.Acquire();
            gate.Release();
        }

        Report.Value("event_us", EventPairs(ev, count) * 1000 / count);
        Report.Value("lock_us", LockPairs(gate, count) * 1000 / count);
        Report.Value("barrier_us", BarrierRounds(count));
        return 0;
    }

    /// <summary>
    /// The timed loops, each a method of its own compiled optimized at its first call: inside the scenario's method a
    /// loop of 10,000 turns met on-stack replacement, a compilation of about 25 ms inside the timed window.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static double EventPairs(DragonEvent ev, int count)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            ev.Set();
            ev.Clear();
        }

        return Report.Milliseconds(start, Stopwatch.GetTimestamp());
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static double LockPairs(DragonLock gate, int count)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            gate.Acquire();
            gate.Release();
        }

        return Report.Milliseconds(start, Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// A barrier of two, this process and a partner on the same node: the median time of one round (both arrive, both
    /// are released), in microseconds, over <paramref name="count"/> rounds after 100 to warm up.
    /// </summary>
    private static double BarrierRounds(int count)
    {
        using var barrier = new DragonBarrier(2, node: 0);
        var partner = DragonProcess.Start(ProcessTemplate.FromMethod(BarrierPartner, barrier, count + 100) with { Policy = Policy.OnNode(0) });
        for (var i = 0; i < 100; i++)
        {
            barrier.Wait();
        }

        var samples = new double[count];
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            barrier.Wait();
            samples[i] = Report.Milliseconds(start, Stopwatch.GetTimestamp()) * 1000;
        }

        partner.Join();
        Array.Sort(samples);
        return samples[count / 2];
    }

    public static int BarrierPartner(DragonBarrier barrier, int rounds)
    {
        for (var i = 0; i < rounds; i++)
        {
            barrier.Wait();
        }

        return 0;
    }
#endif
}
