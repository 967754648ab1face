using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Reflection;

namespace Dragon.Pool;

/// <summary>
/// The worker side of a pool: a C# method target (<see cref="Run"/>) started in the user's own program like any other,
/// which takes work messages from its own queue, runs each task and puts the results on the pool's result queue. It
/// ends when its queue is closed and drained (the pool's dispose), when the pool's owner process exits (watched through
/// the runtime's exit notification), or after reporting a task past the timeout.
/// </summary>
internal sealed class PoolWorkerLoop
{
    /// <summary>Exit code of a worker that ended itself because a task ran past the timeout.</summary>
    public const int TimedOutExit = 75;

    /// <summary>Exit code of a worker that ended because the pool's owner is gone.</summary>
    public const int OwnerGoneExit = 76;

    private readonly Dictionary<int, (MethodInvoker Invoker, Type Argument, Type Result)> _methods = [];
    private readonly ArrayBufferWriter<byte> _reply = new(1 << 16);
    private readonly ArrayBufferWriter<byte> _scratch = new(256);
    private readonly DragonQueue<ReadOnlyMemory<byte>> _results;
    private readonly long _timeoutTicks;
    private readonly Lock _gate = new();
    private int _replied;
    private long _taskStarted;
    private volatile bool _capturing;
    private volatile OutputCapture? _capture;

    private PoolWorkerLoop(DragonQueue<ReadOnlyMemory<byte>> results, long timeoutMs)
    {
        _results = results;
        _timeoutTicks = timeoutMs > 0 ? timeoutMs * Stopwatch.Frequency / 1000 : 0;
    }

    /// <summary>The worker's entry, named as the method target of every worker process.</summary>
    public static int Run(string taskQueue, string resultQueue, long owner, long timeoutMs)
    {
        using var tasks = DragonQueue<ReadOnlyMemory<byte>>.Attach(taskQueue);
        using var results = DragonQueue<ReadOnlyMemory<byte>>.Attach(resultQueue);
        if (owner != 0)
        {
            _ = WatchOwnerAsync((ulong)owner);
        }

        var loop = new PoolWorkerLoop(results, timeoutMs);
        if (loop._timeoutTicks > 0)
        {
            new Thread(loop.Watchdog) { IsBackground = true, Name = "pool task timeout" }.Start();
        }

        while (true)
        {
            ReadOnlyMemory<byte> message;
            try
            {
                message = tasks.Get();
            }
            catch (EndOfStreamException)
            {
                break;
            }

            loop.RunWork(message.Span);
        }

        results.Flush(TimeSpan.FromSeconds(30));
        return 0;
    }

    /// <summary>The pool's owner gone, nobody reads the results: end rather than run on.</summary>
    private static async Task WatchOwnerAsync(ulong owner)
    {
        try
        {
            var process = await DragonProcess.AttachAsync(owner).ConfigureAwait(false);
            await process.JoinAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is DragonException or IOException or InvalidOperationException)
        {
            // Not found (already gone) or the runtime is ending: either way the owner is no more.
        }

        Environment.Exit(OwnerGoneExit);
    }

    private void RunWork(ReadOnlySpan<byte> message)
    {
        var (_, dispatchId, segments) = TaskWire.ReadHeader(message, out var offset);
        lock (_gate)
        {
            _reply.ResetWrittenCount();
            TaskWire.WriteHeader(_reply, TaskWire.Results, dispatchId, 0);
            _replied = 0;
        }

        for (var s = 0; s < segments; s++)
        {
            var methodId = TaskWire.ReadInt32(message, ref offset);
            var flags = message[offset++];
            if ((flags & TaskWire.HasDescriptor) != 0)
            {
                var (method, argument, result) = TaskMethod.ReadDescriptor(message, ref offset);
                _methods[methodId] = (MethodInvoker.Create(method), argument, result);
            }

            var (invoker, argumentType, resultType) = _methods[methodId];
            var count = TaskWire.ReadInt32(message, ref offset);
            for (var i = 0; i < count; i++)
            {
                RunTask(invoker, ItemCodec.ReadObject(argumentType, message, ref offset), resultType, (flags & TaskWire.Capture) != 0);
            }
        }

        lock (_gate)
        {
            BinaryPrimitives.WriteInt32LittleEndian(System.Runtime.InteropServices.MemoryMarshal.AsMemory(_reply.WrittenMemory).Span[9..], _replied);
            _results.Put(_reply.WrittenMemory);
        }
    }

