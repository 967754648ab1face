using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Dragon.Channels.Internal;

// The producer side: everything here runs under the producer lock.
internal sealed unsafe partial class ShmRing
{
    /// <summary>
    /// Sends one message, waiting while the ring is full for at most <paramref name="timeout"/>
    /// (<see cref="Timeout.InfiniteTimeSpan"/> waits forever, <see cref="TimeSpan.Zero"/> tries once).
    /// The timeout covers the whole message: if it runs out after part of a long message went
    /// in, that part is withdrawn (receivers discard it) and the result is false.
    /// </summary>
    /// <returns>True when the whole message was published; false on timeout, nothing delivered.</returns>
    /// <exception cref="ArgumentException">The message is longer than <see cref="MaxMessageSize"/>.</exception>
    /// <exception cref="InvalidOperationException">The channel is closed.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled while waiting; nothing was delivered.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TrySend(ReadOnlySpan<byte> message, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        SendCore(message, timeout, countUnfinished: true, cancellationToken);

    /// <summary>
    /// Puts back a message that was received but never handed to anyone (its receiver went away), so the next
    /// receiver gets it. A joinable ring already counted it, so it is not counted again.
    /// </summary>
    public bool TryRequeue(ReadOnlySpan<byte> message, TimeSpan timeout) => SendCore(message, timeout, countUnfinished: false, default);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool SendCore(ReadOnlySpan<byte> message, TimeSpan timeout, bool countUnfinished, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (message.Length > _maxMessageSize)
        {
            ThrowTooLarge(message.Length, nameof(message));
        }

        var deadline = WaitDeadline.From(timeout);
        if (Volatile.Read(ref _header->State) != StateOpen)
        {
            ThrowClosed();
        }

        var locked = AcquireLock(&_header->ProducerLock, ref deadline, cancellationToken);
        if (locked == LockResult.TimedOut)
        {
            return false;
        }

        if (locked == LockResult.Cancelled)
        {
            ThrowCancelled(cancellationToken);
        }

        if (locked == LockResult.Recovered)
        {
            Volatile.Write(ref _header->SpaceWaiting, 0);
        }

        var completed = false;
        try
        {
            // Re-checked under the lock: a receiver that saw "closed" and a free lock has
            // already reported end of stream, so nothing may be published after it.
            if (Volatile.Read(ref _header->State) != StateOpen)
            {
                ThrowClosed();
            }

            var tail = _header->Tail;
            var total = message.Length;
            if (tail < _slotCount)
            {
                // First lap: the slots this message reaches may not be backed yet. Backed before anything is
                // written, so a full /dev/shm fails the send cleanly.
                EnsureBacked(tail, total);
            }

            var offset = 0;
            do
            {
                if (tail - _producerHeadCache >= _slotCount && !WaitForSpace(tail, ref deadline, cancellationToken))
                {
                    // Withdrawn (the finally lets a receiver inside this message know): nothing was delivered.
                    if (cancellationToken.IsCancellationRequested)
                    {
                        ThrowCancelled(cancellationToken);
                    }

                    return false;
                }

                var chunk = Math.Min(total - offset, _slotSize);
                var last = offset + chunk == total;
                var slot = SlotAt(tail);
                slot->ChunkLength = chunk;
                slot->MessageLength = total;
                slot->Flags = (offset == 0 ? ShmSlotHeader.FirstFlag : 0) | (last ? ShmSlotHeader.LastFlag : 0);
                message.Slice(offset, chunk).CopyTo(new Span<byte>(slot + 1, chunk));
                offset += chunk;
                tail++;
                if (last && _joinable && countUnfinished)
                {
                    // Counted before it is published: no receiver can hold the item (and TaskDone it) uncounted.
                    Interlocked.Increment(ref _header->Unfinished);
                }

                PublishTail(tail);
            }
            while (offset < total);

            // Plain writes: only the lock holder writes these, and metrics tolerate a stale read.
            if (countUnfinished)
            {
                _header->MessagesSent++;
                _header->BytesSent += total;
            }
            else
            {
                _header->MessagesRequeued++;
            }

            completed = true;
            return true;
        }
        finally
        {
            ReleaseLock(&_header->ProducerLock);
            // A consumer parked in the middle of this message, or waiting to see the end of a
            // closed ring, watches the producer lock: tell it the lock is free. The release was
            // a full fence, so the flag read cannot be stale against the consumer's handshake.
            if (!completed && Volatile.Read(ref _header->DataWaiting) != 0)
            {
                SignalData();
            }
        }
    }

