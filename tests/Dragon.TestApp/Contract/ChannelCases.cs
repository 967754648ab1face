using System.Diagnostics;

namespace Dragon.TestApp;

/// <summary>
/// The channel cases written once for queues and pipes (the family argument of each): order per producer,
/// messages of every size, close then drain then end of stream, and waits on an empty or full channel. The head
/// creates the object on the layout's home node and receives; producers are processes on the workers' node.
/// </summary>
public static class ChannelCases
{
    private const int OrderProducers = 3;
    private const int OrderMessages = 1000;
    private const int Capacity = 4;
    private static readonly TimeSpan s_asked = TimeSpan.FromMilliseconds(1000);

    /// <summary>Three producer processes; what the receiver saw of each one's messages.</summary>
    public static async Task<OrderResult> Order(ContractApi api, string family, ContractLayout layout)
    {
        using var channel = ChannelPair<byte[]>.Create(family, layout.Home, capacity: 64);
        var producers = Enumerable.Range(0, OrderProducers)
            .Select(p => ContractLayout.Start(layout, ProduceNumbered, api.Mode, channel.Sender, p, OrderMessages))
            .ToArray();
        var seen = new bool[OrderProducers, OrderMessages];
        var last = new int[OrderProducers];
        Array.Fill(last, -1);
        int received = 0, violations = 0, duplicates = 0, corrupt = 0;
        for (var i = 0; i < OrderProducers * OrderMessages; i++)
        {
            var message = await api.Receive(channel.Receiver, TimeSpan.FromSeconds(30));
            received++;
            if (!Payloads.TryReadNumbered(message, out var producer, out var seq) || producer is < 0 or >= OrderProducers || seq is < 0 or >= OrderMessages)
            {
                corrupt++;
                continue;
            }

            duplicates += seen[producer, seq] ? 1 : 0;
            seen[producer, seq] = true;
            violations += seq <= last[producer] ? 1 : 0;
            last[producer] = Math.Max(last[producer], seq);
        }

        var exits = ContractLayout.JoinAll(producers);
        var lost = seen.Cast<bool>().Count(s => !s);
        var (extra, _) = await api.TryReceive(channel.Receiver, TimeSpan.FromMilliseconds(200));
        return new OrderResult(OrderProducers, OrderMessages, received, violations, duplicates, lost, corrupt, extra, exits);
    }

    public static async Task<int> ProduceNumbered(string mode, ContractChannel<byte[]> channel, int producer, int count)
    {
        var api = ContractApi.For(mode);
        for (var i = 0; i < count; i++)
        {
            await api.Send(channel, Payloads.Numbered(producer, i));
        }

        return 0;
    }

    /// <summary>0 B, 64 B, 64 KiB and 16 MiB, as bytes and as a record carrying a string, sent by another process.</summary>
    public static async Task<SizeResult[]> Sizes(ContractApi api, string family, ContractLayout layout)
    {
        using var bytes = ChannelPair<byte[]>.Create(family, layout.Home);
        using var documents = ChannelPair<Document>.Create(family, layout.Home);
        var producer = ContractLayout.Start(layout, ProduceSizes, api.Mode, bytes.Sender, documents.Sender);
        var results = new List<SizeResult>();
        foreach (var size in Payloads.Sizes)
        {
            var received = await api.Receive(bytes.Receiver, TimeSpan.FromSeconds(60));
            results.Add(new SizeResult("bytes", size, received.Length, received.AsSpan().SequenceEqual(Payloads.Bytes(size))));
        }

        foreach (var size in Payloads.Sizes)
        {
            var received = await api.Receive(documents.Receiver, TimeSpan.FromSeconds(60));
            results.Add(new SizeResult("record", size, received.Text.Length, received == Payloads.Doc(size)));
        }

        ContractLayout.Join(producer);
        return [.. results];
    }

