using System.Diagnostics;

namespace Dragon.TestApp;

/// <summary>Event and Barrier between processes on different nodes.</summary>
public static class SyncScenarios
{
    private const int Parties = 6;
    private const int Rounds = 100;

    /// <summary>Six parties over three nodes pass a barrier 100 times; each round their arrival indices are 0..5.</summary>
    public static int Barrier()
    {
        SyncLayout.RequireNodes(3);
        using var barrier = new DragonBarrier(Parties, node: SyncLayout.Home);
        using var reports = new DragonQueue<int[]>(maxSize: 16, node: SyncLayout.Home);
        Check.That(barrier.Parties == Parties, $"the barrier has {Parties} parties");
        var parties = Enumerable.Range(0, Parties).Select(p => SyncLayout.Start(SyncLayout.NodeOf(p), PassBarrier, barrier, reports, p, Rounds)).ToArray();
        var indices = new int[Parties][];
        for (var p = 0; p < Parties; p++)
        {
            var report = reports.Get(timeout: TimeSpan.FromSeconds(120));
            indices[report[0]] = report[1..];
        }

        for (var round = 0; round < Rounds; round++)
        {
            var arrivals = indices.Select(r => r[round]).Order().ToArray();
            if (!arrivals.SequenceEqual(Enumerable.Range(0, Parties)))
            {
                throw new CheckFailedException($"round {round}: arrival indices were {string.Join(",", arrivals)}, not 0..{Parties - 1}");
            }
        }

        Check.That(true, $"{Parties} parties on nodes {string.Join(",", parties.Select(p => p.Node.Index))} passed {Rounds} rounds; every round the arrival indices were 0..{Parties - 1}");
        foreach (var party in parties)
        {
            Scenario.JoinedOk(party, "party");
        }

        Check.Throws<TimeoutException>(() => barrier.Wait(TimeSpan.FromMilliseconds(300)), "a lone waiter that times out gets TimeoutException and breaks the barrier");
        Check.Throws<BrokenBarrierException>(() => barrier.Wait(TimeSpan.FromSeconds(1)), "and it stays broken");
        barrier.Reset();
        return 0;
    }

    public static void PassBarrier(DragonBarrier barrier, DragonQueue<int[]> reports, int party, int rounds)
    {
        var report = new int[rounds + 1];
        report[0] = party;
        for (var round = 0; round < rounds; round++)
        {
            report[round + 1] = barrier.Wait(TimeSpan.FromSeconds(60));
        }

        reports.Put(report);
    }

    /// <summary>Set, clear and wait with timeouts, between processes on three nodes.</summary>
    public static int Event()
    {
        SyncLayout.RequireNodes(3);
        using var ev = new DragonEvent(node: SyncLayout.Home);
        using var ready = new DragonSemaphore(0, node: SyncLayout.Home);
        var waiters = new[] { 0, 2 }.Select(node => SyncLayout.Start(node, WaitForSet, ev, ready)).ToArray();
        for (var i = 0; i < waiters.Length; i++)
        {
            Check.That(ready.TryAcquire(TimeSpan.FromSeconds(30)), $"waiter {i} is about to wait");
        }

        Thread.Sleep(300);
        Check.That(!ev.IsSet(), "the event starts clear");
        var clock = Stopwatch.StartNew();
        ev.Set();
        foreach (var waiter in waiters)
        {
            Scenario.JoinedOk(waiter, $"waiter on node {waiter.Node.Index}");
        }

        Console.WriteLine($"INFO both waiters were released and exited {clock.ElapsedMilliseconds} ms after Set");
        Check.That(ev.IsSet(), "the event is set");
        ev.Clear();
        Check.That(!ev.IsSet(), "Clear makes it clear");
        var timeouts = SyncLayout.Start(2, WaitTimeouts, ev);
        Scenario.JoinedOk(timeouts, "the timeouts check on node 2");
        return 0;
    }

    public static int WaitForSet(DragonEvent ev, DragonSemaphore ready)
    {
        ready.Release();
        var clock = Stopwatch.StartNew();
        var set = ev.TryWait(TimeSpan.FromSeconds(20));
        Check.That(set && clock.ElapsedMilliseconds >= 100, $"node {Node.Current.Index}: Wait returned true when another process set the event ({clock.ElapsedMilliseconds} ms)");
        return 0;
    }

    public static int WaitTimeouts(DragonEvent ev)
    {
        var millis = Scenario.Millis(() => Check.That(!ev.TryWait(TimeSpan.FromMilliseconds(400)), "Wait on a clear event with a timeout is false"));
        Check.That(millis >= 380 && millis < 2000, $"after about its timeout (400 ms asked, {millis} ms taken)");
        var zero = Scenario.Millis(() => Check.That(!ev.TryWait(TimeSpan.Zero), "Wait with a zero timeout on a clear event is false"));
        Check.That(zero < 350, $"at once ({zero} ms)");
        ev.Set();
        Check.That(ev.TryWait(TimeSpan.Zero), "after Set, Wait with a zero timeout is true");
        Check.That(ev.TryWait(TimeSpan.FromSeconds(1)) && ev.TryWait(Timeout.InfiniteTimeSpan), "and every Wait returns true while it stays set");
        ev.Clear();
        Check.That(!ev.TryWait(TimeSpan.FromMilliseconds(50)), "Clear from here: Wait is false again");
        return 0;
    }
}
