using System.Globalization;

namespace Dragon.Bench.Driver;

/// <summary>One finished command: its wall time, exit code, the BENCH figures it printed, and its output.</summary>
internal sealed class CommandResult
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public CommandResult(string description, long startTimestamp, double wallMs, double cpuMs, int exitCode, string stdout, string stderr)
    {
        Description = description;
        StartTimestamp = startTimestamp;
        WallMs = wallMs;
        CpuMs = cpuMs;
        ExitCode = exitCode;
        Stdout = stdout;
        Stderr = stderr;
        foreach (var line in stdout.Split('\n'))
        {
            if (line.StartsWith(Scenarios.Report.Prefix, StringComparison.Ordinal) && line.IndexOf('=', StringComparison.Ordinal) is var eq and > 0)
            {
                _values[line[Scenarios.Report.Prefix.Length..eq]] = line[(eq + 1)..].Trim();
            }
        }
    }

    public string Description { get; }

    /// <summary>Stopwatch timestamp (CLOCK_MONOTONIC, shared with every process) just before the start.</summary>
    public long StartTimestamp { get; }

    /// <summary>From just before the process was started to its exit, in milliseconds.</summary>
    public double WallMs { get; }

    /// <summary>CPU time (user + system) of the command and every descendant it reaped, in milliseconds.</summary>
    public double CpuMs { get; }

    public int ExitCode { get; }

    public string Stdout { get; }

    public string Stderr { get; }

    public bool Succeeded => ExitCode == 0;

    /// <summary>A figure the command printed; null when it did not print it.</summary>
    public double? Value(string name) =>
        _values.TryGetValue(name, out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;

    /// <summary>Milliseconds from the start of the command to a timestamp it printed; null when absent.</summary>
    public double? MillisecondsTo(string timestampName) =>
        Value(timestampName) is { } stamp ? (stamp - StartTimestamp) * 1000.0 / System.Diagnostics.Stopwatch.Frequency : null;

    /// <summary>A text value the command printed (such as the run id); null when absent.</summary>
    public string? Text(string name) => _values.GetValueOrDefault(name);
}
