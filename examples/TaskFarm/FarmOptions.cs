using System.Globalization;

namespace TaskFarm;

/// <summary>The farm's command line.</summary>
public sealed record FarmOptions(int Tasks, int Samples, int? Workers)
{
    public const string Usage = "usage: TaskFarm [--tasks N (100000)] [--samples N (1000)] [--workers N (the CPUs the run was granted)]";

    public static FarmOptions Parse(string[] args)
    {
        var options = new FarmOptions(100_000, 1_000, null);
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--tasks" => options with { Tasks = Positive(args[i], value) },
                "--samples" => options with { Samples = Positive(args[i], value) },
                "--workers" => options with { Workers = Positive(args[i], value) },
                _ => throw new ArgumentException($"unknown option '{args[i]}'"),
            };
            i++;
        }

        return options;
    }

    private static int Positive(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{name} takes a positive whole number, not '{value}'");
}
