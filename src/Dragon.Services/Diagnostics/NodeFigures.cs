using Dragon.Runtime.Protocol;
using Dragon.Services.Objects;

namespace Dragon.Services.Diagnostics;

/// <summary>
/// One node's figures for metrics: the traffic of the channels it hosts (read from each ring's header, which the
/// ring's own producers and consumers keep up to date without locks or system calls) and its host's CPU and memory.
/// Read only when asked: by a scrape of an in-process node, or every few seconds by a node service on another host
/// that sends them to global services (<see cref="NodeMetricsNotice"/>).
/// </summary>
internal sealed class NodeFigures(int nodeIndex, HostedObjects objects)
{
    private readonly HostUsage _host = new();

    public NodeMetricsNotice Sample()
    {
        var channels = new List<ChannelTraffic>();
        foreach (var channel in objects.Channels)
        {
            if (channel.ReadTraffic() is { } t)
            {
                channels.Add(new ChannelTraffic(channel.Descriptor.Name, t.MessagesSent, t.BytesSent, t.MessagesReceived, t.Depth));
            }
        }

        return new NodeMetricsNotice(nodeIndex, HostUsage.MemoryUsed(), (int)Math.Round(_host.CpuUtilization() * 1000), [.. channels]);
    }
}
