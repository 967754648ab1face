using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Dragon.Pool;

/// <summary>
/// What pools measure in the process that owns them, through the meter <see cref="MeterName"/>: tasks submitted and
/// finished by outcome, tasks retried after a worker died, workers replaced, and each task's latency from submit to
/// result. A program exports them with whatever it uses for its own metrics (OpenTelemetry's
/// <c>AddMeter("Dragon.Pool")</c>, or a <see cref="MeterListener"/>). Unobserved, each records nothing: every
/// instrument checks <see cref="Instrument.Enabled"/> first, and a task's submit time is read only while its latency
/// is listened to.
/// </summary>
internal static class PoolMetrics
{
    public const string MeterName = "Dragon.Pool";

    private static readonly Meter s_meter = new(MeterName, typeof(PoolMetrics).Assembly.GetName().Version?.ToString(3));

    private static readonly InstrumentAdvice<double> s_seconds = new()
    {
        HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    };

    public static readonly Counter<long> Submitted = s_meter.CreateCounter<long>("dragon.pool.tasks.submitted", "{task}", "Tasks submitted to pools of this process");
    public static readonly Counter<long> Finished = s_meter.CreateCounter<long>("dragon.pool.tasks.finished", "{task}", "Tasks finished, by outcome (ok, failed, timed_out, given_up)");
    public static readonly Counter<long> Retried = s_meter.CreateCounter<long>("dragon.pool.tasks.retried", "{task}", "Tasks queued again because their worker died");
    public static readonly Counter<long> WorkersReplaced = s_meter.CreateCounter<long>("dragon.pool.workers.replaced", "{worker}", "Workers that died and were replaced");
    public static readonly Histogram<double> Latency = s_meter.CreateHistogram("dragon.pool.task.duration", "s", "From a task's submit to its result", advice: s_seconds);

    /// <summary>Now, when latencies are listened to; else 0 (nothing read).</summary>
    public static long Clock() => Latency.Enabled ? Stopwatch.GetTimestamp() : 0;

    public static void Add(Counter<long> counter, long count, string? outcome = null)
    {
        if (count > 0 && counter.Enabled)
        {
            if (outcome is null)
            {
                counter.Add(count);
            }
            else
            {
                counter.Add(count, new KeyValuePair<string, object?>("outcome", outcome));
            }
        }
    }

    /// <summary>One latency per task of a segment that finished now (they were submitted together).</summary>
    public static void RecordLatency(long submittedAt, int tasks)
    {
        if (submittedAt == 0 || !Latency.Enabled)
        {
            return;
        }

        var seconds = Stopwatch.GetElapsedTime(submittedAt).TotalSeconds;
        for (var i = 0; i < tasks; i++)
        {
            Latency.Record(seconds);
        }
    }
}
