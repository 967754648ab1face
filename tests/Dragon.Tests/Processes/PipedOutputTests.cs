using System.Diagnostics;
using Dragon.Tests.Infrastructure;
using Dragon.Tests.Launcher;
using Xunit;
using Xunit.Abstractions;

namespace Dragon.Tests.Processes;

/// <summary>
/// A child's piped stdout read in batches through the node services: every line arrives once and in order, from a
/// child on the reader's node and from one on the other node; a reader that stops reading stops the child, the
/// runtime's memory stays bounded meanwhile, and everything arrives once reading resumes.
/// </summary>
public sealed class PipedOutputTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(4);

    /// <summary>
    /// Most the launcher (which holds both node services under <c>--local-nodes</c>) may grow while the child tries to
    /// write 3M lines (20.9 MB) no one reads: the stream keeps 1 MiB, the rest is the runtime's own noise.
    /// </summary>
    private const long GrowthBound = 8L << 20;

    private readonly DragonRun _dragon = new();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Receive_200000NumberedLinesFromNode_EveryLineOnceInOrder(int node)
    {
        var result = _dragon.RunScenario(s_timeout, "--local-nodes", "2", Repo.TestApp, "numbered-output", "200000", node.ToString(System.Globalization.CultureInfo.InvariantCulture));
        RunResultChecks.AssertHas(result, $"all 200000 lines from node {node} arrived once, in order", "end of stream after the last line", "the writer exited 0");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task Receive_ReaderStallsWhileChildWritesThreeMillionLines_ChildBlocksMemoryBoundedThenEverythingArrives(int node)
    {
        using var dragon = _dragon.StartDragon(["--local-nodes", "2", Repo.TestApp, "stalled-output", "3000000", node.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        var stderr = dragon.StandardError.ReadToEndAsync();
        Assert.Equal("READY", dragon.StandardOutput.ReadLine());
        var before = OutputBoundsTests.ResidentBytes(dragon.Id);

        Tell(dragon);
        Assert.Equal("STARTED", dragon.StandardOutput.ReadLine());
        var peak = before;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(4))
        {
            peak = Math.Max(peak, OutputBoundsTests.ResidentBytes(dragon.Id));
            await Task.Delay(100);
        }

        Tell(dragon);
        var stdout = await dragon.StandardOutput.ReadToEndAsync();
        Assert.True(dragon.WaitForExit((int)s_timeout.TotalMilliseconds), "dragon did not end");
        Assert.True(dragon.ExitCode == 0, $"exit {dragon.ExitCode}\n{stdout}\n{await stderr}");
        Assert.Contains("CHECK the writer was still running while no one read", stdout, StringComparison.Ordinal);
        Assert.Contains("CHECK all 3000000 lines arrived once, in order", stdout, StringComparison.Ordinal);
        output.WriteLine($"launcher RSS {before >> 10} KiB before the writer started, peak {peak >> 10} KiB while no one read");
        Assert.True(peak - before < GrowthBound, $"the launcher grew by {(peak - before) >> 20} MiB (from {before >> 20} MiB) while the output was unread");
        _dragon.AssertNothingLeft();
    }

    private static void Tell(Process dragon)
    {
        dragon.StandardInput.WriteLine("go");
        dragon.StandardInput.Flush();
    }

    public void Dispose() => _dragon.Dispose();
}
