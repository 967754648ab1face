using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Diagnostics;

/// <summary>
/// The run seen from outside while the reference workflow runs: its Prometheus figures (kept for one final scrape
/// with <c>--metrics-linger</c>) and its traces and metrics sent to an OTLP collector.
/// </summary>
public sealed partial class WorkflowTelemetryTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(150);
    private readonly DragonRun _dragon = new();

    [Fact]
    public async Task Scrape_ReferenceWorkflow_CountsItsProcessesMpiJobsAndResults()
    {
        var port = ObservedRun.FreePort();
        using var dragon = _dragon.StartDragon(
        [
            "--metrics-port", ObservedRun.Text(port), "--metrics-linger", "60",
            Repo.Built("MpiWorkflow"), "--producers", "5", "--concurrent", "2", "--ranks", "2", "--mpi-args", "--warmup 5 -i 50",
        ]);
        var stdout = dragon.StandardOutput.ReadToEndAsync();
        var stderr = dragon.StandardError.ReadToEndAsync();

        // Scrape while it runs, as Prometheus would, until the run says its figures are final.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow + s_timeout;
        var mostLive = 0.0;
        var scrapes = 0;
        PrometheusText? metrics = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                metrics = new PrometheusText(await http.GetStringAsync(new Uri($"http://localhost:{port}/metrics")));
                scrapes++;
                mostLive = Math.Max(mostLive, metrics.Sum("dragon_process_live"));
                if (metrics.Sum("dragon_run_finished") == 1)
                {
                    break;
                }
            }
            catch (HttpRequestException) when (!dragon.HasExited)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        Assert.True(dragon.WaitForExit(s_timeout), "dragon did not end");
        var because = $"--- stdout\n{await stdout}\n--- stderr\n{await stderr}\n--- last scrape\n{metrics?.Text}";
        Assert.True(dragon.ExitCode == 0, because);
        Assert.NotNull(metrics);
        Assert.True(metrics.Sum("dragon_run_finished") == 1, because);

        // Seen during the run: the head, the consumer and at least one producer with its ranks at once.
        Assert.True(scrapes >= 3 && mostLive >= 3, $"{scrapes} scrapes, at most {mostLive} live\n{because}");

        // What the workflow did: the head, a consumer, 5 producers, each an MPI job of 2 ranks with a parser for
        // rank 0's output; every one exited with code 0.
        var results = int.Parse(ResultsLine().Match(await stdout).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(results == 65, because);
        const int processes = 1 + 1 + 5 + (5 * 2) + 5;
        Assert.True(metrics.Sum("dragon_process_started_total") == processes, because);
        Assert.True(metrics.Sum("dragon_process_exited_total", "reason=\"exited\"") == processes, because);
        Assert.True(metrics.Sum("dragon_process_exited_total") == processes, because);
        Assert.True(metrics.Sum("dragon_process_live") == 0, because);
        Assert.True(metrics.Sum("dragon_process_start_duration_seconds_count") == processes, because);
        Assert.True(metrics.Sum("dragon_pmi_jobs_total", "dragon_pmi_ranks=\"2\"") == 5, because);
        Assert.True(metrics.Sum("dragon_pmi_wireup_duration_seconds_count") == 5, because);
        Assert.True(metrics.Sum("dragon_pmi_wireup_duration_seconds_sum") > 0, because);

        // The results queue (destroyed by the time of the last scrape, its figures kept): every result the parsers
        // put, the consumer took. The failures queue saw nothing.
        var channels = metrics.LabelValues("dragon_queue_messages_sent_total", "dragon_channel_name");
        var resultQueues = channels.Where(c => metrics.Sum("dragon_queue_messages_sent_total", $"dragon_channel_name=\"{c}\"") == results).ToArray();
        var queue = $"dragon_channel_name=\"{Assert.Single(resultQueues)}\"";
        Assert.True(metrics.Sum("dragon_queue_messages_received_total", queue) == results, because);
        Assert.True(metrics.Sum("dragon_queue_sent_bytes_total", queue) > results * 8, because);
        Assert.True(metrics.Sum("dragon_queue_depth", queue) == 0, because);
        Assert.True(channels.Count(c => metrics.Sum("dragon_queue_messages_sent_total", $"dragon_channel_name=\"{c}\"") == 0) >= 1, because);

        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Otlp_MpiJob_ExportsStartSpansGroupSpanAndMetrics()
    {
        using var collector = new OtlpCollector();
        var result = _dragon.Run(s_timeout, "--otlp-endpoint", collector.Endpoint, "--local-nodes", "2", "-n", "2", Repo.MpiProgram("mpitest"), "hello");
        Assert.True(result.ExitCode == 0, result.ToString());

        // The exporter sent before dragon exited: what it posted is here.
        var traces = collector.Bodies("/v1/traces");
        var metrics = collector.Bodies("/v1/metrics");
        Assert.True(traces.Length >= 1, $"no trace export; requests: {collector.Describe()}");
        Assert.True(metrics.Length >= 1, $"no metric export; requests: {collector.Describe()}");

        // A span's name is field 5 of the OTLP Span message: tag 0x2a, its length, its UTF-8 bytes (attribute keys
        // are tagged 0x0a, so "dragon.group.id" does not count). Two start spans (one per rank), one group span.
        var allTraces = traces.SelectMany(b => b).ToArray();
        Assert.Equal(2, Occurrences(allTraces, SpanName("dragon.process.start")));
        Assert.Equal(1, Occurrences(allTraces, SpanName("dragon.group")));
        Assert.Contains(metrics, b => Occurrences(b, "dragon.process.started"u8) > 0 && Occurrences(b, "dragon.pmi.jobs"u8) > 0);
        _dragon.AssertNothingLeft();
    }

    private static byte[] SpanName(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        return [0x2a, (byte)bytes.Length, .. bytes];
    }

    private static int Occurrences(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle)
    {
        var count = 0;
        int at;
        while ((at = haystack.IndexOf(needle)) >= 0)
        {
            count++;
            haystack = haystack[(at + needle.Length)..];
        }

        return count;
    }

    [GeneratedRegex(@"consumer: (\d+) results")]
    private static partial Regex ResultsLine();

    public void Dispose() => _dragon.Dispose();

    /// <summary>A minimal OTLP/HTTP collector: takes every POST, keeps its body by path, answers 200.</summary>
    private sealed class OtlpCollector : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly List<(string Path, byte[] Body)> _requests = [];
        private readonly Task _loop;

        public OtlpCollector()
        {
            var port = ObservedRun.FreePort();
            Endpoint = $"http://localhost:{port}";
            _listener.Prefixes.Add(Endpoint + "/");
            _listener.Start();
            _loop = Task.Run(LoopAsync);
        }

        public string Endpoint { get; }

        public byte[][] Bodies(string path)
        {
            lock (_requests)
            {
                return [.. _requests.Where(r => r.Path == path).Select(r => r.Body)];
            }
        }

        public string Describe()
        {
            lock (_requests)
            {
                return string.Join(", ", _requests.Select(r => $"{r.Path} ({r.Body.Length} B)"));
            }
        }

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                lock (_requests)
                {
                    _requests.Add((context.Request.Url!.AbsolutePath, body.ToArray()));
                }

                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
