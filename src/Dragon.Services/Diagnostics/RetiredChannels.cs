using Dragon.Runtime.Protocol;

namespace Dragon.Services.Diagnostics;

/// <summary>
/// The final traffic of the channels a node destroyed, so the run's counters never go back when a queue goes away:
/// a workflow that closed its queues still shows, at its last scrape, every message it sent and received. Keyed by
/// channel name (two channels of one name add up); past <see cref="MaxNames"/> names the rest add up under
/// <see cref="Other"/>, so memory stays bounded however many channels a run makes. A destroyed channel holds no
/// messages: its depth is 0.
/// </summary>
internal sealed class RetiredChannels
{
    public const int MaxNames = 4096;
    public const string Other = "(other retired channels)";

    private readonly Dictionary<string, ChannelTraffic> _byName = new(StringComparer.Ordinal);
    private readonly System.Threading.Lock _lock = new();

    public void Add(string name, long messagesSent, long bytesSent, long messagesReceived)
    {
        lock (_lock)
        {
            var key = _byName.ContainsKey(name) || _byName.Count < MaxNames ? name : Other;
            _byName[key] = _byName.TryGetValue(key, out var before)
                ? before with { MessagesSent = before.MessagesSent + messagesSent, BytesSent = before.BytesSent + bytesSent, MessagesReceived = before.MessagesReceived + messagesReceived }
                : new ChannelTraffic(key, messagesSent, bytesSent, messagesReceived, 0);
        }
    }

    public ChannelTraffic[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _byName.Values];
        }
    }
}
