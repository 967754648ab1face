using Xunit;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Launcher;

/// <summary>What the launcher keeps of processes that exited: what a query can still return, little more.</summary>
public sealed class RetainedMemoryTests : IDisposable
{
    private readonly DragonRun _dragon = new();

    [Fact]
    public void ExitedProcesses_TenThousandShortOnes_LauncherGrowsLittleForEach()
    {
        // A small, compacting heap, so the resident size follows what is live rather than the collector's slack.
        var env = new Dictionary<string, string> { ["DOTNET_GCgen0size"] = "0x40000", ["DOTNET_GCConserveMemory"] = "9" };
        using var dragon = _dragon.StartDragon([Repo.TestApp, "many-short", "10000", "1000"], env);
        long Weigh(string pause)
        {
            string? line;
            while ((line = dragon.StandardOutput.ReadLine()) != pause)
            {
                if (line is null)
                {
                    Assert.Fail("dragon ended early: " + dragon.StandardError.ReadToEnd());
                }
            }

            Thread.Sleep(500);
            // Anonymous memory only: the launcher's 19 MB executable is paged in as code paths first run (and on this
            // VM paged out again when idle), which says nothing of what it keeps per process.
            var resident = OutputBoundsTests.AnonymousResidentBytes(dragon.Id);
            dragon.StandardInput.WriteLine("go");
            dragon.StandardInput.Flush();
            return resident;
        }

        var first = Weigh("PAUSE 1000");
        var last = Weigh("PAUSE 10000");
        var stdout = dragon.StandardOutput.ReadToEnd();
        Assert.True(dragon.WaitForExit(60_000), "dragon did not end");
        Assert.True(dragon.ExitCode == 0, $"exit {dragon.ExitCode}\n{stdout}\n{dragon.StandardError.ReadToEnd()}");

        // Measured here: about 550 bytes per process (945 while each record kept its spec and waiting machinery).
        var perProcess = (last - first) / 9000;
        Assert.True(perProcess < 800, $"the launcher grew by {perProcess} bytes per exited process ({first >> 10} KiB -> {last >> 10} KiB)");
        _dragon.AssertNothingLeft();
    }

    public void Dispose() => _dragon.Dispose();
}
