using System.Diagnostics;

namespace Dragon.TestApp;

/// <summary>How long a call took and what it threw, as the contract records them (never a judgement).</summary>
internal static class Measure
{
    public static async Task<double> Ms(Func<ValueTask> action)
    {
        var clock = Stopwatch.StartNew();
        await action();
        return clock.Elapsed.TotalMilliseconds;
    }

    public static async Task<(T Value, double Ms)> Ms<T>(Func<ValueTask<T>> action)
    {
        var clock = Stopwatch.StartNew();
        var value = await action();
        return (value, clock.Elapsed.TotalMilliseconds);
    }

    /// <summary>The type name of what the call threw, with its message and how long it took; a null name when it returned.</summary>
    public static async Task<(string? Thrown, string Message, double Ms)> Outcome(Func<ValueTask> action)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await action();
            return (null, string.Empty, clock.Elapsed.TotalMilliseconds);
        }
        catch (Exception e)
        {
            return (e.GetType().Name, e.Message, clock.Elapsed.TotalMilliseconds);
        }
    }

    public static Task<(string? Thrown, string Message, double Ms)> Outcome<T>(Func<ValueTask<T>> action) =>
        Outcome(async () =>
        {
            await action();
        });

    public static async Task<string?> Thrown(Func<ValueTask> action) => (await Outcome(action)).Thrown;

    public static async Task<string?> Thrown<T>(Func<ValueTask<T>> action) => (await Outcome(action)).Thrown;

    /// <summary>
    /// Starts a wait, cancels it 150 ms later, and reports what it ended with and how long after the cancel
    /// (3 s or more: it did not end). The wait must not have ended before the cancel.
    /// </summary>
    public static async Task<(string? Ended, double Ms)> Cancel(Func<CancellationToken, Task> start)
    {
        using var cts = new CancellationTokenSource();
        var wait = start(cts.Token);
        await Task.Delay(150);
        if (wait.IsCompleted)
        {
            return (await Thrown(async () => await wait) ?? "completed before the cancel", 0);
        }

        var clock = Stopwatch.StartNew();
        await cts.CancelAsync();
        await Task.WhenAny(wait, Task.Delay(TimeSpan.FromSeconds(3)));
        var ms = clock.Elapsed.TotalMilliseconds;
        return wait.IsCompleted ? (await Thrown(async () => await wait), ms) : ("still waiting 3 s after the cancel", ms);
    }
}
