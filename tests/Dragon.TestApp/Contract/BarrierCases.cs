namespace Dragon.TestApp;

/// <summary>The barrier case: rounds with arrival indices, a timed-out wait breaking it, reset, abort.</summary>
public static class BarrierCases
{
    private const int Parties = 3;
    private const int Rounds = 20;
    private static readonly TimeSpan s_asked = TimeSpan.FromMilliseconds(1000);

    /// <summary>
    /// Three processes pass a barrier of three 20 times. Then, with one other process waiting, the head's timed wait
    /// times out and breaks it; the barrier stays broken until reset; after the reset the head and two processes pass
    /// it; then with a process waiting the head aborts it.
    /// </summary>
    public static async Task<BarrierResult> RoundsTimeoutAbortReset(ContractApi api, ContractLayout layout)
    {
        using var barrier = ContractApi.NewBarrier(layout.Home, Parties);
        using var reports = ContractApi.NewQueue<PassReport>(layout.Home, 8);
        var parties = Enumerable.Range(0, Parties).Select(_ => ContractLayout.Start(layout, Pass, api.Mode, barrier, reports, Rounds, null)).ToArray();
        var indices = new int[Parties][];
        for (var p = 0; p < Parties; p++)
        {
            indices[p] = (await api.Get(reports, TimeSpan.FromSeconds(120))).Indices;
        }

        var exits = ContractLayout.JoinAll(parties);
        var goodRounds = Enumerable.Range(0, Rounds).Count(r => indices.All(i => i.Length == Rounds) && indices.Select(i => i[r]).Order().SequenceEqual(Enumerable.Range(0, Parties)));

        // One other waiter: the head's timed wait times out, breaking the barrier for that waiter.
        using var arriving = ContractApi.NewEvent(layout.Home);
        var other = ContractLayout.Start(layout, Pass, api.Mode, barrier, reports, 1, arriving);
        await api.TryWait(arriving, TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        var lone = await Measure.Outcome(() => api.Wait(barrier, s_asked));
        var otherOutcome = await api.Get(reports, TimeSpan.FromSeconds(30));
        ContractLayout.Join(other);
        var afterBroke = await Measure.Thrown(() => api.Wait(barrier, TimeSpan.FromSeconds(1)));

        await api.Reset(barrier);
        var two = Enumerable.Range(0, 2).Select(_ => ContractLayout.Start(layout, Pass, api.Mode, barrier, reports, 1, null)).ToArray();
        var headIndex = -1;
        var afterReset = await Measure.Thrown(async () => headIndex = await api.Wait(barrier, TimeSpan.FromSeconds(30)));
        var afterResetIndices = new List<int> { headIndex };
        for (var p = 0; p < 2; p++)
        {
            afterResetIndices.AddRange((await api.Get(reports, TimeSpan.FromSeconds(30))).Indices);
        }

        ContractLayout.JoinAll(two);

        await api.Clear(arriving);
        var blocked = ContractLayout.Start(layout, Pass, api.Mode, barrier, reports, 1, arriving);
        await api.TryWait(arriving, TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        await api.Abort(barrier);
        var blockedOutcome = await api.Get(reports, TimeSpan.FromSeconds(30));
        ContractLayout.Join(blocked);
        var afterAbort = await Measure.Thrown(() => api.Wait(barrier, TimeSpan.FromSeconds(1)));
        await api.Reset(barrier);
        return new BarrierResult(
            Parties, Rounds, goodRounds, exits, lone.Thrown, lone.Ms, s_asked.TotalMilliseconds, otherOutcome.Thrown, afterBroke, afterReset, afterAbort,
            blockedOutcome.Thrown, [.. afterResetIndices.Order()]);
    }

    /// <summary>Signals <paramref name="arriving"/>, waits <paramref name="rounds"/> times (up to 60 s each); reports the arrival indices, or what a wait threw.</summary>
    public static async Task<int> Pass(string mode, DragonBarrier barrier, DragonQueue<PassReport> reports, int rounds, DragonEvent? arriving)
    {
        var api = ContractApi.For(mode);
        if (arriving is not null)
        {
            await api.Set(arriving);
        }

        var indices = new List<int>();
        for (var round = 0; round < rounds; round++)
        {
            var thrown = await Measure.Thrown(async () => indices.Add(await api.Wait(barrier, TimeSpan.FromSeconds(60))));
            if (thrown is not null)
            {
                await api.Put(reports, new PassReport([.. indices], thrown));
                return 0;
            }
        }

        await api.Put(reports, new PassReport([.. indices], null));
        return 0;
    }
}

/// <summary>What a barrier party saw: its arrival index each round, and what its last wait threw (null: none threw).</summary>
public sealed record PassReport(int[] Indices, string? Thrown);
