using Dragon.Runtime.Protocol;
using Dragon.Services.Objects;

namespace Dragon.Services.Diagnostics;

/// <summary>
/// One node's figures for metrics: the traffic of the channels it hosts (read from each ring's header, which the
/// ring's own producers and consumers keep up to date without locks or system calls) and its host's CPU and memory.
/// Read only when asked: by a scrape of an in-process node, or every few seconds by a node service on another host
/// that sends them to global services (<see cref="NodeMetricsNotice"/>).
/// </summary>
internal sealed class NodeFigures(int nodeIndex, HostedObjects objects, Func<IEnumerable<(int Peer, System.Net.Sockets.Socket Socket)>> links)
{
    private readonly HostUsage _host = new();

    public NodeMetricsNotice Sample()
    {
        var (channels, retired) = objects.ReadTraffic();

        // A live channel and a destroyed one of the same name are one series: their figures add up.
        var byName = new Dictionary<string, int>(channels.Count, StringComparer.Ordinal);
        foreach (var (i, c) in channels.Index())
        {
            byName.TryAdd(c.Name, i);
        }

        foreach (var r in retired)
        {
            if (!byName.TryGetValue(r.Name, out var live))
            {
                channels.Add(r);
            }
            else
            {
                var c = channels[live];
                channels[live] = c with { MessagesSent = c.MessagesSent + r.MessagesSent, BytesSent = c.BytesSent + r.BytesSent, MessagesReceived = c.MessagesReceived + r.MessagesReceived };
            }
        }

        var traffic = links().Select(l => Transport.LinkFigures.Read(l.Peer, l.Socket)).OfType<LinkTraffic>().ToArray();
        return new NodeMetricsNotice(nodeIndex, HostUsage.MemoryUsed(), (int)Math.Round(_host.CpuUtilization() * 1000), [.. channels], traffic);
    }
}
