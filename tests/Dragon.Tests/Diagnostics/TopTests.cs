using System.Diagnostics;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Diagnostics;

/// <summary><c>dragon top</c> from another process: one snapshot, a view that follows the run to its end, refusal.</summary>
public sealed class TopTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);
    private readonly DragonRun _dragon = new();

    [Fact]
    public async Task Top_DuringRun_ShowsNodesGroupAndProcessesAndFollowsToTheEnd()
    {
        using var run = new ObservedRun(_dragon, ["--local-nodes", "2"], "observe-sleepers", "4");
        run.WaitUntilReady(s_timeout);

        var once = run.Dragon(null, "top", "--once");
        Assert.True(once.ExitCode == 0, once.ToString());
        var lines = once.Lines;
        Assert.Contains(lines, l => l.Contains("local0", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("local1", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("processes 5 running, 0 exited", StringComparison.Ordinal));
        Assert.Equal(4, lines.Count(l => l.Contains(" running ", StringComparison.Ordinal) && l.Contains(" sleep", StringComparison.Ordinal)));

        // The group's row: running, 4 members, 4 running, none exited or failed.
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, "running", "no", "4", "4", "0", "0"]);

        var refused = run.Dragon(new Dictionary<string, string> { ["DRAGON_SECRET"] = "0123456789abcdef0123456789abcdef" }, "top", "--once");
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal(string.Empty, refused.Stdout);
        Assert.Contains("refused", refused.Stderr, StringComparison.Ordinal);

        var badInterval = run.Dragon(null, "top", "--interval", "0");
        Assert.Equal(2, badInterval.ExitCode);
        Assert.Contains("top --interval takes seconds between 0.1 and 3600, not '0'", badInterval.Stderr, StringComparison.Ordinal);

        // Written to a pipe it prints a snapshot per interval, and ends by itself when the run does.
        using var follower = StartTop("--interval", "0.2");
        var followed = follower.StandardOutput.ReadToEndAsync();
        await Task.Delay(1000);
        run.Finish(s_timeout);
        Assert.True(follower.WaitForExit(TimeSpan.FromSeconds(20)), "top did not end with the run");
        follower.WaitForExit();
        var text = await followed;
        Assert.True(follower.ExitCode == 0, text + await follower.StandardError.ReadToEndAsync());
        Assert.True(text.Split('\n').Count(l => l.StartsWith("dragon top", StringComparison.Ordinal)) >= 3, text);
        Assert.EndsWith("ended", text.TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Top_OnATerminal_RedrawsAndWritesTheReportOnR()
    {
        using var run = new ObservedRun(_dragon, ["--local-nodes", "2"], "observe-sleepers", "2");
        run.WaitUntilReady(s_timeout);
        var dir = Directory.CreateTempSubdirectory("dragon-top").FullName;
        try
        {
            // script(1) gives top a terminal; its keys come from our stdin: r after a moment, then q.
            var info = new ProcessStartInfo("script", ["-qfec", $"{Repo.Dragon} top --interval 0.3", "/dev/null"])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = dir,
            };
            info.Environment["DRAGON_RUN_BASE"] = _dragon.RunBase;
            info.Environment["TERM"] = "xterm-256color";
            info.Environment.Remove("DRAGON_SECRET");
            info.Environment.Remove("DRAGON_RUN_ID");
            using var top = Process.Start(info)!;
            var screen = top.StandardOutput.ReadToEndAsync();
            await Task.Delay(1500);
            await top.StandardInput.WriteAsync('r');
            await top.StandardInput.FlushAsync();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (Directory.GetFiles(dir, "dragon-report-*.html").Length == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            await top.StandardInput.WriteAsync('q');
            await top.StandardInput.FlushAsync();
            Assert.True(top.WaitForExit(TimeSpan.FromSeconds(20)), "top did not quit on q");
            var text = await screen;
            Assert.True(top.ExitCode == 0, text);

            // Drawn in place (cursor movement), and the report is the run's page.
            Assert.Contains("\u001b[", text, StringComparison.Ordinal);
            Assert.Contains("report written to", text, StringComparison.Ordinal);
            var report = Assert.Single(Directory.GetFiles(dir, "dragon-report-*.html"));
            var html = await File.ReadAllTextAsync(report);
            Assert.Contains("<html", html, StringComparison.OrdinalIgnoreCase);
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        run.Finish(s_timeout);
    }

    private Process StartTop(params string[] args)
    {
        var info = new ProcessStartInfo(Repo.Dragon) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("top");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DRAGON_RUN_BASE"] = _dragon.RunBase;
        info.Environment.Remove("DRAGON_SECRET");
        info.Environment.Remove("DRAGON_RUN_ID");
        return Process.Start(info)!;
    }

    public void Dispose() => _dragon.Dispose();
}
