using Dragon.Runtime.Protocol;

namespace Dragon.Services.Global;

/// <summary>One node at one moment: live processes, host CPU busy (per mille), host memory used, messages waiting.</summary>
internal readonly record struct NodeSample(int Live, int CpuPerMille, long MemoryBytes, long QueueDepth);

/// <summary>The run at one moment: totals, and the first <see cref="RunHistory.MaxNodeSeries"/> nodes one by one.</summary>
internal sealed record HistorySample(long TimeMs, int Live, long Started, long Exited, long Failed, long QueueDepth, NodeSample[] Nodes);

/// <summary>
/// Metric samples over time: one every <see cref="SampleInterval"/> while the run lives. At most
/// <see cref="MaxSamples"/> are kept: when full, every other one is dropped and the interval doubles, so a long run
/// keeps its whole span at a coarser step (30 minutes at 1 s, then 1 hour at 2 s, ...). Nodes past
/// <see cref="MaxNodeSeries"/> count in the totals only (a plot of more lines is unreadable anyway).
/// </summary>
internal sealed partial class RunHistory
{
    public const int MaxSamples = 1800;
    public const int MaxNodeSeries = 32;
    public static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(SampleIntervalMs);

    private readonly List<HistorySample> _samples = [];
    private const long SampleIntervalMs = 1000;
    private long _sampleIntervalMs = SampleIntervalMs;
    private long _samplesDropped;
    private Timer? _sampler;
    private GlobalServices? _sampled;

    /// <summary>Samples <paramref name="global"/> now and then every <see cref="SampleInterval"/> until disposed.</summary>
    public void StartSampling(GlobalServices global)
    {
        _sampled = global;
        _sampler = new Timer(_ => SampleNow(), null, TimeSpan.Zero, SampleInterval);
    }

    /// <summary>Stops the timer and takes a last sample, so a report ends where the run ended.</summary>
    public void StopSampling()
    {
        if (Interlocked.Exchange(ref _sampler, null) is { } timer)
        {
            // A tick under way finishes first: after this, nothing reads the nodes (the launcher disposes them next).
            using (var ticked = new ManualResetEvent(false))
            {
                timer.Dispose(ticked);
                ticked.WaitOne(TimeSpan.FromSeconds(5));
            }

            SampleNow(last: true);
            _sampled = null;
        }
    }

    /// <summary>Reads every node's figures and the groups' states, and records one sample.</summary>
    public void SampleNow(bool last = false)
    {
        if (_sampled is not { } global)
        {
            return;
        }

        try
        {
            var descriptors = global.NodeDescriptors;
            var nodes = new NodeSample[Math.Min(descriptors.Length, MaxNodeSeries)];
            var live = 0;
            long depth = 0;
            for (var i = 0; i < descriptors.Length; i++)
            {
                var figures = global.IsLost(i) || i >= global.Nodes.Count ? null : global.Nodes[i].SampleFigures();
                var queued = figures?.Channels.Sum(c => c.Depth) ?? 0;
                live += global.LiveOn(i);
                depth += queued;
                if (i < nodes.Length)
                {
                    nodes[i] = new NodeSample(global.LiveOn(i), figures?.CpuPerMille ?? -1, figures?.MemoryUsedBytes ?? -1, queued);
                }
            }

            foreach (var group in global.Groups)
            {
                var status = group.Status(timedOut: false);
                OnGroupState(group.Id, status.State.ToString().ToLowerInvariant(), status.Failure);
            }

            AddSample(live, depth, nodes, last);
        }
        catch (Exception)
        {
            // A node going away under the sampler, or anything else: a missed sample must never end the run (this
            // runs on a timer thread, where an exception would end the launcher). The next sample tries again.
        }
    }

    /// <summary>
    /// Records one sample now, thinning the kept ones when they reach <see cref="MaxSamples"/>. Once thinned, a tick
    /// less than the (doubled) interval after the last kept sample is skipped, unless <paramref name="last"/>.
    /// </summary>
    public void AddSample(int live, long queueDepth, NodeSample[] nodes, bool last = false) => AddSampleAt(Now, live, queueDepth, nodes, last);

    /// <summary><see cref="AddSample"/> at a given time (milliseconds since the history began), for tests of the caps.</summary>
    internal void AddSampleAt(long now, int live, long queueDepth, NodeSample[] nodes, bool last = false)
    {
        lock (_lock)
        {
            if (!last && _samples.Count > 0 && now - _samples[^1].TimeMs < _sampleIntervalMs - (SampleIntervalMs / 2))
            {
                return;
            }

            if (_samples.Count >= MaxSamples)
            {
                var kept = _samples.Where((_, i) => i % 2 == 0).ToList();
                _samplesDropped += _samples.Count - kept.Count;
                _samples.Clear();
                _samples.AddRange(kept);
                _sampleIntervalMs *= 2;
            }

            _samples.Add(new HistorySample(now, live, _started, _exited, _failed, queueDepth, nodes));
        }
    }

    /// <summary>The kind of an exit, from what global services know of it.</summary>
    public static ExitKind KindOf(ProcessStatus status, bool stoppedByRuntime, bool nodeLost) =>
        nodeLost ? ExitKind.Lost
        : stoppedByRuntime ? ExitKind.Killed
        : status.Failed ? ExitKind.Failed
        : status.ExitCode == 0 && status.Signal == 0 ? ExitKind.Ok
        : ExitKind.Killed;
}
