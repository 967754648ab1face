using System.Buffers;
using System.Threading.Channels;

namespace Dragon.Pool;

/// <summary>
/// Tasks submitted together (one submit, or one map): their arguments, and where their results go. The dispatcher
/// cuts a job into <see cref="Segment"/>s; results and failures come back by index. Completing is first-wins, so a
/// result that arrives after its task was retried elsewhere changes nothing.
/// </summary>
internal abstract class PoolJob(TaskMethod method)
{
    public TaskMethod Method { get; } = method;

    public abstract int Count { get; }

    /// <summary>Completed, failed or cancelled: its segments still queued are dropped, its results ignored.</summary>
    public abstract bool IsFinished { get; }

    /// <summary>Whether its tasks may share a message with other jobs' (single submits); a map's chunks travel as cut.</summary>
    public virtual bool Gathers => false;

    public abstract void WriteArgument(int index, ArrayBufferWriter<byte> writer);

    /// <summary>Reads the result of task <paramref name="index"/> at <paramref name="offset"/> (always moving past it).</summary>
    public abstract void Complete(int index, ReadOnlySpan<byte> data, ref int offset);

    public abstract void Fail(int index, Exception error);

    /// <summary>Whether its worker captures each task's console output and reports it (a batch's per-task logs).</summary>
    public virtual bool CapturesOutput => false;

    /// <summary>
    /// For a job that captures output: task <paramref name="index"/> ran on <paramref name="worker"/> and wrote this;
    /// called on the result reader before the task's <see cref="Complete"/> or <see cref="Fail"/>.
    /// </summary>
    public virtual void Ran(int index, PoolWorkerInfo worker, string? stdout, string? stderr)
    {
    }

    public string Describe(int index) => Count == 1 ? $"task {Method.Name}" : $"task {index} of a map of {Method.Name}";
}

/// <summary>One task, its result a <see cref="Task{TResult}"/>.</summary>
internal sealed class SubmitJob<TArg, TResult>(TaskMethod method, TArg argument) : PoolJob(method)
{
    private readonly TaskCompletionSource<TResult> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<TResult> Task => _result.Task;

    public override int Count => 1;

    public override bool Gathers => true;

    public override bool IsFinished => _result.Task.IsCompleted;

    public override void WriteArgument(int index, ArrayBufferWriter<byte> writer) => ItemCodec.Write(argument, writer);

    public override void Complete(int index, ReadOnlySpan<byte> data, ref int offset) => _result.TrySetResult(ItemCodec.Read<TResult>(data, ref offset));

    public override void Fail(int index, Exception error) => _result.TrySetException(error);

    public void Cancel(CancellationToken token) => _result.TrySetCanceled(token);
}

/// <summary>One task whose worker captures its console output; what ran where goes to <paramref name="ran"/> first.</summary>
internal sealed class CapturedSubmitJob<TArg, TResult>(TaskMethod method, TArg argument, Action<PoolWorkerInfo, string?, string?> ran) : PoolJob(method)
{
    private readonly TaskCompletionSource<TResult> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<TResult> Task => _result.Task;

    public override int Count => 1;

    // Alone in its message: a gathered message keeps every task's captured output in the worker's reply until the
    // last task of the message is done, which a burst of chatty tasks would make unbounded.
    public override bool Gathers => false;

    public override bool CapturesOutput => true;

    public override bool IsFinished => _result.Task.IsCompleted;

    public override void WriteArgument(int index, ArrayBufferWriter<byte> writer) => ItemCodec.Write(argument, writer);

    // Also after a cancel: where the task ran is still worth knowing.
    public override void Ran(int index, PoolWorkerInfo worker, string? stdout, string? stderr) => ran(worker, stdout, stderr);

    public override void Complete(int index, ReadOnlySpan<byte> data, ref int offset) => _result.TrySetResult(ItemCodec.Read<TResult>(data, ref offset));

    public override void Fail(int index, Exception error) => _result.TrySetException(error);

    public void Cancel(CancellationToken token) => _result.TrySetCanceled(token);
}

/// <summary>A map whose results come back as one array in input order; the first failure fails it.</summary>
internal sealed class OrderedMapJob<TArg, TResult>(TaskMethod method, TArg[] inputs) : PoolJob(method)
{
    private readonly TaskCompletionSource<TResult[]> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TResult[] _results = new TResult[inputs.Length];
    private readonly bool[] _done = new bool[inputs.Length];
    private int _remaining = inputs.Length;

    public Task<TResult[]> Task => _result.Task;

    public override int Count => inputs.Length;

    public override bool IsFinished => _result.Task.IsCompleted;

    public override void WriteArgument(int index, ArrayBufferWriter<byte> writer) => ItemCodec.Write(inputs[index], writer);

    public override void Complete(int index, ReadOnlySpan<byte> data, ref int offset)
    {
        var value = ItemCodec.Read<TResult>(data, ref offset);

        // Only the result reader completes items, so the flags need no lock; a retried task's second result is ignored.
        if (_done[index])
        {
            return;
        }

        _done[index] = true;
        _results[index] = value;
        if (--_remaining == 0)
        {
            _result.TrySetResult(_results);
        }
    }

    public override void Fail(int index, Exception error) => _result.TrySetException(error);

    public void Cancel(CancellationToken token) => _result.TrySetCanceled(token);

    public void CompleteEmpty() => _result.TrySetResult([]);
}

/// <summary>A map whose results stream out as they arrive.</summary>
internal sealed class UnorderedMapJob<TArg, TResult>(TaskMethod method, TArg[] inputs) : PoolJob(method)
{
    private readonly Channel<TResult> _results = Channel.CreateUnbounded<TResult>(new UnboundedChannelOptions { SingleReader = true });
    private readonly bool[] _done = new bool[inputs.Length];
    private int _remaining = inputs.Length;
    private volatile bool _finished = inputs.Length == 0;

    public ChannelReader<TResult> Results => _results.Reader;

    public override int Count => inputs.Length;

    public override bool IsFinished => _finished;

    public override void WriteArgument(int index, ArrayBufferWriter<byte> writer) => ItemCodec.Write(inputs[index], writer);

    public override void Complete(int index, ReadOnlySpan<byte> data, ref int offset)
    {
        var value = ItemCodec.Read<TResult>(data, ref offset);
        if (_done[index] || _finished)
        {
            return;
        }

        _done[index] = true;
        _results.Writer.TryWrite(value);
        if (--_remaining == 0)
        {
            Finish(null);
        }
    }

    public override void Fail(int index, Exception error) => Finish(error);

    public void Finish(Exception? error)
    {
        _finished = true;
        _results.Writer.TryComplete(error);
    }
}

/// <summary>A run of consecutive tasks of one job, sent to one worker in one message.</summary>
internal sealed class Segment(PoolJob job, int start, int count)
{
    public PoolJob Job { get; } = job;

    public int Start { get; } = start;

    public int Count { get; } = count;

    /// <summary>Times a worker died holding these tasks.</summary>
    public int Retries { get; set; }

    /// <summary>When its tasks were submitted, while latencies are measured (<see cref="PoolMetrics.Clock"/>); else 0.</summary>
    public long SubmittedAt { get; init; } = PoolMetrics.Clock();
}

/// <summary>A message of segments sent to one worker and not yet answered.</summary>
internal sealed class Dispatch(long id, WorkerSlot worker, List<Segment> segments)
{
    public long Id { get; } = id;

    public WorkerSlot Worker { get; } = worker;

    public List<Segment> Segments { get; } = segments;
}
