namespace Dragon.TestApp;

/// <summary>
/// Blocking and timeouts, run in a worker process so its calls take the layout's path: a receive on an empty
/// channel times out after about its timeout with the kind's exception, a zero timeout tries once, a blocked send
/// goes on as soon as a receiver makes room and a blocked receive as soon as a sender sends. Queue only: a put on a
/// full queue times out with <see cref="TimeoutException"/>. Pipe only: <see cref="Connection.Poll"/>.
/// </summary>
public static class ChannelTimeouts
{
    private const int Capacity = 4;
    private static readonly TimeSpan s_timeout = TimeSpan.FromMilliseconds(400);

    public static int Run(string kindName, string layoutName)
    {
        var kind = ChannelUnderTest<int>.ParseKind(kindName);
        var layout = ChannelLayout.Parse(layoutName);
        using var channel = ChannelUnderTest<int>.Create(kind, layout, capacity: Capacity);
        using var full = new DragonEvent(node: layout.Home);
        using var empty = new DragonEvent(node: layout.Home);
        var worker = layout.Start(Worker, channel.Sender, channel.Receiver, full, empty);

        // The head's side of the two hand-offs: take one from the full channel, then send one to the empty one.
        var head = channel.Receiver.Open();
        Check.That(full.TryWait(TimeSpan.FromSeconds(30)), "the worker filled the channel and blocks in a send");
        Thread.Sleep(300);
        Check.That(head.Receive(TimeSpan.FromSeconds(5)) == 0, "the head took the first message, making room");
        Check.That(empty.TryWait(TimeSpan.FromSeconds(30)), "the worker drained the channel and blocks in a receive");
        Thread.Sleep(300);
        channel.Sender.Open().Send(99);
        Scenario.JoinedOk(worker, $"{kind} {layout} timeouts worker");
        return 0;
    }

    public static int Worker(ChannelRef<int> senderRef, ChannelRef<int> receiverRef, DragonEvent full, DragonEvent empty)
    {
        var sender = senderRef.Open();
        var receiver = receiverRef.Open();
        var what = $"{sender.Kind} in process on node {Node.Current.Index}";

        Check.That(!receiver.TryReceive(out _, TimeSpan.Zero), $"{what}: a try-receive with zero timeout on an empty channel is false");
        Check.That(Scenario.Millis(() => receiver.TryReceive(out _, TimeSpan.Zero)) < 350, "and it returns at once (tries once)");
        var waited = Scenario.Millis(() => Scenario.Throws(receiver.ReceiveTimeoutException, () => receiver.Receive(s_timeout), $"a receive on an empty channel times out with {receiver.ReceiveTimeoutException.Name}"));
        Check.That(waited >= 380 && waited < 2000, $"after about its timeout (400 ms asked, {waited} ms taken)");
        if (sender is QueueEnd<int> queue)
        {
            QueueOnly(queue.Queue);
        }
        else
        {
            PipeOnly(((PipeEnd<int>)receiver).Connection);
        }

        // A blocked send goes on when the head takes a message (it waits on "full" for that).
        for (var i = 0; i < Capacity; i++)
        {
            sender.Send(i);
        }

        full.Set();
        var blocked = Scenario.Millis(() => sender.Send(Capacity));
        Check.That(blocked >= 200 && blocked < 5000, $"a send on a full channel blocked until the head made room ({blocked} ms)");
        for (var i = 1; i <= Capacity; i++)
        {
            Check.That(receiver.Receive(TimeSpan.FromSeconds(5)) == i, $"message {i} came back in order");
        }

        // A blocked receive goes on when the head sends.
        empty.Set();
        var value = 0;
        var waitedForSend = Scenario.Millis(() => value = receiver.Receive(TimeSpan.FromSeconds(10)));
        Check.That(value == 99 && waitedForSend >= 200 && waitedForSend < 5000, $"a receive on an empty channel blocked until the head sent ({waitedForSend} ms)");
        return 0;
    }

    private static void QueueOnly(DragonQueue<int> queue)
    {
        for (var i = 0; i < Capacity; i++)
        {
            Check.That(queue.TryPut(i, TimeSpan.Zero), $"TryPut with zero timeout #{i} fits");
        }

        var once = Scenario.Millis(() => Check.That(!queue.TryPut(Capacity, TimeSpan.Zero), $"TryPut with zero timeout on a full queue ({Capacity} items) is false"));
        Check.That(once < 350, $"and returns at once ({once} ms)");
        var waited = Scenario.Millis(() => Check.Throws<TimeoutException>(() => queue.Put(Capacity, timeout: s_timeout), "Put on a full queue with a timeout"));
        Check.That(waited >= 380 && waited < 2000, $"gave TimeoutException after about its timeout (400 ms asked, {waited} ms taken)");
        var noBlock = Scenario.Millis(() => Check.Throws<TimeoutException>(() => queue.Put(Capacity, TimeSpan.Zero), "Put with a zero timeout on a full queue"));
        Check.That(noBlock < 350, $"gave TimeoutException at once ({noBlock} ms)");
        for (var i = 0; i < Capacity; i++)
        {
            Check.That(queue.TryGet(out var item, TimeSpan.Zero) && item == i, $"TryGet with zero timeout takes item {i}");
        }

        Check.That(!queue.TryGet(out _, TimeSpan.Zero), "TryGet with zero timeout on an empty queue is false");
        var zero = Scenario.Millis(() => Check.Throws<TimeoutException>(() => queue.Get(timeout: TimeSpan.Zero), "Get with a zero timeout on an empty queue"));
        Check.That(zero < 350, $"gave TimeoutException at once ({zero} ms)");
        var e = Check.Throws<TimeoutException>(() => queue.Get(timeout: TimeSpan.FromMilliseconds(50)), "the empty error");
        Check.That(e.Message.Contains(queue.Name, StringComparison.Ordinal), "names the queue");
    }

    private static void PipeOnly(Connection reader)
    {
        Check.That(!reader.Poll(TimeSpan.Zero), "Poll with zero timeout on an empty pipe is false");
        var waited = Scenario.Millis(() => Check.That(!reader.Poll(s_timeout), "Poll with a timeout on an empty pipe is false"));
        Check.That(waited >= 380 && waited < 2000, $"after about its timeout (400 ms asked, {waited} ms taken)");
    }
}
