using System.Diagnostics;
using System.Globalization;

namespace Dragon.TestApp;

/// <summary>Lock between processes on different nodes, and a lock holder killed with SIGKILL.</summary>
public static class LockScenarios
{
    private const int Workers = 6;
    private const int Increments = 50;

    /// <summary>
    /// Six processes on three nodes each add 1 to a number in a file 50 times under the lock: the final number is
    /// exact. Inside, each also creates a marker file that must not exist, so two holders at once would be seen.
    /// </summary>
    public static int Counter()
    {
        SyncLayout.RequireNodes(3);
        var dir = Directory.CreateTempSubdirectory("dragon-lock-");
        try
        {
            var counter = Path.Combine(dir.FullName, "counter");
            File.WriteAllText(counter, "0");
            using var theLock = new DragonLock(node: SyncLayout.Home);
            var workers = Enumerable.Range(0, Workers).Select(w => SyncLayout.Start(SyncLayout.NodeOf(w), Increment, theLock, dir.FullName, Increments)).ToArray();
            foreach (var worker in workers)
            {
                Scenario.JoinedOk(worker, $"incrementer on node {worker.Node.Index}", seconds: 120);
            }

            var final = int.Parse(File.ReadAllText(counter), CultureInfo.InvariantCulture);
            Check.That(final == Workers * Increments, $"{Workers} processes on nodes {string.Join(",", workers.Select(w => w.Node.Index))} x {Increments} increments under the lock: the file says {final}");

            Check.That(theLock.TryAcquire(TimeSpan.Zero), "the head takes the lock with a zero timeout (try once)");
            var other = SyncLayout.Start(2, LockMisuse, theLock);
            Scenario.JoinedOk(other, "lock misuse checks on node 2");
            theLock.Release();
            var e = Check.Throws<InvalidOperationException>(theLock.Release, "releasing a lock nobody holds");
            Check.That(e.Message.Contains("not held", StringComparison.Ordinal), "the error says it is not held");
        }
        finally
        {
            dir.Delete(recursive: true);
        }

        return 0;
    }

    public static int Increment(DragonLock theLock, string dir, int times)
    {
        var counter = Path.Combine(dir, "counter");
        var marker = Path.Combine(dir, "inside");
        for (var i = 0; i < times; i++)
        {
            Check.That(theLock.TryAcquire(TimeSpan.FromSeconds(60)), $"acquired #{i}");
            try
            {
                using (new FileStream(marker, FileMode.CreateNew))
                {
                }
            }
            catch (IOException)
            {
                Console.WriteLine($"FAIL node {Node.Current.Index}: another process was inside the lock");
                return 1;
            }

            var value = int.Parse(File.ReadAllText(counter), CultureInfo.InvariantCulture);
            File.WriteAllText(counter, (value + 1).ToString(CultureInfo.InvariantCulture));
            File.Delete(marker);
            theLock.Release();
        }

        return 0;
    }

    public static int LockMisuse(DragonLock theLock)
    {
        var e = Check.Throws<InvalidOperationException>(theLock.Release, "releasing a lock held by another process");
        Check.That(e.Message.Contains("held by process", StringComparison.Ordinal), "the error names the holder");
        Check.That(!theLock.TryAcquire(TimeSpan.Zero), "Acquire with a zero timeout on a held lock is false");
        var millis = Scenario.Millis(() => Check.That(!theLock.TryAcquire(TimeSpan.FromMilliseconds(400)), "Acquire with a timeout on a held lock is false"));
        Check.That(millis >= 380 && millis < 2000, $"after about its timeout (400 ms asked, {millis} ms taken)");
        return 0;
    }

    /// <summary>The holder of a lock is killed with SIGKILL: the process waiting for it gets it within 2 s.</summary>
    public static int HolderKilled()
    {
        SyncLayout.RequireNodes(3);
        using var theLock = new DragonLock(node: SyncLayout.Home);
        using var held = new DragonEvent(node: SyncLayout.Home);
        using var waiting = new DragonEvent(node: SyncLayout.Home);
        using var got = new DragonEvent(node: SyncLayout.Home);
        var holder = SyncLayout.Start(2, HoldForever, theLock, held);
        Check.That(held.TryWait(TimeSpan.FromSeconds(30)), "a process on node 2 holds the lock");
        var waiter = SyncLayout.Start(0, AcquireAndSignal, theLock, waiting, got);
        Check.That(waiting.TryWait(TimeSpan.FromSeconds(30)), "a process on node 0 waits for it");
        Thread.Sleep(300);
        Check.That(!got.IsSet(), "and does not have it while the holder lives");
        var clock = Stopwatch.StartNew();
        holder.Kill();
        Check.That(got.TryWait(TimeSpan.FromSeconds(2)), $"the holder was killed with SIGKILL; the waiter got the lock within 2 s ({clock.ElapsedMilliseconds} ms)");
        Scenario.JoinedOk(waiter, "waiter");
        Check.That(holder.TryJoin(TimeSpan.FromSeconds(10), out _), $"the holder is gone ({holder.GetStatus().ExitReason})");
        Check.That(theLock.TryAcquire(TimeSpan.FromSeconds(2)), "the lock is free again for the head");
        theLock.Release();
        return 0;
    }

    public static void HoldForever(DragonLock theLock, DragonEvent held)
    {
        theLock.Acquire();
        held.Set();
        Thread.Sleep(TimeSpan.FromMinutes(5));
    }

    public static int AcquireAndSignal(DragonLock theLock, DragonEvent waiting, DragonEvent got)
    {
        waiting.Set();
        if (!theLock.TryAcquire(TimeSpan.FromSeconds(30)))
        {
            Console.WriteLine("FAIL the waiter never got the lock");
            return 1;
        }

        got.Set();
        theLock.Release();
        return 0;
    }
}
