using Dragon.Services.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Dragon.Launcher.Status;

/// <summary>
/// <c>dragon --otlp-endpoint URL</c> (or <c>DRAGON_OTLP_ENDPOINT</c>): the run's metrics (meter "Dragon") and traces
/// (activity source "Dragon": process starts, group lifetimes) go to an OpenTelemetry collector over OTLP/HTTP
/// protobuf, metrics every <see cref="MetricInterval"/> and once more when the run ends. Off by default; when off,
/// no listener is attached and the instruments cost next to nothing.
/// </summary>
internal sealed class OtlpExport : IDisposable
{
    public const string EndpointVariable = "DRAGON_OTLP_ENDPOINT";

    public static readonly TimeSpan MetricInterval = TimeSpan.FromSeconds(5);

    private readonly MeterProvider _metrics;
    private readonly TracerProvider _traces;
    private int _disposed;

    private OtlpExport(Uri endpoint)
    {
        var resource = ResourceBuilder.CreateDefault().AddService("dragon", serviceVersion: LauncherOptions.Version);
        _traces = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource(DragonActivities.Name)
            .AddOtlpExporter(o => Configure(o, endpoint, "v1/traces"))
            .Build();
        _metrics = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(DragonMeter.Name)
            .AddOtlpExporter((o, reader) =>
            {
                Configure(o, endpoint, "v1/metrics");
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)MetricInterval.TotalMilliseconds;
            })
            .Build();
    }

    /// <summary>Starts exporting to <paramref name="endpoint"/> (the collector's base URL, e.g. http://localhost:4318).</summary>
    public static OtlpExport Start(Uri endpoint) => new(endpoint);

    private static void Configure(OtlpExporterOptions options, Uri endpoint, string path)
    {
        options.Protocol = OtlpExportProtocol.HttpProtobuf;
        options.Endpoint = new Uri(endpoint, path);
        options.TimeoutMilliseconds = 5000;
    }

    /// <summary>Sends what is left (the spans ended last and the final figures), then stops.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _traces.ForceFlush(5000);
        _metrics.ForceFlush(5000);
        _traces.Dispose();
        _metrics.Dispose();
    }
}
