using Dragon.TestApp;
using Xunit;
using Xunit.Abstractions;

namespace Dragon.Tests.Contract;

/// <summary>
/// The pipe contract (Dragon.TestApp/Contract, <c>contract pipe</c>) on one-way pipes: the channel contract, plus
/// Poll on the reading end and the wrong end or a closed end used.
/// </summary>
public abstract class PipeContract(ContractRunFixture fixture, ITestOutputHelper output, string layout, string mode)
    : ChannelContract<PipeContractResult>(fixture, output, ContractArgs.PipeFamily, layout, mode)
{
    protected override string ReceiveTimedOut => Expected.TimedOut.PipeReceive;

    protected override OrderResult? Order(PipeContractResult result) => result.Order;

    protected override SizeResult[]? Sizes(PipeContractResult result) => result.Sizes;

    protected override CloseResult? Close(PipeContractResult result) => result.Close;

    protected override TimeoutsResult? Timeouts(PipeContractResult result) => result.Timeouts;

    protected override CaseFailure[] Failures(PipeContractResult result) => result.Failures;

    [Fact]
    public void Poll_EmptyPipe_FalseAtOnceWithZeroAndAfterAboutTheTimeout()
    {
        var poll = Case(r => r.Poll, "poll");
        Assert.True(poll.EmptyZero);
        Assert.True(poll.EmptyTimed);
        Expected.AboutTheTimeout(poll.AskedMs, poll.EmptyTimedMs, "poll on an empty pipe");
    }

    [Fact]
    public void Poll_MessageSentByAnotherProcess_TrueWithoutTakingIt()
    {
        var poll = Case(r => r.Poll, "poll");
        Assert.True(poll.WhenSent);

        // The writer sends 200 ms after the signal.
        Expected.Within2s(poll.WhenSentMs - 200, "from the send to the poll returning");
        Assert.True(poll.StillTrueAfterPoll, "a second poll was false: the first took the message");
        Assert.True(poll.FirstIntact && poll.SecondIntact, "the polled messages were not received intact, in order");
    }

    [Fact]
    public void Poll_AfterTheWriterClosed_TrueAndTheReceiveIsEndOfStream()
    {
        var poll = Case(r => r.Poll, "poll");
        Assert.True(poll.AtEndOfStream);
        Assert.Equal(nameof(EndOfStreamException), poll.ReceiveAtEndOfStream);
        Assert.Equal(0, poll.ReadAllAfterEnd);
    }

    [Fact]
    public void SendReceivePoll_WrongEndOfAOneWayPipe_NotSupported()
    {
        var bad = Case(r => r.BadInput, "bad-input");
        Assert.Equal(nameof(NotSupportedException), bad.SendOnReadingEnd);
        Assert.Equal(nameof(NotSupportedException), bad.ReceiveOnWritingEnd);
        Assert.Equal(nameof(NotSupportedException), bad.PollOnWritingEnd);
    }

    [Fact]
    public void Send_OnAnEndClosedHere_ObjectDisposedAndTheReaderSeesEndOfStream()
    {
        var bad = Case(r => r.BadInput, "bad-input");
        Assert.Equal(nameof(ObjectDisposedException), bad.SendAfterClosingTheEnd);
        Assert.Equal(nameof(EndOfStreamException), bad.ReceiveAfterWriterClosed);
    }

    [Fact]
    public void Receive_CancelledWhileWaiting_TakesNothingAndTheNextSendReachesTheNextReceive()
    {
        var cancelled = Case(r => r.CancelledReceive, "cancelled-receive");
        Assert.Equal(Expected.Cancelled, cancelled.Ended);
        Expected.PromptCancel(cancelled.CancelMs, "Receive");
        Assert.True(cancelled.NextCallerGotIt, "the message sent after the cancel did not reach the next receive");
    }
}

public sealed class PipeContractOneNodeSync(ContractRunFixture fixture, ITestOutputHelper output)
    : PipeContract(fixture, output, ContractArgs.OneNode, ContractArgs.SyncMode);

public sealed class PipeContractOneNodeAsync(ContractRunFixture fixture, ITestOutputHelper output)
    : PipeContract(fixture, output, ContractArgs.OneNode, ContractArgs.AsyncMode);

public sealed class PipeContractTwoNodesSync(ContractRunFixture fixture, ITestOutputHelper output)
    : PipeContract(fixture, output, ContractArgs.TwoNodes, ContractArgs.SyncMode);

public sealed class PipeContractTwoNodesAsync(ContractRunFixture fixture, ITestOutputHelper output)
    : PipeContract(fixture, output, ContractArgs.TwoNodes, ContractArgs.AsyncMode);
