using System.Globalization;

namespace Dragon.Tests.Diagnostics;

/// <summary>A Prometheus text exposition, read just enough to sum the samples of one series family.</summary>
internal sealed class PrometheusText(string text)
{
    public string Text { get; } = text;

    /// <summary>The sum of the samples named <paramref name="name"/> whose labels include every given <c>key="value"</c>.</summary>
    public double Sum(string name, params string[] labels) => Samples(name, labels).Sum();

    /// <summary>How many samples of that name and those labels there are.</summary>
    public int Count(string name, params string[] labels) => Samples(name, labels).Count();

    /// <summary>The distinct values of one label among the samples of that name, e.g. every channel name.</summary>
    public string[] LabelValues(string name, string label) =>
        [.. Text.Split('\n')
            .Where(line => line.StartsWith(name + "{", StringComparison.Ordinal))
            .SelectMany(line => line[(name.Length + 1)..line.IndexOf('}', StringComparison.Ordinal)].Split(','))
            .Where(pair => pair.StartsWith(label + "=\"", StringComparison.Ordinal))
            .Select(pair => pair[(label.Length + 2)..^1])
            .Distinct()];

    private IEnumerable<double> Samples(string name, string[] labels)
    {
        foreach (var line in Text.Split('\n'))
        {
            if (line.StartsWith('#') || !line.StartsWith(name, StringComparison.Ordinal))
            {
                continue;
            }

            var rest = line[name.Length..];
            var labelText = string.Empty;
            if (rest.StartsWith('{'))
            {
                var end = rest.IndexOf('}', StringComparison.Ordinal);
                labelText = rest[1..end];
                rest = rest[(end + 1)..];
            }
            else if (!rest.StartsWith(' '))
            {
                continue; // a longer name that starts the same
            }

            if (labels.All(l => labelText.Split(',').Contains(l)))
            {
                yield return double.Parse(rest.Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }
    }
}
