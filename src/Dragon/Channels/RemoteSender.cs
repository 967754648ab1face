using System.Collections.Concurrent;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;

namespace Dragon.Channels;

/// <summary>
/// This process's puts to one channel homed on another node. A put is a notice (<see cref="ChannelPut"/>), not a
/// request: it returns once the message is queued to this process's node service within a credit window (at most
/// <see cref="WindowBytes"/> and as many messages as the channel holds, not yet delivered), and the home node reports delivery back in order
/// (<see cref="ChannelPutAck"/>), returning the credit. A full remote channel stops the reports, so the window
/// fills and the next put waits (or times out, taking nothing): memory stays bounded on every node on the way.
/// A failure reported for messages already accepted (their node lost, the channel closed or destroyed) is kept and
/// thrown by the next put or flush, naming the channel and the node.
/// </summary>
internal sealed class RemoteSender
{
    /// <summary>Bytes of messages in flight per sender and channel (one message always may go, whatever its size).</summary>
    public const long WindowBytes = 1 << 20;

    /// <summary>Bytes counted per message besides its payload (frames, bookkeeping).</summary>
    private const int OverheadBytes = 64;

    private static readonly ConcurrentDictionary<ulong, RemoteSender> s_senders = new();

    private readonly Lock _lock = new();
    private readonly ulong _channel;
    private readonly string _describe;
    private readonly string? _name;
    private readonly long _maxInFlight;
    private long _inFlightBytes;
    private long _inFlight;
    private Exception? _failed;
    private bool _closedHere;
    private TaskCompletionSource _changed = NewSignal();

    private RemoteSender(ulong channel, string describe, string? name, long capacity)
    {
        _maxInFlight = Math.Max(1, capacity);
        _channel = channel;
        _describe = describe;
        _name = name;
    }

    /// <summary>This process's sender for the channel of <paramref name="handle"/> (one per channel, shared by its handles).</summary>
    public static RemoteSender For(HostedHandle handle) =>
        s_senders.GetOrAdd(handle.Descriptor.Id, static (id, handle) => new RemoteSender(id, handle.Describe, handle.Descriptor.Name, handle.Descriptor.Capacity), handle);

    /// <summary>A delivery report from the channel's home node.</summary>
    public static void OnAck(ChannelPutAck ack)
    {
        if (s_senders.TryGetValue(ack.ChannelId, out var sender))
        {
            sender.Report(ack);
        }
    }

    /// <summary>The connection to the node service is gone: nothing in flight will be reported any more.</summary>
    public static void OnConnectionLost(Exception reason)
    {
        foreach (var sender in s_senders.Values)
        {
            sender.Fail(DragonErrors.ConnectionLost(reason));
        }
    }

    /// <summary>Messages put and not yet delivered.</summary>
    public long InFlight
    {
        get
        {
            lock (_lock)
            {
                return _inFlight;
            }
        }
    }

    /// <summary>
    /// Puts one encoded message: true once it is queued to the node service, false when the timeout passed with the
    /// window still full (nothing was sent). Throws a failure reported for earlier messages.
    /// </summary>
    public bool Send(byte[] message, long timeoutMs, CancellationToken cancellationToken)
    {
        var deadline = Deadline(timeoutMs);
        while (true)
        {
            var signal = TryReserve(message.Length);
            if (signal is null)
            {
                break;
            }

            if (!Wait(signal, deadline, cancellationToken))
            {
                return false;
            }
        }

        Post(message);
        return true;
    }

    /// <inheritdoc cref="Send"/>
    public async ValueTask<bool> SendAsync(byte[] message, long timeoutMs, CancellationToken cancellationToken)
    {
        var deadline = Deadline(timeoutMs);
        while (true)
        {
            var signal = TryReserve(message.Length);
            if (signal is null)
            {
                break;
            }

            if (!await WaitAsync(signal, deadline, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
        }

        await PostAsync(message).ConfigureAwait(false);
        return true;
    }

    /// <summary>Waits until every message put so far was delivered; false on timeout. Throws a reported failure.</summary>
    public bool Flush(long timeoutMs, CancellationToken cancellationToken)
    {
        var deadline = Deadline(timeoutMs);
        while (TryFlushed() is { } signal)
        {
            if (!Wait(signal, deadline, cancellationToken))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc cref="Flush"/>
    public async ValueTask<bool> FlushAsync(long timeoutMs, CancellationToken cancellationToken)
    {
        var deadline = Deadline(timeoutMs);
        while (TryFlushed() is { } signal)
        {
            if (!await WaitAsync(signal, deadline, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>This process closed the channel: its later puts fail here, as on the home node.</summary>
    public void MarkClosed()
    {
        lock (_lock)
        {
            _closedHere = true;
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static long Deadline(long timeoutMs) => timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;

    /// <summary>Takes credit for a message (null), or returns the signal to wait on for more.</summary>
    private Task? TryReserve(int length)
    {
        lock (_lock)
        {
            ThrowIfFailed();
            var cost = length + OverheadBytes;
            if (_inFlight > 0 && (_inFlightBytes + cost > WindowBytes || _inFlight >= _maxInFlight))
            {
                return _changed.Task;
            }

            _inFlight++;
            _inFlightBytes += cost;
            return null;
        }
    }

    private Task? TryFlushed()
    {
        lock (_lock)
        {
            ThrowIfFailed();
            return _inFlight == 0 ? null : _changed.Task;
        }
    }

    private void ThrowIfFailed()
    {
        if (_closedHere)
        {
            throw new InvalidOperationException($"{_describe} is closed");
        }

        if (_failed is not null)
        {
            throw _failed;
        }
    }

    private static bool Wait(Task signal, long deadline, CancellationToken cancellationToken)
    {
        // The signal only ever completes successfully; a cancel throws OperationCanceledException.
        var left = deadline == long.MaxValue ? Timeout.Infinite : (int)Math.Max(0, deadline - Environment.TickCount64);
        return left != 0 && signal.Wait(left, cancellationToken);
    }

    private static async ValueTask<bool> WaitAsync(Task signal, long deadline, CancellationToken cancellationToken)
    {
        var left = deadline == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64));
        if (left == TimeSpan.Zero)
        {
            return false;
        }

        try
        {
            await signal.WaitAsync(left, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private void Post(byte[] message) => PostAsync(message).AsTask().GetAwaiter().GetResult();

    private async ValueTask PostAsync(byte[] message)
    {
        try
        {
            await RuntimeClient.Current.NotifyAsync(new ChannelPut(_channel, 0, message)).ConfigureAwait(false);
        }
        catch
        {
            // Never left the process: its credit comes back, and the connection's loss is what the caller hears.
            Release(1, message.Length + OverheadBytes);
            throw;
        }
    }

    private void Report(ChannelPutAck ack)
    {
        if (ack.Status != ObjectStatus.Ok)
        {
            Fail(ack.Status == ObjectStatus.Broken
                ? new NodeLostException($"{_describe}: {ack.Messages} message(s) put were not delivered: {ack.Reason}") { NodeIndex = ack.NodeIndex, ObjectName = _name }
                : new InvalidOperationException($"{_describe}: {ack.Messages} message(s) put were not delivered: {ack.Reason}"));
        }

        Release(ack.Messages, ack.Bytes + ((long)ack.Messages * OverheadBytes));
    }

    private void Release(long messages, long bytes)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            _inFlight = Math.Max(0, _inFlight - messages);
            _inFlightBytes = _inFlight == 0 ? 0 : Math.Max(0, _inFlightBytes - bytes);
            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }

    private void Fail(Exception reason)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            _failed ??= reason;
            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }
}
