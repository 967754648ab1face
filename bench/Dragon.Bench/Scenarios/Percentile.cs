namespace Dragon.Bench.Scenarios;

/// <summary>Nearest-rank percentiles and medians.</summary>
internal static class Percentile
{
    /// <summary>The <paramref name="percent"/>th percentile of an ascending array (nearest rank).</summary>
    public static double OfSorted(IReadOnlyList<double> sorted, double percent)
    {
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(percent / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    /// <summary>The median (mean of the two middle values for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
