using System.Buffers.Binary;
using System.Diagnostics;

namespace Dragon.Bench.Scenarios;

/// <summary>
/// One producer process to one consumer process (the head) through a <see cref="DragonQueue{T}"/> of 64-byte
/// arrays. The producer writes its clock (CLOCK_MONOTONIC, shared by every process of the machine) into the first
/// message just before putting it, so the rate runs from the first put to the last get.
/// </summary>
public static class QueueScenarios
{
    private const int MessageBytes = 64;

    /// <param name="count">Messages to move.</param>
    /// <param name="remote">Producer on node 1, queue and consumer on node 0 (needs <c>--local-nodes 2</c>).</param>
    public static int Run(int count, bool remote)
    {
        Report.RunId();
        using var queue = new DragonQueue<byte[]>(node: 0);
        var template = ProcessTemplate.FromMethod(Produce, queue, count);
        var producer = DragonProcess.Start(remote ? template with { Policy = Policy.OnNode(1) } : template);

        var first = queue.Get();
        var start = BinaryPrimitives.ReadInt64LittleEndian(first);
        for (var i = 1; i < count; i++)
        {
            _ = queue.Get();
        }

        var end = Stopwatch.GetTimestamp();
        var code = producer.Join();
        if (code != 0)
        {
            Console.Error.WriteLine($"the producer exited with {code}");
            return 1;
        }

        var seconds = (end - start) / (double)Stopwatch.Frequency;
        Report.Value("msgs_per_s", count / seconds);
        Report.Value("elapsed_ms", seconds * 1000);
        return 0;
    }

    /// <summary>Puts <paramref name="count"/> messages, the first carrying the time it was put.</summary>
    public static void Produce(DragonQueue<byte[]> queue, int count)
    {
        var message = new byte[MessageBytes];
        BinaryPrimitives.WriteInt64LittleEndian(message, Stopwatch.GetTimestamp());
        queue.Put(message);
        for (var i = 1; i < count; i++)
        {
            queue.Put(message);
        }

        queue.Dispose();
    }
}
