using System.Diagnostics.Metrics;
using Dragon.Channels.Internal;
using Dragon.Services.Objects;

namespace Dragon.Services.Diagnostics;

/// <summary>
/// What one node service measures: the traffic of the channels it hosts (read from each ring's header, which the
/// ring's own producers and consumers keep up to date without locks or system calls) and its host's CPU and memory.
/// Everything here is observable: nothing runs until a listener collects.
/// </summary>
internal sealed class NodeMetrics : IDisposable
{
    private readonly Meter _meter = DragonMeter.Create();
    private readonly HostedObjects _objects;
    private readonly KeyValuePair<string, object?> _node;
    private readonly HostUsage _host = new();

    public NodeMetrics(int nodeIndex, HostedObjects objects)
    {
        _objects = objects;
        _node = new(DragonMeter.NodeIndex, nodeIndex);
        _meter.CreateObservableUpDownCounter("dragon.queue.depth", () => Channels(t => t.Depth), "{message}", "Messages waiting in each channel (queue or pipe) hosted on the node");
        _meter.CreateObservableCounter("dragon.queue.messages.sent", () => Channels(t => t.MessagesSent), "{message}", "Messages sent into each channel");
        _meter.CreateObservableCounter("dragon.queue.messages.received", () => Channels(t => t.MessagesReceived), "{message}", "Messages received from each channel");
        _meter.CreateObservableCounter("dragon.queue.sent", () => Channels(t => t.BytesSent), "By", "Payload bytes sent into each channel");
        _meter.CreateObservableGauge("dragon.node.cpu.utilization", () => new Measurement<double>(_host.CpuUtilization(), _node), "1", "Share of the host's CPU time busy since the previous collection");
        _meter.CreateObservableUpDownCounter("dragon.node.memory.usage", () => new Measurement<long>(HostUsage.MemoryUsed(), _node), "By", "Memory in use on the host (total less available)");
    }

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> Channels(Func<ShmRingTraffic, long> value)
    {
        foreach (var channel in _objects.Channels)
        {
            if (channel.ReadTraffic() is { } traffic)
            {
                yield return new Measurement<long>(value(traffic), _node, new(DragonMeter.ChannelName, channel.Descriptor.Name));
            }
        }
    }
}
