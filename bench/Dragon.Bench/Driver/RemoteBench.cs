using System.Globalization;

namespace Dragon.Bench.Driver;

/// <summary>
/// <c>scripts/bench remote</c>: traffic between two nodes (a queue of 64 B and of 64 KiB messages, 64 B round trips
/// through a pipe, a child's piped output), against loopback TCP in C (<c>bench/peers/tcp_stream.c</c>, built by
/// <c>scripts/bench</c>) and Python's <c>subprocess.Popen</c>. Places: two <c>--local-nodes</c> (the summary line),
/// two node services as separate processes (<c>--wlm fork</c>), and with <c>--cluster</c> two hosts of the fake
/// cluster (<c>tests/cluster/cluster.sh up</c> first, as root).
/// </summary>
internal static class RemoteBench
{
    private const int SmallCount = 200_000;
    private const int LargeCount = 4_000;
    private const int RoundTrips = 20_000;
    private const int Lines = 1_000_000;

    /// <summary>Each measurement of ours stops at its count or after this, so a round stays short before the transport is fast.</summary>
    private const int BudgetMs = 3_000;

    private static readonly string[] s_figures =
    [
        "small_msgs", "small_msgs_per_s", "large_msgs", "large_mb_per_s", "rtt_count", "rtt_p50_us", "rtt_p99_us",
        "lines_local", "lines_local_per_s", "lines_remote", "lines_remote_per_s",
    ];

