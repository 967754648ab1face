using System.Buffers.Binary;
using System.Diagnostics;

namespace Dragon.Bench.Scenarios;

/// <summary>
/// Traffic between two nodes (<c>scripts/bench remote</c>): a queue homed on node 1 fed by a producer on node 0 and
/// drained by a consumer on node 1, 64-byte round trips through a duplex pipe homed on node 1, and a child's piped
/// output read on node 0 (<see cref="RemoteLines"/>). Each measurement stops at its count or after its time budget,
/// whichever comes first, and reports how much it moved, so one command stays short however slow the transport is.
/// The processes of a measurement write and read CLOCK_MONOTONIC, shared by every node of one machine.
/// </summary>
public static class RemoteScenarios
{
    private const int SmallBytes = 64;
    private const int LargeBytes = 64 * 1024;

    /// <param name="smallCount">64-byte messages through the queue, at most.</param>
    /// <param name="largeCount">64 KiB messages through the queue, at most.</param>
    /// <param name="roundTrips">Timed round trips, at most (after a tenth as many, at least 200, to warm up; the
    /// warm-up stops after 200 once a quarter of the budget is spent).</param>
    /// <param name="lines">Lines the child writes (<c>seq</c>).</param>
    /// <param name="budgetMs">Time budget of each measurement.</param>
    public static int Run(int smallCount, int largeCount, int roundTrips, int lines, int budgetMs)
    {
        Report.RunId();
        if (SystemInfo.Nodes.Count < 2 || Node.Current.Index != 0)
        {
            Console.Error.WriteLine($"needs two nodes and the head on node 0 (nodes: {SystemInfo.Nodes.Count}, head on {Node.Current.Index})");
            return 1;
        }

        using var results = new DragonQueue<double>(node: 0);
        var (smallMoved, smallSeconds) = QueueAcross(results, smallCount, SmallBytes, budgetMs);
        Report.Value("small_msgs", smallMoved);
        Report.Value("small_msgs_per_s", smallMoved / smallSeconds);
        var (largeMoved, largeSeconds) = QueueAcross(results, largeCount, LargeBytes, budgetMs);
        Report.Value("large_msgs", largeMoved);
        Report.Value("large_mb_per_s", largeMoved * (double)LargeBytes / largeSeconds / 1e6);
        RoundTrips(results, roundTrips, budgetMs);
        RemoteLines.Read(lines, node: 0, budgetMs, "lines_local");
        RemoteLines.Read(lines, node: 1, budgetMs, "lines_remote");
        return 0;
    }

    /// <summary>Producer on node 0, queue and consumer on node 1; returns the messages moved and the seconds taken.</summary>
    private static (double Moved, double Seconds) QueueAcross(DragonQueue<double> results, int count, int size, int budgetMs)
    {
        using var queue = new DragonQueue<byte[]>(node: 1);
        var consumer = DragonProcess.Start(ProcessTemplate.FromMethod(Consume, queue, results) with { Policy = Policy.OnNode(1) });
        var producer = DragonProcess.Start(ProcessTemplate.FromMethod(Produce, queue, count, size, budgetMs) with { Policy = Policy.OnNode(0) });
        var moved = results.Get();
        var seconds = results.Get();
        Joined(producer, "producer");
        Joined(consumer, "consumer");
        return (moved, seconds);
    }

    /// <summary>
    /// Puts up to <paramref name="count"/> messages (the first carrying the time it was put) until the budget runs
    /// out, then an empty one that ends the consumer.
    /// </summary>
    public static void Produce(DragonQueue<byte[]> queue, int count, int size, int budgetMs)
    {
        var message = new byte[size];
        var start = Stopwatch.GetTimestamp();
        BinaryPrimitives.WriteInt64LittleEndian(message, start);
        queue.Put(message);
        BinaryPrimitives.WriteInt64LittleEndian(message, 0);
        var deadline = start + budgetMs * Stopwatch.Frequency / 1000;
        for (var i = 1; i < count && Stopwatch.GetTimestamp() < deadline; i++)
        {
            queue.Put(message);
        }

        queue.Put([]);
        queue.Dispose();
    }

    /// <summary>Gets messages until the empty one; reports how many came and the seconds from the first put.</summary>
    public static void Consume(DragonQueue<byte[]> queue, DragonQueue<double> results)
    {
        var start = BinaryPrimitives.ReadInt64LittleEndian(queue.Get());
        long moved = 1;
        while (queue.Get().Length > 0)
        {
            moved++;
        }

        var end = Stopwatch.GetTimestamp();
        results.Put(moved);
        results.Put((end - start) / (double)Stopwatch.Frequency);
        queue.Dispose();
        results.Dispose();
    }

    /// <summary>A pinger on node 0 and the echo on node 1, through a duplex pipe homed on node 1.</summary>
    private static void RoundTrips(DragonQueue<double> results, int roundTrips, int budgetMs)
    {
        var (mine, theirs) = DragonPipe.Create(duplex: true, node: 1);
        var echo = DragonProcess.Start(ProcessTemplate.FromMethod(PingPongScenarios.Echo, theirs) with { Policy = Policy.OnNode(1) });
        var pinger = DragonProcess.Start(ProcessTemplate.FromMethod(Ping, mine, results, roundTrips, budgetMs) with { Policy = Policy.OnNode(0) });
        Report.Value("rtt_count", results.Get());
        Report.Value("rtt_p50_us", results.Get());
        Report.Value("rtt_p99_us", results.Get());
        Joined(pinger, "pinger");
        Joined(echo, "echo");
        mine.Close();
        theirs.Close();
    }

    /// <summary>Times up to <paramref name="roundTrips"/> round trips of 64 bytes; reports the count, p50 and p99.</summary>
    public static void Ping(Connection connection, DragonQueue<double> results, int roundTrips, int budgetMs)
    {
        var small = new byte[SmallBytes];
        var warmDeadline = Stopwatch.GetTimestamp() + budgetMs * Stopwatch.Frequency / 4000;
        for (var i = 0; i < Math.Max(200, roundTrips / 10) && (i < 200 || Stopwatch.GetTimestamp() < warmDeadline); i++)
        {
            connection.Send(small);
            _ = connection.Receive<byte[]>();
        }

        var samples = new List<double>(roundTrips);
        var deadline = Stopwatch.GetTimestamp() + budgetMs * Stopwatch.Frequency / 1000;
        while (samples.Count < roundTrips && Stopwatch.GetTimestamp() < deadline)
        {
            var start = Stopwatch.GetTimestamp();
            connection.Send(small);
            _ = connection.Receive<byte[]>();
            samples.Add(Report.Milliseconds(start, Stopwatch.GetTimestamp()) * 1000);
        }

        samples.Sort();
        results.Put(samples.Count);
        results.Put(Percentile.OfSorted(samples, 50));
        results.Put(Percentile.OfSorted(samples, 99));
        connection.Send(new byte[1]);
        connection.Close();
        results.Dispose();
    }

    private static void Joined(DragonProcess process, string role)
    {
        var code = process.Join(TimeSpan.FromSeconds(60));
        if (code != 0)
        {
            throw new InvalidOperationException($"the {role} ({process}) exited with {code}");
        }
    }
}
