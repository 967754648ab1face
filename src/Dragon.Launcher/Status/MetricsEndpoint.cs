using Dragon.Services.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Dragon.Launcher.Status;

/// <summary>
/// <c>dragon --metrics-port PORT</c> (or <c>DRAGON_METRICS_PORT</c>): the launcher serves the run's metrics (meter
/// "Dragon") for Prometheus at <c>http://localhost:PORT/metrics</c>, through OpenTelemetry's
/// Prometheus exporter. It listens on the loopback only: the figures name hosts, programs and channels.
/// </summary>
internal static class MetricsEndpoint
{
    public const string PortVariable = "DRAGON_METRICS_PORT";

    public static IDisposable Start(int port) =>
        Sdk.CreateMeterProviderBuilder()
            .AddMeter(DragonMeter.Name)
            .AddPrometheusHttpListener(options =>
            {
                options.Host = "localhost";
                options.Port = port;
                options.ScrapeResponseCacheDurationMilliseconds = 0;
            })
            .Build();
}
