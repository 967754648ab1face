using System.Globalization;
using System.Text.RegularExpressions;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Pool;

/// <summary>The task-farm example (examples/TaskFarm) end to end: 100,000 Monte-Carlo tasks over two nodes.</summary>
public sealed partial class TaskFarmTests : IDisposable
{
    private readonly DragonRun _dragon = new();

    [Fact]
    public void TaskFarm_HundredThousandTasksOnTwoNodes_EstimatesPiAndPrintsThroughput()
    {
        var result = _dragon.Run(TimeSpan.FromSeconds(240), "--local-nodes", "2", Repo.Built("TaskFarm"), "--tasks", "100000", "--samples", "400");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("TaskFarm: 2 workers on 2 node(s), 100000 tasks of 400 samples each", result.Stdout, StringComparison.Ordinal);
        var throughput = Throughput().Match(result.Stdout);
        Assert.True(throughput.Success, result.Stdout);
        Assert.True(double.Parse(throughput.Groups[1].Value, CultureInfo.InvariantCulture) > 0, result.Stdout);

        // 40 million points: the estimate's standard error is about 2.6e-4, so 0.005 is far past noise and far from a wrong sum.
        var estimates = Estimate().Matches(result.Stdout).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(2, estimates.Length);
        Assert.All(estimates, pi => Assert.InRange(pi, Math.PI - 0.005, Math.PI + 0.005));

        // The map and the batch's two halves cover the same seeds: the same estimate to the printed digits.
        Assert.Equal(estimates[0], estimates[1]);
    }

    public void Dispose() => _dragon.Dispose();

    [GeneratedRegex(@"100000 tasks in [0-9.]+ s = ([0-9]+) tasks/s")]
    private static partial Regex Throughput();

    [GeneratedRegex(@"(?:pi ~|combined estimate is) ([0-9.]+)")]
    private static partial Regex Estimate();
}
