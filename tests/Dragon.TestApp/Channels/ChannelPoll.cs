namespace Dragon.TestApp;

/// <summary>
/// <see cref="Connection.Poll"/> on a pipe's reading end: false on an empty pipe (at once with a zero timeout),
/// true as soon as a message comes, without taking it, and true at end of stream.
/// </summary>
public static class ChannelPoll
{
    public static int Run(string layoutName)
    {
        var layout = ChannelLayout.Parse(layoutName);
        using var channel = ChannelUnderTest<Document>.Create(ChannelKind.Pipe, layout);
        var reader = channel.Receiver.Connection!;
        Check.That(!reader.Poll(TimeSpan.Zero), $"pipe {layout}: Poll on an empty pipe is false");
        using var go = new DragonEvent(node: layout.Home);
        var writer = layout.Start(WriteAfterSignal, channel.Sender, go);
        go.Set();
        var millis = Scenario.Millis(() => Check.That(reader.Poll(TimeSpan.FromSeconds(10)), "Poll waiting for a message sent by another process is true"));
        Check.That(millis < 2000, $"as soon as it came ({millis} ms)");
        Check.That(reader.Poll(TimeSpan.Zero), "Poll again is still true: it did not take the message");
        Check.That(reader.Receive<Document>(TimeSpan.FromSeconds(5)) == Payloads.Doc(100), "the polled message is received intact, as its own type");
        Check.That(reader.Receive<Document>(TimeSpan.FromSeconds(5)) == Payloads.Doc(200), "and the next one too");
        Scenario.JoinedOk(writer, "writer");
        Check.That(reader.Poll(TimeSpan.FromSeconds(5)), "after the writer closed, Poll is true (end of stream is ready)");
        Check.Throws<EndOfStreamException>(() => reader.Receive<Document>(TimeSpan.FromSeconds(5)), "and the receive is end of stream");
        var all = reader.ReadAllAsync<Document>().ToBlockingEnumerable().Count();
        Check.That(all == 0, "ReadAllAsync after end of stream ends at once");
        return 0;
    }

    public static void WriteAfterSignal(ChannelRef<Document> channel, DragonEvent go)
    {
        go.Wait(TimeSpan.FromSeconds(30));
        Thread.Sleep(200);
        var writer = channel.Open();
        writer.Send(Payloads.Doc(100));
        writer.Send(Payloads.Doc(200));
        writer.Close();
    }
}
