using System.Globalization;

namespace Dragon.TestApp;

/// <summary>The lock cases: mutual exclusion across processes, try-acquire timing out, a holder killed; (async mode) a cancelled acquire.</summary>
public static class LockCases
{
    private const int Workers = 3;
    private const int Increments = 30;
    private static readonly TimeSpan s_asked = TimeSpan.FromMilliseconds(1000);

    /// <summary>
    /// Worker processes each add 1 to a number in a file under the lock. Inside, each also creates a marker file
    /// that must not exist, so two holders at once are seen (and counted) even if the final number hides it.
    /// </summary>
    public static async Task<LockCounterResult> Counter(ContractApi api, ContractLayout layout)
    {
        var dir = Directory.CreateTempSubdirectory("dragon-lock-");
        try
        {
            var counter = Path.Combine(dir.FullName, "counter");
            await File.WriteAllTextAsync(counter, "0");
            using var @lock = ContractApi.NewLock(layout.Home);
            using var reports = ContractApi.NewQueue<int>(layout.Home, 8);
            var workers = Enumerable.Range(0, Workers).Select(_ => ContractLayout.Start(layout, Increment, api.Mode, @lock, reports, dir.FullName, Increments)).ToArray();
            var twoInside = 0;
            for (var w = 0; w < Workers; w++)
            {
                twoInside += await api.Get(reports, TimeSpan.FromSeconds(120));
            }

            var exits = ContractLayout.JoinAll(workers);
            var final = int.Parse(await File.ReadAllTextAsync(counter), CultureInfo.InvariantCulture);
            return new LockCounterResult(Workers, Increments, final, twoInside, exits);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    public static async Task<int> Increment(string mode, DragonLock @lock, DragonQueue<int> reports, string dir, int times)
    {
        var api = ContractApi.For(mode);
        var counter = Path.Combine(dir, "counter");
        var marker = Path.Combine(dir, "inside");
        var twoInside = 0;
        for (var i = 0; i < times; i++)
        {
            await api.Acquire(@lock);
            var alone = true;
            try
            {
                using (new FileStream(marker, FileMode.CreateNew))
                {
                }
            }
            catch (IOException)
            {
                alone = false;
                twoInside++;
            }

            var value = int.Parse(await File.ReadAllTextAsync(counter), CultureInfo.InvariantCulture);
            await File.WriteAllTextAsync(counter, (value + 1).ToString(CultureInfo.InvariantCulture));
            if (alone)
            {
                File.Delete(marker);
            }

            await api.Release(@lock);
        }

        await api.Put(reports, twoInside);
        return 0;
    }

    /// <summary>Another process holds the lock: try-acquires from here, a release from here, then the holder lets go.</summary>
    public static async Task<LockTimeoutResult> Timeout(ContractApi api, ContractLayout layout)
    {
        using var @lock = ContractApi.NewLock(layout.Home);
        using var held = ContractApi.NewEvent(layout.Home);
        using var letGo = ContractApi.NewEvent(layout.Home);
        var holder = ContractLayout.Start(layout, HoldUntil, api.Mode, @lock, held, letGo);
        await api.TryWait(held, TimeSpan.FromSeconds(30));
        var (zero, zeroMs) = await Measure.Ms(() => api.TryAcquire(@lock, TimeSpan.Zero));
        var (timed, timedMs) = await Measure.Ms(() => api.TryAcquire(@lock, s_asked));
        var release = await Measure.Outcome(() => api.Release(@lock));
        await api.Set(letGo);
        var after = await api.TryAcquire(@lock, TimeSpan.FromSeconds(10));
        if (after)
        {
            await api.Release(@lock);
        }

        ContractLayout.Join(holder);
        return new LockTimeoutResult(
            zero, zeroMs, timed, timedMs, s_asked.TotalMilliseconds, release.Thrown,
            release.Message.Contains("held by process", StringComparison.Ordinal), after);
    }

    public static async Task<int> HoldUntil(string mode, DragonLock @lock, DragonEvent held, DragonEvent letGo)
    {
        var api = ContractApi.For(mode);
        await api.Acquire(@lock);
        await api.Set(held);
        await api.TryWait(letGo, TimeSpan.FromSeconds(60));
        await api.Release(@lock);
        return 0;
    }

    /// <summary>The holder process is killed (SIGKILL) while a waiter process waits for the lock.</summary>
    public static async Task<LockHolderKilledResult> HolderKilled(ContractApi api, ContractLayout layout)
    {
        using var @lock = ContractApi.NewLock(layout.Home);
        using var held = ContractApi.NewEvent(layout.Home);
        using var waiting = ContractApi.NewEvent(layout.Home);
        using var got = ContractApi.NewEvent(layout.Home);
        using var never = ContractApi.NewEvent(layout.Home);
        var holder = ContractLayout.Start(layout, HoldUntil, api.Mode, @lock, held, never);
        await api.TryWait(held, TimeSpan.FromSeconds(30));
        var waiter = ContractLayout.Start(layout, AcquireAndSignal, api.Mode, @lock, waiting, got);
        await api.TryWait(waiting, TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        var hadItBefore = await api.IsSet(got);
        var (gotIt, ms) = await Measure.Ms(async () =>
        {
            ContractLayout.Kill(holder);
            return await api.TryWait(got, TimeSpan.FromSeconds(10));
        });
        ContractLayout.Join(waiter);
        ContractLayout.Join(holder, seconds: 10);
        var free = await api.TryAcquire(@lock, TimeSpan.FromSeconds(2));
        if (free)
        {
            await api.Release(@lock);
        }

        return new LockHolderKilledResult(hadItBefore, gotIt, ms, ContractLayout.ExitReason(holder), free);
    }

    public static async Task<int> AcquireAndSignal(string mode, DragonLock @lock, DragonEvent waiting, DragonEvent got)
    {
        var api = ContractApi.For(mode);
        await api.Set(waiting);
        if (!await api.TryAcquire(@lock, TimeSpan.FromSeconds(60)))
        {
            return 1;
        }

        await api.Set(got);
        await api.Release(@lock);
        return 0;
    }

    /// <summary>The head holds the lock; its own acquire is cancelled; after it releases, the next acquire gets the lock.</summary>
    public static async Task<CancelResult> CancelledAcquire(ContractApi api, ContractLayout layout)
    {
        using var @lock = ContractApi.NewLock(layout.Home);
        await api.Acquire(@lock);
        var (ended, ms) = await Measure.Cancel(token => api.Acquire(@lock, token));
        await api.Release(@lock);
        var free = await api.TryAcquire(@lock, TimeSpan.FromSeconds(2));
        if (free)
        {
            await api.Release(@lock);
        }

        return new CancelResult(ended, ms, free);
    }
}
