using Xunit;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Launcher;

public sealed class LauncherCliTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly DragonRun _dragon = new();

    [Fact]
    public void Dragon_Echo_PrintsAndExitsZero()
    {
        var result = _dragon.Run(s_timeout, "/bin/echo", "hello");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("hello\n", result.Stdout);
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Dragon_HeadExitCode_IsDragonsExitCode()
    {
        var result = _dragon.Run(s_timeout, "/bin/sh", "-c", "exit 7");
        Assert.Equal(7, result.ExitCode);
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Dragon_HeadKilledBySignal_Exits128PlusSignal()
    {
        var result = _dragon.Run(s_timeout, "/bin/sh", "-c", "kill -TERM $$");
        Assert.Equal(128 + 15, result.ExitCode);
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Dragon_MissingProgram_FailsFastNamingThePath()
    {
        var result = _dragon.Run(s_timeout, "/no/such/program");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("/no/such/program", result.Stderr, StringComparison.Ordinal);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(5), result.ToString());
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Dragon_NoProgram_PrintsUsageAndExitsTwo()
    {
        var result = _dragon.Run(s_timeout);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("usage: dragon", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Dragon_UnknownOption_ExitsTwoNamingIt()
    {
        var result = _dragon.Run(s_timeout, "--frobnicate", "/bin/true");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--frobnicate", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Dragon_ArgumentsAfterProgram_GoToTheProgram()
    {
        var result = _dragon.Run(s_timeout, "/bin/echo", "--local-nodes", "-l", "x");
        Assert.Equal("--local-nodes -l x\n", result.Stdout);
    }

    [Fact]
    public void Dragon_Label_PrefixesOutputWithPuidAndNode()
    {
        var result = _dragon.Run(s_timeout, "--label", "--local-nodes", "2", "/bin/echo", "labelled");
        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^\[\d+@local0\] labelled$", result.Stdout.Trim());
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Dragon_DotnetDll_RunsUnderTheHost()
    {
        var result = _dragon.Run(s_timeout, "--local-nodes", "2", Repo.TestApp, "system-info");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("NODE 1 local1", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("CURRENT local0", result.Stdout, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Dragon_LogLevel_KeepsPerComponentLogs()
    {
        var cwd = Directory.CreateTempSubdirectory("dragon-logs-test").FullName;
        try
        {
            var info = new System.Diagnostics.ProcessStartInfo(Repo.Dragon, ["-l", "debug", "--local-nodes", "2", "/bin/true"])
            {
                WorkingDirectory = cwd,
                Environment = { ["DRAGON_RUN_BASE"] = _dragon.RunBase },
            };
            using var process = System.Diagnostics.Process.Start(info)!;
            Assert.True(process.WaitForExit(60_000));
            Assert.Equal(0, process.ExitCode);
            var logs = Directory.GetDirectories(cwd, "dragon-logs-*").Single();
            var files = Directory.GetFiles(logs).Select(Path.GetFileName).ToArray();
            Assert.Contains("global.log", files);
            Assert.Contains("started puid", File.ReadAllText(Path.Combine(logs, "global.log")), StringComparison.Ordinal);
            _dragon.AssertNothingLeft();
        }
        finally
        {
            Directory.Delete(cwd, recursive: true);
        }
    }

    public void Dispose() => _dragon.Dispose();
}