    /// <summary>
    /// Backs the slots a message starting at <paramref name="tail"/> reaches, doubling what is backed (the ring grows
    /// with use, not with its capacity). Called by the producer-lock holder only.
    /// </summary>
    private void EnsureBacked(long tail, int length)
    {
        var needed = Math.Min(_slotCount, tail + Math.Max(1, (length + (long)_slotSize - 1) / _slotSize));
        var backed = Volatile.Read(ref _header->BackedSlots);
        if (needed <= backed)
        {
            return;
        }

        var target = Math.Min(_slotCount, Math.Max(needed, backed * 2));
        var end = ShmRingHeader.Size + (target * _slotStride);
        if (!SharedMapping.TryBack(_base, ShmRingHeader.Size + (backed * _slotStride), end))
        {
            throw new IOException($"shared memory is full: the ring '{_path}' could not grow from {ShmRingHeader.Size + (backed * _slotStride)} to {end} bytes of its {_length} (/dev/shm has no room left)");
        }

        Volatile.Write(ref _header->BackedSlots, target);
    }

    /// <summary>Sends one message, waiting as long as it takes for room.</summary>
    /// <exception cref="ArgumentException">The message is longer than <see cref="MaxMessageSize"/>.</exception>
    /// <exception cref="InvalidOperationException">The channel is closed.</exception>
    public void Send(ReadOnlySpan<byte> message) => TrySend(message, Timeout.InfiniteTimeSpan);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PublishTail(long tail)
    {
        // Exchange, not a plain store: the full fence orders the store before the read of
        // DataWaiting (the sleeper sets the flag, then re-reads Tail, the mirror image).
        Interlocked.Exchange(ref _header->Tail, tail);

        // The waker lowers the flag itself, so a sleeper costs one wake, not one per message until it runs.
        if (Volatile.Read(ref _header->DataWaiting) != 0 && Interlocked.Exchange(ref _header->DataWaiting, 0) != 0)
        {
            SignalData();
        }
    }

    /// <summary>Waits until the slot at <paramref name="tail"/> is free; false on timeout.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private bool WaitForSpace(long tail, ref WaitDeadline deadline, CancellationToken cancellationToken)
    {
        var spins = 0;
        var spinStart = Stopwatch.GetTimestamp();
        var sleeping = false;
        var spinner = default(SpinWait);
        // The flag stays up for a waker to lower (one wake per sleep); lowering it on the way out could hide
        // another sleeper's flag.
        while (true)
        {
            // Same handshake as WaitForData, with AdvanceHead and Close as the wakers.
            var observed = sleeping ? Volatile.Read(ref _header->SpaceEvent) : 0;
            _producerHeadCache = Volatile.Read(ref _header->Head);
            if (tail - _producerHeadCache < _slotCount)
            {
                return true;
            }

            if (Volatile.Read(ref _header->State) != StateOpen)
            {
                ThrowClosed();
            }

            var remaining = deadline.RemainingNanoseconds();
            if (remaining == 0 || cancellationToken.IsCancellationRequested)
            {
                return false;
            }

            if (KeepSpinning(ref spins, spinStart))
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
            else if (!sleeping)
            {
                Interlocked.Exchange(ref _header->SpaceWaiting, 1);
                sleeping = true;
            }
            else
            {
                // No liveness check here: a dead consumer's lock is taken over by the next
                // consumer, and until one comes the ring is simply full.
                Futex.Wait(&_header->SpaceEvent, observed, SleepSlice(remaining, cancellationToken));

                // The waker lowered the flag when it woke us: raise it again before the next sleep.
                sleeping = false;
            }
        }
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowTooLarge(int length, string paramName) =>
        throw new ArgumentException(
            $"message of {length} bytes exceeds the {_maxMessageSize}-byte limit of channel '{_path}'", paramName);
}
