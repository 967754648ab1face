using System.Buffers;
using System.Diagnostics;
using Dragon.Channels;
using Dragon.Runtime.Protocol;

namespace Dragon.Bench.Scenarios;

/// <summary>
/// Diagnosis, not a comparison: the same 64-byte round trip and 1 MiB stream through three layers of the channel
/// stack, to tell where the time of the public <see cref="Connection"/> path goes.
/// <list type="bullet">
/// <item><c>endpoint</c>: the channel endpoint under <see cref="Connection"/>, called synchronously (encode, ring,
/// decode; no thread-pool hop).</item>
/// <item><c>ring</c>: the shared-memory ring alone, into a reused buffer (no encoding, no allocation). Its large
/// messages are 1 MiB + 1 byte, the size the endpoint puts in the ring for a 1 MiB array (one tag byte).</item>
/// <item><c>ringfit</c>: the same with messages of exactly 1 MiB, which fit the default ring (1024 slots of 1 KiB).</item>
/// <item><c>ring64k</c>: 1 MiB + 1 byte through a ring of 64 slots of 64 KiB, to show what the default geometry costs.</item>
/// </list>
/// </summary>
public static class PingPongPaths
{
    private const int SmallBytes = 64;
    private const int BulkBytes = 1 << 20;
    private const int BulkMessages = 200;

    public static int Run(int roundTrips)
    {
        Report.RunId();
        Report.Value("failed_send_slots", SlotsLeftByFailedSend());
        (string Layer, int Slots, int SlotSize, int Bulk)[] layers =
        [
            ("endpoint", 1024, 0, BulkBytes),
            ("ring", 1024, 0, BulkBytes + 1),
            ("ringfit", 1024, 0, BulkBytes),
            ("ring64k", 64, 64 * 1024, BulkBytes + 1),
        ];
        foreach (var (layer, slots, slotSize, bulkBytes) in layers)
        {
            using var forward = HostedHandle.Create(ObjectKind.Channel, null, null, slots, slotSize);
            using var backward = HostedHandle.Create(ObjectKind.Channel, null, null, slots, slotSize);
            var echo = DragonProcess.Start(ProcessTemplate.FromMethod(Echo, layer, forward.Id, backward.Id));
            var link = Link.Open(layer, send: forward, receive: backward);

            var small = new byte[SmallBytes];
            for (var i = 0; i < Math.Max(200, roundTrips / 10); i++)
            {
                link.Send(small);
                link.Receive();
            }

            var samples = new double[roundTrips];
            for (var i = 0; i < roundTrips; i++)
            {
                var start = Stopwatch.GetTimestamp();
                link.Send(small);
                link.Receive();
                samples[i] = Report.Milliseconds(start, Stopwatch.GetTimestamp()) * 1000;
            }

            Array.Sort(samples);
            Report.Value($"{layer}_p50_us", Percentile.OfSorted(samples, 50));
            Report.Value($"{layer}_p99_us", Percentile.OfSorted(samples, 99));

            var bulk = new byte[bulkBytes];
            var gcs = GC.CollectionCount(2);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var begin = Stopwatch.GetTimestamp();
            for (var i = 0; i < BulkMessages; i++)
            {
                link.Send(bulk);
            }

            link.Receive();
            var seconds = (Stopwatch.GetTimestamp() - begin) / (double)Stopwatch.Frequency;
            Report.Value($"{layer}_gb_per_s", (double)BulkMessages * bulkBytes / seconds / 1e9);
            // The sending side's garbage per large message, and the full collections it caused.
            Report.Value($"{layer}_send_alloc_mib", (GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)BulkMessages / (1 << 20));
            Report.Value($"{layer}_send_gen2_gcs", GC.CollectionCount(2) - gcs);

            link.Send([1]);
            _ = echo.Join();
        }

        return 0;
    }

    /// <summary>
    /// What <see cref="Connection.Send{T}"/> does first with a message larger than the free room: the endpoint's
    /// non-blocking attempt (timeout 0). Returns the ring slots it left published although the send failed; the
    /// receiver discards them, and the blocking retry sends the whole message again.
    /// </summary>
    private static double SlotsLeftByFailedSend()
    {
        using var handle = HostedHandle.Create(ObjectKind.Channel, null, null, 1024);
        var endpoint = new ChannelEndpoint(handle);
        var sent = endpoint.SendAsync(new byte[BulkBytes], 0, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return sent ? -1 : handle.Ring!.PendingSlots;
    }

    /// <summary>Echoes 64-byte messages, swallows <see cref="BulkMessages"/> large ones and answers once, stops on a 1-byte one.</summary>
    public static void Echo(string layer, ulong forwardId, ulong backwardId)
    {
        using var forward = HostedHandle.Attach(ObjectKind.Channel, forwardId, null);
        using var backward = HostedHandle.Attach(ObjectKind.Channel, backwardId, null);
        var link = Link.Open(layer, send: backward, receive: forward);
        var bulkSeen = 0;
        while (true)
        {
            var length = link.Receive();
            if (length == 1)
            {
                return;
            }

            if (length == SmallBytes)
            {
                link.Send(link.Last);
            }
            else if (++bulkSeen == BulkMessages)
            {
                link.Send([1]);
            }
        }
    }

    /// <summary>Send and receive through one layer; <see cref="Last"/> holds the bytes last received.</summary>
    private sealed class Link
    {
        private readonly ChannelEndpoint? _sendEndpoint;
        private readonly ChannelEndpoint? _receiveEndpoint;
        private readonly HostedHandle _send;
        private readonly HostedHandle _receive;
        private readonly ArrayBufferWriter<byte> _buffer = new(BulkBytes + 1);

        private Link(string layer, HostedHandle send, HostedHandle receive)
        {
            _send = send;
            _receive = receive;
            if (layer == "endpoint")
            {
                _sendEndpoint = new ChannelEndpoint(send);
                _receiveEndpoint = new ChannelEndpoint(receive);
            }
        }

        public byte[] Last { get; private set; } = [];

        public static Link Open(string layer, HostedHandle send, HostedHandle receive) => new(layer, send, receive);

        public void Send(byte[] message)
        {
            if (_sendEndpoint is not null)
            {
                _ = _sendEndpoint.Send(message, -1);
            }
            else
            {
                _ = _send.Ring!.TrySend(message, Timeout.InfiniteTimeSpan);
            }
        }

        public int Receive()
        {
            if (_receiveEndpoint is not null)
            {
                _ = _receiveEndpoint.TryReceive<byte[]>(-1, out var value);
                Last = value;
                return value.Length;
            }

            _buffer.ResetWrittenCount();
            _ = _receive.Ring!.TryReceive(_buffer, Timeout.InfiniteTimeSpan, out var length);
            if (length == SmallBytes)
            {
                // Echoed back as is; the copy is what any consumer of the bytes would pay.
                Last = _buffer.WrittenSpan.ToArray();
            }

            return length;
        }
    }
}
