namespace Dragon.Runtime.Protocol;

/// <summary>
/// A node service on another host sends its figures to global services every few seconds while the run exports
/// metrics: its host's memory in use and CPU busy share (per mille), the traffic of the channels it hosts, and its
/// links to other nodes.
/// </summary>
internal sealed record NodeMetricsNotice(int NodeIndex, long MemoryUsedBytes, int CpuPerMille, ChannelTraffic[] Channels, LinkTraffic[] Links) : IMessage;

/// <summary>
/// One TCP link of a node as the kernel counts it: the peer node (-1: the launcher's global services), bytes sent
/// and acknowledged, bytes received, and the smoothed round-trip time in microseconds.
/// </summary>
internal sealed record LinkTraffic(int Peer, long BytesSent, long BytesReceived, int RttMicroseconds);

/// <summary>One channel's traffic so far (messages sent, payload bytes sent, messages received, messages waiting).</summary>
internal sealed record ChannelTraffic(string Name, long MessagesSent, long BytesSent, long MessagesReceived, long Depth);
