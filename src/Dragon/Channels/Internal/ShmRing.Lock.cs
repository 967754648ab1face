using System.Runtime.CompilerServices;

namespace Dragon.Channels.Internal;

// The robust producer and consumer locks, and the waiting policy shared by all blocking paths.
internal sealed unsafe partial class ShmRing
{
    private const int LockContended = 0x4000_0000; // above any pid (pid_max <= 2^22)
    internal const int LockPidMask = 0x3FFF_FFFF;
    private const int SpinIterations = 40;

    /// <summary>
    /// How long a waiter spins before it sleeps on the futex, beyond the first few spins: 0 by default (sleep soon,
    /// leave the CPU to others); set <c>DRAGON_CHANNEL_SPIN_US</c> to trade CPU for latency (the "spinning mode").
    /// </summary>
    private static readonly long s_spinTicks = ReadSpinTicks();

    private static long ReadSpinTicks() =>
        long.TryParse(Environment.GetEnvironmentVariable("DRAGON_CHANNEL_SPIN_US"), out var us) && us > 0
            ? us * System.Diagnostics.Stopwatch.Frequency / 1_000_000
            : 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool KeepSpinning(ref int spins, long spinStart)
    {
        if (spins < SpinIterations)
        {
            spins++;
            return true;
        }

        return s_spinTicks > 0 && System.Diagnostics.Stopwatch.GetTimestamp() - spinStart < s_spinTicks;
    }

    /// <summary>How long a zero-timeout send or receive waits for the lock (not for room or data).</summary>
    private static readonly TimeSpan LockGraceForTryOnce = TimeSpan.FromMilliseconds(5);

    // How long a sleeper goes without re-checking that the process it waits on is alive.
    private const long LivenessSliceNanoseconds = 100_000_000;

    // How long a sleeper whose token can be cancelled goes without looking at it: the bound on a cancel's delay.
    private const long CancelSliceNanoseconds = 20_000_000;

    /// <summary>The longest single futex sleep for a wait with <paramref name="remaining"/> nanoseconds left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long SleepSlice(long remaining, CancellationToken cancellationToken) =>
        Math.Min(remaining, cancellationToken.CanBeCanceled ? CancelSliceNanoseconds : LivenessSliceNanoseconds);

    private static readonly int s_pid = Environment.ProcessId;

    internal enum LockResult
    {
        TimedOut,
        Cancelled,
        Acquired,
        // Taken over from a dead owner: its "I am sleeping" flags may be stale.
        Recovered,
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static LockResult AcquireLock(int* lockWord, ref WaitDeadline deadline, CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref *lockWord, s_pid, 0) == 0)
        {
            return LockResult.Acquired;
        }

        return AcquireLockSlow(lockWord, ref deadline, cancellationToken);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static LockResult AcquireLockSlow(int* lockWord, ref WaitDeadline deadline, CancellationToken cancellationToken)
    {
        if (deadline.IsZero)
        {
            // "Try once" is about room in the ring, not about the lock: another producer holds it only for one
            // copy, so wait a little for it (and take it over if its owner died) rather than fail a try at once.
            var grace = WaitDeadline.From(LockGraceForTryOnce);
            return AcquireLockSlow(lockWord, ref grace, cancellationToken);
        }

        if (!deadline.IsZero)
        {
            deadline.Start();
            var spinner = default(SpinWait);
            for (var i = 0; i < SpinIterations; i++)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
                if (Volatile.Read(ref *lockWord) == 0 && Interlocked.CompareExchange(ref *lockWord, s_pid, 0) == 0)
                {
                    return LockResult.Acquired;
                }
            }
        }

        while (true)
        {
            var observed = Volatile.Read(ref *lockWord);
            if (observed == 0)
            {
                // Others may sleep behind us, so keep the contended bit: our release then wakes one.
                if (Interlocked.CompareExchange(ref *lockWord, s_pid | LockContended, 0) == 0)
                {
                    return LockResult.Acquired;
                }

                continue;
            }

            var remaining = deadline.RemainingNanoseconds();
            if (remaining == 0)
            {
                return LockResult.TimedOut;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return LockResult.Cancelled;
            }

            var contended = observed | LockContended;
            if (observed != contended && Interlocked.CompareExchange(ref *lockWord, contended, observed) != observed)
            {
                continue;
            }

            if (!Futex.Wait(lockWord, contended, SleepSlice(remaining, cancellationToken))
                && !ProcessLiveness.IsAlive(observed & LockPidMask)
                && Interlocked.CompareExchange(ref *lockWord, s_pid | LockContended, contended) == contended)
            {
                return LockResult.Recovered;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ReleaseLock(int* lockWord)
    {
        if ((Interlocked.Exchange(ref *lockWord, 0) & LockContended) != 0)
        {
            Futex.Wake(lockWord, 1);
        }
    }

    /// <summary>
    /// True when no live process holds the producer lock. Without <paramref name="checkLiveness"/>
    /// only a free lock counts, which costs no syscall.
    /// </summary>
    private bool ProducerLockAbandoned(bool checkLiveness)
    {
        var owner = Volatile.Read(ref _header->ProducerLock) & LockPidMask;
        return owner == 0 || (checkLiveness && !ProcessLiveness.IsAlive(owner));
    }

    private void SignalData()
    {
        Interlocked.Increment(ref _header->DataEvent);
        Futex.Wake(&_header->DataEvent, int.MaxValue);
    }

    private void SignalSpace()
    {
        Interlocked.Increment(ref _header->SpaceEvent);
        Futex.Wake(&_header->SpaceEvent, int.MaxValue);
    }
}
