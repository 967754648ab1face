using System.Globalization;
using System.Text;

namespace Dragon.Bench.Driver;

/// <summary>The printed result of one benchmark: a row per figure, ours beside the peer's when there is one.</summary>
internal sealed class ResultTable(string title, Samples samples)
{
    private readonly List<string[]> _rows = [];

    /// <summary>A compared figure; the ratio is ours / peer's medians, printed with <paramref name="ratioDigits"/>.</summary>
    public double Compare(string label, string unit, string ours, string peer, string target, string ratioDigits = "0.00")
    {
        var ratio = samples.Median(ours) / samples.Median(peer);
        _rows.Add([label, Cell(ours, unit), Cell(peer, unit), Format(ratio, ratioDigits), target]);
        return ratio;
    }

    /// <summary>A figure of ours alone.</summary>
    public void Single(string label, string unit, string ours, string note = "")
    {
        _rows.Add([label, Cell(ours, unit), "", "", note]);
    }

    public void Print()
    {
        string[] header = ["", "ours median [min..max] (n)", "peer median [min..max] (n)", "ours/peer", "target / note"];
        var all = _rows.Prepend(header).ToList();
        var widths = Enumerable.Range(0, header.Length).Select(c => all.Max(r => r[c].Length)).ToArray();
        var output = new StringBuilder();
        output.AppendLine().AppendLine(title);
        foreach (var row in all)
        {
            output.AppendLine(string.Join("  ", row.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
        }

        Console.Write(output.ToString());
    }

    private string Cell(string name, string unit)
    {
        var count = samples.Count(name);
        if (count == 0)
        {
            return "no data";
        }

        var (min, max) = samples.Range(name);
        var digits = samples.Median(name) >= 100 ? "0" : "0.0##";
        return $"{Format(samples.Median(name), digits)} {unit} [{Format(min, digits)}..{Format(max, digits)}] ({count})";
    }

    public static string Format(double value, string digits) =>
        double.IsNaN(value) || double.IsInfinity(value) ? "n/a" : value.ToString(digits, CultureInfo.InvariantCulture);
}
