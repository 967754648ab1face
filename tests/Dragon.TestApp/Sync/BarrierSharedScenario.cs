using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace Dragon.TestApp;

/// <summary>
/// Barriers homed on node 0, whose parties there arrive and wait in shared memory: two processes pass one a thousand
/// times (counting their requests), a party killed while it waits breaks it for a waiter of the home node and one of
/// node 1, and a cancelled waiter withdraws so that a replacement completes the round. Writes a typed result (JSON);
/// it judges nothing itself.
/// </summary>
public static class BarrierSharedScenario
{
    private const int Rounds = 1000;
    private static readonly TimeSpan s_long = TimeSpan.FromSeconds(60);

    public static int Run(string resultPath)
    {
        Console.WriteLine($"INFO run {SystemInfo.RunId}");
        Check.That(SystemInfo.Nodes.Count >= 2, "the run has two nodes");
        var result = new BarrierSharedResult(PassRounds(), PartyKilled(), CancelledWithReplacement());
        File.WriteAllText(resultPath, JsonSerializer.Serialize(result));
        return 0;
    }

    private static BarrierRoundsCase PassRounds()
    {
        using var barrier = new DragonBarrier(2, node: 0);
        using var reports = new DragonQueue<RoundsReport>(node: 0);
        var child = DragonProcess.Start(ProcessTemplate.FromMethod(ChildRounds, barrier, reports, Rounds) with { Policy = Policy.OnNode(0) });
        var indices = new int[Rounds];
        var before = RequestsSent();
        for (var round = 0; round < Rounds; round++)
        {
            indices[round] = round % 2 == 0 ? barrier.Wait(s_long) : barrier.WaitAsync(s_long).GetAwaiter().GetResult();
        }

        var headRequests = RequestsSent() - before;
        var report = reports.Get(s_long);
        Check.That(child.TryJoin(s_long, out var exitCode), "the child of the rounds ended");
        var good = Enumerable.Range(0, Rounds).Count(r => report.Indices.Length == Rounds && indices[r] + report.Indices[r] == 1 && indices[r] != report.Indices[r]);
        return new BarrierRoundsCase(Rounds, good, headRequests, report.Requests, report.RequestsForACreation, exitCode);
    }

    public static int ChildRounds(DragonBarrier barrier, DragonQueue<RoundsReport> reports, int rounds)
    {
        var indices = new int[rounds];
        var before = RequestsSent();
        for (var round = 0; round < rounds; round++)
        {
            indices[round] = round % 2 == 1 ? barrier.Wait(s_long) : barrier.WaitAsync(s_long).GetAwaiter().GetResult();
        }

        var requests = RequestsSent() - before;
        before = RequestsSent();
        using (new DragonEvent(node: 0))
        {
        }

        reports.Put(new RoundsReport(indices, requests, RequestsSent() - before));
        return 0;
    }

    /// <summary>Parties 4: a victim (node 0, shared memory), a party of node 1 (by request) and the head wait; the victim is killed.</summary>
    private static BarrierKilledCase PartyKilled()
    {
        using var barrier = new DragonBarrier(4, node: 0);
        using var arriving = new DragonEvent(node: 0);
        using var remoteArriving = new DragonEvent(node: 0);
        using var reports = new DragonQueue<PartyReport>(node: 0);
        var victim = DragonProcess.Start(ProcessTemplate.FromMethod(WaitOnce, barrier, reports, arriving) with { Policy = Policy.OnNode(0) });
        var remote = DragonProcess.Start(ProcessTemplate.FromMethod(WaitOnce, barrier, reports, remoteArriving) with { Policy = Policy.OnNode(1) });
        Check.That(arriving.TryWait(s_long) && remoteArriving.TryWait(s_long), "the victim and the party of node 1 are arriving");
        var head = barrier.WaitAsync(s_long);

        // The victim arrived before it set its event; the request of node 1's party gets there within this pause.
        Thread.Sleep(500);
        Check.That(!head.IsCompleted, "the head waits with two parties of four");
        var killedAt = DateTime.UtcNow.Ticks;
        var clock = Stopwatch.StartNew();
        victim.Kill();
        var (headThrown, headMessage) = Outcome(head);
        var headMs = clock.Elapsed.TotalMilliseconds;
        var remoteReport = reports.Get(s_long);
        Check.That(victim.TryJoin(s_long, out _) && remote.TryJoin(s_long, out _), "the victim and the party of node 1 ended");

        // Reset, then four parties pass: the dead victim's entry was freed.
        barrier.Reset();
        var parties = Enumerable.Range(0, 3).Select(_ => DragonProcess.Start(ProcessTemplate.FromMethod(WaitOnce, barrier, reports, arriving) with { Policy = Policy.OnNode(0) })).ToArray();
        var indices = new List<int> { barrier.Wait(s_long) };
        indices.AddRange(parties.Select(_ => reports.Get(s_long).Index));
        Check.That(parties.All(p => p.TryJoin(s_long, out _)), "the parties after the reset ended");
        return new BarrierKilledCase(
            victim.Puid, victim.GetStatus().ExitReason, headThrown, headMessage, headMs, remoteReport.Thrown, remoteReport.Message,
            TimeSpan.FromTicks(remoteReport.UtcTicks - killedAt).TotalMilliseconds, [.. indices.Order()]);
    }

