using Xunit;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Channels;

/// <summary>
/// The channel contract with real processes, run for each object kind (Queue, Pipe) where it applies and each node
/// layout: on one node (shared memory) and on two (the object on node 1, the processes using it on node 0, so every
/// operation crosses the TCP link). The scenarios in Dragon.TestApp/Channels check inside the runtime; here we
/// assert they passed, that the key checks ran, and that the run left nothing (process, run directory, /dev/shm).
/// </summary>
public sealed class ChannelContractTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(180);
    private readonly DragonRun _dragon = new();

    public static TheoryData<string, string> KindsAndLayouts => new()
    {
        { "queue", "one-node" },
        { "queue", "two-nodes" },
        { "pipe", "one-node" },
        { "pipe", "two-nodes" },
    };

    public static TheoryData<string> Layouts => new() { "one-node", "two-nodes" };

    [Theory]
    [MemberData(nameof(KindsAndLayouts))]
    public void Order_ThreeProducerProcesses_EachProducersMessagesArriveOnceInOrder(string kind, string layout) =>
        RunResultChecks.AssertHas(Scenario(layout, "channel-order", kind, layout), "each arrived once, in the order sent", "nothing more arrived");

    [Theory]
    [MemberData(nameof(KindsAndLayouts))]
    public void Sizes_ZeroBytesTo16MiB_BytesAndRecordsArriveIntact(string kind, string layout)
    {
        var result = Scenario(layout, "channel-sizes", kind, layout);
        Assert.Equal(4, result.Lines.Count(l => l.Contains("byte[] of", StringComparison.Ordinal) && l.Contains("arrived intact", StringComparison.Ordinal)));
        Assert.Equal(4, result.Lines.Count(l => l.Contains("record with a string of", StringComparison.Ordinal)));
        RunResultChecks.AssertHas(result, "byte[] of 16 MiB arrived intact", "record with a string of 16 MiB arrived intact", "byte[] of 0 B arrived intact");
    }

    [Theory]
    [MemberData(nameof(KindsAndLayouts))]
    public void Close_SenderClosed_ReceiverDrainsThenEveryReceiveIsEndOfStream(string kind, string layout) =>
        RunResultChecks.AssertHas(
            Scenario(layout, "channel-close", kind, layout),
            "the 10 messages sent before the close were drained in order",
            "then a receive is end of stream: EndOfStreamException",
            "a send after the close is refused: InvalidOperationException",
            "the blocked consumer saw end of stream within 2 s of the close");

    [Theory]
    [MemberData(nameof(KindsAndLayouts))]
    public void Timeouts_EmptyOrFull_TimeOutAfterAboutTheTimeoutAndZeroTriesOnce(string kind, string layout)
    {
        var result = Scenario(layout, "channel-timeouts", kind, layout);
        RunResultChecks.AssertHas(
            result,
            "a receive on an empty channel times out with " + "TimeoutException",
            "a try-receive with zero timeout on an empty channel is false",
            "a send on a full channel blocked until the head made room",
            "a receive on an empty channel blocked until the head sent");
        if (kind == "queue")
        {
            RunResultChecks.AssertHas(result, "gave TimeoutException after about its timeout", "TryPut with zero timeout on a full queue (4 items) is false", "Get with a zero timeout on an empty queue: TimeoutException");
        }
        else
        {
            RunResultChecks.AssertHas(result, "Poll with a timeout on an empty pipe is false");
        }
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Poll_PipeReadingEnd_TrueWhenAMessageIsReadyWithoutTakingItAndAtEndOfStream(string layout) =>
        RunResultChecks.AssertHas(
            Scenario(layout, "channel-poll", layout),
            "Poll again is still true: it did not take the message",
            "the polled message is received intact, as its own type",
            "after the writer closed, Poll is true");

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Queue_FourProducersFourConsumersMove100000Messages_NoLossNoDuplication(string layout)
    {
        var result = Scenario(layout, "queue-many", layout, "100000");
        RunResultChecks.AssertHas(result, "all 100000 messages arrived exactly once", "consumers took");
        Assert.Equal(8, result.Lines.Count(l => l.StartsWith("CHECK producer", StringComparison.Ordinal) || l.StartsWith("CHECK consumer", StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Queue_ConsumerKilledWhileBlockedInGet_TheOtherConsumerGetsTheNextMessageWithin2s(string layout) =>
        RunResultChecks.AssertHas(Scenario(layout, "queue-kill-get", layout), "killed by signal 9", "the surviving consumer got the next message within 2 s", "the queue still works for everyone");

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Queue_ProducerKilledInTheMiddleOf16MiBPut_OthersGoOnWithin2sAndNoTornMessage(string layout) =>
        RunResultChecks.AssertHas(
            Scenario(layout, "queue-kill-put", layout),
            "killed by signal 9",
            "another Put went through within 2 s",
            "with the whole 64 B message",
            "nothing else is left in the queue",
            "a new 16 MiB message from another producer then arrives intact");

    [Theory]
    [MemberData(nameof(Layouts))]
    public void BadInput_TooLargeClosedDisposedDestroyedWrongEnd_EachGivesItsDocumentedError(string layout) =>
        RunResultChecks.AssertHas(
            Scenario(layout, "channel-bad-input", layout),
            "a 4 KiB Put into a queue created with maxMessageBytes 1024: ArgumentException",
            "the error names the message size, the limit and the queue",
            "nothing was delivered",
            "Put after Close: InvalidOperationException",
            "the error names the queue and says it is closed",
            "Put after Dispose: ObjectDisposedException",
            "attaching a queue that was destroyed: ObjectNotFoundException",
            "Send on the reading end of a one-way pipe: NotSupportedException");

    public void Dispose() => _dragon.Dispose();

    private RunResult Scenario(string layout, params string[] args)
    {
        var nodes = layout == "two-nodes" ? "2" : "1";
        return _dragon.RunScenario(s_timeout, ["--local-nodes", nodes, Repo.TestApp, .. args]);
    }
}
