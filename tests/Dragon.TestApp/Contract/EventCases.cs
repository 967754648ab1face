namespace Dragon.TestApp;

/// <summary>The event cases: set, clear and waits with timeouts; (async mode) a cancelled wait.</summary>
public static class EventCases
{
    private const int Waiters = 2;
    private static readonly TimeSpan s_asked = TimeSpan.FromMilliseconds(1000);

    /// <summary>Two waiter processes are released by Set; then the head waits with timeouts on the event clear and set.</summary>
    public static async Task<EventResult> SetClearWait(ContractApi api, ContractLayout layout)
    {
        using var @event = ContractApi.NewEvent(layout.Home);
        using var ready = ContractApi.NewSemaphore(layout.Home, 0, bounded: false);
        using var reports = ContractApi.NewQueue<double>(layout.Home, 4);
        var clearAtStart = !await api.IsSet(@event);
        var waiters = Enumerable.Range(0, Waiters).Select(_ => ContractLayout.Start(layout, WaitForSet, api.Mode, @event, ready, reports)).ToArray();
        for (var i = 0; i < Waiters; i++)
        {
            await api.TryAcquire(ready, TimeSpan.FromSeconds(30));
        }

        await Task.Delay(300);
        await api.Set(@event);
        var released = new bool[Waiters];
        var waited = new double[Waiters];
        for (var i = 0; i < Waiters; i++)
        {
            var (got, ms) = await api.TryGet(reports, TimeSpan.FromSeconds(20));
            released[i] = got && ms >= 0;
            waited[i] = ms;
        }

        ContractLayout.JoinAll(waiters);
        var setAfterSet = await api.IsSet(@event);
        await api.Clear(@event);
        var clearAfterClear = !await api.IsSet(@event);
        var (timedOnClear, timedMs) = await Measure.Ms(() => api.TryWait(@event, s_asked));
        var (zeroOnClear, zeroMs) = await Measure.Ms(() => api.TryWait(@event, TimeSpan.Zero));
        await api.Set(@event);
        var zeroOnSet = await api.TryWait(@event, TimeSpan.Zero);
        var timedOnSet = await api.TryWait(@event, TimeSpan.FromSeconds(1));
        return new EventResult(
            clearAtStart, released, waited, setAfterSet, clearAfterClear, timedOnClear, timedMs, s_asked.TotalMilliseconds,
            zeroOnClear, zeroMs, zeroOnSet, timedOnSet);
    }

    /// <summary>Signals it is about to wait, waits (up to 20 s), and reports how long it waited (-1: not released).</summary>
    public static async Task<int> WaitForSet(string mode, DragonEvent @event, DragonSemaphore ready, DragonQueue<double> reports)
    {
        var api = ContractApi.For(mode);
        await api.Release(ready);
        var (set, ms) = await Measure.Ms(() => api.TryWait(@event, TimeSpan.FromSeconds(20)));
        await api.Put(reports, set ? ms : -1);
        return 0;
    }

    /// <summary>A wait cancelled on a clear event; then the event is set and the next wait sees it.</summary>
    public static async Task<CancelResult> CancelledWait(ContractApi api, ContractLayout layout)
    {
        using var @event = ContractApi.NewEvent(layout.Home);
        var (ended, ms) = await Measure.Cancel(token => api.Wait(@event, token));
        await api.Set(@event);
        return new CancelResult(ended, ms, await api.TryWait(@event, TimeSpan.FromSeconds(2)));
    }
}
