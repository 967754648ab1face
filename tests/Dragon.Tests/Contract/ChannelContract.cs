using Dragon.TestApp;
using Xunit;
using Xunit.Abstractions;

namespace Dragon.Tests.Contract;

/// <summary>
/// The contract every channel (queue, pipe) keeps, from the typed result of one contract run per layout and mode:
/// order per producer, messages of every size, close then drain then end of stream, waits on an empty or a full
/// channel. Each family's base adds its own facts; one sealed class per layout and mode runs them all.
/// </summary>
public abstract class ChannelContract<TResult>(ContractRunFixture fixture, ITestOutputHelper output, string family, string layout, string mode)
    : ContractTests<TResult>(fixture, output, family, layout, mode)
    where TResult : class
{
    /// <summary>What a receive that timed out threw, in this family and mode.</summary>
    protected abstract string ReceiveTimedOut { get; }

    protected abstract OrderResult? Order(TResult result);

    protected abstract SizeResult[]? Sizes(TResult result);

    protected abstract CloseResult? Close(TResult result);

    protected abstract TimeoutsResult? Timeouts(TResult result);

    [Fact]
    public void Receive_ThreeProducerProcesses_EachProducersMessagesArriveOnceInOrder()
    {
        var order = Case(Order, "order");
        Assert.Equal(order.Producers * order.PerProducer, order.Received);
        Assert.Equal(0, order.Corrupt);
        Assert.Equal(0, order.Lost);
        Assert.Equal(0, order.Duplicates);
        Assert.Equal(0, order.SequenceViolations);
        Assert.False(order.ExtraAfterLast, "something arrived after the last message sent");
        Assert.All(order.ProducerExitCodes, code => Assert.Equal(0, code));
    }

    [Fact]
    public void Receive_ZeroBytesTo16MiBAsBytesAndAsRecords_ArriveIntact()
    {
        var sizes = Case(Sizes, "sizes");
        int[] expected = [0, 64, 64 * 1024, 16 * 1024 * 1024];
        foreach (var shape in new[] { "bytes", "record" })
        {
            Assert.Equal(expected, sizes.Where(s => s.Shape == shape).Select(s => s.Bytes));
            Assert.All(sizes.Where(s => s.Shape == shape), s => Assert.True(s.Intact && s.ReceivedLength == s.Bytes, $"{shape} of {s.Bytes} B arrived as {s.ReceivedLength}, intact: {s.Intact}"));
        }
    }

    [Fact]
    public void Receive_AfterCloseAndDrain_DrainsInOrderThenEveryReceiveIsEndOfStream()
    {
        var close = Case(Close, "close");
        Assert.Equal(close.Sent, close.Drained);
        Assert.True(close.DrainedInOrder);
        Assert.Equal(nameof(EndOfStreamException), close.ReceiveAfterDrain);
        Assert.Equal(nameof(EndOfStreamException), close.SecondReceiveAfterDrain);
        Assert.Equal(nameof(EndOfStreamException), close.TryReceiveZeroAfterDrain);
    }

    [Fact]
    public void Send_AfterClose_RefusedSayingClosed()
    {
        var close = Case(Close, "close");
        Assert.Equal(nameof(InvalidOperationException), close.SendAfterClose);
        Assert.True(close.SendRefusalSaysClosed);
    }

    [Fact]
    public void Receive_BlockedWhenTheSenderCloses_SeesEndOfStreamWithin2s()
    {
        var close = Case(Close, "close");
        Assert.Equal(nameof(EndOfStreamException), close.BlockedReceiveEnd);
        Expected.Within2s(close.BlockedReceiveEndMs, "from the close to the blocked receiver's end (and its report)");
    }

    [Fact]
    public void TryReceive_ZeroTimeoutOnEmpty_FalseAtOnce()
    {
        var timeouts = Case(Timeouts, "timeouts");
        Assert.True(timeouts.TryReceiveZeroOnEmpty);
        Expected.AtOnce(timeouts.TryReceiveZeroMs, "try-receive on an empty channel");
    }

    [Fact]
    public void Receive_TimeoutOnEmpty_TimesOutAfterAboutTheTimeout()
    {
        var timeouts = Case(Timeouts, "timeouts");
        Assert.Equal(ReceiveTimedOut, timeouts.TimedReceiveOnEmpty);
        Expected.AboutTheTimeout(timeouts.AskedMs, timeouts.TimedReceiveMs, "receive on an empty channel");
    }

    [Fact]
    public void Send_BlockedOnFull_ReleasedWhenAnotherProcessMakesRoomAndOrderKept()
    {
        var timeouts = Case(Timeouts, "timeouts");
        Expected.BlockedUntilReleased(timeouts.BlockedSendMs, "send on a full channel");
        Assert.True(timeouts.BlockedSendKeptOrder, "the messages after the blocked send did not come back in order");
    }

    [Fact]
    public void Receive_BlockedOnEmpty_ReleasedWhenAnotherProcessSends()
    {
        var timeouts = Case(Timeouts, "timeouts");
        Expected.BlockedUntilReleased(timeouts.BlockedReceiveMs, "receive on an empty channel");
        Assert.Equal(99, timeouts.BlockedReceiveValue);
    }
}