    public static async Task<int> ProduceSizes(string mode, ContractChannel<byte[]> bytes, ContractChannel<Document> documents)
    {
        var api = ContractApi.For(mode);
        foreach (var size in Payloads.Sizes)
        {
            await api.Send(bytes, Payloads.Bytes(size));
        }

        foreach (var size in Payloads.Sizes)
        {
            await api.Send(documents, Payloads.Doc(size));
        }

        return 0;
    }

    /// <summary>
    /// A producer process sends 10 then closes: the head drains, then receives and sends after the close. Then a
    /// consumer process blocked in a receive when the head closes reports what its receive ended with.
    /// </summary>
    public static async Task<CloseResult> Close(ContractApi api, string family, ContractLayout layout)
    {
        const int Sent = 10;
        int drained = 0;
        var inOrder = true;
        string? afterDrain, secondAfterDrain, tryAfterDrain;
        (string? Thrown, string Message, double Ms) late;
        using (var channel = ChannelPair<string>.Create(family, layout.Home))
        {
            ContractLayout.Join(ContractLayout.Start(layout, SendThenClose, api.Mode, channel.Sender, Sent));
            for (var i = 0; i < Sent; i++)
            {
                inOrder &= await api.Receive(channel.Receiver, TimeSpan.FromSeconds(10)) == $"m{i}";
                drained++;
            }

            afterDrain = await Measure.Thrown(() => api.Receive(channel.Receiver, TimeSpan.FromSeconds(5)));
            secondAfterDrain = await Measure.Thrown(() => api.Receive(channel.Receiver, TimeSpan.FromSeconds(5)));
            tryAfterDrain = await Measure.Thrown(() => api.TryReceive(channel.Receiver, TimeSpan.Zero));
            // Across nodes a send is accepted before it reaches the channel: the refusal comes with the flush.
            late = await Measure.Outcome(async () =>
            {
                await api.Send(channel.Sender, "late");
                await api.Flush(channel.Sender);
            });
        }

        using var blocked = ChannelPair<string>.Create(family, layout.Home);
        using var waiting = ContractApi.NewEvent(layout.Home);
        using var reports = ContractApi.NewQueue<string>(layout.Home, 4);
        var consumer = ContractLayout.Start(layout, ReceiveUntilEnd, api.Mode, blocked.Receiver, waiting, reports);
        await api.TryWait(waiting, TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        var clock = Stopwatch.StartNew();
        await api.Close(blocked.Sender);
        var end = await api.Get(reports, TimeSpan.FromSeconds(10));
        var endMs = clock.Elapsed.TotalMilliseconds;
        ContractLayout.Join(consumer);
        return new CloseResult(
            Sent, drained, inOrder, afterDrain, secondAfterDrain, tryAfterDrain, late.Thrown,
            late.Message.Contains("closed", StringComparison.Ordinal), end, endMs);
    }

    public static async Task<int> SendThenClose(string mode, ContractChannel<string> channel, int count)
    {
        var api = ContractApi.For(mode);
        for (var i = 0; i < count; i++)
        {
            await api.Send(channel, $"m{i}");
        }

        await api.Close(channel);
        return 0;
    }

    /// <summary>Blocks in a receive on a channel nobody sends on, and reports what it ended with.</summary>
    public static async Task<int> ReceiveUntilEnd(string mode, ContractChannel<string> channel, DragonEvent waiting, DragonQueue<string> reports)
    {
        var api = ContractApi.For(mode);
        await api.Set(waiting);
        var ended = await Measure.Thrown(() => api.Receive(channel));
        await api.Put(reports, ended ?? "returned a message");
        return 0;
    }

    /// <summary>
    /// On a channel of capacity 4: try-once and timed receives on it empty, try-once and timed sends on it full
    /// (queues: a pipe's send takes no timeout), then a send blocked on it full and a receive blocked on it empty,
    /// each released by another process 500 ms after the head signals it.
    /// </summary>
    public static async Task<TimeoutsResult> Timeouts(ContractApi api, string family, ContractLayout layout)
    {
        using var channel = ChannelPair<int>.Create(family, layout.Home, Capacity);
        var ((emptyGot, _), emptyZeroMs) = await Measure.Ms(() => api.TryReceive(channel.Receiver, TimeSpan.Zero));
        var timedReceive = await Measure.Outcome(() => api.Receive(channel.Receiver, s_asked));

        bool? fullTry = null;
        double? fullTryMs = null, timedSendMs = null;
        string? timedSend = null;
        // What a sender can have accepted before it is held back: the channel full, and across nodes as many more
        // on their way (a send there returns once its node service accepted the message).
        var fits = Capacity + layout.InFlightAllowance(Capacity);
        if (channel.Sender.Queue is { } queue)
        {
            for (var i = 0; i < fits; i++)
            {
                if (i == Capacity)
                {
                    // The channel is full once what was sent arrived; then the window takes as many more.
                    await api.Flush(channel.Sender);
                }

                if (!await api.TryPut(queue, i, TimeSpan.Zero))
                {
                    throw new InvalidOperationException($"a try-put of item {i} into an empty queue of {Capacity} did not fit");
                }
            }

            (var fitted, fullTryMs) = await Measure.Ms(() => api.TryPut(queue, fits, TimeSpan.Zero));
            fullTry = !fitted;
            (timedSend, _, timedSendMs) = await Measure.Outcome(() => api.Put(queue, fits, s_asked));
            for (var i = 0; i < fits; i++)
            {
                await api.Get(queue, TimeSpan.FromSeconds(5));
            }
        }

        using var ready = ContractApi.NewEvent(layout.Home);
        using var roomGo = ContractApi.NewEvent(layout.Home);
        using var dataGo = ContractApi.NewEvent(layout.Home);
        var releaser = ContractLayout.Start(layout, Release, api.Mode, channel.Sender, channel.Receiver, ready, roomGo, dataGo);
        await api.TryWait(ready, TimeSpan.FromSeconds(30));
        for (var i = 0; i < fits; i++)
        {
            if (i == Capacity)
            {
                await api.Flush(channel.Sender);
            }

            await api.Send(channel.Sender, i);
        }

        await api.Set(roomGo);
        var blockedSendMs = await Measure.Ms(() => api.Send(channel.Sender, fits));
        var keptOrder = true;
        for (var i = 1; i <= fits; i++)
        {
            keptOrder &= await api.Receive(channel.Receiver, TimeSpan.FromSeconds(5)) == i;
        }

        await api.Set(dataGo);
        var (value, blockedReceiveMs) = await Measure.Ms(() => api.Receive(channel.Receiver, TimeSpan.FromSeconds(10)));
        ContractLayout.Join(releaser);
        return new TimeoutsResult(
            s_asked.TotalMilliseconds, !emptyGot, emptyZeroMs, timedReceive.Thrown, timedReceive.Ms,
            fullTry, fullTryMs, timedSend, timedSendMs, blockedSendMs, keptOrder, blockedReceiveMs, value);
    }

    /// <summary>Signals <paramref name="ready"/>; takes one message 500 ms after <paramref name="roomGo"/>, then sends 99 500 ms after <paramref name="dataGo"/>.</summary>
    public static async Task<int> Release(string mode, ContractChannel<int> sender, ContractChannel<int> receiver, DragonEvent ready, DragonEvent roomGo, DragonEvent dataGo)
    {
        var api = ContractApi.For(mode);
        await api.Set(ready);
        await api.TryWait(roomGo, TimeSpan.FromSeconds(60));
        await Task.Delay(500);
        var first = await api.Receive(receiver, TimeSpan.FromSeconds(10));
        await api.TryWait(dataGo, TimeSpan.FromSeconds(60));
        await Task.Delay(500);
        await api.Send(sender, 99);
        return first == 0 ? 0 : 1;
    }
}
