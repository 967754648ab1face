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

    /// <summary>Starts serving; throws <see cref="MetricsEndpointException"/> when the port cannot be listened on.</summary>
    public static IDisposable Start(int port)
    {
        try
        {
            return Sdk.CreateMeterProviderBuilder()
                .AddMeter(DragonMeter.Name)
                .AddPrometheusHttpListener(options =>
                {
                    options.Host = "localhost";
                    options.Port = port;
                    options.ScrapeResponseCacheDurationMilliseconds = 0;
                })
                .Build();
        }
        catch (InvalidOperationException e)
        {
            throw new MetricsEndpointException($"cannot serve metrics on port {port}: {e.InnerException?.Message ?? e.Message}");
        }
    }
}

/// <summary>The metrics port cannot be listened on (in use, or not allowed); dragon says so and exits 1 before the run starts.</summary>
internal sealed class MetricsEndpointException(string message) : Exception(message);
