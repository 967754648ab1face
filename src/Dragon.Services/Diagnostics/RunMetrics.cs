using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dragon.Runtime.Protocol;
using Dragon.Services.Global;

namespace Dragon.Services.Diagnostics;

/// <summary>
/// What global services measure for the whole run: processes started and exited per node (and why), how long a
/// start takes, the processes live per node, MPI jobs and their wire-up (global services see every start and exit
/// of every node), and each node's channel traffic and host use (<see cref="NodeFigures"/>).
/// </summary>
internal sealed class RunMetrics : IDisposable
{
    /// <summary>Buckets for durations in seconds, from a fast spawn (about 1 ms) to a slow MPI wire-up.</summary>
    private static readonly InstrumentAdvice<double> s_seconds = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    };

    private static readonly TimeSpan s_figuresFresh = TimeSpan.FromMilliseconds(250);

    private readonly Meter _meter = DragonMeter.Create();
    private readonly System.Threading.Lock _figuresLock = new();
    private NodeMetricsNotice[]? _figures;
    private long _figuresAt;
    private readonly Counter<long> _started;
    private readonly Counter<long> _exited;
    private readonly Histogram<double> _startDuration;
    private readonly Counter<long> _pmiJobs;
    private readonly Histogram<double> _pmiWireup;
    private readonly TaskCompletionSource _collectedWhenFinished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _finished;

    public RunMetrics(GlobalServices global)
    {
        _started = _meter.CreateCounter<long>("dragon.process.started", "{process}", "Processes started, per node");
        _exited = _meter.CreateCounter<long>("dragon.process.exited", "{process}", "Processes exited, per node and reason (exited, failed, signaled, stopped, node_lost)");
        _startDuration = _meter.CreateHistogram("dragon.process.start.duration", "s", "Time from a start request reaching global services to the process spawned on its node", advice: s_seconds);
        _pmiJobs = _meter.CreateCounter<long>("dragon.pmi.jobs", "{job}", "MPI jobs (PMI groups) started");
        _pmiWireup = _meter.CreateHistogram("dragon.pmi.wireup.duration", "s", "Per MPI job: from its start until every rank entered its first PMI barrier (MPI_Init)", advice: s_seconds);
        _meter.CreateObservableUpDownCounter("dragon.process.live", () => Live(global), "{process}", "Processes started and not yet exited, per node");
        _meter.CreateObservableUpDownCounter("dragon.node.cpus", () => PerNode(global, n => n.Cpus), "{cpu}", "CPUs each node registered with");
        _meter.CreateObservableUpDownCounter("dragon.node.memory.limit", () => PerNode(global, n => n.MemoryBytes), "By", "Memory each node registered with");
        _meter.CreateObservableUpDownCounter("dragon.run.finished", Finished, "{run}", "1 once the run's program ended: every figure read with it is final");
        _meter.CreateObservableUpDownCounter("dragon.node.lost", () => PerNode(global, n => global.IsLost(n.Index) ? 1L : 0L), "{node}", "1 for a node that was lost");

        // Figures of the nodes themselves: read from an in-process node at the scrape, or the last a node on another
        // host sent (every few seconds while metrics are exported).
        _meter.CreateObservableUpDownCounter("dragon.queue.depth", () => Channels(global, c => c.Depth), "{message}", "Messages waiting in each channel (queue or pipe), by its home node");
        _meter.CreateObservableCounter("dragon.queue.messages.sent", () => Channels(global, c => c.MessagesSent), "{message}", "Messages sent into each channel");
        _meter.CreateObservableCounter("dragon.queue.messages.received", () => Channels(global, c => c.MessagesReceived), "{message}", "Messages received from each channel");
        _meter.CreateObservableCounter("dragon.queue.sent", () => Channels(global, c => c.BytesSent), "By", "Payload bytes sent into each channel");
        _meter.CreateObservableCounter("dragon.link.sent", () => Links(global, l => l.BytesSent), "By", "Bytes each node sent over its link to a peer node (-1: the launcher) and the peer acknowledged, as TCP counts them");
        _meter.CreateObservableCounter("dragon.link.received", () => Links(global, l => l.BytesReceived), "By", "Bytes each node received over its link from a peer node (-1: the launcher)");
        _meter.CreateObservableGauge("dragon.link.rtt", () => Figures(global).SelectMany(f => f.Links.Select(l => new Measurement<double>(l.RttMicroseconds / 1e6, NodeTag(f), new(LinkPeer, l.Peer)))), "s", "Smoothed round-trip time of each node's link to a peer node, as TCP measures it");
        _meter.CreateObservableGauge("dragon.node.cpu.utilization", () => Figures(global).Select(f => new Measurement<double>(f.CpuPerMille / 1000.0, NodeTag(f))), "1", "Busy share of the node's host CPUs between two readings");
        _meter.CreateObservableUpDownCounter("dragon.node.memory.usage", () => Figures(global).Select(f => new Measurement<long>(f.MemoryUsedBytes, NodeTag(f))), "By", "Memory in use on the node's host (total less available)");
    }

    /// <summary>
    /// Marks the run's program as ended; completes once a collection (a scrape) has read the figures after that, so
    /// a short run's final figures are not lost between two scrapes.
    /// </summary>
    public Task FinishAsync()
    {
        lock (_figuresLock)
        {
            // Figures read before the end may miss what the end changed: the next collection reads them anew.
            _figures = null;
        }

        Volatile.Write(ref _finished, 1);
        return _collectedWhenFinished.Task;
    }

    private long Finished()
    {
        if (Volatile.Read(ref _finished) == 0)
        {
            return 0;
        }

        _collectedWhenFinished.TrySetResult();
        return 1;
    }

    /// <summary>A stopwatch reading when someone listens to start durations, else 0 (nothing measured).</summary>
    public long StartClock() => _startDuration.Enabled ? Stopwatch.GetTimestamp() : 0;

    public void OnStarted(int node, long startClock)
    {
        if (_started.Enabled)
        {
            _started.Add(1, new KeyValuePair<string, object?>(DragonMeter.NodeIndex, node));
        }

        if (startClock != 0)
        {
            _startDuration.Record(Stopwatch.GetElapsedTime(startClock).TotalSeconds, new KeyValuePair<string, object?>(DragonMeter.NodeIndex, node));
        }
    }

    public void OnExited(ProcessStatus status, bool stoppedByRuntime, bool nodeLost)
    {
        if (!_exited.Enabled)
        {
            return;
        }

        var reason = nodeLost ? "node_lost"
            : stoppedByRuntime ? "stopped"
            : status.Signal != 0 ? "signaled"
            : status.ExitCode != 0 ? "failed"
            : "exited";
        _exited.Add(1, new KeyValuePair<string, object?>(DragonMeter.NodeIndex, status.NodeIndex), new KeyValuePair<string, object?>(DragonMeter.Reason, reason));
    }

    public void OnPmiJobStarted(int ranks)
    {
        if (_pmiJobs.Enabled)
        {
            _pmiJobs.Add(1, new KeyValuePair<string, object?>("dragon.pmi.ranks", ranks));
        }
    }

    public void OnPmiWiredUp(TimeSpan elapsed, int ranks)
    {
        if (_pmiWireup.Enabled)
        {
            _pmiWireup.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("dragon.pmi.ranks", ranks));
        }
    }

    public void Dispose() => _meter.Dispose();

    /// <summary>Every node's figures, read once per collection: the instruments of one scrape share them.</summary>
    private IEnumerable<NodeMetricsNotice> Figures(GlobalServices global)
    {
        lock (_figuresLock)
        {
            if (_figures is null || Stopwatch.GetElapsedTime(_figuresAt) > s_figuresFresh)
            {
                _figures = global.Nodes.Where(n => !global.IsLost(n.Descriptor.Index)).Select(n => n.SampleFigures()).OfType<NodeMetricsNotice>().ToArray();
                _figuresAt = Stopwatch.GetTimestamp();
            }

            return _figures;
        }
    }

    private IEnumerable<Measurement<long>> Channels(GlobalServices global, Func<ChannelTraffic, long> value) =>
        Figures(global).SelectMany(f => f.Channels.Select(c => new Measurement<long>(value(c), NodeTag(f), new(DragonMeter.ChannelName, c.Name))));

    private const string LinkPeer = "dragon.link.peer";

    private IEnumerable<Measurement<long>> Links(GlobalServices global, Func<LinkTraffic, long> value) =>
        Figures(global).SelectMany(f => f.Links.Select(l => new Measurement<long>(value(l), NodeTag(f), new(LinkPeer, l.Peer))));

    private static KeyValuePair<string, object?> NodeTag(NodeMetricsNotice figures) => new(DragonMeter.NodeIndex, figures.NodeIndex);

    private static IEnumerable<Measurement<long>> Live(GlobalServices global) =>
        global.NodeDescriptors.Select(n => new Measurement<long>(global.LiveOn(n.Index), Tags(n)));

    private static IEnumerable<Measurement<long>> PerNode(GlobalServices global, Func<NodeDescriptor, long> value) =>
        global.NodeDescriptors.Select(n => new Measurement<long>(value(n), Tags(n)));

    private static KeyValuePair<string, object?>[] Tags(NodeDescriptor node) =>
        [new(DragonMeter.NodeIndex, node.Index), new(DragonMeter.NodeName, node.Name)];
}
