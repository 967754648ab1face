namespace Dragon.Runtime;

/// <summary>
/// The one timeout convention of the API: a wait takes a <see cref="TimeSpan"/>? (null or
/// <see cref="Timeout.InfiniteTimeSpan"/>: forever). A form without "Try" that runs out of time throws
/// <see cref="TimeoutException"/> (built here); a Try-form returns false. Either way nothing was taken, held or counted.
/// On the wire a timeout is milliseconds, -1 for none.
/// </summary>
internal static class Timeouts
{
    public static long ToMilliseconds(TimeSpan? timeout, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(timeout))] string? paramName = null)
    {
        if (timeout is not { } t || t == Timeout.InfiniteTimeSpan)
        {
            return -1;
        }

        if (t < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, t, $"a timeout must be zero or more, or Timeout.InfiniteTimeSpan; got {t}");
        }

        return (long)Math.Ceiling(t.TotalMilliseconds);
    }

    /// <summary>The exception of a wait that ran out of time, naming what it waited for and how long.</summary>
    public static TimeoutException Expired(string what, TimeSpan? timeout) =>
        new($"{what} within {Describe(timeout)}");

    private static string Describe(TimeSpan? timeout) => timeout switch
    {
        null => "no time",
        { TotalSeconds: >= 1 } t => $"{t.TotalSeconds:0.###} s",
        { } t => $"{t.TotalMilliseconds:0.###} ms",
    };
}
