using System.Diagnostics;
using Dragon.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Dragon.Tests.Packaging;

/// <summary>
/// The README's quick start on a user's machine: install the tool and the template from the feed, create a
/// workflow, build it with zero warnings, run it under the installed dragon JIT and Native AOT and with plain
/// `dotnet run` (the program hosts its runtime), uninstall both, and find nothing of the runs left (no process, no
/// run directory, no shared-memory file).
/// </summary>
[Collection(PackagingCollection.Name)]
public sealed class QuickStartTests(PackageFeed feed, ITestOutputHelper output) : IDisposable
{
    private const string Expected = "4 workers on 2 nodes: sum of squares 1..100 = 338350";
    private static readonly TimeSpan s_runTimeout = TimeSpan.FromMinutes(2);
    private readonly UserMachine _machine = new(feed);
    private readonly DragonRun _runs = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    [Fact]
    public void QuickStart_TemplateWorkflow_RunsUnderTheInstalledToolJitAndNativeAotAndWithDotnetRun()
    {
        _machine.InstallTool();
        _machine.DotnetOk(_machine.Home, "new", "install", feed.Package("Dragon.Templates"), "--debug:custom-hive", _machine.Hive);
        _machine.DotnetOk(_machine.Home, "new", "dragon-workflow", "-n", "App", "-o", "App", "--debug:custom-hive", _machine.Hive);
        Step("installed the tool and the template, created App");

        var app = Path.Combine(_machine.Home, "App");
        var build = _machine.DotnetOk(app, "build", "-c", "Release", "-warnaserror");
        Assert.Contains(" 0 Warning(s)", build.Stdout, StringComparison.Ordinal);
        Step("built App");

        var jit = RunUnderDragon("--local-nodes", "2", Path.Combine(app, "bin", "Release", "net10.0", "App.dll"));
        Assert.Equal(Expected, jit.Stdout.Trim());
        Step("ran App.dll");

        // No dragon: the program hosts its runtime itself (LocalRuntime), as under a debugger or a test runner.
        var hosted = Commands.Run(
            "dotnet", ["run", "-c", "Release", "--no-build"], app, s_runTimeout,
            new Dictionary<string, string> { ["DRAGON_RUN_BASE"] = _runs.RunBase, ["NUGET_PACKAGES"] = Path.Combine(_machine.Home, "packages") });
        Assert.True(hosted.ExitCode == 0, $"dotnet run: {hosted}");
        Assert.Equal(Expected, hosted.Stdout.Trim());
        _runs.AssertNothingLeft();
        Step("ran App with dotnet run, hosting its own runtime");

        var publish = _machine.DotnetOk(app, "publish", "-c", "Release", "-p:PublishAot=true", "-o", Path.Combine(app, "publish"));
        Assert.DoesNotMatch(@"warning [A-Z]+[0-9]+", publish.Stdout + publish.Stderr);
        Step("published App Native AOT");

        var aot = RunUnderDragon("--local-nodes", "2", "./publish/App");
        Assert.Equal(Expected, aot.Stdout.Trim());
        Step("ran publish/App");

        _machine.UninstallTool();
        _machine.DotnetOk(_machine.Home, "new", "uninstall", "Dragon.Templates", "--debug:custom-hive", _machine.Hive);
        Assert.False(File.Exists(_machine.Dragon) || Directory.Exists(Path.Combine(_machine.ToolPath, ".store", "dragon.tool")), "the tool is still installed");
        var templates = _machine.DotnetIn(_machine.Home, "new", "list", "dragon-workflow", "--debug:custom-hive", _machine.Hive);
        Assert.DoesNotContain("dragon-workflow", templates.Stdout, StringComparison.Ordinal);
        _runs.AssertNothingLeft();
        Step("uninstalled; nothing left");
    }

    public void Dispose()
    {
        _runs.Dispose();
        _machine.Dispose();
    }

    /// <summary>Runs the installed dragon in the project directory, its runs kept under this test's run base.</summary>
    private RunResult RunUnderDragon(params string[] args)
    {
        var result = Commands.Run(_machine.Dragon, args, Path.Combine(_machine.Home, "App"), s_runTimeout, new Dictionary<string, string> { ["DRAGON_RUN_BASE"] = _runs.RunBase });
        Assert.True(result.ExitCode == 0, $"dragon {string.Join(' ', args)}: {result}");
        return result;
    }

    private void Step(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds,6:F1} s  {what}");
}
