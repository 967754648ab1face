using System.Text;
using Dragon.Services.Global;
using Xunit;

namespace Dragon.Tests.Diagnostics;

/// <summary>The run history behind the report: what it keeps of each process, and the caps that bound its memory.</summary>
public sealed class ReportHistoryTests
{
    [Fact]
    public void History_FailedProcess_KeepsTheLastLinesOfItsStderrCutToTheLineCap()
    {
        using var history = new RunHistory();
        history.OnStarted(10, 0, "worker", 0, 0);
        for (var i = 0; i < RunHistory.TailLines + 5; i++)
        {
            history.OnStderr(10, Encoding.UTF8.GetBytes($"line {i}"));
        }

        // A batch from another node: several lines joined by newlines, one of them far too long.
        history.OnStderr(10, Encoding.UTF8.GetBytes($"batch a\n{new string('x', 10_000)}\nbatch c"));
        history.OnExited(10, 3, 0, "exited with code 3", ExitKind.Failed);

        var snapshot = history.Snapshot();
        var tail = snapshot.StderrTails[10];
        Assert.Equal(RunHistory.TailLines, tail.Length);
        Assert.Equal("line 8", tail[0]);
        Assert.Equal(["line 24", "batch a"], tail[^4..^2]);
        Assert.Equal(RunHistory.MaxLineChars, tail[^2].Length);
        Assert.EndsWith("…", tail[^2], StringComparison.Ordinal);
        Assert.Equal("batch c", tail[^1]);

        var entry = Assert.Single(snapshot.Processes);
        Assert.Equal((ExitKind.Failed, 3, "exited with code 3"), (entry.Kind, entry.ExitCode, entry.Reason));
        Assert.True(entry.EndMs >= entry.StartMs);
        Assert.Equal((1, 1, 1), (snapshot.Counts.Started, snapshot.Counts.Exited, snapshot.Counts.Failed));
    }

    [Fact]
    public void History_CleanExit_LetsItsTailGoAndIgnoresLateLines()
    {
        using var history = new RunHistory();
        history.OnStarted(20, 0, "worker", 0, 0);
        history.OnStderr(20, "warning: nothing serious"u8);
        history.OnExited(20, 0, 0, "exited with code 0", ExitKind.Ok);
        history.OnStderr(20, "a line still in the pipe"u8);

        Assert.Empty(history.Snapshot().StderrTails);
    }

    [Fact]
    public void History_MoreProcessesWritingStderrThanTheCap_KeepsTailsOfTheFirstAndCountsTheRest()
    {
        using var history = new RunHistory();
        for (ulong puid = 1; puid <= RunHistory.MaxTails + 7; puid++)
        {
            history.OnStarted(puid, 0, "noisy", 0, 0);
            history.OnStderr(puid, "boom"u8);
        }

        var snapshot = history.Snapshot();
        Assert.Equal(RunHistory.MaxTails, snapshot.StderrTails.Count);
        Assert.Equal(7, snapshot.Counts.TailsNotKept);
        Assert.True(snapshot.StderrTails.ContainsKey(1));
        Assert.False(snapshot.StderrTails.ContainsKey(RunHistory.MaxTails + 1));
    }

    [Fact]
    public void History_MoreProcessesThanTheCap_KeepsTheFirstAndCountsTheRest()
    {
        using var history = new RunHistory();
        for (ulong puid = 1; puid <= RunHistory.MaxProcesses + 3; puid++)
        {
            history.OnStarted(puid, 0, "many", 0, 0);
        }

        history.OnExited(RunHistory.MaxProcesses + 2, 1, 0, "exited with code 1", ExitKind.Failed);
        var snapshot = history.Snapshot();
        Assert.Equal(RunHistory.MaxProcesses, snapshot.Processes.Length);
        Assert.Equal(3, snapshot.Counts.ProcessesNotKept);
        Assert.Equal((RunHistory.MaxProcesses + 3L, 1L, 1L), (snapshot.Counts.Started, snapshot.Counts.Exited, snapshot.Counts.Failed));
    }

    [Fact]
    public void History_SamplesPastTheCap_AreThinnedToHalfAtTwiceTheInterval()
    {
        using var history = new RunHistory();
        var nodes = new[] { new NodeSample(1, 500, 1 << 20, 0) };
        for (var i = 0; i <= RunHistory.MaxSamples; i++)
        {
            history.AddSampleAt(i * 1000L, i, 0, nodes);
        }

        var snapshot = history.Snapshot();
        Assert.Equal((RunHistory.MaxSamples / 2) + 1, snapshot.Samples.Length);
        Assert.Equal(2000, snapshot.SampleIntervalMs);
        Assert.Equal(RunHistory.MaxSamples / 2, snapshot.Counts.SamplesDropped);
        Assert.Equal(0, snapshot.Samples[0].TimeMs);
        Assert.Equal(RunHistory.MaxSamples * 1000L, snapshot.Samples[^1].TimeMs);

        // Thinned: a tick one second later is skipped, two seconds later kept, and the last one always kept.
        history.AddSampleAt((RunHistory.MaxSamples + 1) * 1000L, 0, 0, nodes);
        Assert.Equal((RunHistory.MaxSamples / 2) + 1, history.Snapshot().Samples.Length);
        history.AddSampleAt((RunHistory.MaxSamples + 2) * 1000L, 0, 0, nodes);
        history.AddSampleAt(((RunHistory.MaxSamples + 2) * 1000L) + 10, 0, 0, nodes, last: true);
        Assert.Equal((RunHistory.MaxSamples / 2) + 3, history.Snapshot().Samples.Length);
    }

    [Fact]
    public void History_Groups_KeepTheirLastStateAndFirstFailure()
    {
        using var history = new RunHistory();
        history.OnGroupCreated(1, mpi: true, size: 4);
        history.OnGroupState(1, "running", null);
        history.OnGroupState(1, "finished", "rank 2 (puid 7 on node n0) exited with code 9");
        history.OnGroupState(1, "closed", null);

        var group = Assert.Single(history.Snapshot().Groups);
        Assert.Equal((1UL, true, 4, "closed", "rank 2 (puid 7 on node n0) exited with code 9"), (group.Id, group.Mpi, group.Size, group.State, group.Failure));
    }
}
