using System.Text.Json;
using CsCheck;
using Dragon.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Dragon.Tests.Channels;

/// <summary>
/// Random interleavings of put, get, cancel, timeout and a killed consumer on a queue homed on node 1, run by the
/// head on node 0 (Dragon.TestApp/Channels/CancelPlanScenario.cs). Whatever the interleaving, no message is lost
/// or duplicated and each producer's messages arrive in the order they were put. CsCheck generates the plans; one
/// run of dragon executes them all. A failure prints the seed: set CsCheck_Seed to it to run the same plans again.
/// </summary>
public sealed class CancelPropertyTests(ITestOutputHelper output) : IDisposable
{
    private const int Cases = 30;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(240);
    private readonly DragonRun _dragon = new();

    /// <summary>Mostly races of cancel against put, now and then a consumer killed while it waits.</summary>
    private static readonly Gen<Op> s_op = Gen.Select(Gen.Int[0, 20], Gen.Int[0, 1], Gen.Int[0, 40], (kind, producer, delay) => new Op(
        kind switch
        {
            <= 3 => 0,
            <= 6 => 1,
            <= 9 => 2,
            <= 12 => 3,
            <= 19 => 4,
            _ => 5,
        },
        producer,
        delay));

    [Fact]
    public void Queue_RandomPutGetCancelTimeoutKillAcrossTwoNodes_NoLossNoDuplicatePerProducerOrder() =>
        CheckPlans(Cases, (planPath, resultPath) => _dragon.RunScenario(s_timeout, "--local-nodes", "2", Repo.TestApp, "cancel-plan", planPath, resultPath), Path.GetTempPath(), output);

    /// <summary>
    /// Generates <paramref name="cases"/> plans, has <paramref name="run"/> execute them (a run of the cancel-plan
    /// scenario given the plan file and the result file to write, both in <paramref name="directory"/>), and checks
    /// that whatever the interleaving nothing was lost or duplicated and each producer's order held.
    /// </summary>
    internal static void CheckPlans(int cases, Action<string, string> run, string directory, ITestOutputHelper output)
    {
        var cancelMs = new List<double>();
        var killed = 0;
        Check.Sample(
            s_op.Array[12, 40].Array[cases],
            plan =>
            {
                var results = Run(plan, run, directory);
                Assert.Equal(plan.Length, results.Length);
                for (var i = 0; i < plan.Length; i++)
                {
                    AssertHolds(i, plan[i], results[i]);
                    cancelMs.AddRange(results[i].CancelMs);
                    killed += results[i].ConsumersKilled;
                }
            },
            iter: 1,
            threads: 1,
            writeLine: output.WriteLine);

        var sorted = cancelMs.Order().ToArray();
        Assert.NotEmpty(sorted);
        var median = sorted[sorted.Length / 2];
        output.WriteLine($"cancel across nodes: median {median:F1} ms of {sorted.Length}, max {sorted[^1]:F1} ms; {killed} waiting consumers killed");
        Assert.True(median < 100, $"median cancel delay across nodes {median:F1} ms");
    }

    private static void AssertHolds(int index, Op[] ops, CaseResult result)
    {
        var what = $"case {index} ({string.Join(' ', ops.Select(o => $"{o.Kind}/{o.Producer}/{o.DelayMs}"))})";
        Assert.True(
            result.Sent.Order().SequenceEqual(result.Received.Order()),
            $"{what}: sent [{string.Join(", ", result.Sent)}] but received [{string.Join(", ", result.Received)}]");
        foreach (var producer in result.Received.GroupBy(item => item / 1_000_000))
        {
            var items = producer.ToArray();
            Assert.True(items.SequenceEqual(items.Order()), $"{what}: producer {producer.Key}'s items arrived as [{string.Join(", ", items)}]");
        }
    }

    private static CaseResult[] Run(Op[][] plan, Action<string, string> run, string directory)
    {
        // Outside the run base, which must be empty after the run.
        var planPath = Path.Combine(directory, $"dragon-plan-{Guid.NewGuid():N}.json");
        var resultPath = Path.ChangeExtension(planPath, ".result.json");
        try
        {
            File.WriteAllText(planPath, JsonSerializer.Serialize(plan));
            run(planPath, resultPath);
            return JsonSerializer.Deserialize<CaseResult[]>(File.ReadAllText(resultPath))!;
        }
        finally
        {
            File.Delete(planPath);
            File.Delete(resultPath);
        }
    }

    public void Dispose() => _dragon.Dispose();

    /// <summary>Kind: 0 put with a timeout, 1 cancelled put, 2 get with a timeout, 3 cancelled get, 4 cancelled get racing a put, 5 kill a waiting consumer.</summary>
    public sealed record Op(int Kind, int Producer, int DelayMs);

    public sealed record CaseResult(long[] Sent, long[] Received, double[] CancelMs, int ConsumersKilled);
}
