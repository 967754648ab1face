using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Pool;

/// <summary>
/// DragonBatch under the real launcher on two local nodes (scenarios in Dragon.TestApp/BatchScenarios.cs): task graphs
/// with a real MPI job in them, cancel propagation with reasons, per-task logs, the manifest, and many tasks on few
/// workers; each run leaves no process, socket or shared-memory file behind.
/// </summary>
public sealed class BatchTests : IDisposable
{
    private readonly DragonRun _dragon = new();

    [Fact]
    public void Diamond_WithAnMpiJobAsANode_RunsInDependencyOrderWithLogsAndManifest()
    {
        var result = _dragon.RunScenario(TimeSpan.FromSeconds(240), "--local-nodes", "2", Repo.TestApp, "batch-diamond", Repo.MpiProgram("mpitest"));
        RunResultChecks.AssertHas(
            result,
            "d = (a+1) + ranks of c = 12",
            "the MPI job ran 2 ranks on nodes",
            "rank 0's own log",
            "rank 1's own log",
            "each task started after its dependencies finished",
            "a's output is in its own logs",
            "e failed with its remote message",
            "f is cancelled naming e",
            "f never ran",
            "the manifest lists the 6 tasks",
            "the manifest shows the MPI job's 2 ranks, completed",
            "the manifest shows d depends on b and c",
            "the manifest shows f cancelled with its reason",
            "no shared-memory file left by the batch");
    }

    [Fact]
    public void Cancel_RunningProcessTask_StopsItAndCancelsItsDependantsWithTheReason()
    {
        var result = _dragon.RunScenario(TimeSpan.FromSeconds(180), "--local-nodes", "2", Repo.TestApp, "batch-cancel");
        RunResultChecks.AssertHas(
            result,
            "the sleeper runs as puid",
            "y names the chain",
            "x and y never ran",
            "the sleeper was stopped within",
            "a second cancel reports",
            "the running function's await ended within",
            "the batch runs the next task");
    }

    [Fact]
    public void TenThousandDependentTasks_OnTwoWorkers_CompleteWithoutDeadlock()
    {
        var result = _dragon.RunScenario(TimeSpan.FromSeconds(300), "--local-nodes", "2", Repo.TestApp, "batch-many");
        RunResultChecks.AssertHas(result, "10000 tasks on 2 workers completed with the right values", "the manifest shows both workers ran tasks", "a fence past its timeout");
    }

    [Fact]
    public void ProcessTasks_PastMaxRunningProcesses_WaitForRoom()
    {
        var result = _dragon.RunScenario(TimeSpan.FromSeconds(180), Repo.TestApp, "batch-limits");
        RunResultChecks.AssertHas(result, "a 3-process job larger than the limit completed", "the sleepers ran one after another", "each process and each rank has its own log files");
    }

    public void Dispose() => _dragon.Dispose();
}
