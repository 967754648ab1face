using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Hardening;

/// <summary>
/// A producer on one node against a queue of 16 on another: a million attempted puts are held
/// back at the producer (credit), nobody's memory grows, and what was accepted all arrives, once and in order.
/// </summary>
public sealed class RemotePutFloodTests : IDisposable
{
    private readonly DragonRun _dragon = new();

    public void Dispose() => _dragon.Dispose();

    [Fact]
    public void QueuePut_MillionAttemptsAgainstAFullRemoteQueue_MemoryFlatAndEveryAcceptedMessageArrives()
    {
        var result = _dragon.RunScenario(TimeSpan.FromSeconds(300), "--local-nodes", "2", Repo.TestApp, "remote-put-flood");
        var output = result.ToString();
        Assert.DoesNotContain("FAIL", output, StringComparison.Ordinal);
        Assert.Contains("CHECK messages flowed and the full queue pushed back", output, StringComparison.Ordinal);
        Assert.Contains("CHECK the head's memory stayed flat", output, StringComparison.Ordinal);
        Assert.Contains("CHECK the launcher's memory (both node services) stayed flat", output, StringComparison.Ordinal);
        Assert.Contains("CHECK every accepted message arrived once", output, StringComparison.Ordinal);
        Assert.Contains("CHECK they arrived in the order they were put", output, StringComparison.Ordinal);
        Assert.Equal(0, result.ExitCode);
    }
}
