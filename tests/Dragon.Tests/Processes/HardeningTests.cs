using System.Net;
using Dragon.Runtime.Protocol;
using Dragon.Services.Global;
using Dragon.Services.Node;
using Dragon.Services.Runtime;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Processes;

/// <summary>
/// Input that used to be accepted silently or reported wrongly: NULs, a working directory that is a file, negative
/// node indexes, message sizes and signal numbers, placement on a lost node. Checked from a user program under the
/// real launcher, and at a real node service with requests that bypass the client library's own checks.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HardeningTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(180);
    private readonly DragonRun _dragon = new();

    [Fact]
    public void Scenario_BadInputFromAUserProgram_IsRefusedNamingTheThing()
    {
        var result = _dragon.RunScenario(s_timeout, "--local-nodes", "1", Repo.TestApp, "hardening");
        RunResultChecks.AssertHas(
            result,
            "the error names argument 2",
            "the error names the variable",
            "the error says it is not a directory",
            "the error names the index and the node count",
            "the error names the parameter (maxMessageBytes)",
            "Process.Signal(999)",
            "signal 64 is accepted",
            "the runtime still serves other processes afterwards");
    }

    [Fact]
    public async Task Spawn_ForgedRequestsBypassingTheClient_AreRefusedByTheService()
    {
        var baseDir = Path.Combine(_dragon.RunBase, "in-process");
        var run = RunContext.Create(new DiscardOutput(), label: false, baseDir: baseDir);
        var global = new GlobalServices(run);
        var node = new NodeService(run, 0, "n0", IPAddress.Loopback);
        try
        {
            global.AttachNodes([node]);
            node.GlobalLink = new LocalGlobalLink(global);
            node.Nodes = global.NodeDescriptors;

            foreach (var (spec, expected) in new[]
            {
                (Spec("/bin/echo\0-n"), "the executable contains a NUL"),
                (Spec("/bin/echo", args: ["ok", "cut\0here"]), "argument 2 contains a NUL"),
                (Spec("/bin/true", cwd: "/tmp\0/x"), "the working directory contains a NUL"),
                (Spec("/bin/true", env: [new("GREETING", "hello\0world")]), "environment variable GREETING contains a NUL"),
                (Spec("/bin/true", env: [new("A\0B", "x")]), "environment variable name"),
            })
            {
                var e = await Assert.ThrowsAsync<ServiceException>(() => global.StartAsync([spec]));
                Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
                Assert.Contains(expected, e.Message, StringComparison.Ordinal);
            }

            var file = Path.Combine(baseDir, "a-file");
            await File.WriteAllTextAsync(file, "x");
            var notADirectory = await Assert.ThrowsAsync<ServiceException>(() => global.StartAsync([Spec("/bin/true", cwd: file)]));
            Assert.Contains($"{file} is not a directory", notADirectory.Message, StringComparison.Ordinal);
            var negativeNode = await Assert.ThrowsAsync<ServiceException>(() => global.StartAsync([Spec("/bin/true") with { Placement = new PlacementSpec(-5, null, Distribution.Default, null) }]));
            Assert.Contains("node index -5 is negative", negativeNode.Message, StringComparison.Ordinal);
            var channel = Assert.Throws<ServiceException>(() => node.Objects.Create(new ObjectCreateRequest(ObjectKind.Channel, null, 0, 8, 0, -1, 0, false, 1)));
            Assert.Contains("largest message (-1 bytes)", channel.Message, StringComparison.Ordinal);

            // A real process still starts; a signal number out of range never reaches it.
            var started = (await global.StartAsync([Spec("/bin/sh", args: ["-c", "sleep 0.3; exit 3"])]))[0];
            var signal = Assert.Throws<ServiceException>(() => global.Signal(started.Puid, 999));
            Assert.Contains("signal 999 is not a signal number", signal.Message, StringComparison.Ordinal);
            var statuses = await global.JoinAsync([started.Puid], all: true, timeoutMs: 30_000, CancellationToken.None);
            Assert.Equal(3, statuses[0].ExitCode);
        }
        finally
        {
            await node.DisposeAsync();
            run.Dispose();
            run.RemoveFiles();
        }
    }

    [Fact]
    public async Task Placement_NodeServiceKilled_DistributionsSkipTheLostNodeAndNamingItFails()
    {
        using var dragon = _dragon.StartDragon(["--wlm", "fork", "--local-nodes", "3", Repo.TestApp, "lose-node", "2"]);
        var stdout = new System.Text.StringBuilder();
        using var ready = new ManualResetEventSlim();
        dragon.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (stdout)
                {
                    stdout.AppendLine(line);
                }

                if (line.StartsWith("READY", StringComparison.Ordinal))
                {
                    ready.Set();
                }
            }
        };
        var stderr = dragon.StandardError.ReadToEndAsync();
        dragon.BeginOutputReadLine();
        Assert.True(ready.Wait(s_timeout), $"the scenario did not get ready\n{stdout}");

        var victim = NodeServiceProcess(dragon.Id, index: 2);
        victim.Kill();
        victim.WaitForExit();
        Assert.True(dragon.WaitForExit(60_000), "dragon did not finish");
        dragon.WaitForExit();
        var output = stdout.ToString();
        var result = $"exit {dragon.ExitCode}\n{output}\n--- stderr\n{await stderr}";
        Assert.True(dragon.ExitCode == 0, result);
        Assert.DoesNotContain("FAIL", output, StringComparison.Ordinal);
        Assert.Contains("round-robin placement skips lost node 2", output, StringComparison.Ordinal);
        Assert.Contains("block placement skips lost node 2", output, StringComparison.Ordinal);
        Assert.Contains("node 2 is lost", output, StringComparison.Ordinal);
        Assert.Matches(@"CHECK its context names member \d on node 2, with no code or signal", output);
        Assert.Contains("the start error's NodeIndex is the lost node", output, StringComparison.Ordinal);

        // The killed service could not stop its own children; cleanup does.
        Assert.Equal(0, _dragon.Run(TimeSpan.FromSeconds(60), "cleanup").ExitCode);
        _dragon.AssertNothingLeft();
    }

    public void Dispose() => _dragon.Dispose();

    private static ProcessSpec Spec(string executable, string[]? args = null, string? cwd = null, KeyValuePair<string, string>[]? env = null) =>
        new(
            executable,
            args ?? [],
            cwd,
            env ?? [],
            new StdioSpec(StdioKind.DevNull, null),
            new StdioSpec(StdioKind.DevNull, null),
            new StdioSpec(StdioKind.DevNull, null),
            new PlacementSpec(-1, null, Distribution.Default, null),
            null,
            Path.GetFileName(executable));

    /// <summary>The node service process (<c>dragon _node ... --index N</c>) started by the launcher.</summary>
    private static System.Diagnostics.Process NodeServiceProcess(int launcher, int index)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                var argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                var at = Array.IndexOf(argv, "--index");
                if (parent == launcher && at >= 0 && at + 1 < argv.Length && argv[at + 1] == index.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    return System.Diagnostics.Process.GetProcessById(pid);
                }
            }
            catch (IOException)
            {
            }
        }

        var children = Directory.EnumerateDirectories("/proc")
            .Where(d => int.TryParse(Path.GetFileName(d), out _) && File.Exists(Path.Combine(d, "cmdline")))
            .Select(d => { try { return $"{Path.GetFileName(d)}: {File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' ')}"; } catch (IOException) { return string.Empty; } })
            .Where(c => c.Contains("_node", StringComparison.Ordinal));
        throw new InvalidOperationException($"no node service with --index {index} under pid {launcher}; node services: {string.Join("; ", children)}");
    }

    private sealed class DiscardOutput : IOutputSink
    {
        public Task Write(string label, ReadOnlySpan<byte> lines, bool isError) => Task.CompletedTask;

        public Task AcceptAsync(string label, byte[] line, bool isError) => Task.CompletedTask;
    }
}
