using Xunit;
using System.Diagnostics;
using System.Text;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Launcher;

/// <summary>
/// No process outlives the node service that started it, nor a node service that lost the run, by more than a few
/// seconds: a killed node service's fence removes its processes and files; a node service whose launcher is gone
/// fences itself; a killed one-machine launcher's fence removes the whole run.
/// </summary>
public sealed class FenceTests : IDisposable
{
    private static readonly TimeSpan s_fewSeconds = TimeSpan.FromSeconds(5);
    private readonly DragonRun _dragon = new();

    private static string ReadLineOrFail(System.Diagnostics.Process dragon, Func<string, bool> wanted)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(90))
        {
            var line = dragon.StandardOutput.ReadLine() ?? throw new InvalidOperationException("dragon ended early: " + dragon.StandardError.ReadToEnd());
            if (wanted(line))
            {
                return line;
            }
        }

        throw new TimeoutException("the scenario did not get ready");
    }

    /// <summary>Live processes of this test's runs started on node <paramref name="node"/>.</summary>
    private int[] ProcessesOfNode(int node)
    {
        var marker = Encoding.UTF8.GetBytes($"\0DRAGON_NODE_INDEX={node}\0");
        return _dragon.LiveProcessesOfRuns().Where(pid =>
        {
            try
            {
                return File.ReadAllBytes($"/proc/{pid}/environ").AsSpan().IndexOf(marker) >= 0;
            }
            catch (IOException)
            {
                return false;
            }
        }).ToArray();
    }

    private static T WaitFor<T>(Func<T> probe, Func<T, bool> done, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        var value = probe();
        while (!done(value) && clock.Elapsed < limit)
        {
            Thread.Sleep(50);
            value = probe();
        }

        return value;
    }

    [Fact]
    public void NodeService_KilledWithSigkill_ItsProcessesAndFilesAreGoneWithinSeconds()
    {
        using var dragon = _dragon.StartDragon(["--wlm", "fork", "--local-nodes", "2", Repo.TestApp, "lose-node", "1"]);
        ReadLineOrFail(dragon, line => line.StartsWith("READY", StringComparison.Ordinal));
        // A sleeper started just before READY may still be on its way into exec (its environment not yet its own).
        var victims = WaitFor(() => ProcessesOfNode(1), pids => pids.Length >= 2, s_fewSeconds);
        Assert.True(victims.Length >= 2, $"node 1 runs the scenario's sleepers ({victims.Length} found)");
        var service = Assert.Single(_dragon.RuntimeProcesses("_node"), pid => File.ReadAllText($"/proc/{pid}/cmdline").Contains("--index\01\0", StringComparison.Ordinal));
        var nodeDir = Assert.Single(Directory.GetDirectories(_dragon.RunBase, "*.n1"));

        Assert.Equal(0, Native.Kill(service, 9));
        var clock = Stopwatch.StartNew();
        var left = WaitFor(() => ProcessesOfNode(1), pids => pids.Length == 0, s_fewSeconds);
        Assert.True(left.Length == 0, $"processes of the killed node service still alive after {clock.Elapsed.TotalSeconds:F1} s: {string.Join(", ", left)}");
        Assert.True(WaitFor(() => Directory.Exists(nodeDir), exists => !exists, s_fewSeconds) == false, $"{nodeDir} is still there");
        var runId = Path.GetFileName(nodeDir).Split('.')[0];
        Assert.Empty(Directory.GetFiles("/dev/shm", $"dragon-{runId}-n1-*"));
        Assert.DoesNotContain(_dragon.RuntimeProcesses("_fence"), pid => File.ReadAllText($"/proc/{pid}/cmdline").Contains(".n1", StringComparison.Ordinal));

        // The rest of the run saw the node lost and went on to its end.
        var stdout = dragon.StandardOutput.ReadToEnd();
        Assert.True(dragon.WaitForExit(60_000), "the run did not end");
        Assert.True(dragon.ExitCode == 0, $"exit {dragon.ExitCode}\n{stdout}\n{dragon.StandardError.ReadToEnd()}");
        Assert.Contains("CHECK the rest of the run goes on", stdout, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Launcher_KilledWithSigkill_OneMachine_ItsChildrenAndFilesAreGoneWithinSeconds()
    {
        using var dragon = _dragon.StartDragon(["--local-nodes", "2", Repo.TestApp, "sleepers", "4"]);
        ReadLineOrFail(dragon, line => line == "READY");
        Assert.Single(_dragon.RuntimeProcesses("_fence"));
        Assert.Equal(5 + 1, _dragon.LiveProcessesOfRuns().Length);

        dragon.Kill();
        dragon.WaitForExit();
        var clock = Stopwatch.StartNew();
        var left = WaitFor(_dragon.LiveProcessesOfRuns, pids => pids.Length == 0, s_fewSeconds);
        Assert.True(left.Length == 0, $"children of the killed launcher still alive after {clock.Elapsed.TotalSeconds:F1} s: {string.Join(", ", left)}");
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Launcher_KilledWithSigkill_NodeServicesFenceThemselves()
    {
        using var dragon = _dragon.StartDragon(["--wlm", "fork", "--local-nodes", "2", Repo.TestApp, "sleepers", "4"]);
        ReadLineOrFail(dragon, line => line == "READY");
        Assert.Equal(2, _dragon.RuntimeProcesses("_node").Length);
        Assert.Equal(3, _dragon.RuntimeProcesses("_fence").Length);
        Assert.Equal(5 + 2 + 3, _dragon.LiveProcessesOfRuns().Length);

        // The launcher goes; each node service sees its link close, stops its processes and removes its files.
        dragon.Kill();
        dragon.WaitForExit();
        var clock = Stopwatch.StartNew();
        var left = WaitFor(_dragon.LiveProcessesOfRuns, pids => pids.Length == 0, TimeSpan.FromSeconds(8));
        Assert.True(left.Length == 0, $"processes of the run still alive {clock.Elapsed.TotalSeconds:F1} s after the launcher died: {string.Join(", ", left)}");
        _dragon.AssertNothingLeft();
    }

    public void Dispose() => _dragon.Dispose();
}
