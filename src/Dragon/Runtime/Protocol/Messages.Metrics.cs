namespace Dragon.Runtime.Protocol;

/// <summary>
/// A node service on another host sends its figures to global services every few seconds while the run exports
/// metrics: its host's memory in use and CPU busy share (per mille), and the traffic of the channels it hosts.
/// </summary>
internal sealed record NodeMetricsNotice(int NodeIndex, long MemoryUsedBytes, int CpuPerMille, ChannelTraffic[] Channels) : IMessage;

/// <summary>One channel's traffic so far (messages sent, payload bytes sent, messages received, messages waiting).</summary>
internal sealed record ChannelTraffic(string Name, long MessagesSent, long BytesSent, long MessagesReceived, long Depth);
