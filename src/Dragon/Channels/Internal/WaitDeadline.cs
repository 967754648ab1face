using System.Diagnostics;

namespace Dragon.Channels.Internal;

/// <summary>
/// A timeout turned into a deadline. The clock is read only when a wait actually starts, so the
/// path that never blocks does not pay for a timestamp.
/// </summary>
internal struct WaitDeadline
{
    private const long Infinite = -1;

    private readonly long _timeoutTicks;
    private long _startTicks;

    private WaitDeadline(long timeoutTicks)
    {
        _timeoutTicks = timeoutTicks;
    }

    /// <summary>True for <see cref="TimeSpan.Zero"/>: try once, never wait.</summary>
    public readonly bool IsZero => _timeoutTicks == 0;

    /// <summary>Builds a deadline; <see cref="Timeout.InfiniteTimeSpan"/> never expires.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative and not infinite.</exception>
    public static WaitDeadline From(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return new WaitDeadline(Infinite);
        }

        if (timeout < TimeSpan.Zero)
        {
            ThrowNegative(timeout);
        }

        // Anything beyond ~100 years is as good as infinite and would overflow the tick maths.
        var seconds = timeout.TotalSeconds;
        return seconds > 3e9 ? new WaitDeadline(Infinite) : new WaitDeadline((long)(seconds * Stopwatch.Frequency));
    }

    /// <summary>Starts the clock if it has not started yet.</summary>
    public void Start()
    {
        if (_startTicks == 0)
        {
            _startTicks = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>Nanoseconds left, 0 when expired, <see cref="long.MaxValue"/> when infinite.</summary>
    public long RemainingNanoseconds()
    {
        if (_timeoutTicks == Infinite)
        {
            return long.MaxValue;
        }

        if (_timeoutTicks == 0)
        {
            return 0;
        }

        Start();
        var left = _timeoutTicks - (Stopwatch.GetTimestamp() - _startTicks);
        if (left <= 0)
        {
            return 0;
        }

        return Stopwatch.Frequency == 1_000_000_000 ? left : (long)(left * (1e9 / Stopwatch.Frequency));
    }

    private static void ThrowNegative(TimeSpan timeout) =>
        throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "timeout must be non-negative or Timeout.InfiniteTimeSpan");
}
