using System.Globalization;

namespace Dragon.Bench.Scenarios;

/// <summary>Positional integer arguments of the scenarios, with defaults.</summary>
internal static class Arg
{
    public static int Int(string[] args, int index, int fallback) =>
        index < args.Length ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
}
