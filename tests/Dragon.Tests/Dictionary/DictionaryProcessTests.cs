using System.Text.Json;
using Dragon.TestApp;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Dictionary;

/// <summary>
/// The dictionary used by separate processes over two nodes (Dragon.TestApp/Dictionary/DictionaryScenarios.cs): a
/// million keys from four writers read back by a process on each node, and a counter eight processes on both nodes
/// add to after waiting for a key. The run must leave nothing behind (no process, no /dev/shm file).
/// </summary>
public sealed class DictionaryProcessTests : IDisposable
{
    private readonly DragonRun _dragon = new();

    [Fact]
    public void MillionKeys_FromFourWriters_ReadBackRightFromEachNode()
    {
        var path = Path.Combine(Path.GetTempPath(), $"dragon-dict-million-{Guid.NewGuid():N}.json");
        try
        {
            _dragon.RunScenario(TimeSpan.FromSeconds(400), "--local-nodes", "2", Repo.TestApp, "dict-million", path);
            var result = JsonSerializer.Deserialize<DictionaryMillionResult>(File.ReadAllText(path))!;
            Assert.Equal([0, 0, 0, 0], result.WriterExitCodes);
            Assert.Equal(result.Keys, result.Count);
            Assert.Equal(result.Keys, result.KeysPerManager.Sum());
            Assert.All(result.KeysPerManager, k => Assert.InRange(k, result.Keys * 0.45, result.Keys * 0.55));
            Assert.Equal([0, 1], result.Readers.Select(r => r.Node));
            Assert.All(result.Readers, r =>
            {
                Assert.Equal(result.Keys, r.PointReadsRight);
                Assert.Equal(0, r.PointReadsWrong);
                Assert.Equal(result.Keys, r.Enumerated);
                Assert.Equal(result.Keys, r.EnumeratedRight);
                Assert.Equal(0, r.Duplicates);
                Assert.Equal(result.Keys, r.Count);
            });
        }
        finally
        {
            File.Delete(path);
        }

        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Counter_EightProcessesOnTwoNodes_AddUpExactly_AfterAWaitForReleasedOnBothNodes()
    {
        var path = Path.Combine(Path.GetTempPath(), $"dragon-dict-counters-{Guid.NewGuid():N}.json");
        try
        {
            _dragon.RunScenario(TimeSpan.FromSeconds(300), "--local-nodes", "2", Repo.TestApp, "dict-counters", path);
            var result = JsonSerializer.Deserialize<DictionaryCountersResult>(File.ReadAllText(path))!;
            Assert.False(result.StartSeenBeforePut, "a counter went past its wait before the key was put");
            Assert.Equal(Enumerable.Repeat(0, 8), result.ExitCodes);
            Assert.Equal([0, 1, 0, 1, 0, 1, 0, 1], result.Nodes);
            Assert.Equal(80_000, result.Final);
        }
        finally
        {
            File.Delete(path);
        }

        _dragon.AssertNothingLeft();
    }

    public void Dispose() => _dragon.Dispose();
}
