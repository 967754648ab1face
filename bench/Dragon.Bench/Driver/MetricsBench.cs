using System.Globalization;
using System.Net;

namespace Dragon.Bench.Driver;

/// <summary>
/// <c>scripts/bench metrics</c>: what the run's metrics and traces cost. Two of the existing benchmarks (1,000,000
/// 64-byte queue messages on one node, against multiprocessing.Queue; a group of 64 <c>/bin/true</c> in a running
/// runtime) run with metrics off twice (the second "off" shows the noise of the machine), with the Prometheus
/// endpoint on and scraped every 250 ms (60 times Prometheus's default rate), and with OTLP export of metrics and
/// traces on to a collector in this process; all interleaved, round after round.
/// </summary>
internal static class MetricsBench
{
    private const string Messages = "1000000";
    private static readonly TimeSpan s_scrapeEvery = TimeSpan.FromMilliseconds(250);

    public static string Run(BenchContext context)
    {
        var samples = new Samples();
        using var collector = new Collector();
        string[] Off() => [];
        string[] Prometheus(int port) => ["--metrics-port", port.ToString(CultureInfo.InvariantCulture)];
        string[] Otlp() => ["--otlp-endpoint", collector.Endpoint];

        void Both(string mode, Func<int, string[]> options, bool scrape)
        {
            samples.Add($"queue_{mode}", Measured(context, options, scrape, "queue", Messages)?.Value("msgs_per_s"));
            samples.Add($"group_{mode}", Measured(context, options, scrape, "group-warm")?.Value("group_ms"));
        }

        Alternation.Run(
            "metrics",
            context.Rounds(7),
            () => Both("off", _ => Off(), scrape: false),
            () => samples.Add("peer", context.Peer("queue_throughput.py", Messages)?.Value("msgs_per_s")),
            () => Both("prometheus", Prometheus, scrape: true),
            () => Both("off2", _ => Off(), scrape: false),
            () => Both("otlp", _ => Otlp(), scrape: false));

        var table = new ResultTable("metrics: the cost of metrics and traces (queue: msg/s, more is better; group: ms, less is better)", samples);
        table.Compare($"queue, metrics off ({Messages} messages; peer: multiprocessing.Queue)", "msg/s", "queue_off", "peer", "the queue benchmark's ratio");
        table.Compare("queue, metrics off again (noise)", "msg/s", "queue_off2", "queue_off", "vs off");
        table.Compare("queue, Prometheus endpoint scraped every 250 ms", "msg/s", "queue_prometheus", "queue_off", "vs off: >= 0.95");
        table.Compare("queue, OTLP export of metrics and traces", "msg/s", "queue_otlp", "queue_off", "vs off: >= 0.95");
        table.Single("group of 64 /bin/true, metrics off", "ms", "group_off");
        table.Compare("group, metrics off again (noise)", "ms", "group_off2", "group_off", "vs off");
        table.Compare("group, Prometheus endpoint scraped every 250 ms", "ms", "group_prometheus", "group_off", "vs off: <= 1.05");
        table.Compare("group, OTLP export of metrics and traces", "ms", "group_otlp", "group_off", "vs off: <= 1.05");
        table.Print();
        Console.WriteLine($"  OTLP collector received {collector.Requests} export requests ({collector.Bytes / 1024} KiB)");

        // Cost in percent of the run without metrics: positive is slower (fewer msg/s, more ms).
        double Slower(string name, string baseline, bool moreIsBetter) =>
            100 * (moreIsBetter ? 1 - (samples.Median(name) / samples.Median(baseline)) : (samples.Median(name) / samples.Median(baseline)) - 1);
        string Pct(double value) => ResultTable.Format(value, "0.0");
        return
            $"metrics queue_noise_pct={Pct(Slower("queue_off2", "queue_off", true))} queue_prometheus_pct={Pct(Slower("queue_prometheus", "queue_off", true))} " +
            $"queue_otlp_pct={Pct(Slower("queue_otlp", "queue_off", true))} group_noise_pct={Pct(Slower("group_off2", "group_off", false))} " +
            $"group_prometheus_pct={Pct(Slower("group_prometheus", "group_off", false))} group_otlp_pct={Pct(Slower("group_otlp", "group_off", false))} " +
            $"queue_ratio_off={ResultTable.Format(samples.Median("queue_off") / samples.Median("peer"), "0.00")}";
    }

    /// <summary>One run of a scenario with the given launcher options; while it runs, a scraper reads the endpoint.</summary>
    private static CommandResult? Measured(BenchContext context, Func<int, string[]> options, bool scrape, string scenario, params string[] args)
    {
        var port = FreePort();
        using var stop = new CancellationTokenSource();
        var scraper = scrape ? Task.Run(() => ScrapeAsync(port, stop.Token)) : Task.CompletedTask;
        try
        {
            return context.OursWithOptions(options(port), scenario, args);
        }
        finally
        {
            stop.Cancel();
            scraper.Wait();
        }
    }

    private static async Task ScrapeAsync(int port, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                _ = await http.GetStringAsync(new Uri($"http://localhost:{port}/metrics"), cancellationToken);
                await Task.Delay(s_scrapeEvery, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet, or no more.
                await Task.Delay(20, CancellationToken.None);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>An OTLP/HTTP sink: answers every export with 200 and counts them.</summary>
    private sealed class Collector : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;
        private long _requests;
        private long _bytes;

        public Collector()
        {
            Endpoint = $"http://localhost:{FreePort()}";
            _listener.Prefixes.Add(Endpoint + "/");
            _listener.Start();
            _loop = Task.Run(LoopAsync);
        }

        public string Endpoint { get; }

        public long Requests => Interlocked.Read(ref _requests);

        public long Bytes => Interlocked.Read(ref _bytes);

        private async Task LoopAsync()
        {
            var buffer = new byte[64 * 1024];
            while (_listener.IsListening)
            {
                HttpListenerContext request;
                try
                {
                    request = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                int read;
                while ((read = await request.Request.InputStream.ReadAsync(buffer)) > 0)
                {
                    Interlocked.Add(ref _bytes, read);
                }

                Interlocked.Increment(ref _requests);
                request.Response.StatusCode = 200;
                request.Response.Close();
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
