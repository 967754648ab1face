using System.Buffers.Binary;

namespace Dragon.TestApp;

/// <summary>
/// Four producer processes and four consumer processes move 100,000 messages of 64 B through one queue; the head
/// closes it once the producers are done, the consumers drain to end of stream and report what they took. Every
/// message arrives exactly once, and each consumer saw each producer's messages in the order they were sent.
/// </summary>
public static class QueueManyScenario
{
    private const int Producers = 4;
    private const int Consumers = 4;

    public static int Run(string layoutName, int total)
    {
        var layout = ChannelLayout.Parse(layoutName);
        var perProducer = total / Producers;
        using var queue = new DragonQueue<byte[]>(maxSize: 1024, node: layout.Home);
        using var reports = new DragonQueue<byte[]>(maxSize: 16, node: layout.Home);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var consumers = Enumerable.Range(0, Consumers).Select(_ => layout.Start(Consume, queue, reports)).ToArray();
        var producers = Enumerable.Range(0, Producers).Select(p => layout.Start(Produce, queue, p, perProducer)).ToArray();
        foreach (var producer in producers)
        {
            Scenario.JoinedOk(producer, "producer", seconds: 120);
        }

        queue.Close();
        var seen = new byte[Producers * perProducer];
        var counts = new List<int>();
        for (var c = 0; c < Consumers; c++)
        {
            var report = reports.Get(timeout: TimeSpan.FromSeconds(60));
            counts.Add(report.Length / 4);
            for (var i = 0; i < report.Length; i += 4)
            {
                var packed = BinaryPrimitives.ReadInt32LittleEndian(report.AsSpan(i));
                var (producer, seq) = (packed >> 24, packed & 0xFFFFFF);
                if (producer >= Producers || seq >= perProducer)
                {
                    throw new CheckFailedException($"a consumer took message {producer}/{seq}, which nobody sent");
                }

                var id = (producer * perProducer) + seq;
                if (++seen[id] > 1)
                {
                    throw new CheckFailedException($"message {id / perProducer}/{id % perProducer} was delivered twice");
                }
            }
        }

        foreach (var consumer in consumers)
        {
            Scenario.JoinedOk(consumer, "consumer");
        }

        var missing = Array.IndexOf(seen, (byte)0);
        Check.That(missing < 0, missing < 0 ? $"{layout}: all {seen.Length} messages arrived exactly once" : $"message {missing / perProducer}/{missing % perProducer} was lost");
        Check.That(counts.Sum() == total, $"{Producers} producers, {Consumers} consumers; consumers took {string.Join(" + ", counts)} = {counts.Sum()}");
        Console.WriteLine($"INFO {total} messages of 64 B in {clock.Elapsed.TotalSeconds:F1} s, {total / clock.Elapsed.TotalSeconds:F0} msg/s, {layout}");
        return 0;
    }

    public static void Produce(DragonQueue<byte[]> queue, int producer, int count)
    {
        for (var i = 0; i < count; i++)
        {
            queue.Put(Payloads.Numbered(producer, i));
        }
    }

    /// <summary>Takes until end of stream, checking per-producer order, and reports the ids it took.</summary>
    public static int Consume(DragonQueue<byte[]> queue, DragonQueue<byte[]> reports)
    {
        var taken = new List<int>();
        var last = new Dictionary<int, int>();
        while (true)
        {
            byte[] message;
            try
            {
                message = queue.Get(timeout: TimeSpan.FromSeconds(60));
            }
            catch (EndOfStreamException)
            {
                break;
            }

            var (producer, seq) = Payloads.ReadNumbered(message);
            if (last.TryGetValue(producer, out var previous) && seq <= previous)
            {
                Console.WriteLine($"FAIL consumer on node {Node.Current.Index}: producer {producer}'s message {seq} came after {previous}");
                return 1;
            }

            last[producer] = seq;
            taken.Add((producer << 24) | seq);
        }

        var report = new byte[taken.Count * 4];
        for (var i = 0; i < taken.Count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(report.AsSpan(i * 4), taken[i]);
        }

        reports.Put(report);
        return 0;
    }
}
