using System.Diagnostics.Metrics;

namespace Dragon.Services.Diagnostics;

/// <summary>
/// The names metrics share. Global services create one <see cref="Meter"/> named <see cref="Name"/> per run
/// (<see cref="RunMetrics"/>) and dispose it with the run, so a process that hosts runs one after another (a test
/// runner) keeps no meter of an ended run. Instruments follow OpenTelemetry's naming: <c>dragon.area.thing</c>, units in
/// UCUM (<c>s</c>, <c>By</c>, <c>{process}</c>), attributes <c>dragon.node.index</c> and friends.
/// </summary>
/// <remarks>
/// Instruments cost next to nothing while no listener is attached: counters and histograms check
/// <see cref="Instrument.Enabled"/> before building their attributes, and observable instruments run their callback
/// only when a listener collects (a Prometheus scrape).
/// </remarks>
internal static class DragonMeter
{
    /// <summary>The meter name an exporter subscribes to.</summary>
    public const string Name = "Dragon";

    public const string NodeIndex = "dragon.node.index";
    public const string NodeName = "dragon.node.name";
    public const string ChannelName = "dragon.channel.name";
    public const string Reason = "reason";

    public static Meter Create() =>
        new(Name, typeof(DragonMeter).Assembly.GetName().Version?.ToString(3));
}
