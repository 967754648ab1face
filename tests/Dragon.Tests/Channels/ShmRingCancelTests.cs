using System.Diagnostics;
using Xunit;

namespace Dragon.Tests.Channels;

/// <summary>
/// Waits on a ring honour a CancellationToken promptly and take nothing when cancelled; a joinable ring counts its
/// items in shared memory.
/// </summary>
public sealed class ShmRingCancelTests
{
    private static readonly TimeSpan s_cancelBound = TimeSpan.FromMilliseconds(100);

    [Fact]
    public void TryReceive_CancelledOnEmptyRing_ThrowsPromptlyAndReleasesTheConsumerLock()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(4, 64);

        var elapsed = CancelAfter(TimeSpan.FromMilliseconds(150), token => ring.TryReceive(Timeout.InfiniteTimeSpan, token));

        Assert.True(elapsed < s_cancelBound, $"the cancel took effect after {elapsed.TotalMilliseconds:F0} ms");
        Assert.Equal(0, ring.ConsumerLockOwner);
        Assert.True(ring.TrySend("after"u8, TimeSpan.Zero));
        Assert.Equal("after"u8.ToArray(), ring.TryReceive(TimeSpan.Zero));
    }

    [Fact]
    public async Task TryReceive_CancelledWhileWaitingForTheConsumerLock_ThrowsPromptly()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(4, 64);
        using var holderStop = new CancellationTokenSource();
        // Another receiver holds the consumer lock while it waits for data.
        var holder = Task.Factory.StartNew(
            () => Assert.Throws<OperationCanceledException>(() => ring.TryReceive(Timeout.InfiniteTimeSpan, holderStop.Token)),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        SpinWait.SpinUntil(() => ring.ConsumerLockOwner != 0, TimeSpan.FromSeconds(10));

        var elapsed = CancelAfter(TimeSpan.FromMilliseconds(150), token => ring.TryReceive(Timeout.InfiniteTimeSpan, token));

        Assert.True(elapsed < s_cancelBound, $"the cancel took effect after {elapsed.TotalMilliseconds:F0} ms");
        holderStop.Cancel();
        await holder.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(0, ring.ConsumerLockOwner);
    }

    [Fact]
    public void TrySend_CancelledOnFullRing_ThrowsPromptlyAndDeliversNothing()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(2, 64);
        Assert.True(ring.TrySend("one"u8, TimeSpan.Zero));
        Assert.True(ring.TrySend("two"u8, TimeSpan.Zero));

        var elapsed = CancelAfter(TimeSpan.FromMilliseconds(150), token => ring.TrySend("three"u8, Timeout.InfiniteTimeSpan, token));

        Assert.True(elapsed < s_cancelBound, $"the cancel took effect after {elapsed.TotalMilliseconds:F0} ms");
        Assert.Equal(0, ring.ProducerLockOwner);
        Assert.Equal("one"u8.ToArray(), ring.TryReceive(TimeSpan.Zero));
        Assert.Equal("two"u8.ToArray(), ring.TryReceive(TimeSpan.Zero));
        Assert.Null(ring.TryReceive(TimeSpan.Zero));
    }

    [Fact]
    public void TrySend_CancelledPartWayThroughALongMessage_WithdrawsIt()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(2, 64);

        // 10 slots' worth into a 2-slot ring: it blocks after the first two chunks.
        var elapsed = CancelAfter(TimeSpan.FromMilliseconds(150), token => ring.TrySend(new byte[640], Timeout.InfiniteTimeSpan, token));

        Assert.True(elapsed < s_cancelBound, $"the cancel took effect after {elapsed.TotalMilliseconds:F0} ms");
        Assert.Null(ring.TryReceive(TimeSpan.Zero));
        Assert.True(ring.TrySend("next"u8, TimeSpan.Zero));
        Assert.Equal("next"u8.ToArray(), ring.TryReceive(TimeSpan.Zero));
    }

    [Fact]
    public async Task TaskDone_ManyItemsWithAFastConsumer_CountNeverGoesNegativeAndJoinReturns()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(64, 64, joinable: true);
        var consumer = scope.Open(ring.Path);
        const int Count = 20_000;
        var consumed = Task.Factory.StartNew(
            () =>
            {
                for (var i = 0; i < Count; i++)
                {
                    Assert.NotNull(consumer.TryReceive(TimeSpan.FromSeconds(30)));
                    Assert.True(consumer.TaskDone(), $"TaskDone of item {i} found nothing counted");
                }
            },
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        for (var i = 0; i < Count; i++)
        {
            Assert.True(ring.TrySend("item"u8, TimeSpan.FromSeconds(30)));
        }

        Assert.True(ring.WaitAllDone(TimeSpan.FromSeconds(30)), $"Join timed out with {ring.Unfinished} unfinished");
        await consumed.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(ring.TaskDone(), "one TaskDone more than items sent");
        Assert.Equal(0, ring.Unfinished);
    }

    [Fact]
    public async Task WaitAllDone_ItemsOutstanding_WaitsForTheLastTaskDone()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(4, 64, joinable: true);
        Assert.True(ring.TrySend("a"u8, TimeSpan.Zero));
        Assert.True(ring.TrySend("b"u8, TimeSpan.Zero));
        Assert.True(ring.TryRequeue("not counted"u8, TimeSpan.Zero));
        Assert.Equal(2, ring.Unfinished);

        Assert.False(ring.WaitAllDone(TimeSpan.FromMilliseconds(100)));
        var joiner = Task.Factory.StartNew(() => ring.WaitAllDone(TimeSpan.FromSeconds(30)), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(ring.TaskDone());
        Thread.Sleep(100);
        Assert.False(joiner.IsCompleted);
        Assert.True(ring.TaskDone());
        Assert.True(await joiner.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    /// <summary>Runs <paramref name="wait"/> on its own thread, cancels it after <paramref name="delay"/>, and returns how long the cancel took.</summary>
    private static TimeSpan CancelAfter(TimeSpan delay, Action<CancellationToken> wait)
    {
        using var cts = new CancellationTokenSource();
        var thrown = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                wait(cts.Token);
                thrown.SetException(new InvalidOperationException("the wait returned instead of being cancelled"));
            }
            catch (OperationCanceledException)
            {
                thrown.SetResult(Stopwatch.GetTimestamp());
            }
            catch (Exception e)
            {
                thrown.SetException(e);
            }
        });
        thread.Start();
        Thread.Sleep(delay);
        var cancelled = Stopwatch.GetTimestamp();
        cts.Cancel();
        Assert.True(thrown.Task.Wait(TimeSpan.FromSeconds(5)), "the wait was not cancelled within 5 s");
        return Stopwatch.GetElapsedTime(cancelled, thrown.Task.Result);
    }
}
