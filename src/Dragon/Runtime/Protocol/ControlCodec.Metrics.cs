namespace Dragon.Runtime.Protocol;

/// <summary>The codec of <see cref="NodeMetricsNotice"/> (tag 80).</summary>
internal static partial class ControlCodec
{
    private const byte NodeMetricsNoticeTag = 80;

    /// <summary>Smallest encoding of a <see cref="ChannelTraffic"/>: an empty name and four counts.</summary>
    private const int MinChannelTrafficBytes = 4 + (4 * 8);

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
                r.Int64("Channels[].MessagesReceived"), r.Int64("Channels[].Depth"))));
    }
}
