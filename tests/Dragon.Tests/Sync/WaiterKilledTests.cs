using System.Text.Json;
using Dragon.TestApp;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Sync;

/// <summary>
/// A process killed while it waits for a lock and a semaphore unit (Dragon.TestApp/Sync/WaiterKilledScenario.cs):
/// its waits never take them after its death, whether the home node served them for it (it ran on another node) or it
/// slept on the shared slot itself (it ran on the home node).
/// </summary>
public sealed class WaiterKilledTests : IDisposable
{
    private static readonly JsonSerializerOptions s_json = new() { PropertyNameCaseInsensitive = true };
    private readonly DragonRun _dragon = new();

    [Fact]
    public void LockAndSemaphore_WaiterKilledOnEitherNode_TheHolderGetsBothBackAfterLettingGo()
    {
        // Outside the run base, which must be empty after the run.
        var path = Path.Combine(Path.GetTempPath(), $"dragon-waiter-killed-{Guid.NewGuid():N}.json");
        try
        {
            _dragon.RunScenario(TimeSpan.FromSeconds(180), "--local-nodes", "2", Repo.TestApp, "sync-waiter-killed", path);
            var result = JsonSerializer.Deserialize<WaiterKilledResult>(File.ReadAllText(path), s_json)!;
            Assert.Equal([0, 1], result.Cases.Select(c => c.WaiterNode));
            Assert.All(result.Cases, c =>
            {
                Assert.Equal("killed by signal 9 (SIGKILL)", c.WaiterExitReason);
                Assert.True(c.LockFreeAfterwards, $"the lock went to the dead waiter of node {c.WaiterNode}");
                Assert.True(c.UnitFreeAfterwards, $"the semaphore's unit went to the dead waiter of node {c.WaiterNode}");
            });
        }
        finally
        {
            File.Delete(path);
        }

        _dragon.AssertNothingLeft();
    }

    public void Dispose() => _dragon.Dispose();
}
