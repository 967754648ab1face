using System.Globalization;

namespace Dragon.Bench.Scenarios;

/// <summary>
/// The lines a head program prints for the driver: <c>BENCH name=value</c>, one figure per line, invariant culture.
/// </summary>
internal static class Report
{
    public const string Prefix = "BENCH ";

    public static void Value(string name, double value) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Prefix}{name}={value:R}"));

    /// <summary>The run id and directory, so the driver can check that the run left nothing behind.</summary>
    public static void RunId()
    {
        Console.WriteLine($"{Prefix}run_id={SystemInfo.RunId}");
        Console.WriteLine($"{Prefix}run_dir={Environment.GetEnvironmentVariable("DRAGON_RUN_DIR")}");
    }

    public static double Milliseconds(long startTimestamp, long endTimestamp) =>
        (endTimestamp - startTimestamp) * 1000.0 / System.Diagnostics.Stopwatch.Frequency;
}
