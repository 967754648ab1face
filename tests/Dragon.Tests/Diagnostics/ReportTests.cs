using System.Text.Json;
using System.Text.RegularExpressions;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Diagnostics;

/// <summary>
/// <c>dragon --report</c> on real runs: the reference workflow's report opened in headless Chromium (no script error,
/// five MPI jobs with their ranks on the timeline, a screenshot kept in artifacts/test-results/report), a failing MPI
/// job's stderr in the failures, a report asked for while a run runs, and one written after SIGINT.
/// </summary>
public sealed partial class ReportTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(300);
    private readonly DragonRun _dragon = new();
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("dragon-report-test-");

    /// <summary>Where the reference workflow's report and its screenshot are kept after the test, as its artifacts.</summary>
    private static string ArtifactDir => Path.Combine(Repo.Root, "artifacts", "test-results", "report");

    private static string Workflow => Repo.Built("MpiWorkflow");

    [Fact]
    public void Report_ReferenceWorkflow_OpensWithoutErrorsAndShowsFiveMpiJobsWithTheirRanks()
    {
        Directory.CreateDirectory(ArtifactDir);
        var html = Path.Combine(ArtifactDir, "mpi-workflow-report.html");
        var png = Path.Combine(ArtifactDir, "mpi-workflow-report.png");
        File.Delete(html);
        File.Delete(png);

        var result = _dragon.Run(s_timeout, "--report", html, Workflow, "--producers", "5", "--concurrent", "2", "--ranks", "2", "--mpi-args", "--warmup 5 -i 50");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("main: all 5 producers finished", result.Stdout, StringComparison.Ordinal);
        Assert.Contains($"dragon: run report written to {html}", result.Stderr, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();

        // Self-contained: nothing for the browser to fetch.
        var page = File.ReadAllText(html);
        Assert.DoesNotMatch(@"(src|href)\s*=\s*[""']?(https?:|//)", page);

        var (dom, log) = ReportBrowser.DumpDom(html);
        Assert.Matches("<body[^>]* data-rendered=\"ok\"", dom);
        Assert.DoesNotContain("data-errors", dom, StringComparison.Ordinal);
        Assert.Matches("<pre id=\"script-errors\" hidden=\"\">", dom);
        Assert.DoesNotContain("Uncaught", log, StringComparison.Ordinal);

        // The timeline's groups: five MPI jobs (one per producer), each a span with its two ranks, every rank ok.
        var jobs = GroupRows(dom).Where(g => g.Attributes["data-mpi"] == "1").ToArray();
        Assert.True(jobs.Length == 5, $"{jobs.Length} MPI job spans in the report's timeline\n{dom}");
        Assert.All(jobs, job =>
        {
            Assert.Equal("2", job.Attributes["data-ranks"]);
            Assert.Single(Regex.Matches(job.Body, "data-span=\"1\""));
            Assert.Equal(["0", "1"], Regex.Matches(job.Body, "data-rank=\"(\\d+)\"").Select(m => m.Groups[1].Value).Order());
            Assert.Equal(2, Regex.Matches(job.Body, "data-kind=\"ok\"").Count);
        });

        // Every process of the run is on the canvas: the head, the consumer, 5 producers, 5 parsers, 10 ranks.
        Assert.Matches("<canvas id=\"timeline\"[^>]* data-processes=\"22\"", dom);

        ReportBrowser.Screenshot(html, png);
        AssertScreenshotShowsTheTimeline(png);
    }

    [Fact]
    public void Report_MpiJobAborts_FailuresListTheRankWithItsStderrTail()
    {
        var html = Path.Combine(_scratch.FullName, "failed.html");
        var result = _dragon.Run(s_timeout, "--report", html, Workflow, "--producers", "1", "--concurrent", "1", "--ranks", "2", "--mpi-exe", Repo.MpiProgram("mpitest"), "--mpi-args", "abort 1 5");
        Assert.NotEqual(0, result.ExitCode);
        _dragon.AssertNothingLeft();

        using var data = Data(html);
        var root = data.RootElement;
        Assert.True(root.GetProperty("final").GetBoolean());
        Assert.True(root.GetProperty("keepsStderr").GetBoolean());
        var processes = Processes(root);
        var job = Assert.Single(root.GetProperty("groups").EnumerateArray(), g => g.GetProperty("mpi").GetBoolean());
        var ranks = processes.Where(p => p.Group == job.GetProperty("id").GetUInt64()).ToArray();
        Assert.Equal(2, ranks.Length);
        Assert.Contains("rank 1 (puid ", job.GetProperty("failure").GetString(), StringComparison.Ordinal);
        Assert.Contains("aborted (MPI_Abort with code 5)", job.GetProperty("failure").GetString(), StringComparison.Ordinal);

        // Rank 1 aborted: it is a failure with its reason, and its last stderr lines (MPICH's abort message) are kept.
        var aborted = Assert.Single(ranks, r => r.Rank == 1);
        Assert.True(aborted.Kind is 2 or 3, $"rank 1 ended as kind {aborted.Kind} ({aborted.Reason})");
        var tail = root.GetProperty("stderrTails").GetProperty(aborted.Puid.ToString(System.Globalization.CultureInfo.InvariantCulture)).EnumerateArray().Select(l => l.GetString()).ToArray();
        Assert.True(tail.Any(l => l!.Contains("MPI_Abort", StringComparison.Ordinal)), $"rank 1's stderr tail: {string.Join(" | ", tail)}\n{result}");

        // The producer that ran the job failed too, and says why.
        Assert.Contains(processes, p => p.Group == 0 && p.Kind == 2 && p.Reason == "exited with code 1");

        // Without --label the terminal still shows the lines unlabelled.
        Assert.DoesNotMatch(@"^\[\d+@", result.Stderr);

        // The page shows it: the job's failure, the failing rank outlined, its stderr tail in the failures table.
        var (dom, log) = ReportBrowser.DumpDom(html);
        Assert.Matches("<body[^>]* data-rendered=\"ok\"", dom);
        Assert.DoesNotContain("Uncaught", log, StringComparison.Ordinal);
        Assert.Contains($"data-puid=\"{aborted.Puid}\" data-kind=\"{(aborted.Kind == 2 ? "failed" : "killed")}\"", dom, StringComparison.Ordinal);
        Assert.Matches($"data-rank=\"1\" data-puid=\"{aborted.Puid}\"[^>]*data-failing=\"1\"", dom);
        Assert.Matches($"<pre class=\"tail\" data-tail=\"{aborted.Puid}\">[^<]*MPI_Abort", dom);
        Assert.Matches("<div class=\"group-failure\" data-group=\"\\d+\"><b>MPI job \\d+: </b>MPI job: rank 1 ", dom);
    }

    [Fact]
    public void ReportCommand_DuringRun_WritesTheRunSoFar()
    {
        using var run = new ObservedRun(_dragon, ["--local-nodes", "2"], "observe-sleepers", "4");
        run.WaitUntilReady(s_timeout);

        var html = Path.Combine(_scratch.FullName, "live.html");
        var report = run.Dragon(null, "report", "-o", html);
        Assert.True(report.ExitCode == 0, report.ToString());
        using (var data = Data(html))
        {
            var root = data.RootElement;
            Assert.False(root.GetProperty("final").GetBoolean());
            var names = root.GetProperty("names").EnumerateArray().Select(n => n.GetString()).ToArray();
            var sleepers = Processes(root).Where(p => names[p.Name] == "sleep").ToArray();
            Assert.Equal(4, sleepers.Length);
            Assert.All(sleepers, s => Assert.Equal(0, s.Kind));
            Assert.Equal(2, root.GetProperty("nodes").GetArrayLength());
        }

        var refused = run.Dragon(new Dictionary<string, string> { ["DRAGON_SECRET"] = "0123456789abcdef0123456789abcdef" }, "report", "-o", html + ".2");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("refused: the credential is not this run's secret or status token", refused.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(html + ".2"));

        var usage = run.Dragon(null, "report");
        Assert.Equal(2, usage.ExitCode);
        Assert.Contains("report needs -o FILE.html", usage.Stderr, StringComparison.Ordinal);
        run.Finish(s_timeout);
    }

    [Fact]
    public async Task Report_RunInterruptedBySigint_IsStillWritten()
    {
        var html = Path.Combine(_scratch.FullName, "interrupted.html");
        var go = Path.Combine(_scratch.FullName, "never");
        using var dragon = _dragon.StartDragon(["--report", html, Repo.TestApp, "observe-sleepers", "3", go]);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        dragon.OutputDataReceived += (_, e) => { if (e.Data == "READY") { ready.TrySetResult(); } };
        dragon.ErrorDataReceived += (_, _) => { };
        dragon.BeginOutputReadLine();
        dragon.BeginErrorReadLine();
        await ready.Task.WaitAsync(s_timeout);

        Assert.Equal(0, Dragon.Services.Spawning.Native.kill(dragon.Id, 2));
        Assert.True(dragon.WaitForExit(s_timeout), "dragon did not end after SIGINT");
        dragon.WaitForExit();
        Assert.Equal(130, dragon.ExitCode);
        _dragon.AssertNothingLeft();

        using var data = Data(html);
        var sleepers = Processes(data.RootElement).Where(p => p.Group != 0).ToArray();
        Assert.Equal(3, sleepers.Length);
        Assert.All(sleepers, s => Assert.True(s.Kind == 3 && s.End >= s.Start, $"sleeper {s.Puid}: kind {s.Kind}, {s.Reason}"));
    }

    [Theory]
    [InlineData("--local-nodes")]
    [InlineData("--wlm fork --local-nodes")]
    public void Report_GroupOfProcessesThatExitAtOnce_ShowsEveryOneEnded(string nodes)
    {
        // Members start 64 to a request: the first ones exit while the rest of their batch is still starting, and
        // their exits must find their entries in the run's history, not be lost to a "running" bar that never ends.
        var html = Path.Combine(_scratch.FullName, "short.html");
        var result = _dragon.Run(s_timeout, ["--report", html, .. nodes.Split(' '), "2", Repo.TestApp, "scale-true", "300"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        using var data = Data(html);
        var root = data.RootElement;
        var names = root.GetProperty("names").EnumerateArray().Select(n => n.GetString()).ToArray();
        var members = Processes(root).Where(p => names[p.Name] == "true").ToArray();
        Assert.Equal(300, members.Length);
        Assert.All(members, m => Assert.True(m.Kind == 1 && m.End >= m.Start, $"process {m.Puid}: kind {m.Kind}, end {m.End}, {m.Reason}"));
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Report_FileInAMissingDirectory_IsRefusedBeforeTheRunStarts()
    {
        var result = _dragon.Run(s_timeout, "--report", "/no/such/dir/run.html", "/bin/true");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--report /no/such/dir/run.html: directory /no/such/dir does not exist", result.Stderr, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
    }

    public void Dispose()
    {
        _dragon.Dispose();
        _scratch.Delete(recursive: true);
    }

    private sealed record Row(ulong Puid, int Node, int Name, ulong Group, int Rank, long Start, long End, int Kind, string? Reason);

    private static Row[] Processes(JsonElement root)
    {
        var reasons = root.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()).ToArray();
        return root.GetProperty("processes").EnumerateArray().Select(p =>
        {
            var c = p.EnumerateArray().ToArray();
            var reason = c[10].GetInt32();
            return new Row(c[0].GetUInt64(), c[1].GetInt32(), c[2].GetInt32(), c[3].GetUInt64(), c[4].GetInt32(), c[5].GetInt64(), c[6].GetInt64(), c[7].GetInt32(), reason < 0 ? null : reasons[reason]);
        }).ToArray();
    }

    /// <summary>The run data a report embeds.</summary>
    private static JsonDocument Data(string html)
    {
        var match = DataElement().Match(File.ReadAllText(html));
        Assert.True(match.Success, $"{html} has no report-data element");
        return JsonDocument.Parse(match.Groups[1].Value);
    }

    private sealed record GroupRow(Dictionary<string, string> Attributes, string Body);

    /// <summary>Each group row of the dumped DOM: the attributes of its element and the markup up to the next row.</summary>
    private static IEnumerable<GroupRow> GroupRows(string dom)
    {
        var starts = GroupRowTag().Matches(dom).ToArray();
        for (var i = 0; i < starts.Length; i++)
        {
            var end = i + 1 < starts.Length ? starts[i + 1].Index : dom.IndexOf("<section", starts[i].Index, StringComparison.Ordinal);
            var attributes = Attribute().Matches(starts[i].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            yield return new GroupRow(attributes, dom[starts[i].Index..end]);
        }
    }

    /// <summary>
    /// The screenshot is the page at 1600 x 1200 with the timeline drawn: many colours (not a blank or uniform page)
    /// and the ok-green of the bars and rank marks in quantity.
    /// </summary>
    private static void AssertScreenshotShowsTheTimeline(string png)
    {
        Assert.True(new FileInfo(png).Length > 20_000, $"screenshot {png} is only {new FileInfo(png).Length} bytes");
        var image = ReportPng.Read(png);
        Assert.Equal((1600, 1200), (image.Width, image.Height));
        var colours = new HashSet<(byte, byte, byte)>();
        var green = 0;
        for (var y = 0; y < image.Height; y += 2)
        {
            for (var x = 0; x < image.Width; x += 2)
            {
                var pixel = image[x, y];
                colours.Add(pixel);
                if (Math.Abs(pixel.R - 0x2f) < 12 && Math.Abs(pixel.G - 0x9e) < 12 && Math.Abs(pixel.B - 0x5b) < 12)
                {
                    green++;
                }
            }
        }

        Assert.True(colours.Count > 50, $"screenshot {png} has only {colours.Count} colours");
        Assert.True(green > 500, $"screenshot {png} shows only {green} sampled pixels of the ok colour");
    }

    [GeneratedRegex("<script type=\"application/json\" id=\"report-data\">(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex DataElement();

    [GeneratedRegex("<div [^>]*class=\"group-row\"[^>]*>")]
    private static partial Regex GroupRowTag();

    [GeneratedRegex("([a-z-]+)=\"([^\"]*)\"")]
    private static partial Regex Attribute();
}
