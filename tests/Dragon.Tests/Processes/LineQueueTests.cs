using System.Text;
using Dragon.Services.Node;
using Xunit;

namespace Dragon.Tests.Processes;

/// <summary>
/// The queue of a piped stream at its node service: a take hands out whole lines up to its budget (at least one),
/// ends of stream come after the last line, a wait that times out or is cancelled takes nothing, and a full queue
/// says so at once (the loop then stops reading the pipe) and calls back when a reader makes room.
/// </summary>
public sealed class LineQueueTests
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task TakeAsync_ChunksLargerThanTheBudget_TakesWholeLinesUpToItAndAtLeastOne()
    {
        var queue = new LineQueue();
        queue.Append(Bytes("a\nbb\n"));
        queue.Append(Bytes("ccc\ndddd\n"));

        Assert.Equal("a\nbb\nccc\n", await TakeTextAsync(queue, 10));
        Assert.Equal("dddd\n", await TakeTextAsync(queue, 1));
        queue.Complete();
        var end = await queue.TakeAsync(1024, 0, CancellationToken.None);
        Assert.True(end.EndOfStream && end.Lines.Length == 0, "end of stream after the last line");
        Assert.True(queue.IsConsumed);
    }

    [Fact]
    public async Task TakeAsync_StreamEndedAfterTheLines_SaysSoWithThem()
    {
        var queue = new LineQueue();
        queue.Append(Bytes("1\n2\n"));
        queue.Append(Bytes("3\n"));
        queue.Complete();

        var batch = await queue.TakeAsync(1024, 0, CancellationToken.None);
        Assert.Equal("1\n2\n3\n", Encoding.ASCII.GetString(batch.Lines));
        Assert.True(batch.EndOfStream);
        Assert.True(queue.IsConsumed);
    }

    [Fact]
    public async Task TakeAsync_NothingComesInTimeOrCancelled_TakesNothing()
    {
        var queue = new LineQueue();
        await Assert.ThrowsAsync<TimeoutException>(() => queue.TakeAsync(1024, 50, CancellationToken.None));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queue.TakeAsync(1024, -1, cancel.Token));

        queue.Append(Bytes("x\n"));
        Assert.Equal("x\n", await TakeTextAsync(queue, 1024));
    }

    [Fact]
    public async Task Append_QueueFull_SaysSoAndCallsBackOnceAReaderMakesRoom()
    {
        var roomMade = 0;
        var queue = new LineQueue(() => Interlocked.Increment(ref roomMade));
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)'\n');

        // Appends go in until one says no room is left for another read: 1 MiB holds 15 chunks of 64 KiB with their cost.
        var appended = 1;
        while (queue.Append(chunk))
        {
            appended++;
        }

        Assert.Equal(15, appended);
        Assert.Equal(0, Volatile.Read(ref roomMade));

        // A take of one chunk makes room for the next read: the queue says so, once.
        var batch = await queue.TakeAsync(chunk.Length, 0, CancellationToken.None);
        Assert.Equal(chunk.Length, batch.Lines.Length);
        Assert.Equal(1, Volatile.Read(ref roomMade));
        _ = await queue.TakeAsync(chunk.Length, 0, CancellationToken.None);
        Assert.Equal(1, Volatile.Read(ref roomMade));

        queue.Complete();
        long taken = 2L * chunk.Length;
        while (true)
        {
            batch = await queue.TakeAsync(LineQueue.MaxBytes, (long)s_patience.TotalMilliseconds, CancellationToken.None);
            taken += batch.Lines.Length;
            if (batch.EndOfStream)
            {
                break;
            }
        }

        Assert.Equal((long)appended * chunk.Length, taken);
    }

    private static async Task<string> TakeTextAsync(LineQueue queue, int maxBytes) =>
        Encoding.ASCII.GetString((await queue.TakeAsync(maxBytes, 0, CancellationToken.None)).Lines);

    private static byte[] Bytes(string text) => Encoding.ASCII.GetBytes(text);
}
