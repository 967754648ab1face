using System.Text.Json;
using Dragon.TestApp;
using Dragon.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Dragon.Tests.Channels;

/// <summary>
/// Cancellation across nodes (Dragon.TestApp/Channels/CrossNodeCancelScenario.cs): objects homed on node 1, waits
/// cancelled on node 0. A cancelled wait ends promptly and leaves nothing taken or held on the home node.
/// </summary>
public sealed class CrossNodeCancelTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(180);
    private static readonly JsonSerializerOptions s_json = new() { PropertyNameCaseInsensitive = true };
    private readonly DragonRun _dragon = new();
    private CrossNodeCancelResult? _result;

    [Fact]
    public void GetAsync_CancelledAcrossNodesThenAnotherProcessPuts_TheItemReachesTheNextGet()
    {
        var result = Run();
        Assert.True(result.QueueGetsEndedCancelled);
        Assert.Equal(42, result.ItemAfterCancel);
        AssertPrompt(result.QueueCancelMs);
    }

    [Fact]
    public void LockAndSemaphoreAcquireAsync_CancelledAcrossNodes_LeaveNothingHeld()
    {
        var result = Run();
        Assert.True(result.LockFreeAfterCancel, "the lock is held by a cancelled acquire");
        Assert.True(result.SemaphoreFreeAfterCancel, "the semaphore's count went to a cancelled acquire");
        AssertPrompt(result.LockCancelMs);
        AssertPrompt(result.SemaphoreCancelMs);
    }

    [Fact]
    public void EventAndBarrierWaitAsync_CancelledAcrossNodes_StopWaitingOnTheHome()
    {
        var result = Run();
        Assert.False(result.BarrierCountedCancelledWait, "a cancelled barrier wait still counted as a party");
        AssertPrompt(result.EventCancelMs);
        AssertPrompt(result.BarrierCancelMs);
    }

    private void AssertPrompt(double[] delays)
    {
        var sorted = delays.Order().ToArray();
        output.WriteLine($"cancel delays (ms): {string.Join(", ", sorted.Select(d => d.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.True(sorted[sorted.Length / 2] < 100, $"median cancel delay {sorted[sorted.Length / 2]:F1} ms (all: {string.Join(", ", delays.Select(d => d.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))})");
    }

    private CrossNodeCancelResult Run()
    {
        if (_result is { } done)
        {
            return done;
        }

        // Outside the run base, which must be empty after the run.
        var path = Path.Combine(Path.GetTempPath(), $"dragon-cancel-{Guid.NewGuid():N}.json");
        try
        {
            _dragon.RunScenario(s_timeout, "--local-nodes", "2", Repo.TestApp, "cancel-cross-node", path);
            return _result = JsonSerializer.Deserialize<CrossNodeCancelResult>(File.ReadAllText(path), s_json)!;
        }
        finally
        {
            File.Delete(path);
        }
    }

    public void Dispose() => _dragon.Dispose();
}
