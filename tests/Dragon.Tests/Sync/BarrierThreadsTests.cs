using Dragon.Runtime;
using Dragon.Sync.Internal;
using Xunit;

namespace Dragon.Tests.Sync;

/// <summary>
/// The barrier's shared block under contention, in one process whose runtime is hosted here (<see cref="LocalRuntime"/>):
/// threads stand for parties (each arrival takes its own entry, whatever its puid), and a barrier too large for a block
/// is served by requests.
/// </summary>
public sealed class BarrierThreadsTests
{
    [Fact]
    public void BarrierWait_FourThreadsTwoThousandRoundsSyncAndAsync_EveryRoundIndicesZeroToThreeAndNoRequest()
    {
        const int Parties = 4;
        const int Rounds = 2000;
        using var runtime = LocalRuntime.Start();
        using var barrier = new DragonBarrier(Parties);
        var indices = new int[Parties, Rounds];
        var before = RuntimeClient.RequestsSent;
        // Threads of their own: a party blocked in a sync wait must not hold back the pool the others need.
        var parties = Enumerable.Range(0, Parties).Select(p => new Thread(() =>
        {
            for (var round = 0; round < Rounds; round++)
            {
                indices[p, round] = (round + p) % 2 == 0
                    ? barrier.Wait(TimeSpan.FromSeconds(60))
                    : barrier.WaitAsync(TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
            }
        })).ToArray();
        foreach (var party in parties)
        {
            party.Start();
        }

        Assert.All(parties, party => Assert.True(party.Join(TimeSpan.FromSeconds(120)), "a party did not finish its rounds"));
        Assert.Equal(0, RuntimeClient.RequestsSent - before);
        for (var round = 0; round < Rounds; round++)
        {
            var seen = Enumerable.Range(0, Parties).Select(p => indices[p, round]).Order().ToArray();
            Assert.True(seen.SequenceEqual(Enumerable.Range(0, Parties)), $"round {round}: indices {string.Join(",", seen)}");
        }
    }

    [Fact]
    public void BarrierWait_MorePartiesThanABlockHolds_GoesByRequestAndStillTimesOutAndBreaks()
    {
        using var runtime = LocalRuntime.Start();
        using var barrier = new DragonBarrier(BarrierCell.MaxParties + 1);
        var before = RuntimeClient.RequestsSent;
        Assert.Throws<TimeoutException>(() => barrier.Wait(TimeSpan.FromMilliseconds(50)));
        var broken = Assert.Throws<BrokenBarrierException>(() => barrier.Wait(TimeSpan.FromMilliseconds(50)));
        Assert.Equal(barrier.Name, broken.ObjectName);
        Assert.Equal(2, RuntimeClient.RequestsSent - before);
    }
}
