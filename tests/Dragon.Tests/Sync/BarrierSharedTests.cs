using System.Text.Json;
using Dragon.TestApp;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Sync;

/// <summary>
/// A barrier homed on the node of its parties lives in shared memory (Sync/Internal/BarrierSlot.cs): its rounds make
/// no request, a party killed while it sleeps there breaks it for every waiter (of this node and of another, which goes
/// by request to the same block), and a cancelled waiter withdraws (Dragon.TestApp/Sync/BarrierSharedScenario.cs, one
/// run over two local nodes for the whole class).
/// </summary>
public sealed class BarrierSharedTests(BarrierSharedTests.Run run) : IClassFixture<BarrierSharedTests.Run>
{
    [Fact]
    public void BarrierWait_TwoProcessesOfTheHomeNodeAThousandRounds_IndicesZeroAndOneEveryRoundAndNoRequest()
    {
        var rounds = run.Result.Rounds;
        Assert.Equal(0, rounds.ChildExitCode);
        Assert.Equal(rounds.Rounds, rounds.RoundsWithIndicesZeroAndOne);
        Assert.Equal(0, rounds.HeadRequests);
        Assert.Equal(0, rounds.ChildRequests);

        // The child's counter does see requests: creating an object is one.
        Assert.True(rounds.ChildRequestsForACreation >= 1, $"creating an event counted {rounds.ChildRequestsForACreation} requests");
    }

    [Fact]
    public void BarrierWait_PartyKilledWhileWaitingInSharedMemory_BrokenForWaitersOfBothNodesWithin2sNamingTheDeadParty()
    {
        var killed = run.Result.Killed;
        Assert.Equal("killed by signal 9 (SIGKILL)", killed.VictimExitReason);
        var named = $"party puid {killed.VictimPuid} died while waiting";
        Assert.Equal(nameof(BrokenBarrierException), killed.HeadThrown);
        Assert.Contains(named, killed.HeadMessage, StringComparison.Ordinal);
        Assert.Equal(nameof(BrokenBarrierException), killed.RemoteThrown);
        Assert.Contains(named, killed.RemoteMessage, StringComparison.Ordinal);
        Assert.InRange(killed.HeadMsAfterKill, 0, 2000);
        Assert.InRange(killed.RemoteMsAfterKill, 0, 2000);

        // After a reset four parties pass again: the dead party's entry was given back.
        Assert.Equal([0, 1, 2, 3], killed.IndicesAfterReset);
    }

    [Fact]
    public void BarrierWaitAsync_LocalWaiterCancelled_WithdrawsAndAReplacementCompletesTheRoundWithIndicesZeroToTwo()
    {
        var cancelled = run.Result.Cancelled;
        Assert.Equal(nameof(OperationCanceledException), cancelled.CancelledThrown);
        Assert.False(cancelled.HeadPassedBeforeReplacement, "the cancelled wait still counted as a party");
        Assert.Equal([0, 1, 2], cancelled.Indices);
    }

    /// <summary>The one scenario run of the class; it must exit 0 and leave nothing behind (checked on Dispose).</summary>
    public sealed class Run : IDisposable
    {
        private static readonly JsonSerializerOptions s_json = new() { PropertyNameCaseInsensitive = true };
        private readonly DragonRun _dragon = new();
        private readonly Lazy<BarrierSharedResult> _result;

        public Run() => _result = new Lazy<BarrierSharedResult>(RunScenario);

        /// <summary>The scenario's result; the run happens on the first call (a failed run fails every fact).</summary>
        public BarrierSharedResult Result => _result.Value;

        public void Dispose()
        {
            try
            {
                _dragon.AssertNothingLeft();
            }
            finally
            {
                _dragon.Dispose();
            }
        }

        private BarrierSharedResult RunScenario()
        {
            // Outside the run base, which must be empty after the run.
            var path = Path.Combine(Path.GetTempPath(), $"dragon-barrier-shared-{Guid.NewGuid():N}.json");
            try
            {
                _dragon.RunScenario(TimeSpan.FromSeconds(300), "--local-nodes", "2", Repo.TestApp, "sync-barrier-shared", path);
                return JsonSerializer.Deserialize<BarrierSharedResult>(File.ReadAllText(path), s_json)
                    ?? throw new InvalidOperationException($"the scenario wrote no result to {path}");
            }
            finally
            {
                File.Delete(path);
            }
        }
    }
}
