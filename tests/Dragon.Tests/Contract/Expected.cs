namespace Dragon.Tests.Contract;

/// <summary>
/// What the contract expects of the API's one timeout convention, and the time bounds it allows on a shared, noisy
/// machine.
/// </summary>
internal static class Expected
{
    /// <summary>How each timed-out wait that is not a Try-form ends, by its exception's type name.</summary>
    public static class TimedOut
    {
        public const string QueueGet = nameof(TimeoutException);
        public const string QueuePut = nameof(TimeoutException);
        public const string PipeReceive = nameof(TimeoutException);

        /// <summary>The waiter that timed out; the others see <see cref="BrokenBarrierException"/>.</summary>
        public const string BarrierWait = nameof(TimeoutException);

        /// <summary>GetAsync(timeout) and PutAsync(timeout) follow the same convention as the blocking forms.</summary>
        public const string AsyncQueueDeadline = nameof(TimeoutException);
    }

    /// <summary>What a cancelled wait ends with.</summary>
    public const string Cancelled = nameof(OperationCanceledException);

    /// <summary>A timed wait took about its timeout: not less (a little clock slack), and not 2 s more.</summary>
    public static void AboutTheTimeout(double askedMs, double tookMs, string what) =>
        Xunit.Assert.True(tookMs >= askedMs * 0.95 && tookMs < askedMs + 2000, $"{what}: {askedMs} ms asked, {tookMs:F1} ms taken");

    /// <summary>A try-once (zero timeout) returned at once: well under the 1 s the timed waits of the contract ask.</summary>
    public static void AtOnce(double tookMs, string what) =>
        Xunit.Assert.True(tookMs < 500, $"{what}: {tookMs:F1} ms for a zero timeout");

    /// <summary>Something another process did (a kill, a close, a send) took effect within 2 s.</summary>
    public static void Within2s(double tookMs, string what) =>
        Xunit.Assert.True(tookMs < 2000, $"{what}: {tookMs:F1} ms");

    /// <summary>
    /// A call blocked until another process released it 500 ms after being signalled: it did block (at least
    /// 400 ms), and went on within 2 s of the release.
    /// </summary>
    public static void BlockedUntilReleased(double tookMs, string what) =>
        Xunit.Assert.True(tookMs >= 400 && tookMs < 2500, $"{what}: blocked {tookMs:F1} ms (released 500 ms after the signal)");

    /// <summary>A cancel took effect promptly (the cancel-latency tests hold the tight bound; this one is generous).</summary>
    public static void PromptCancel(double tookMs, string what) =>
        Xunit.Assert.True(tookMs < 1000, $"{what}: {tookMs:F1} ms from Cancel() to the end of the wait");
}
