using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using Dragon.Channels;
using Dragon.Runtime.Protocol;

namespace Dragon.Bench.Scenarios;

/// <summary>
/// Diagnosis of the queue benchmark: the same transfer through the queue's shared-memory ring alone (same geometry,
/// 1024 slots of 1 KiB), 64 raw bytes per message from a reused buffer into a reused buffer. What the queue adds on
/// top of this is encoding, decoding and one array per message received.
/// </summary>
public static class QueueRing
{
    private const int MessageBytes = 64;

    public static int Run(int count)
    {
        Report.RunId();
        using var handle = HostedHandle.Create(ObjectKind.Channel, null, 0, 1024);
        var producer = DragonProcess.Start(ProcessTemplate.FromMethod(Produce, handle.Id, count));
        var ring = handle.Ring!;
        var buffer = new ArrayBufferWriter<byte>(1024);
        _ = ring.TryReceive(buffer, Timeout.InfiniteTimeSpan, out _);
        var start = BinaryPrimitives.ReadInt64LittleEndian(buffer.WrittenSpan);
        for (var i = 1; i < count; i++)
        {
            buffer.ResetWrittenCount();
            _ = ring.TryReceive(buffer, Timeout.InfiniteTimeSpan, out _);
        }

        var end = Stopwatch.GetTimestamp();
        if (producer.Join() != 0)
        {
            return 1;
        }

        Report.Value("ring_msgs_per_s", count / ((end - start) / (double)Stopwatch.Frequency));
        return 0;
    }

    /// <summary>Sends <paramref name="count"/> raw messages, the first carrying the time it was sent.</summary>
    public static void Produce(ulong channelId, int count)
    {
        using var handle = HostedHandle.Attach(ObjectKind.Channel, channelId, null);
        var ring = handle.Ring!;
        var message = new byte[MessageBytes];
        BinaryPrimitives.WriteInt64LittleEndian(message, Stopwatch.GetTimestamp());
        _ = ring.TrySend(message, Timeout.InfiniteTimeSpan);
        for (var i = 1; i < count; i++)
        {
            _ = ring.TrySend(message, Timeout.InfiniteTimeSpan);
        }
    }
}
