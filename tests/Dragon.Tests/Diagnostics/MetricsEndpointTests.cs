using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Diagnostics;

/// <summary><c>dragon --metrics-port</c>: a Prometheus scrape during a workflow finds what the workflow did.</summary>
public sealed class MetricsEndpointTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);
    private readonly DragonRun _dragon = new();

    /// <param name="wlm">"local": node services inside the launcher; "fork": node services as processes, whose
    /// figures reach the launcher in their periodic notices.</param>
    [Theory]
    [InlineData("local")]
    [InlineData("fork")]
    public async Task Scrape_DuringWorkflow_CountsItsProcessesMpiJobAndQueueTraffic(string wlm)
    {
        var port = ObservedRun.FreePort();
        string[] nodes = wlm == "fork" ? ["--wlm", "fork", "--local-nodes", "2"] : ["--local-nodes", "2"];
        using var run = new ObservedRun(_dragon, [.. nodes, "--metrics-port", ObservedRun.Text(port)], "observe-workload", Repo.MpiProgram("mpitest"));
        run.WaitUntilReady(s_timeout);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        PrometheusText metrics;
        while (true)
        {
            // An exit is counted just after the join that saw it returns, and a node service that is a process of its
            // own sends its channels' figures with its next sample: look again for a moment if one lags.
            metrics = new PrometheusText(await http.GetStringAsync(new Uri($"http://localhost:{port}/metrics")));
            if ((metrics.Sum("dragon_process_exited_total") >= 8
                    && metrics.Sum("dragon_queue_messages_received_total", "dragon_channel_name=\"obs-queue-n1\"") >= 3
                    && metrics.Sum("dragon_queue_messages_received_total", "dragon_channel_name=\"obs-queue\"") >= 40)
                || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(100);
        }

        var because = run.Output() + "\n--- metrics\n" + metrics.Text;

        // The head, 5 + 1 processes, 2 MPI ranks; all but the head exited (7 with code 0, one with code 3).
        Assert.True(metrics.Sum("dragon_process_started_total") == 9, because);
        Assert.True(metrics.Sum("dragon_process_exited_total", "reason=\"exited\"") == 7, because);
        Assert.True(metrics.Sum("dragon_process_exited_total", "reason=\"failed\"") == 1, because);
        Assert.True(metrics.Sum("dragon_process_live") == 1, because);
        Assert.True(metrics.Count("dragon_process_live") == 2, because);
        Assert.True(metrics.Sum("dragon_process_start_duration_seconds_count") == 9, because);

        // One MPI job of 2 ranks, wired up once.
        Assert.True(metrics.Sum("dragon_pmi_jobs_total", "dragon_pmi_ranks=\"2\"") == 1, because);
        Assert.True(metrics.Sum("dragon_pmi_wireup_duration_seconds_count") == 1, because);
        Assert.True(metrics.Sum("dragon_pmi_wireup_duration_seconds_sum") > 0, because);

        // 100 items put into obs-queue, 40 taken.
        var queue = "dragon_channel_name=\"obs-queue\"";
        Assert.True(metrics.Sum("dragon_queue_messages_sent_total", queue) == 100, because);
        Assert.True(metrics.Sum("dragon_queue_messages_received_total", queue) == 40, because);
        Assert.True(metrics.Sum("dragon_queue_depth", queue) == 60, because);
        Assert.True(metrics.Sum("dragon_queue_sent_bytes_total", queue) >= 100, because);
        Assert.True(metrics.Sum("dragon_queue_messages_sent_total", queue, "dragon_node_index=\"0\"") == 100, because);

        // 10 put into obs-queue-n1 on node 1, 3 taken.
        var remote = "dragon_channel_name=\"obs-queue-n1\"";
        Assert.True(metrics.Sum("dragon_queue_messages_sent_total", remote, "dragon_node_index=\"1\"") == 10, because);
        Assert.True(metrics.Sum("dragon_queue_messages_received_total", remote) == 3, because);
        Assert.True(metrics.Sum("dragon_queue_depth", remote) == 7, because);

        // Each node's hardware and its host's use (from every node, in the launcher or not).
        Assert.True(metrics.Count("dragon_node_cpus") == 2, because);
        Assert.True(metrics.Count("dragon_node_memory_usage_bytes") == 2 && metrics.Sum("dragon_node_memory_usage_bytes") > 0, because);
        Assert.True(metrics.Count("dragon_node_cpu_utilization") == 2, because);

        // Links as TCP counts them: node 0 reached node 1 (the handshake, 10 puts and 3 gets of obs-queue-n1, about
        // 1 KB in all), so bytes went both ways between them; a separate node service also has its link to the
        // launcher (peer -1).
        var between = metrics.Sum("dragon_link_sent_bytes_total", "dragon_node_index=\"0\"", "dragon_link_peer=\"1\"")
            + metrics.Sum("dragon_link_sent_bytes_total", "dragon_node_index=\"1\"", "dragon_link_peer=\"0\"");
        Assert.True(between > 300, because);
        Assert.True(metrics.Sum("dragon_link_received_bytes_total") > 300, because);
        Assert.True(metrics.Count("dragon_link_rtt_seconds") >= 1 && metrics.Sum("dragon_link_rtt_seconds") < 1, because);
        Assert.True(metrics.Count("dragon_link_sent_bytes_total", "dragon_link_peer=\"-1\"") == (wlm == "fork" ? 2 : 0), because);

        run.Finish(s_timeout);
    }

    [Fact]
    public void MetricsPort_NotANumber_IsAUsageError()
    {
        var result = _dragon.Run(s_timeout, "--metrics-port", "http", "/bin/true");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--metrics-port takes a TCP port", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void MetricsPort_InUse_EndsDragonWithTheReasonBeforeTheRunStarts()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var result = _dragon.Run(s_timeout, "--metrics-port", ObservedRun.Text(port), "/bin/echo", "never");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"dragon: cannot serve metrics on port {port}: Address already in use", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("never", result.Stdout, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
    }

    public void Dispose() => _dragon.Dispose();
}