    /// <summary>Parties 3: C arrives, then K; C cancels; the head arrives and must still wait; a replacement completes it.</summary>
    private static BarrierCancelCase CancelledWithReplacement()
    {
        using var barrier = new DragonBarrier(3, node: 0);
        using var arriving = new DragonEvent(node: 0);
        using var cancelNow = new DragonEvent(node: 0);
        using var cancelled = new DragonQueue<PartyReport>(node: 0);
        using var reports = new DragonQueue<PartyReport>(node: 0);
        var first = DragonProcess.Start(ProcessTemplate.FromMethod(CancelledWait, barrier, cancelled, arriving, cancelNow) with { Policy = Policy.OnNode(0) });
        Check.That(arriving.TryWait(s_long), "the party to cancel arrived");
        arriving.Clear();
        var second = DragonProcess.Start(ProcessTemplate.FromMethod(WaitOnce, barrier, reports, arriving) with { Policy = Policy.OnNode(0) });
        Check.That(arriving.TryWait(s_long), "the second party arrived");
        cancelNow.Set();
        var cancelledReport = cancelled.Get(s_long);

        var head = barrier.WaitAsync(s_long);
        Thread.Sleep(300);
        var passedEarly = head.IsCompleted;
        var replacement = DragonProcess.Start(ProcessTemplate.FromMethod(WaitOnce, barrier, reports, arriving) with { Policy = Policy.OnNode(0) });
        var indices = new List<int> { head.GetAwaiter().GetResult(), reports.Get(s_long).Index, reports.Get(s_long).Index };
        Check.That(new[] { first, second, replacement }.All(p => p.TryJoin(s_long, out _)), "the parties of the cancel case ended");
        return new BarrierCancelCase(cancelledReport.Thrown, passedEarly, [.. indices.Order()]);
    }

    /// <summary>Arrives (WaitAsync arrives before it returns on the home node), signals, and reports how the wait ended.</summary>
    public static int WaitOnce(DragonBarrier barrier, DragonQueue<PartyReport> reports, DragonEvent arriving)
    {
        var wait = barrier.WaitAsync(TimeSpan.FromSeconds(120));
        arriving.Set();
        var (thrown, message) = Outcome(wait);
        reports.Put(new PartyReport(thrown is null ? wait.Result : -1, thrown, message, DateTime.UtcNow.Ticks));
        return 0;
    }

    public static int CancelledWait(DragonBarrier barrier, DragonQueue<PartyReport> reports, DragonEvent arriving, DragonEvent cancelNow)
    {
        using var cancel = new CancellationTokenSource();
        var wait = barrier.WaitAsync(TimeSpan.FromSeconds(120), cancel.Token);
        arriving.Set();
        cancelNow.Wait(s_long);
        cancel.Cancel();
        var (thrown, message) = Outcome(wait);
        reports.Put(new PartyReport(thrown is null ? wait.Result : -1, thrown, message, DateTime.UtcNow.Ticks));
        return 0;
    }

    private static (string? Thrown, string? Message) Outcome(Task<int> wait)
    {
        try
        {
            wait.GetAwaiter().GetResult();
            return (null, null);
        }
        catch (Exception e)
        {
            return (e.GetType().Name, e.Message);
        }
    }

    // The runtime's own count of requests this process sent (internal: read by reflection, named so a rename fails loudly).
    private static long RequestsSent() =>
        (long)(typeof(DragonBarrier).Assembly.GetType("Dragon.Runtime.RuntimeClient", throwOnError: true)!
            .GetProperty("RequestsSent", BindingFlags.NonPublic | BindingFlags.Static)?.GetValue(null)
            ?? throw new MissingMemberException("RuntimeClient.RequestsSent"));
}

/// <summary>A rounds child's arrival indices and its request counts.</summary>
public sealed record RoundsReport(int[] Indices, long Requests, long RequestsForACreation);

/// <summary>How one party's wait ended: its index, or what it threw (and when, in UTC ticks).</summary>
public sealed record PartyReport(int Index, string? Thrown, string? Message, long UtcTicks);
