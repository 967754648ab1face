namespace Dragon.Runtime.Protocol;

/// <summary>The codec of <see cref="NodeMetricsNotice"/> (tag 80).</summary>
internal static partial class ControlCodec
{
    private const byte NodeMetricsNoticeTag = 80;

    /// <summary>Smallest encoding of a <see cref="ChannelTraffic"/>: an empty name and four counts.</summary>
    private const int MinChannelTrafficBytes = 4 + (4 * 8);

    /// <summary>Encoding of a <see cref="LinkTraffic"/>: peer, two counts, round-trip time.</summary>
    private const int LinkTrafficBytes = 4 + (2 * 8) + 4;

    private static void WriteNodeMetrics(ref WireWriter w, NodeMetricsNotice m)
    {
        w.Byte(NodeMetricsNoticeTag);
        w.Int32(m.NodeIndex);
        w.Int64(m.MemoryUsedBytes);
        w.Int32(m.CpuPerMille);
        WriteArray(ref w, m.Channels, static (ref WireWriter w, ChannelTraffic c) =>
        {
            w.String(c.Name);
            w.Int64(c.MessagesSent);
            w.Int64(c.BytesSent);
            w.Int64(c.MessagesReceived);
            w.Int64(c.Depth);
        });
        WriteArray(ref w, m.Links, static (ref WireWriter w, LinkTraffic l) =>
        {
            w.Int32(l.Peer);
            w.Int64(l.BytesSent);
            w.Int64(l.BytesReceived);
            w.Int32(l.RttMicroseconds);
        });
    }

    private static NodeMetricsNotice ReadNodeMetrics(ref WireReader r)
    {
        r.Message = nameof(NodeMetricsNotice);
        return new NodeMetricsNotice(
            r.Int32("NodeIndex"),
            r.Int64("MemoryUsedBytes"),
            r.Int32("CpuPerMille"),
            ReadArray(ref r, "Channels", MinChannelTrafficBytes, static (ref WireReader r) => new ChannelTraffic(
                r.String("Channels[].Name"), r.Int64("Channels[].MessagesSent"), r.Int64("Channels[].BytesSent"),
                r.Int64("Channels[].MessagesReceived"), r.Int64("Channels[].Depth"))),
            ReadArray(ref r, "Links", LinkTrafficBytes, static (ref WireReader r) => new LinkTraffic(
                r.Int32("Links[].Peer"), r.Int64("Links[].BytesSent"), r.Int64("Links[].BytesReceived"), r.Int32("Links[].RttMicroseconds"))));
    }
}