    private void RunTask(MethodInvoker invoker, object? argument, Type resultType, bool capture)
    {
        var output = capture ? OutputCapture.Begin() : null;
        _capture = output;
        _capturing = capture;
        if (_timeoutTicks > 0)
        {
            Volatile.Write(ref _taskStarted, Stopwatch.GetTimestamp());
        }

        object? result;
        Exception? error = null;
        try
        {
            result = invoker.Invoke(null, argument);
            _scratch.ResetWrittenCount();
            ItemCodec.WriteObject(result, resultType, _scratch);
        }
        catch (Exception e)
        {
            error = e is TargetInvocationException { InnerException: { } inner } ? inner : e;
        }

        var (stdout, stderr) = output?.End() ?? default;
        lock (_gate)
        {
            Volatile.Write(ref _taskStarted, 0);
            if (capture)
            {
                ItemCodec.WriteString(stdout, _reply);
                ItemCodec.WriteString(stderr, _reply);
            }

            if (error is null)
            {
                TaskWire.WriteByte(_reply, TaskWire.Ok);
                _reply.Write(_scratch.WrittenSpan);
            }
            else
            {
                TaskWire.WriteByte(_reply, TaskWire.Threw);
                ItemCodec.WriteString(error.GetType().FullName, _reply);
                ItemCodec.WriteString(error.Message, _reply);
                ItemCodec.WriteString(UserFrames(error.StackTrace), _reply);
            }

            _replied++;
        }
    }

    /// <summary>The stack trace down to the user's method: the frames of the reflection call and of this loop say nothing.</summary>
    private static string? UserFrames(string? stackTrace)
    {
        var cut = stackTrace?.IndexOf("   at System.Reflection.MethodInvoker", StringComparison.Ordinal) ?? -1;
        return cut > 0 ? stackTrace![..cut].TrimEnd() : stackTrace;
    }

    /// <summary>
    /// A task cannot be stopped inside its method, so a task past the timeout ends its worker: the results so far and
    /// the timeout go to the pool, which retries the tasks that never ran on the replacement.
    /// </summary>
    private void Watchdog()
    {
        var slice = TimeSpan.FromTicks(Math.Clamp(_timeoutTicks * TimeSpan.TicksPerSecond / Stopwatch.Frequency / 4, TimeSpan.TicksPerMillisecond, 50 * TimeSpan.TicksPerMillisecond));
        while (true)
        {
            Thread.Sleep(slice);
            var started = Volatile.Read(ref _taskStarted);
            if (started == 0 || Stopwatch.GetTimestamp() - started < _timeoutTicks)
            {
                continue;
            }

            lock (_gate)
            {
                if (Volatile.Read(ref _taskStarted) != started)
                {
                    continue;
                }

                if (_capturing)
                {
                    // What the task printed before it ran out of time: the log most worth having.
                    var (stdout, stderr) = _capture?.Peek() ?? default;
                    ItemCodec.WriteString(stdout, _reply);
                    ItemCodec.WriteString(stderr, _reply);
                }

                TaskWire.WriteByte(_reply, TaskWire.TimedOut);
                ItemCodec.WriteString($"ran past the task timeout of {_timeoutTicks * 1000 / Stopwatch.Frequency} ms", _reply);
                BinaryPrimitives.WriteInt32LittleEndian(System.Runtime.InteropServices.MemoryMarshal.AsMemory(_reply.WrittenMemory).Span[9..], _replied + 1);
                _results.Put(_reply.WrittenMemory);
                _results.Flush(TimeSpan.FromSeconds(10));
                Environment.Exit(TimedOutExit);
            }
        }
    }
}
