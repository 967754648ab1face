using System.Diagnostics;

namespace Dragon.TestApp;

/// <summary>
/// SIGKILL in the middle of channel operations: the other processes go on within 2 seconds. The killed process is
/// blocked in a Get, or stopped in the middle of putting a 16 MiB message that does not fit in the ring.
/// </summary>
public static class ChannelKillScenarios
{
    private static readonly TimeSpan s_twoSeconds = TimeSpan.FromSeconds(2);

    /// <summary>Two consumers block in Get; one is killed; the next message goes to the other within 2 s.</summary>
    public static int KilledInGet(string layoutName)
    {
        var layout = ChannelLayout.Parse(layoutName);
        using var queue = new DragonQueue<string>(maxSize: 64, node: layout.Home);
        using var firstWaiting = new DragonEvent(node: layout.Home);
        using var secondWaiting = new DragonEvent(node: layout.Home);
        using var got = new DragonEvent(node: layout.Home);
        var doomed = layout.Start(GetOne, queue, firstWaiting, got);
        Check.That(firstWaiting.TryWait(TimeSpan.FromSeconds(30)), "the first consumer is blocked in Get");
        Thread.Sleep(300);
        var survivor = layout.Start(GetOne, queue, secondWaiting, got);
        Check.That(secondWaiting.TryWait(TimeSpan.FromSeconds(30)), "a second consumer is blocked in Get");
        Thread.Sleep(300);
        var clock = Stopwatch.StartNew();
        doomed.Kill();
        Check.That(doomed.TryJoin(TimeSpan.FromSeconds(10), out _), $"{layout}: the first consumer was killed with SIGKILL ({doomed.GetStatus().ExitReason})");
        queue.Put("after the kill", timeout: s_twoSeconds);
        Check.That(got.TryWait(s_twoSeconds), $"the surviving consumer got the next message within 2 s of the kill ({clock.ElapsedMilliseconds} ms)");
        Check.That(clock.Elapsed < s_twoSeconds, "(measured from the kill, through the exit being noticed, the Put and the Get)");
        Scenario.JoinedOk(survivor, "surviving consumer");
        queue.Put("and another");
        Check.That(queue.Get(timeout: s_twoSeconds) == "and another", "the queue still works for everyone");
        return 0;
    }

    public static int GetOne(DragonQueue<string> queue, DragonEvent waiting, DragonEvent got)
    {
        waiting.Set();
        var message = queue.Get();
        if (message != "after the kill")
        {
            Console.WriteLine($"FAIL the consumer got '{message}'");
            return 1;
        }

        got.Set();
        return 0;
    }

    /// <summary>
    /// A producer is killed while its 16 MiB message is half in the ring (nobody drains it). Then a consumer's Get
    /// and another Put go on within 2 s; the consumer gets the next whole message, never the torn one.
    /// </summary>
    public static int KilledInPut(string layoutName)
    {
        var layout = ChannelLayout.Parse(layoutName);
        using var queue = new DragonQueue<byte[]>(node: layout.Home);
        using var putting = new DragonEvent(node: layout.Home);
        var doomed = layout.Start(PutLarge, queue, putting);
        Check.That(putting.TryWait(TimeSpan.FromSeconds(30)), "the producer started a 16 MiB Put into a 1 MiB ring with no consumer");
        Thread.Sleep(700);
        Check.That(!doomed.GetStatus().HasExited, "it is still in the middle of the Put");
        var clock = Stopwatch.StartNew();
        doomed.Kill();
        Check.That(doomed.TryJoin(TimeSpan.FromSeconds(10), out _), $"{layout}: the producer was killed with SIGKILL ({doomed.GetStatus().ExitReason})");

        // The torn message fills the ring: a consumer must skip it before anything else fits. On two nodes the
        // whole 16 MiB had reached the home node's service before the kill, and the send it was doing there may
        // still complete while this consumer drains: then that whole message comes first. Never a torn one.
        var consumer = Task.Run(() => ReceiveAfterKill(queue, layout));
        queue.Put(Payloads.Bytes(64), timeout: TimeSpan.FromSeconds(10));
        var putMillis = clock.ElapsedMilliseconds;
        Check.That(putMillis < 2000, $"while a consumer drains, another Put went through within 2 s of the kill ({putMillis} ms)");
        Check.That(consumer.Wait(TimeSpan.FromSeconds(10)), "the consumer's Get returned");
        Check.That(consumer.Result.AsSpan().SequenceEqual(Payloads.Bytes(64)), $"with the whole 64 B message ({consumer.Result.Length} bytes)");
        Check.That(clock.ElapsedMilliseconds < 2000, $"within 2 s of the kill ({clock.ElapsedMilliseconds} ms)");
        Check.That(!queue.TryGet(out _, TimeSpan.FromMilliseconds(300)), "nothing else is left in the queue");
        var large = layout.Start(PutLarge, queue, putting);
        var received = queue.Get(timeout: TimeSpan.FromSeconds(30));
        Check.That(received.AsSpan().SequenceEqual(Payloads.Bytes(16 << 20)), "a new 16 MiB message from another producer then arrives intact");
        Scenario.JoinedOk(large, "second large producer");
        return 0;
    }

    private static byte[] ReceiveAfterKill(DragonQueue<byte[]> queue, ChannelLayout layout)
    {
        var message = queue.Get(timeout: TimeSpan.FromSeconds(10));
        if (message.Length == 16 << 20 && layout.Home != layout.Workers)
        {
            Check.That(message.AsSpan().SequenceEqual(Payloads.Bytes(16 << 20)), "the killed producer's message, already handed to the home node, arrived whole");
            message = queue.Get(timeout: TimeSpan.FromSeconds(10));
        }

        return message;
    }

    public static void PutLarge(DragonQueue<byte[]> queue, DragonEvent putting)
    {
        var message = Payloads.Bytes(16 << 20);
        putting.Set();
        queue.Put(message);
    }
}
