using Dragon.Bench.Scenarios;

namespace Dragon.Bench.Driver;

/// <summary>Named lists of measurements, summarised by their median.</summary>
internal sealed class Samples
{
    private readonly Dictionary<string, List<double>> _values = new(StringComparer.Ordinal);

    public void Add(string name, double? value)
    {
        if (value is not { } v || double.IsNaN(v))
        {
            return;
        }

        if (!_values.TryGetValue(name, out var list))
        {
            _values[name] = list = [];
        }

        list.Add(v);
    }

    public int Count(string name) => _values.TryGetValue(name, out var list) ? list.Count : 0;

    public double Median(string name) => _values.TryGetValue(name, out var list) ? Percentile.Median(list) : double.NaN;

    /// <summary>Lowest and highest value, to show how noisy the runs were.</summary>
    public (double Min, double Max) Range(string name) =>
        _values.TryGetValue(name, out var list) && list.Count > 0 ? (list.Min(), list.Max()) : (double.NaN, double.NaN);
}
