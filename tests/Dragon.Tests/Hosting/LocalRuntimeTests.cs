using System.Diagnostics;
using System.Text;
using Dragon.Tests.Infrastructure;
using Dragon.Tests.Packaging;
using Xunit;

namespace Dragon.Tests.Hosting;

/// <summary>
/// A program that hosts its own runtime (<see cref="LocalRuntime"/>), started with plain <c>dotnet</c> and never by
/// <c>dragon</c> (tests/Dragon.HostedApp), and this test process itself hosting one. Every run must leave nothing:
/// no process, no run directory, no /dev/shm file.
/// </summary>
public sealed class LocalRuntimeTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);
    private readonly DragonRun _dragon = new();

    [Fact]
    public void DotnetRun_HostsTwoNodes_MethodProcessesOnBothNodesReportThroughAQueue()
    {
        var (code, stdout, stderr) = RunHostedApp("group");
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("hosted=True nodes=2", stdout, StringComparison.Ordinal);

        // Round-robin over the two nodes; each child, running the same Main, used the run it was started in.
        Assert.Contains("reports=node0:hosted=False,node0:hosted=False,node1:hosted=False,node1:hosted=False", stdout, StringComparison.Ordinal);
        Assert.Contains("exited=4 codes=0,0,0,0", stdout, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void NoDragonAndNoHostedRuntime_FirstRuntimeCall_EndsWithOneLineNamingBothWaysToStart()
    {
        var (code, stdout, stderr) = RunHostedApp("no-runtime");
        Assert.Equal(1, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line, got:\n{stderr}");
        Assert.Contains("dragon <program>", lines[0], StringComparison.Ordinal);
        Assert.Contains("LocalRuntime.StartAsync", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("nodes=", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void HostingProgram_CtrlC_StopsEveryProcessOfTheRunAndRemovesItsFiles()
    {
        using var app = StartHostedApp("interrupted");
        int[] pids = [];
        try
        {
            var ready = app.StandardOutput.ReadLine() ?? string.Empty;
            Assert.StartsWith("ready pids=", ready, StringComparison.Ordinal);
            pids = ready["ready pids=".Length..].Split(',').Select(int.Parse).ToArray();
            Assert.Equal(2, pids.Length);
            Assert.All(pids, pid => Assert.True(Directory.Exists($"/proc/{pid}"), $"sleeper {pid} is not running"));

            Assert.Equal(0, Interop.kill(app.Id, 2));
            Assert.True(app.WaitForExit(TimeSpan.FromSeconds(20)), "the hosting program did not end after SIGINT");
            Assert.Equal(130, app.ExitCode);
            Assert.All(pids, pid => Assert.False(Directory.Exists($"/proc/{pid}"), $"sleeper {pid} outlived the hosting program"));
            _dragon.AssertNothingLeft();
        }
        finally
        {
            // A failed run leaves nothing either: not the hosting program, nor the sleepers it started.
            if (!app.HasExited)
            {
                app.Kill(entireProcessTree: true);
                app.WaitForExit();
            }

            foreach (var pid in pids.Where(IsSleeper))
            {
                _ = Interop.kill(pid, 9);
            }
        }
    }

    [Fact]
    public async Task ThisTestProcess_HostsARuntime_ProcessesOutputQueuesAndGroupsWorkThenDisposeLeavesNothing()
    {
        var before = Environment.GetEnvironmentVariable("DRAGON_RUN_BASE");
        Environment.SetEnvironmentVariable("DRAGON_RUN_BASE", _dragon.RunBase);
        try
        {
            await using (var runtime = await LocalRuntime.StartAsync(nodes: 2))
            {
                Assert.True(runtime.IsHosted);
                Assert.Equal(2, SystemInfo.Nodes.Count);

                var echo = await DragonProcess.StartAsync(
                    ProcessTemplate.Executable("/bin/echo", "from node 1") with { Stdout = Stdio.Pipe, Policy = Policy.OnNode(1) });
                Assert.Equal("from node 1", await echo.Stdout!.ReceiveAsync<string>(TimeSpan.FromSeconds(30)));
                Assert.Equal(0, await echo.JoinAsync(TimeSpan.FromSeconds(30)));
                Assert.Equal(1, echo.Node.Index);

                using var queue = new DragonQueue<int>(maxSize: 4, node: 1);
                await queue.PutAsync(42);
                Assert.Equal(42, await queue.GetAsync(TimeSpan.FromSeconds(10)));

                await using var group = new ProcessGroup();
                group.AddProcess(4, ProcessTemplate.Executable("/bin/true") with { Policy = Policy.RoundRobin });
                await group.StartAsync();
                await group.JoinAsync(TimeSpan.FromSeconds(60));
                Assert.Equal([0, 0, 0, 0], (await group.GetStatusAsync()).ExitStatus.Select(s => s.ExitCode));
            }

            _dragon.AssertNothingLeft();

            // Disposed: the process can host again (a test runner runs many such tests in one process).
            await using (var again = await LocalRuntime.StartAsync())
            {
                Assert.Single(SystemInfo.Nodes);
            }

            _dragon.AssertNothingLeft();
        }
        finally
        {
            Environment.SetEnvironmentVariable("DRAGON_RUN_BASE", before);
        }
    }

    public void Dispose() => _dragon.Dispose();

    private (int Code, string Stdout, string Stderr) RunHostedApp(string scenario)
    {
        var result = Commands.Run("dotnet", [Repo.Built("Dragon.HostedApp"), scenario], Path.GetTempPath(), s_timeout, new Dictionary<string, string> { ["DRAGON_RUN_BASE"] = _dragon.RunBase });
        return (result.ExitCode, result.Stdout, result.Stderr);
    }

    private Process StartHostedApp(string scenario)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Repo.Built("Dragon.HostedApp"));
        info.ArgumentList.Add(scenario);
        info.Environment["DRAGON_RUN_BASE"] = _dragon.RunBase;
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("DRAGON_", StringComparison.Ordinal) && k != "DRAGON_RUN_BASE").ToArray())
        {
            info.Environment.Remove(key);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("cannot start Dragon.HostedApp");
    }

    /// <summary>The pid is still one of this test's sleepers (not a process that reused the number).</summary>
    private static bool IsSleeper(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim() == "/bin/sleep 600";
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static class Interop
    {
        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int kill(int pid, int signal);
    }
}
