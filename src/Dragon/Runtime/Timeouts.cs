namespace Dragon.Runtime;

/// <summary>Timeouts on the wire: milliseconds, -1 for none.</summary>
internal static class Timeouts
{
    public static long ToMilliseconds(TimeSpan? timeout)
    {
        if (timeout is not { } t || t == Timeout.InfiniteTimeSpan)
        {
            return -1;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(t, TimeSpan.Zero, nameof(timeout));
        return (long)Math.Ceiling(t.TotalMilliseconds);
    }
}
