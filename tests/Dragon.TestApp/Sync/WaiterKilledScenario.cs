using System.Text.Json;

namespace Dragon.TestApp;

/// <summary>
/// A waiter killed while it waits for a lock and a semaphore unit homed on node 1 (the head, on node 0, holds both):
/// from node 0 its waits are served by node 1 on its behalf and must be withdrawn when it dies; on node 1 it sleeps
/// on the shared slot itself. Either way, once the head lets go, the lock and the unit must be free for the head, not
/// taken by a dead process. Writes a typed result (JSON); it judges nothing itself.
/// </summary>
public static class WaiterKilledScenario
{
    public static int Run(string resultPath)
    {
        Console.WriteLine($"INFO run {SystemInfo.RunId}");
        Check.That(SystemInfo.Nodes.Count >= 2, "the run has two nodes");
        using var @lock = new DragonLock(node: 1);
        using var semaphore = new DragonSemaphore(1, node: 1);
        @lock.Acquire();
        semaphore.Acquire();
        var cases = new List<WaiterKilledCase>();
        foreach (var node in new[] { 0, 1 })
        {
            using var waiting = new DragonEvent(node: 1);
            var waiter = DragonProcess.Start(ProcessTemplate.FromMethod(WaitForBoth, @lock, semaphore, waiting) with { Policy = Policy.OnNode(node) });
            Check.That(waiting.TryWait(TimeSpan.FromSeconds(60)), $"the waiter on node {node} started waiting");

            // Both waits are asleep by now; the home node hears of the death soon after the kill.
            Thread.Sleep(300);
            waiter.Kill();
            Check.That(waiter.TryJoin(TimeSpan.FromSeconds(30), out _), $"the waiter on node {node} ended");
            Thread.Sleep(500);
            @lock.Release();
            semaphore.Release();
            cases.Add(new WaiterKilledCase(
                node, waiter.GetStatus().ExitReason, @lock.TryAcquire(TimeSpan.FromSeconds(2)), semaphore.TryAcquire(TimeSpan.FromSeconds(2))));
        }

        File.WriteAllText(resultPath, JsonSerializer.Serialize(new WaiterKilledResult([.. cases])));
        return 0;
    }

    public static int WaitForBoth(DragonLock @lock, DragonSemaphore semaphore, DragonEvent waiting)
    {
        var unit = semaphore.AcquireAsync();
        waiting.Set();
        @lock.Acquire();
        unit.GetAwaiter().GetResult();
        return 0;
    }
}