    /// <summary>Measures, prints the table, and returns the summary line.</summary>
    public static string Run(BenchContext context)
    {
        var samples = new Samples();
        string[] scenario = [BenchContext.BenchDll, "remote", .. new[] { SmallCount, LargeCount, RoundTrips, Lines, BudgetMs }.Select(Text)];
        var places = new List<(string Key, string Label, Func<CommandResult?> Run)>
        {
            ("local", "--local-nodes 2", () => context.Command(context.Launcher, ["--local-nodes", "2", .. scenario])),
            ("fork", "--wlm fork --local-nodes 2", () => context.Command(context.Launcher, ["--wlm", "fork", "--local-nodes", "2", .. scenario])),
        };
        if (context.Cluster)
        {
            var cluster = Path.Combine(context.Root, "tests", "cluster", "cluster.sh");
            places.Add(("cluster", "fake cluster, --hosts n1,n2", () => context.Command("bash", [cluster, "head", context.Launcher, "--hosts", "n1,n2", .. scenario])));
        }

        var tcp = Path.Combine(context.Root, "artifacts", "bench", "tcp_stream");
        var steps = new List<Action>();
        foreach (var place in places)
        {
            steps.Add(() =>
            {
                var result = place.Run();
                foreach (var figure in s_figures)
                {
                    samples.Add($"{place.Key}_{figure}", result?.Value(figure));
                }
            });
        }

        // The peers take their turns between ours.
        steps.Insert(1, () =>
        {
            samples.Add("tcp_small_msgs_per_s", context.Command(tcp, "stream", Text(SmallCount), "64")?.Value("msgs_per_s"));
            samples.Add("tcp_batched_msgs_per_s", context.Command(tcp, "batched", Text(SmallCount), "64")?.Value("msgs_per_s"));
            samples.Add("tcp_large_mb_per_s", context.Command(tcp, "stream", Text(LargeCount), "65536")?.Value("bytes_per_s") / 1e6);
            var pingpong = context.Command(tcp, "pingpong", Text(RoundTrips), "64");
            samples.Add("tcp_rtt_p50_us", pingpong?.Value("p50_us"));
            samples.Add("tcp_rtt_p99_us", pingpong?.Value("p99_us"));
        });
        steps.Add(() =>
        {
            samples.Add("python_lines_per_s", context.Peer("popen_lines.py", Text(Lines))?.Value("lines_per_s"));
            var wc = context.Command("/bin/sh", "-c", $"seq {Lines} | wc -l");
            samples.Add("wc_lines_per_s", wc is null ? null : Lines / (wc.WallMs / 1000));
        });

        Alternation.Run("remote", context.Rounds(5), [.. steps]);

        var table = new ResultTable($"remote: between two nodes (each of ours stops at its N or after {BudgetMs / 1000} s; the counts moved are shown)", samples);
        var ratios = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, label, _) in places)
        {
            ratios[key + "_small"] = Compare(table, samples, $"[{label}] queue 64 B, N={SmallCount:N0}, vs TCP one write per message", "msg/s", $"{key}_small_msgs_per_s", "tcp_small_msgs_per_s", ">= 2");
            Compare(table, samples, $"[{label}] queue 64 B, vs TCP batched in 64 KiB writes", "msg/s", $"{key}_small_msgs_per_s", "tcp_batched_msgs_per_s", ">= 0.3");
            table.Single($"[{label}] queue 64 B, messages moved", "msgs", $"{key}_small_msgs");
            ratios[key + "_large"] = Compare(table, samples, $"[{label}] queue 64 KiB, N={LargeCount:N0}, vs TCP", "MB/s", $"{key}_large_mb_per_s", "tcp_large_mb_per_s", "");
            table.Single($"[{label}] queue 64 KiB, messages moved", "msgs", $"{key}_large_msgs");
            ratios[key + "_rtt"] = Compare(table, samples, $"[{label}] round trip 64 B p50, N={RoundTrips:N0}, vs TCP ping-pong", "us", $"{key}_rtt_p50_us", "tcp_rtt_p50_us", "");
            Compare(table, samples, $"[{label}] round trip 64 B p99", "us", $"{key}_rtt_p99_us", "tcp_rtt_p99_us", "");
            table.Single($"[{label}] round trips timed", "trips", $"{key}_rtt_count");
            ratios[key + "_lines_local"] = Compare(table, samples, $"[{label}] piped output, seq {Lines:N0} on the reader's node, vs Python Popen", "lines/s", $"{key}_lines_local_per_s", "python_lines_per_s", "");
            Compare(table, samples, $"[{label}] piped output, same node, vs seq | wc -l", "lines/s", $"{key}_lines_local_per_s", "wc_lines_per_s", "");
            table.Single($"[{label}] piped output, same node, lines read", "lines", $"{key}_lines_local");
            ratios[key + "_lines_remote"] = Compare(table, samples, $"[{label}] piped output, seq on the other node, vs Python Popen", "lines/s", $"{key}_lines_remote_per_s", "python_lines_per_s", "");
            table.Single($"[{label}] piped output, other node, lines read", "lines", $"{key}_lines_remote");
        }

        table.Single("peer: TCP batched, 64 B", "msg/s", "tcp_batched_msgs_per_s");
        table.Single("peer: seq | wc -l", "lines/s", "wc_lines_per_s");
        table.Print();
        string Ratio(string name) => ResultTable.Format(ratios[name], RatioDigits(ratios[name]));
        return
            $"remote ratio_small={Ratio("local_small")} ratio_large={Ratio("local_large")} ratio_rtt={Ratio("local_rtt")} " +
            $"ratio_lines_local={Ratio("local_lines_local")} ratio_lines_remote={Ratio("local_lines_remote")}";
    }

    /// <summary>A compared row whose ratio keeps three significant digits: before the pipelined transport some are below 0.001.</summary>
    private static double Compare(ResultTable table, Samples samples, string label, string unit, string ours, string peer, string target) =>
        table.Compare(label, unit, ours, peer, target, RatioDigits(samples.Median(ours) / samples.Median(peer)));

    /// <summary>Fixed-point digits for three significant ones, never an exponent (0.0000915, 82.5, 225).</summary>
    private static string RatioDigits(double ratio) =>
        double.IsFinite(ratio) && ratio > 0
            ? "F" + Math.Max(0, 2 - (int)Math.Floor(Math.Log10(ratio))).ToString(CultureInfo.InvariantCulture)
            : "0.00";

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
