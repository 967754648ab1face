namespace Dragon.Bench.Driver;

/// <summary>
/// <c>scripts/bench queue</c>: 1,000,000 messages of 64 bytes from one producer process to one consumer process
/// through a <see cref="DragonQueue{T}"/>, against Python's multiprocessing.Queue; ours across two local nodes; and
/// the queue's ring alone, to separate the ring's hand-off from encoding and allocation.
/// </summary>
internal static class QueueBench
{
    private const string LocalCount = "1000000";
    private const string RemoteCount = "50000";

    // Optimised code from the first call: a 1M-message run lasts a few hundred ms, while tiered compilation starts
    // every method unoptimised and promotes hot ones only after a call-counting delay of 100 ms.
    private static readonly Dictionary<string, string> s_untiered = new(StringComparer.Ordinal) { ["DOTNET_TieredCompilation"] = "0" };

    /// <summary>Measures, prints the table, and returns the summary line.</summary>
    public static string Run(BenchContext context)
    {
        var samples = new Samples();
        // The two-node run has no peer; it takes its turn in the same rounds so it sees the same machine.
        Alternation.Run(
            "queue",
            context.Rounds(5),
            () => samples.Add("ours", context.Ours(1, "queue", LocalCount)?.Value("msgs_per_s")),
            () => samples.Add("peer", context.Peer("queue_throughput.py", LocalCount)?.Value("msgs_per_s")),
            () => samples.Add("remote", context.Ours(2, "queue-remote", RemoteCount)?.Value("msgs_per_s")),
            () => samples.Add("ring", context.Ours(1, "queue-ring", LocalCount)?.Value("ring_msgs_per_s")),
            () => samples.Add("untiered", context.OursWith(s_untiered, 1, "queue", LocalCount)?.Value("msgs_per_s")));

        var table = new ResultTable("queue: 64-byte messages, one producer process to one consumer process", samples);
        var ratio = table.Compare($"{LocalCount} messages, one node (peer: multiprocessing.Queue)", "msg/s", "ours", "peer", ">= 10");
        table.Single($"{RemoteCount} messages, producer on node 1, queue and consumer on node 0", "msg/s", "remote", "TCP path between node services; no peer");
        table.Compare($"diagnosis: {LocalCount} raw 64-byte messages through the ring alone", "msg/s", "ring", "peer", "no encoding, no allocation");
        table.Compare("diagnosis: ours with the JIT's tiering off", "msg/s", "untiered", "peer", "DOTNET_TieredCompilation=0");
        table.Print();
        return
            $"queue msgs_per_s={ResultTable.Format(samples.Median("ours"), "0")} " +
            $"peer_msgs_per_s={ResultTable.Format(samples.Median("peer"), "0")} ratio={ResultTable.Format(ratio, "0.00")}";
    }
}
