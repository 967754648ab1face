namespace Dragon.Bench.Driver;

/// <summary>
/// <c>scripts/bench pingpong</c>: 64-byte round trips (p50, p99) and 1 MiB one-way bandwidth over a duplex
/// <see cref="DragonPipe"/>, against Python's multiprocessing.Pipe; ours across two local nodes; and a diagnosis of the
/// layers under <see cref="Connection"/>; each with and without the channel layer's spinning mode.
/// </summary>
internal static class PingPongBench
{
    /// <summary>The channel layer's spinning mode: waiters spin up to this many microseconds before they sleep.</summary>
    private const string SpinMicroseconds = "100";

    private static readonly Dictionary<string, string> s_spinning = new(StringComparer.Ordinal) { ["DRAGON_CHANNEL_SPIN_US"] = SpinMicroseconds };

    /// <summary>Measures, prints the table, and returns the summary line.</summary>
    public static string Run(BenchContext context)
    {
        var samples = new Samples();
        void AddAll(CommandResult? result, string prefix, params string[] names)
        {
            foreach (var name in names)
            {
                samples.Add(prefix + name, result?.Value(name));
            }
        }

        Alternation.Run(
            "pingpong, one node",
            context.Rounds(7),
            () => AddAll(context.Ours(1, "pingpong", "20000", "500"), "ours_", "p50_us", "p99_us", "gb_per_s"),
            () => AddAll(context.Peer("pipe_pingpong.py", "20000", "500", "bytes"), "peer_", "p50_us", "p99_us", "gb_per_s"),
            () => AddAll(context.Peer("pipe_pingpong.py", "20000", "500", "pickle"), "pickle_", "p50_us", "p99_us", "gb_per_s"),
            () => AddAll(context.OursWith(s_spinning, 1, "pingpong", "20000", "500"), "spin_", "p50_us", "p99_us", "gb_per_s"));

        Alternation.Run(
            "pingpong, two nodes and channel layers",
            context.Rounds(5),
            () => AddAll(context.Ours(2, "pingpong-remote", "2000", "20"), "remote_", "p50_us", "p99_us", "gb_per_s"),
            () => AddAll(
                context.Ours(1, "pingpong-paths", "20000"),
                string.Empty,
                "endpoint_p50_us", "endpoint_p99_us", "endpoint_gb_per_s", "ring_p50_us", "ring_p99_us", "ring_gb_per_s",
                "ringfit_gb_per_s", "ring64k_p50_us", "ring64k_gb_per_s", "failed_send_slots",
                "endpoint_send_alloc_mib", "endpoint_send_gen2_gcs"),
            () => AddAll(context.OursWith(s_spinning, 1, "pingpong-paths", "20000"), "spin_", "endpoint_p50_us", "endpoint_p99_us"));

        var table = new ResultTable("pingpong: duplex pipe between two processes (peer: multiprocessing.Pipe, send_bytes/recv_bytes)", samples);
        var ratio = table.Compare("64 B round trip p50", "us", "ours_p50_us", "peer_p50_us", "<= 0.5");
        table.Compare("64 B round trip p99", "us", "ours_p99_us", "peer_p99_us", "");
        table.Compare("1 MiB one way, 500 messages", "GB/s", "ours_gb_per_s", "peer_gb_per_s", "");
        table.Compare("64 B round trip p50, peer with pickling send/recv", "us", "ours_p50_us", "pickle_p50_us", "");
        table.Compare("1 MiB one way, peer with pickling send/recv", "GB/s", "ours_gb_per_s", "pickle_gb_per_s", "");
        var spin = $"DRAGON_CHANNEL_SPIN_US={SpinMicroseconds}";
        table.Compare($"spinning mode ({spin}): 64 B round trip p50", "us", "spin_p50_us", "peer_p50_us", "");
        table.Compare("spinning mode: 64 B round trip p99", "us", "spin_p99_us", "peer_p99_us", "");
        table.Compare("spinning mode: 1 MiB one way", "GB/s", "spin_gb_per_s", "peer_gb_per_s", "");
        table.Single("two nodes: 64 B round trip p50 (echo on node 1)", "us", "remote_p50_us", "TCP path; no peer");
        table.Single("two nodes: 64 B round trip p99", "us", "remote_p99_us", "");
        table.Single("two nodes: 1 MiB one way, 20 messages", "GB/s", "remote_gb_per_s", "");
        table.Single("layer: channel endpoint, synchronous, p50", "us", "endpoint_p50_us", "no thread-pool hop in Recv");
        table.Single("layer: channel endpoint, synchronous, p99", "us", "endpoint_p99_us", "");
        table.Single("layer: channel endpoint, synchronous, spinning mode, p50", "us", "spin_endpoint_p50_us", "");
        table.Single("layer: channel endpoint, synchronous, spinning mode, p99", "us", "spin_endpoint_p99_us", "");
        table.Single("layer: channel endpoint, 1 MiB", "GB/s", "endpoint_gb_per_s", "");
        table.Single("layer: channel endpoint, sender's allocation per 1 MiB message", "MiB", "endpoint_send_alloc_mib", "a new buffer each time");
        table.Single("layer: channel endpoint, sender's full GCs per 200 messages", "GCs", "endpoint_send_gen2_gcs", "gen2, from large-object allocations");
        table.Single("layer: shared-memory ring alone, p50", "us", "ring_p50_us", "no codec, reused buffers");
        table.Single("layer: shared-memory ring alone, p99", "us", "ring_p99_us", "");
        table.Single("layer: shared-memory ring alone, 1 MiB + 1 B", "GB/s", "ring_gb_per_s", "one slot more than the ring holds");
        table.Single("layer: shared-memory ring alone, exactly 1 MiB", "GB/s", "ringfit_gb_per_s", "fits the ring's 1024 x 1 KiB");
        table.Single("layer: ring of 64 slots of 64 KiB, p50", "us", "ring64k_p50_us", "");
        table.Single("layer: ring of 64 slots of 64 KiB, 1 MiB + 1 B", "GB/s", "ring64k_gb_per_s", "");
        table.Single("slots left published by a failed non-blocking 1 MiB send", "slots", "failed_send_slots", "Send's first attempt");
        table.Print();
        return
            $"pingpong p50_us={ResultTable.Format(samples.Median("ours_p50_us"), "0.0")} " +
            $"peer_p50_us={ResultTable.Format(samples.Median("peer_p50_us"), "0.0")} ratio={ResultTable.Format(ratio, "0.00")}";
    }
}
