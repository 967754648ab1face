using Dragon.TestApp;
using Xunit;
using Xunit.Abstractions;

namespace Dragon.Tests.Contract;

/// <summary>
/// The queue contract (Dragon.TestApp/Contract, <c>contract queue</c>): the channel contract, plus waits on a full
/// queue, bad input, four producers and four consumer processes, a consumer or a producer killed mid-operation.
/// </summary>
public abstract class QueueContract(ContractRunFixture fixture, ITestOutputHelper output, string layout, string mode)
    : ChannelContract<QueueContractResult>(fixture, output, ContractArgs.QueueFamily, layout, mode)
{
    protected override string ReceiveTimedOut => Mode == ContractArgs.SyncMode ? Expected.TimedOut.QueueGet : Expected.TimedOut.AsyncQueueDeadline;

    protected override OrderResult? Order(QueueContractResult result) => result.Order;

    protected override SizeResult[]? Sizes(QueueContractResult result) => result.Sizes;

    protected override CloseResult? Close(QueueContractResult result) => result.Close;

    protected override TimeoutsResult? Timeouts(QueueContractResult result) => result.Timeouts;

    protected override CaseFailure[] Failures(QueueContractResult result) => result.Failures;

    [Fact]
    public void TryPut_ZeroTimeoutOnFull_FalseAtOnce()
    {
        var timeouts = Case(Timeouts, "timeouts");
        Assert.True(timeouts.TrySendZeroOnFull);
        Expected.AtOnce(timeouts.TrySendZeroMs!.Value, "try-put on a full queue");
    }

    [Fact]
    public void Put_TimeoutOnFull_TimesOutAfterAboutTheTimeout()
    {
        var timeouts = Case(Timeouts, "timeouts");
        Assert.Equal(Mode == ContractArgs.SyncMode ? Expected.TimedOut.QueuePut : Expected.TimedOut.AsyncQueueDeadline, timeouts.TimedSendOnFull);
        Expected.AboutTheTimeout(timeouts.AskedMs, timeouts.TimedSendMs!.Value, "put on a full queue");
    }

    [Fact]
    public void Put_LargerThanMaxMessageBytes_ArgumentExceptionNamingSizeLimitAndQueueAndNothingDelivered()
    {
        var bad = Case(r => r.BadInput, "bad-input");
        Assert.Equal(nameof(ArgumentException), bad.PutTooLarge);
        Assert.True(bad.TooLargeNamesSizeLimitAndQueue);
        Assert.Equal(nameof(ArgumentException), bad.TryPutTooLarge);
        Assert.True(bad.NothingDeliveredAfterTooLarge);
        Assert.True(bad.WithinLimitDelivered, "a message within the limit did not go through afterwards");
    }

    [Fact]
    public void Put_AfterCloseOrDispose_RefusedNamingTheQueue()
    {
        var bad = Case(r => r.BadInput, "bad-input");
        Assert.Equal(nameof(InvalidOperationException), bad.PutAfterClose);
        Assert.True(bad.ClosedNamesQueueAndSaysClosed);
        Assert.Equal(nameof(EndOfStreamException), bad.GetAfterCloseDrained);
        Assert.Equal(nameof(ObjectDisposedException), bad.PutAfterDispose);
        Assert.True(bad.DisposedNamesQueue);
    }

    [Fact]
    public void Attach_DestroyedOrNeverCreated_ObjectNotFoundNamingTheQueue()
    {
        var bad = Case(r => r.BadInput, "bad-input");
        Assert.Equal(nameof(ObjectNotFoundException), bad.AttachDestroyed);
        Assert.True(bad.DestroyedNamesQueue);
        Assert.Equal(nameof(ObjectNotFoundException), bad.AttachNeverCreated);
    }

    [Fact]
    public void PutGet_FourProducersFourConsumers_EveryMessageOnceInOrderPerProducer()
    {
        var many = Case(r => r.Many, "many");
        Output.WriteLine($"{many.Total} messages of 64 B, {many.Producers} producers, {many.Consumers} consumers: {many.Seconds:F1} s, taken {string.Join(" + ", many.TakenPerConsumer)}");
        Assert.Equal(many.Total, many.TakenPerConsumer.Sum());
        Assert.Equal(0, many.Lost);
        Assert.Equal(0, many.Duplicates);
        Assert.Equal(0, many.Unknown);
        Assert.Equal(0, many.OrderViolations);
        Assert.All(many.ExitCodes, code => Assert.Equal(0, code));
    }

    [Fact]
    public void Get_ConsumerKilledWhileBlocked_TheOtherConsumerGetsTheNextMessageWithin2s()
    {
        var killed = Case(r => r.KilledInGet, "killed-in-get");
        Assert.Equal("killed by signal 9 (SIGKILL)", killed.KilledExitReason);
        Assert.True(killed.SurvivorGotTheMessage, "the message put after the kill did not reach the surviving consumer");
        Expected.Within2s(killed.SurvivorMs, "from the kill to the survivor's report of the next message");
        Assert.Equal(0, killed.SurvivorExitCode);
        Assert.True(killed.QueueWorksAfterwards);
    }

    [Fact]
    public void Put_ProducerKilledMidway16MiB_OthersGoOnWithin2sWithoutATornMessage()
    {
        var killed = Case(r => r.KilledInPut, "killed-in-put");
        if (Layout != ContractArgs.TwoNodes)
        {
            // Across nodes a put returns once the producer's node service accepted the message, which then travels
            // whole: there the producer may have finished its put (and exited) before the kill.
            Assert.True(killed.AliveMidPut, "the producer had finished its put before the kill");
        }
        if (Layout != ContractArgs.TwoNodes)
        {
            Assert.Equal("killed by signal 9 (SIGKILL)", killed.KilledExitReason);
        }

        Expected.Within2s(killed.PutAfterKillMs, "from the kill to another put going through");
        Expected.Within2s(killed.GetAfterKillMs, "from the kill to a consumer's get returning");
        Assert.True(killed.NextMessageIntact, "the consumer got a torn or wrong message");

        // Across nodes the whole message may already be with the home node's service, which can finish putting it.
        Assert.InRange(killed.WholeLargeMessagesFirst, 0, Layout == ContractArgs.TwoNodes ? 1 : 0);
        Assert.True(killed.NothingElseLeft);
        Assert.True(killed.NewLargeMessageIntact, "a 16 MiB message from another producer did not arrive intact afterwards");
    }

    [Fact]
    public void Get_CancelledWhileWaiting_TakesNothingAndTheNextPutReachesTheNextGet()
    {
        var cancelled = Case(r => r.CancelledGet, "cancelled-get");
        Assert.Equal(Expected.Cancelled, cancelled.Ended);
        Expected.PromptCancel(cancelled.CancelMs, "Get");
        Assert.True(cancelled.NextCallerGotIt, "the item put after the cancel did not reach the next get");
    }
}

public sealed class QueueContractOneNodeSync(ContractRunFixture fixture, ITestOutputHelper output)
    : QueueContract(fixture, output, ContractArgs.OneNode, ContractArgs.SyncMode);

public sealed class QueueContractOneNodeAsync(ContractRunFixture fixture, ITestOutputHelper output)
    : QueueContract(fixture, output, ContractArgs.OneNode, ContractArgs.AsyncMode);

public sealed class QueueContractTwoNodesSync(ContractRunFixture fixture, ITestOutputHelper output)
    : QueueContract(fixture, output, ContractArgs.TwoNodes, ContractArgs.SyncMode);

public sealed class QueueContractTwoNodesAsync(ContractRunFixture fixture, ITestOutputHelper output)
    : QueueContract(fixture, output, ContractArgs.TwoNodes, ContractArgs.AsyncMode);
