namespace Dragon.TestApp;

/// <summary>
/// The channel contract, written once over <see cref="IChannelEnd{T}"/> and run for each kind (queue, pipe) and
/// layout (one node, two nodes): order per producer, messages of every size intact, close then drain then end of
/// stream. The head creates the object on the layout's home node; the producers are processes on the workers' node.
/// </summary>
public static class ChannelContract
{
    private const int OrderProducers = 3;
    private const int OrderMessages = 2000;

    /// <summary>Three producer processes; each one's messages arrive in the order it sent them, none lost or doubled.</summary>
    public static int Order(string kindName, string layoutName)
    {
        var kind = ChannelUnderTest<byte[]>.ParseKind(kindName);
        var layout = ChannelLayout.Parse(layoutName);
        using var channel = ChannelUnderTest<byte[]>.Create(kind, layout, capacity: 64);
        var producers = Enumerable.Range(0, OrderProducers).Select(p => layout.Start(ProduceNumbered, channel.Sender, p, OrderMessages)).ToArray();
        var receiver = channel.Receiver.Open();
        var next = new int[OrderProducers];
        for (var i = 0; i < OrderProducers * OrderMessages; i++)
        {
            var (producer, seq) = Payloads.ReadNumbered(receiver.Receive(TimeSpan.FromSeconds(30)));
            if (seq != next[producer])
            {
                throw new CheckFailedException($"producer {producer}: got message {seq}, expected {next[producer]}");
            }

            next[producer]++;
        }

        Check.That(next.All(n => n == OrderMessages), $"{kind} {layout}: {OrderProducers} producers x {OrderMessages} messages each arrived once, in the order sent");
        foreach (var producer in producers)
        {
            Scenario.JoinedOk(producer, "producer");
        }

        Check.That(!receiver.TryReceive(out _, TimeSpan.Zero), "nothing more arrived after the last message");
        return 0;
    }

    public static void ProduceNumbered(ChannelRef<byte[]> channel, int producer, int count)
    {
        var sender = channel.Open();
        for (var i = 0; i < count; i++)
        {
            sender.Send(Payloads.Numbered(producer, i));
        }
    }

    /// <summary>0 B, 64 B, 64 KiB and 16 MiB, as bytes and as a record carrying a string, arrive intact and in order.</summary>
    public static int Sizes(string kindName, string layoutName)
    {
        var kind = ChannelUnderTest<byte[]>.ParseKind(kindName);
        var layout = ChannelLayout.Parse(layoutName);
        using var bytes = ChannelUnderTest<byte[]>.Create(kind, layout, capacity: 1024);
        using var documents = ChannelUnderTest<Document>.Create(kind, layout, capacity: 1024);
        var producer = layout.Start(ProduceSizes, bytes.Sender, documents.Sender);
        var bytesEnd = bytes.Receiver.Open();
        var documentsEnd = documents.Receiver.Open();
        foreach (var size in Payloads.Sizes)
        {
            var received = bytesEnd.Receive(TimeSpan.FromSeconds(60));
            Check.That(received.AsSpan().SequenceEqual(Payloads.Bytes(size)), $"{kind} {layout}: byte[] of {Payloads.Size(size)} arrived intact ({received.Length} bytes)");
        }

        foreach (var size in Payloads.Sizes)
        {
            var received = documentsEnd.Receive(TimeSpan.FromSeconds(60));
            Check.That(received == Payloads.Doc(size), $"{kind} {layout}: record with a string of {Payloads.Size(size)} arrived intact ({received.Text.Length} chars)");
        }

        Scenario.JoinedOk(producer, "producer");
        return 0;
    }

    public static void ProduceSizes(ChannelRef<byte[]> bytes, ChannelRef<Document> documents)
    {
        var bytesEnd = bytes.Open();
        var documentsEnd = documents.Open();
        foreach (var size in Payloads.Sizes)
        {
            bytesEnd.Send(Payloads.Bytes(size));
        }

        foreach (var size in Payloads.Sizes)
        {
            documentsEnd.Send(Payloads.Doc(size));
        }
    }

    /// <summary>
    /// A producer sends then closes: the receiver drains everything, then every receive is end of stream and a
    /// send is refused. A receiver blocked when the close comes sees end of stream at once.
    /// </summary>
    public static int Close(string kindName, string layoutName)
    {
        var kind = ChannelUnderTest<string>.ParseKind(kindName);
        var layout = ChannelLayout.Parse(layoutName);
        using (var channel = ChannelUnderTest<string>.Create(kind, layout))
        {
            var producer = layout.Start(SendThenClose, channel.Sender, 10);
            Scenario.JoinedOk(producer, "producer that sent 10 messages and closed");
            var receiver = channel.Receiver.Open();
            for (var i = 0; i < 10; i++)
            {
                var message = receiver.Receive(TimeSpan.FromSeconds(10));
                if (message != $"m{i}")
                {
                    throw new CheckFailedException($"drained '{message}', expected 'm{i}'");
                }
            }

            Check.That(true, $"{kind} {layout}: the 10 messages sent before the close were drained in order");
            Check.Throws<EndOfStreamException>(() => receiver.Receive(TimeSpan.FromSeconds(5)), "then a receive is end of stream");
            Check.Throws<EndOfStreamException>(() => receiver.Receive(TimeSpan.FromSeconds(5)), "and so is every later receive");
            Check.Throws<EndOfStreamException>(() => receiver.TryReceive(out _, TimeSpan.Zero), "and a try-receive with zero timeout");
            var sender = channel.Sender.Open();
            var refused = Check.Throws<InvalidOperationException>(() => sender.Send("late"), "a send after the close is refused");
            Check.That(refused.Message.Contains("closed", StringComparison.Ordinal), "the error says the channel is closed");
        }

        using (var channel = ChannelUnderTest<string>.Create(kind, layout))
        {
            using var waiting = new DragonEvent(node: layout.Home);
            using var sawEnd = new DragonEvent(node: layout.Home);
            var consumer = layout.Start(ReceiveUntilEnd, channel.Receiver, waiting, sawEnd);
            Check.That(waiting.TryWait(TimeSpan.FromSeconds(30)), "a consumer is blocked in a receive");
            Thread.Sleep(300);
            channel.Sender.Open().Close();
            var millis = Scenario.Millis(() => Check.That(sawEnd.TryWait(TimeSpan.FromSeconds(2)), $"{kind} {layout}: the blocked consumer saw end of stream within 2 s of the close"));
            Console.WriteLine($"INFO end of stream reached the blocked consumer in {millis} ms");
            Scenario.JoinedOk(consumer, "consumer");
        }

        return 0;
    }

    public static void SendThenClose(ChannelRef<string> channel, int count)
    {
        var sender = channel.Open();
        for (var i = 0; i < count; i++)
        {
            sender.Send($"m{i}");
        }

        sender.Close();
    }

    public static int ReceiveUntilEnd(ChannelRef<string> channel, DragonEvent waiting, DragonEvent sawEnd)
    {
        var receiver = channel.Open();
        waiting.Set();
        try
        {
            var unexpected = receiver.Receive();
            Console.WriteLine($"FAIL received '{unexpected}' from a channel nobody sent on");
            return 1;
        }
        catch (EndOfStreamException)
        {
            sawEnd.Set();
            return 0;
        }
    }
}
