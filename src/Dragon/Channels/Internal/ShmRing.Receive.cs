using System.Diagnostics;
using System.Buffers;
using System.Runtime.CompilerServices;

namespace Dragon.Channels.Internal;

// The consumer side: everything here runs under the consumer lock.
internal sealed unsafe partial class ShmRing
{
    private enum DataStatus
    {
        Available,
        TimedOut,
        EndOfStream,
        // The caller's token was cancelled before any chunk was taken.
        Cancelled,
        // The producer of the message being received let go of it without its last chunk.
        Abandoned,
    }

    /// <summary>
    /// Where a received message goes. Implemented by structs so the generic receive path is
    /// specialised per sink and allocates nothing itself.
    /// </summary>
    private interface IReceiveSink
    {
        /// <summary>Room for a message of <paramref name="length"/> bytes; may be called again if it is abandoned.</summary>
        Span<byte> Begin(int length);

        /// <summary>The message is complete in the span <see cref="Begin"/> returned.</summary>
        void Commit(int length);
    }

    /// <summary>
    /// Receives one message straight from shared memory into <paramref name="destination"/>
    /// (one <see cref="IBufferWriter{T}.GetSpan"/> of the full length, one
    /// <see cref="IBufferWriter{T}.Advance"/> once the message is complete).
    /// Once the first chunk of a message has been taken the receive finishes it regardless of
    /// the timeout and of <paramref name="cancellationToken"/>; its producer is either streaming it or is noticed gone
    /// within a liveness slice. A cancel before that takes nothing from the ring.
    /// </summary>
    /// <returns>False when nothing arrived within <paramref name="timeout"/>.</returns>
    /// <exception cref="EndOfStreamException">The channel is closed and drained.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled while waiting; nothing was received.</exception>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool TryReceive(IBufferWriter<byte> destination, TimeSpan timeout, out int length, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var sink = new BufferWriterSink(destination);
        return Receive(ref sink, timeout, out length, cancellationToken);
    }

    /// <summary>Receives one message into a new array; null when nothing arrived within <paramref name="timeout"/>.</summary>
    /// <exception cref="EndOfStreamException">The channel is closed and drained.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled while waiting; nothing was received.</exception>
    public byte[]? TryReceive(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var sink = new ArraySink();
        return Receive(ref sink, timeout, out _, cancellationToken) ? sink.Array : null;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool Receive<TSink>(ref TSink sink, TimeSpan timeout, out int length, CancellationToken cancellationToken)
        where TSink : struct, IReceiveSink
    {
        ThrowIfDisposed();
        var deadline = WaitDeadline.From(timeout);
        length = 0;
        var locked = AcquireLock(&_header->ConsumerLock, ref deadline, cancellationToken);
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
            Volatile.Write(ref _header->DataWaiting, 0);
        }

        try
        {
            return ReceiveLocked(ref sink, ref deadline, out length, cancellationToken);
        }
        finally
        {
            ReleaseLock(&_header->ConsumerLock);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool ReceiveLocked<TSink>(ref TSink sink, ref WaitDeadline deadline, out int length, CancellationToken cancellationToken)
        where TSink : struct, IReceiveSink
    {
        var head = _header->Head;
        var target = Span<byte>.Empty;
        var messageLength = 0;
        var received = 0;
        var inMessage = false;
        while (true)
        {
            if (head >= _consumerTailCache)
            {
                _consumerTailCache = Volatile.Read(ref _header->Tail);
                if (head >= _consumerTailCache)
                {
                    switch (WaitForData(head, inMessage, ref deadline, cancellationToken))
                    {
                        case DataStatus.TimedOut:
                            length = 0;
                            return false;
                        case DataStatus.Cancelled:
                            // Not inside a message: Head has not moved past anything the caller would have received.
                            ThrowCancelled(cancellationToken);
                            break;
                        case DataStatus.EndOfStream:
                            ThrowEndOfStream();
                            break;
                        case DataStatus.Abandoned:
                            inMessage = false;
                            continue;
                    }
                }
            }

            var slot = SlotAt(head);
            var flags = slot->Flags;
            var chunk = slot->ChunkLength;
            if ((flags & ShmSlotHeader.FirstFlag) != 0)
            {
                // A First while inside a message means that message's producer let go of it.
                messageLength = slot->MessageLength;
                if ((uint)chunk > (uint)_slotSize || (uint)messageLength > (uint)_maxMessageSize || chunk > messageLength)
                {
                    ThrowCorrupt(head, $"chunk {chunk} B of a {messageLength}-byte message");
                }

                // Before consuming the slot: if the sink throws, the message stays for the next try.
                target = sink.Begin(messageLength);
                received = 0;
                inMessage = true;
            }
            else if (!inMessage)
            {
                // Rest of a message whose receiver died or whose sender gave up before we came.
                head++;
                AdvanceHead(head);
                continue;
            }
            else if ((uint)chunk > (uint)(messageLength - received))
            {
                ThrowCorrupt(head, $"chunk {chunk} B overruns a {messageLength}-byte message at {received}");
            }

            new ReadOnlySpan<byte>(slot + 1, chunk).CopyTo(target[received..]);
            received += chunk;
            head++;
            AdvanceHead(head);
            if ((flags & ShmSlotHeader.LastFlag) != 0)
            {
                if (received != messageLength)
                {
                    ThrowCorrupt(head - 1, $"message ends at {received} of {messageLength} bytes");
                }

                sink.Commit(messageLength);
                _header->MessagesReceived++;
                length = messageLength;
                return true;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AdvanceHead(long head)
    {
        // Exchange for the full fence, see PublishTail.
        Interlocked.Exchange(ref _header->Head, head);
        if (Volatile.Read(ref _header->SpaceWaiting) != 0 && Interlocked.Exchange(ref _header->SpaceWaiting, 0) != 0)
        {
            SignalSpace();
        }
    }

    /// <summary>
    /// Waits for a slot at <paramref name="head"/>. Inside a message the caller's timeout is not
    /// applied (see <see cref="TryReceive(IBufferWriter{byte}, TimeSpan, out int, CancellationToken)"/>); instead the
    /// producer lock is watched, and the message is abandoned when no live process holds it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private DataStatus WaitForData(long head, bool inMessage, ref WaitDeadline deadline, CancellationToken cancellationToken)
    {
        var spins = 0;
        var spinStart = Stopwatch.GetTimestamp();
        var sleeping = false;
        var slept = false;
        var spinner = default(SpinWait);
        // The flag stays up for a waker to lower (one wake per sleep); lowering it on the way out could hide
        // another sleeper's flag.
        while (true)
        {
            // Once the flag is up, sample the event before checking anything: whoever changes
            // a condition afterwards sees the flag and bumps the event, so no wake is missed.
            var observed = sleeping ? Volatile.Read(ref _header->DataEvent) : 0;
            if (HasData(head))
            {
                return DataStatus.Available;
            }

            // The producer lock is read after Tail was seen unchanged; a producer publishes
            // before it releases, so "free lock" plus a re-read of Tail settles the question.
            var closed = Volatile.Read(ref _header->State) != StateOpen;
            if ((inMessage || closed) && ProducerLockAbandoned(checkLiveness: slept))
            {
                return HasData(head) ? DataStatus.Available : inMessage ? DataStatus.Abandoned : DataStatus.EndOfStream;
            }

            var remaining = inMessage ? long.MaxValue : deadline.RemainingNanoseconds();
            if (remaining == 0)
            {
                return DataStatus.TimedOut;
            }

            if (!inMessage && cancellationToken.IsCancellationRequested)
            {
                return DataStatus.Cancelled;
            }

            if (KeepSpinning(ref spins, spinStart))
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
            else if (!sleeping)
            {
                // Exchange for the full fence, mirror image of PublishTail.
                Interlocked.Exchange(ref _header->DataWaiting, 1);
                sleeping = true;
            }
            else
            {
                Futex.Wait(&_header->DataEvent, observed, SleepSlice(remaining, inMessage ? default : cancellationToken));
                slept = true;

                // The waker lowered the flag when it woke us: raise it again before the next sleep.
                sleeping = false;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool HasData(long head)
    {
        _consumerTailCache = Volatile.Read(ref _header->Tail);
        return head < _consumerTailCache;
    }

    private readonly struct BufferWriterSink(IBufferWriter<byte> writer) : IReceiveSink
    {
        public Span<byte> Begin(int length) => length == 0 ? Span<byte>.Empty : writer.GetSpan(length)[..length];

        public void Commit(int length)
        {
            if (length > 0)
            {
                writer.Advance(length);
            }
        }
    }

    private struct ArraySink : IReceiveSink
    {
        public byte[]? Array;

        public Span<byte> Begin(int length)
        {
            Array = length == 0 ? [] : GC.AllocateUninitializedArray<byte>(length);
            return Array;
        }

        public readonly void Commit(int length)
        {
        }
    }
}
