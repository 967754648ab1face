using System.Diagnostics;
using Dragon.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Dragon.Tests.Scale;

/// <summary>
/// A child on a node away from the launcher prints 3 million lines to its inherited stdout while the launcher's
/// reader does not read: the node service holds a bounded amount of that output (the child blocks in write), and
/// every line arrives, in order, once the reader drains.
/// </summary>
public sealed class ForwardedFloodTests(ITestOutputHelper output) : IDisposable
{
    private const int Lines = 3_000_000;

    /// <summary>Growth of the node service allowed while the output waits (bounded buffers are a few MiB).</summary>
    private const long MaxGrowthBytes = 64L << 20;

    private readonly DragonRun _dragon = new();

    [Theory]
    [InlineData("numbered")]
    [InlineData("empty")]
    public async Task InheritedOutput_ReaderStalls_ServiceStaysBoundedAndEveryLineArrives(string kind)
    {
        // Empty lines weigh nothing but their newline: a bound counted in line bytes alone would never hold them back.
        var print = kind == "empty" ? $"print \"\\n\" for 1..{Lines}" : $"print \"$_\\n\" for 1..{Lines}";
        using var dragon = _dragon.StartDragon(["--wlm", "fork", "--local-nodes", "1", "/bin/sh", "-c", $"echo START; sleep 1; exec /usr/bin/perl -e '{print}'"]);
        var stderr = dragon.StandardError.ReadToEndAsync();
        try
        {
            Assert.Equal("START", dragon.StandardOutput.ReadLine());
            var service = _dragon.RuntimeProcesses("_node").Single();
            var before = ProcStatus.ResidentBytes(service);
            var launcherBefore = ProcStatus.ResidentBytes(dragon.Id);
            var peak = before;
            var launcherPeak = launcherBefore;
            using var stop = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        peak = Math.Max(peak, ProcStatus.ResidentBytes(service));
                        launcherPeak = Math.Max(launcherPeak, ProcStatus.ResidentBytes(dragon.Id));
                    }
                    catch (Exception e) when (e is IOException or InvalidOperationException)
                    {
                        return; // The service ended (gone, or a zombie with no memory to show).
                    }

                    await Task.Delay(50);
                }
            });

            // Nobody reads for 8 seconds: everything between the child and this test fills up and stays full.
            await Task.Delay(8000);
            var clock = Stopwatch.StartNew();
            var count = 0;
            var inOrder = true;
            while (dragon.StandardOutput.ReadLine() is { } line)
            {
                count++;
                inOrder &= kind == "empty" ? line.Length == 0 : line == count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            stop.Cancel();
            await sampler;
            output.WriteLine($"{kind}: {count} lines drained in {clock.Elapsed.TotalSeconds:F1} s; node service {before >> 20} MiB before, peak {peak >> 20} MiB; launcher {launcherBefore >> 20} MiB before, peak {launcherPeak >> 20} MiB");
            Assert.True(dragon.WaitForExit(120_000), "dragon did not end");
            Assert.True(dragon.ExitCode == 0, $"exit {dragon.ExitCode}: {await stderr}");
            Assert.Equal(Lines, count);
            Assert.True(inOrder, "every line arrived whole and in order");
            Assert.True(peak - before < MaxGrowthBytes, $"the node service grew from {before >> 20} MiB to {peak >> 20} MiB while its output waited");
            Assert.True(launcherPeak - launcherBefore < MaxGrowthBytes, $"the launcher grew from {launcherBefore >> 20} MiB to {launcherPeak >> 20} MiB while its output waited");
            _dragon.AssertNothingLeft();
        }
        finally
        {
            if (!dragon.HasExited)
            {
                dragon.Kill(entireProcessTree: true);
            }
        }
    }

    public void Dispose() => _dragon.Dispose();
}
