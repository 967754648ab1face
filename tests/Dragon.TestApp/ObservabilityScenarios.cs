namespace Dragon.TestApp;

/// <summary>
/// Workflows whose figures the observability tests read from outside while they run: each does a known amount of
/// work, prints <c>READY</c> and waits for the test to create its go-file before it ends.
/// </summary>
internal static class ObservabilityScenarios
{
    /// <summary>
    /// 5 processes that exit 0 and 1 that exits 3 (spread over the nodes), one 2-rank MPI job, and 100 items put in
    /// the queue "obs-queue" of which 40 are taken, 10 in "obs-queue-n1" (on node 1) of which 3 are taken: the metrics
    /// must say so while the head still runs.
    /// </summary>
    public static int Workload(string mpitest, string goFile)
    {
        using (var group = new ProcessGroup())
        {
            group.AddProcess(5, ProcessTemplate.Executable("/bin/true") with { Policy = Policy.RoundRobin });
            group.Start();
            Check.That(group.TryJoin(TimeSpan.FromSeconds(30)), "the 5 processes finished");
            group.Close();
        }

        var failing = DragonProcess.Start(ProcessTemplate.Executable("/bin/sh", "-c", "exit 3"));
        Check.That(failing.Join() == 3, "the failing process exited 3");

        using (var mpi = new ProcessGroup(pmi: Pmi.Simple))
        {
            mpi.AddProcess(2, ProcessTemplate.Executable(mpitest, "hello") with { Stdout = Stdio.DevNull, Policy = Policy.RoundRobin });
            mpi.Start();
            Check.That(mpi.TryJoin(TimeSpan.FromSeconds(60)), "the MPI job finished");
            mpi.Close();
        }

        using var queue = new DragonQueue<int>(maxSize: 256, name: "obs-queue", node: 0);
        for (var i = 0; i < 100; i++)
        {
            queue.Put(i);
        }

        for (var i = 0; i < 40; i++)
        {
            queue.Get(TimeSpan.FromSeconds(10));
        }

        // A queue whose home is node 1, used from the head on node 0 (through the node services).
        using var remote = new DragonQueue<int>(maxSize: 64, name: "obs-queue-n1", node: 1);
        for (var i = 0; i < 10; i++)
        {
            remote.Put(i);
        }

        for (var i = 0; i < 3; i++)
        {
            remote.Get(TimeSpan.FromSeconds(10));
        }

        Check.That(true, "100 put, 40 taken; on node 1, 10 put, 3 taken");
        return WaitForGo(goFile);
    }

    /// <summary><paramref name="count"/> sleepers spread over the nodes, in one group, running until the go-file appears.</summary>
    public static int Sleepers(int count, string goFile)
    {
        using var group = new ProcessGroup();
        group.AddProcess(count, ProcessTemplate.Executable("/bin/sleep", "120") with { Policy = Policy.RoundRobin });
        group.Start();
        var code = WaitForGo(goFile);
        group.Stop();
        group.Close();
        return code;
    }

    /// <summary>An MPI job of <paramref name="ranks"/> ranks (one per node when the nodes allow) that sleep after MPI_Init.</summary>
    public static int MpiSleepers(string mpitest, int ranks, string goFile)
    {
        using var group = new ProcessGroup(pmi: Pmi.Simple);
        group.AddProcess(ranks, ProcessTemplate.Executable(mpitest, "sleep", "120") with { Stdout = Stdio.DevNull, Policy = Policy.RoundRobin });
        group.Start();
        var code = WaitForGo(goFile);
        group.Stop();
        group.Close();
        return code;
    }

    private static int WaitForGo(string goFile)
    {
        Console.WriteLine("READY");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (!File.Exists(goFile))
        {
            if (DateTime.UtcNow > deadline)
            {
                Console.WriteLine($"FAIL no go-file {goFile} within 120 s");
                return 1;
            }

            Thread.Sleep(50);
        }

        return 0;
    }
}
