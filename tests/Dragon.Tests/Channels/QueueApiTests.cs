using Xunit;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Channels;

/// <summary>
/// Queue promises checked with real processes (Dragon.TestApp/Channels/QueueApiScenarios.cs): cancellation on the
/// local ring, the joinable count under a fast consumer, and a failed create that leaves no ring file.
/// </summary>
public sealed class QueueApiTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(180);
    private readonly DragonRun _dragon = new();

    [Fact]
    public void GetAsyncPutAsyncReceiveAsync_CancelledOnLocalRing_EndPromptlyAndTakeNothing() =>
        RunResultChecks.AssertHas(
            _dragon.RunScenario(s_timeout, "--local-nodes", "1", Repo.TestApp, "queue-cancel"),
            "GetAsync on an empty queue: a cancel takes effect within 100 ms",
            "the cancelled gets took nothing",
            "PutAsync on a full queue: a cancel takes effect within 100 ms",
            "the cancelled puts put nothing",
            "ReceiveAsync on an empty pipe: a cancel takes effect within 100 ms",
            "the cancelled receives took nothing from the pipe");

    [Theory]
    [InlineData("one-node")]
    [InlineData("two-nodes")]
    public void TaskDone_FastConsumerOfManyItems_NeverAheadOfTheCountAndJoinReturns(string layout) =>
        RunResultChecks.AssertHas(
            _dragon.RunScenario(s_timeout, "--local-nodes", layout == "two-nodes" ? "2" : "1", Repo.TestApp, "queue-joinable-fast", layout, layout == "two-nodes" ? "3000" : "20000"),
            "Join returned after",
            "one TaskDone more than items put: InvalidOperationException");

    [Theory]
    [InlineData("one-node")]
    [InlineData("two-nodes")]
    public void ReadAllAsyncJoinAsyncAwaitUsing_ConsumerSide_ReadsToTheCloseAndJoinsAfterTheLastTaskDone(string layout) =>
        RunResultChecks.AssertHas(
            _dragon.RunScenario(s_timeout, "--local-nodes", layout == "two-nodes" ? "2" : "1", Repo.TestApp, "queue-async", layout),
            "await foreach read all 500 items in order, then ended when the queue was closed (500 items)",
            "JoinAsync with two items outstanding ends as cancelled when its token fires",
            "both items are still there after the cancelled join",
            "JoinAsync waits while one item is not done",
            "JoinAsync completes after the last TaskDone",
            "await using of a group with running members returned");

    [Fact]
    public void Create_NameInUseOnAnotherNode_FailsNamingItAndLeavesNoRingFile() =>
        RunResultChecks.AssertHas(
            _dragon.RunScenario(s_timeout, "--local-nodes", "2", Repo.TestApp, "queue-name-taken"),
            "a second queue with the same name: ArgumentException",
            "the error names the name",
            "the failed create left no ring file",
            "the first queue still works");

    public void Dispose() => _dragon.Dispose();
}
