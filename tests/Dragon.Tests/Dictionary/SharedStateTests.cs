using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Dictionary;

/// <summary>
/// The shared-state example (examples/SharedState) end to end on two nodes: producers write an array per step, a
/// consumer waits for them, keeps their mean at a checkpoint per step and persists it, and a dictionary restored from
/// the last persisted checkpoint reads the last mean. The checkpoint directory given is the test's, and must hold one
/// directory per manager afterwards; nothing else may be left.
/// </summary>
public sealed class SharedStateTests : IDisposable
{
    private readonly DragonRun _dragon = new();

    [Fact]
    public void SharedState_FourProducersTenSteps_EveryMeanRightAndTheLastRestored()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"dragon-sharedstate-{Guid.NewGuid():N}");
        try
        {
            var result = _dragon.Run(
                TimeSpan.FromSeconds(240), "--local-nodes", "2", Repo.Built("SharedState"), "--producers", "4", "--steps", "10", "--dir", directory);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("SharedState: 4 producers on 2 node(s), 10 steps of 10000 values, dictionary of 2 managers", result.Stdout, StringComparison.Ordinal);
            for (var step = 0; step < 10; step++)
            {
                Assert.Matches($@"step {step}: mean ([0-9.]+) \(expected \1\)", result.Stdout);
            }

            Assert.Matches(@"restored checkpoint 9 from .*: mean 9\.070840", result.Stdout);
            Assert.Contains("SharedState: every step's mean is right", result.Stdout, StringComparison.Ordinal);
            Assert.Equal(["manager-0", "manager-1"], Directory.GetDirectories(directory).Select(Path.GetFileName).Order());
            Assert.Equal(
                Enumerable.Range(0, 10).Select(s => $"checkpoint-{s}.ddc").Order(),
                Directory.GetFiles(Path.Combine(directory, "manager-0")).Select(Path.GetFileName).Order());
            _dragon.AssertNothingLeft();
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    public void Dispose() => _dragon.Dispose();
}
