namespace TaskFarm;

/// <summary>One task of the farm: a seed and how many points to throw.</summary>
public sealed record PiSample(int Seed, int Samples);

/// <summary>A run of consecutive seeds estimated by one task.</summary>
public sealed record PiRange(int FirstSeed, int Count, int Samples);

/// <summary>The tasks: static methods, so warm workers (this same program) can run them.</summary>
public static class MonteCarlo
{
    /// <summary>Points of the unit square that fall in the quarter circle, from a seeded generator (the same on any worker).</summary>
    public static int CountHits(PiSample sample)
    {
        var random = new Random(sample.Seed);
        var hits = 0;
        for (var i = 0; i < sample.Samples; i++)
        {
            var (x, y) = (random.NextDouble(), random.NextDouble());
            if ((x * x) + (y * y) <= 1.0)
            {
                hits++;
            }
        }

        return hits;
    }

    /// <summary>Pi estimated from a run of seeds.</summary>
    public static double Estimate(PiRange range)
    {
        long hits = 0;
        for (var seed = range.FirstSeed; seed < range.FirstSeed + range.Count; seed++)
        {
            hits += CountHits(new PiSample(seed, range.Samples));
        }

        Console.WriteLine($"seeds {range.FirstSeed}..{range.FirstSeed + range.Count - 1}: {hits} hits");
        return 4.0 * hits / ((double)range.Count * range.Samples);
    }

    public static double Average(double[] estimates) => estimates.Average();
}
