using Dragon;

/// <summary>A DragonPool whose workers are this Native AOT executable.</summary>
public static class AotPoolScenario
{
    private static int s_failures;

    public static long Square(int x) => (long)x * x;

    public static int Fail(int x) => throw new InvalidOperationException($"no {x}");

    public static int PointX(Point p) => p.X;

    public static int Run()
    {
        Check(!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported, "this program runs as Native AOT");
        using var pool = DragonPool.Start(new DragonPoolOptions { Workers = 2 });
        Check(pool.SubmitAsync(Square, 7).GetAwaiter().GetResult() == 49, "a submitted task ran on an AOT worker");
        var results = pool.MapAsync(Square, Enumerable.Range(0, 10_000)).GetAwaiter().GetResult();
        Check(results.Select((r, i) => r == (long)i * i).All(ok => ok), "a map of 10000 returned every result in order");
        try
        {
            pool.SubmitAsync(Fail, 3).GetAwaiter().GetResult();
            Check(false, "a throwing task fails");
        }
        catch (TaskFailedException e)
        {
            Check(e.RemoteExceptionType == typeof(InvalidOperationException).FullName && e.RemoteMessage == "no 3" && !string.IsNullOrEmpty(e.RemoteStackTrace),
                $"a throwing task's exception came back: {e.RemoteExceptionType}: {e.RemoteMessage}");
        }

        try
        {
            pool.SubmitAsync(PointX, new Point(1, 2));
            Check(false, "a record argument without AOT serialization is refused");
        }
        catch (ArgumentException e)
        {
            Check(e.Message.Contains("Native AOT", StringComparison.Ordinal) && e.Message.Contains(nameof(Point), StringComparison.Ordinal),
                $"a record argument without AOT serialization is refused at submit: {e.Message}");
        }

        Check(pool.SubmitAsync(Square, 8).GetAwaiter().GetResult() == 64, "the pool goes on");
        return s_failures == 0 ? 0 : 1;
    }

    private static void Check(bool condition, string what)
    {
        Console.WriteLine(condition ? $"CHECK {what}" : $"FAIL {what}");
        if (!condition)
        {
            s_failures++;
        }
    }
}
