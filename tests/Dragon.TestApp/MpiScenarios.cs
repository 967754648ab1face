using System.Diagnostics;

namespace Dragon.TestApp;

/// <summary>MPI jobs as process groups (PMI served by the runtime), with the real MPICH program tests/mpi/mpitest.c.</summary>
public static class MpiScenarios
{
    /// <summary>A 2-rank hello on one node or spread over two: every rank reports size 2 and its own rank.</summary>
    public static int Hello(string mpitest, bool spread)
    {
        var group = new ProcessGroup(pmi: Pmi.Simple);
        var policy = spread ? Policy.RoundRobin : Policy.OnNode(0);
        group.AddProcess(2, ProcessTemplate.Executable(mpitest, "hello") with { Stdout = Stdio.Pipe, Policy = policy });
        group.Start();
        var members = group.GetProcesses();
        for (var rank = 0; rank < 2; rank++)
        {
            var lines = members[rank].Stdout!.ReadAllAsync<string>().ToBlockingEnumerable().ToList();
            var hello = lines.SingleOrDefault(l => l.StartsWith("rank=", StringComparison.Ordinal)) ?? string.Empty;
            Check.That(hello.StartsWith($"rank={rank} size=2 ", StringComparison.Ordinal), $"member {rank} on {members[rank].Node.Name} says '{hello}'");
        }

        Check.That(group.TryJoin(TimeSpan.FromSeconds(60)), "the job finished");
        Check.That(group.GetStatus().ExitStatus.All(s => s.ExitCode == 0), "every rank exited 0");
        var nodes = members.Select(m => m.Node.Index).Distinct().Count();
        Check.That(nodes == (spread ? 2 : 1), $"ranks ran on {nodes} node(s)");
        group.Close();
        return 0;
    }

    /// <summary>Each failure kind ends every rank within 2 s with the reason, while a second job runs on unaffected.</summary>
    public static int Failures(string mpitest, Pmi pmi = Pmi.Simple)
    {
        var bystander = new ProcessGroup(pmi: pmi);
        bystander.AddProcess(2, ProcessTemplate.Executable(mpitest, "sleep", "4") with { Stdout = Stdio.DevNull, Policy = Policy.OnNode(0) });
        bystander.Start();

        Expect(mpitest, pmi, ["abort", "1", "7"], "rank 1", "aborted (MPI_Abort with code 7)", (7, null), group =>
        {
            var members = group.GetProcesses();
            Check.That(members[1].GetStatus().ExitReason?.StartsWith("called MPI_Abort with code 7", StringComparison.Ordinal) == true, $"the aborting rank's own reason: {members[1].GetStatus().ExitReason}");
            Check.That(members[0].GetStatus().ExitReason?.StartsWith("killed: rank 1 called MPI_Abort with code 7", StringComparison.Ordinal) == true, $"the other rank's reason: {members[0].GetStatus().ExitReason}");
        });
        Expect(mpitest, pmi, ["exit-before-init", "1", "3"], "rank 1", "exited with code 3 before MPI_Init", (3, null));
        Expect(mpitest, pmi, ["die-after-init", "1"], "rank 1", "killed by signal 9 (SIGKILL) after MPI_Init", (null, 9));

        Check.That(bystander.TryJoin(TimeSpan.FromSeconds(60)), "the other job finished");
        Check.That(bystander.GetStatus().ExitStatus.Count == 2 && bystander.GetStatus().ExitStatus.All(s => s.ExitCode == 0), "the other job was unaffected (both ranks exited 0)");
        bystander.Close();
        return 0;
    }

    internal static void Expect(string mpitest, Pmi pmi, string[] args, string rank, string reason, (int? Code, int? Signal) exit, Action<ProcessGroup>? afterwards = null)
    {
        var group = new ProcessGroup(pmi: pmi);
        group.AddProcess(2, ProcessTemplate.Executable(mpitest, args) with { Stdout = Stdio.DevNull, Stderr = Stdio.DevNull, Policy = Policy.OnNode(0) });
        group.Start();
        var clock = Stopwatch.StartNew();
        var e = Check.Throws<ProcessGroupException>(() => group.Join(TimeSpan.FromSeconds(60)), $"{args[0]}: the group fails");
        Check.That(e.Message.Contains(rank, StringComparison.Ordinal) && e.Message.Contains(reason, StringComparison.Ordinal)
            && e.Message.Contains("on node ", StringComparison.Ordinal), $"{args[0]}: the reason names {rank}, its node and '{reason}'");
        Check.That(e.Rank == 1 && e.NodeIndex == 0 && e.Puid == group.GetStatus().Puids[1] && e.ExitCode == exit.Code && e.Signal == exit.Signal,
            $"{args[0]}: the exception's context is rank 1, node 0, its puid, code {exit.Code} signal {exit.Signal} (got rank {e.Rank}, node {e.NodeIndex}, puid {e.Puid}, code {e.ExitCode}, signal {e.Signal})");
        while (group.GetStatus().IsRunning && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(20);
        }

        Check.That(!group.GetStatus().IsRunning, $"{args[0]}: every rank ended {clock.Elapsed.TotalSeconds:F2} s after the failure was reported");
        Check.That(clock.Elapsed < TimeSpan.FromSeconds(2), $"{args[0]}: within 2 s");
        afterwards?.Invoke(group);
        group.Close();
    }

    /// <summary>A program that never speaks PMI in a PMI group: reported, no hang.</summary>
    public static int NotMpi()
    {
        var group = new ProcessGroup(pmi: Pmi.Simple);
        group.AddProcess(2, ProcessTemplate.Executable("/bin/true"));
        group.Start();
        var e = Check.Throws<ProcessGroupException>(() => group.Join(TimeSpan.FromSeconds(30)), "a non-MPI program fails its PMI group");
        Check.That(e.Message.Contains("without ever connecting to PMI", StringComparison.Ordinal), $"the reason says it never connected: {e.Message}");
        group.Close();
        return 0;
    }
}
