using System.Diagnostics;

namespace Dragon.TestApp;

/// <summary>
/// The queue-only cases: bad input, many producers and consumers, a consumer or producer killed in the middle of
/// an operation, and (async mode) a cancelled get.
/// </summary>
public static class QueueCases
{
    private const int Producers = 4;
    private const int Consumers = 4;

    /// <summary>Messages the 4 x 4 case moves: enough to interleave all eight processes, small enough for a 2-core machine.</summary>
    private const int ManyMessages = 8_000;

    private const int Large = 16 << 20;

    /// <summary>Too large, closed, disposed, destroyed, never created: what each call threw and what its message names.</summary>
    public static async Task<QueueBadInputResult> BadInput(ContractApi api, ContractLayout layout)
    {
        var doomedName = $"doomed-queue-{api.Mode}";
        using (var doomed = ContractApi.NewQueue<int>(layout.Home, name: doomedName))
        {
            await api.Put(doomed, 1);
        }

        var smallName = $"small-queue-{api.Mode}";
        var small = ContractApi.NewQueue<byte[]>(layout.Home, name: smallName, maxMessageBytes: 1024);
        var tooLarge = await Measure.Outcome(() => api.Put(small, new byte[4096]));
        var tryTooLarge = await Measure.Thrown(() => api.TryPut(small, new byte[4096], TimeSpan.Zero));
        var (delivered, _) = await api.TryGet(small, TimeSpan.FromMilliseconds(100));
        await api.Put(small, new byte[1000]);
        var withinLimit = (await api.Get(small, TimeSpan.FromSeconds(5))).Length == 1000;
        await api.Close(small);
        var afterClose = await Measure.Outcome(() => api.Put(small, [1]));
        var getAfterClose = await Measure.Thrown(() => api.Get(small, TimeSpan.FromSeconds(1)));
        small.Dispose();
        var afterDispose = await Measure.Outcome(() => api.Put(small, [1]));
        var destroyed = await Measure.Outcome(() => new ValueTask<DragonQueue<int>>(ContractApi.AttachQueue<int>(doomedName)));
        var neverCreated = await Measure.Thrown(() => new ValueTask<DragonQueue<int>>(ContractApi.AttachQueue<int>($"never-created-{api.Mode}")));
        return new QueueBadInputResult(
            tooLarge.Thrown,
            tooLarge.Message.Contains("4097", StringComparison.Ordinal) && tooLarge.Message.Contains("1024", StringComparison.Ordinal) && tooLarge.Message.Contains(smallName, StringComparison.Ordinal),
            tryTooLarge,
            !delivered,
            withinLimit,
            afterClose.Thrown,
            afterClose.Message.Contains(smallName, StringComparison.Ordinal) && afterClose.Message.Contains("closed", StringComparison.Ordinal),
            getAfterClose,
            afterDispose.Thrown,
            afterDispose.Message.Contains(smallName, StringComparison.Ordinal),
            destroyed.Thrown,
            destroyed.Message.Contains(doomedName, StringComparison.Ordinal),
            neverCreated);
    }

    /// <summary>
    /// Four producer processes and four consumer processes move the messages of 64 B through one queue; the head
    /// closes it once the producers are done, and the consumers drain to end of stream and report what they took.
    /// </summary>
    public static async Task<ManyResult> Many(ContractApi api, ContractLayout layout)
    {
        var perProducer = ManyMessages / Producers;
        using var queue = ContractApi.NewQueue<byte[]>(layout.Home, 1024);
        using var reports = ContractApi.NewQueue<int[]>(layout.Home, 16);
        var clock = Stopwatch.StartNew();
        var consumers = Enumerable.Range(0, Consumers).Select(_ => ContractLayout.Start(layout, Consume, api.Mode, queue, reports)).ToArray();
        var producers = Enumerable.Range(0, Producers).Select(p => ContractLayout.Start(layout, Produce, api.Mode, queue, p, perProducer)).ToArray();
        var producerExits = ContractLayout.JoinAll(producers, seconds: 120);
        await api.Close(queue);
        var seen = new int[Producers * perProducer];
        var taken = new int[Consumers];
        int unknown = 0, violations = 0;
        for (var c = 0; c < Consumers; c++)
        {
            // A report: the consumer's order violations, then the ids it took.
            var report = await api.Get(reports, TimeSpan.FromSeconds(60));
            violations += report[0];
            taken[c] = report.Length - 1;
            foreach (var packed in report.AsSpan(1))
            {
                var (producer, seq) = (packed >> 24, packed & 0xFFFFFF);
                if (producer >= Producers || seq >= perProducer)
                {
                    unknown++;
                    continue;
                }

                seen[(producer * perProducer) + seq]++;
            }
        }

        var consumerExits = ContractLayout.JoinAll(consumers);
        return new ManyResult(
            Producers, Consumers, Producers * perProducer, taken, seen.Count(n => n == 0), seen.Sum(n => Math.Max(0, n - 1)),
            unknown, violations, [.. producerExits, .. consumerExits], clock.Elapsed.TotalSeconds);
    }

    public static async Task<int> Produce(string mode, DragonQueue<byte[]> queue, int producer, int count)
    {
        var api = ContractApi.For(mode);
        for (var i = 0; i < count; i++)
        {
            await api.Put(queue, Payloads.Numbered(producer, i));
        }

        return 0;
    }

    /// <summary>Takes until end of stream, counting per-producer order violations, and reports them with the ids it took.</summary>
    public static async Task<int> Consume(string mode, DragonQueue<byte[]> queue, DragonQueue<int[]> reports)
    {
        var api = ContractApi.For(mode);
        var report = new List<int> { 0 };
        var last = new Dictionary<int, int>();
        while (true)
        {
            byte[] message;
            try
            {
                message = await api.Get(queue, TimeSpan.FromSeconds(60));
            }
            catch (EndOfStreamException)
            {
                break;
            }

            if (!Payloads.TryReadNumbered(message, out var producer, out var seq))
            {
                report.Add(-1);
                continue;
            }

            if (last.TryGetValue(producer, out var previous) && seq <= previous)
            {
                report[0]++;
            }

            last[producer] = seq;
            report.Add((producer << 24) | seq);
        }

        await api.Put(reports, report.ToArray());
        return 0;
    }

    /// <summary>Two consumer processes block in a get; the first is killed; a message is put for the survivor.</summary>
    public static async Task<KilledInGetResult> KilledInGet(ContractApi api, ContractLayout layout)
    {
        using var queue = ContractApi.NewQueue<string>(layout.Home, 64);
        using var reports = ContractApi.NewQueue<string>(layout.Home, 4);
        using var firstWaiting = ContractApi.NewEvent(layout.Home);
        using var secondWaiting = ContractApi.NewEvent(layout.Home);
        var doomed = ContractLayout.Start(layout, GetOne, api.Mode, queue, firstWaiting, reports);
        await api.TryWait(firstWaiting, TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        var survivor = ContractLayout.Start(layout, GetOne, api.Mode, queue, secondWaiting, reports);
        await api.TryWait(secondWaiting, TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        var clock = Stopwatch.StartNew();
        ContractLayout.Kill(doomed);
        ContractLayout.Join(doomed, seconds: 10);

        // A join returns only after every node has let go of the dead consumer (its pending get withdrawn), so a
        // message put right now cannot be taken by it and lost.
        await api.Put(queue, "after the kill", TimeSpan.FromSeconds(2));
        var (got, message) = await api.TryGet(reports, TimeSpan.FromSeconds(5));
        var survivorMs = clock.Elapsed.TotalMilliseconds;
        var survivorExit = ContractLayout.Join(survivor, seconds: 10);
        await api.Put(queue, "and another");
        var works = await api.Get(queue, TimeSpan.FromSeconds(2)) == "and another";
        return new KilledInGetResult(ContractLayout.ExitReason(doomed), got && message == "after the kill", survivorMs, survivorExit, works);
    }

    public static async Task<int> GetOne(string mode, DragonQueue<string> queue, DragonEvent waiting, DragonQueue<string> reports)
    {
        var api = ContractApi.For(mode);
        await api.Set(waiting);
        await api.Put(reports, await api.Get(queue));
        return 0;
    }

    /// <summary>
    /// A producer process is killed while its 16 MiB message is half in the 1 MiB ring (nobody drains it). Then a
    /// put and a get go on; the consumer gets whole messages only. On two nodes the whole message had reached the
    /// home node's service before the kill, and that service may still finish putting it: then it comes first, whole.
    /// </summary>
    public static async Task<KilledInPutResult> KilledInPut(ContractApi api, ContractLayout layout)
    {
        using var queue = ContractApi.NewQueue<byte[]>(layout.Home);
        using var putting = ContractApi.NewEvent(layout.Home);
        var doomed = ContractLayout.Start(layout, PutLarge, api.Mode, queue, putting);
        await api.TryWait(putting, TimeSpan.FromSeconds(30));
        await Task.Delay(700);
        var alive = ContractLayout.IsAlive(doomed);
        var clock = Stopwatch.StartNew();
        ContractLayout.Kill(doomed);
        ContractLayout.Join(doomed, seconds: 10);
        var consumer = Task.Run(async () =>
        {
            var whole = 0;
            var message = await api.Get(queue, TimeSpan.FromSeconds(10));
            while (message.Length == Large && message.AsSpan().SequenceEqual(Payloads.Bytes(Large)))
            {
                whole++;
                message = await api.Get(queue, TimeSpan.FromSeconds(10));
            }

            return (whole, message, clock.Elapsed.TotalMilliseconds);
        });
        await api.Put(queue, Payloads.Bytes(64), TimeSpan.FromSeconds(10));
        var putMs = clock.Elapsed.TotalMilliseconds;
        var (wholeFirst, next, getMs) = await consumer.WaitAsync(TimeSpan.FromSeconds(20));
        var (more, _) = await api.TryGet(queue, TimeSpan.FromMilliseconds(300));
        var second = ContractLayout.Start(layout, PutLarge, api.Mode, queue, putting);
        var large = await api.Get(queue, TimeSpan.FromSeconds(30));
        ContractLayout.Join(second);
        return new KilledInPutResult(
            alive, ContractLayout.ExitReason(doomed), putMs, wholeFirst, next.AsSpan().SequenceEqual(Payloads.Bytes(64)), getMs, !more,
            large.AsSpan().SequenceEqual(Payloads.Bytes(Large)));
    }

    public static async Task<int> PutLarge(string mode, DragonQueue<byte[]> queue, DragonEvent putting)
    {
        var api = ContractApi.For(mode);
        var message = Payloads.Bytes(Large);
        await api.Set(putting);
        await api.Put(queue, message);
        return 0;
    }

    /// <summary>A get cancelled while it waits on an empty queue; then another process puts one item.</summary>
    public static async Task<CancelResult> CancelledGet(ContractApi api, ContractLayout layout)
    {
        using var queue = ContractApi.NewQueue<int>(layout.Home, 4);
        var (ended, ms) = await Measure.Cancel(token => api.Get(queue, token));
        ContractLayout.Join(ContractLayout.Start(layout, PutOne, api.Mode, queue, 42));
        var (got, item) = await api.TryGet(queue, TimeSpan.FromSeconds(5));
        return new CancelResult(ended, ms, got && item == 42);
    }

    public static async Task<int> PutOne(string mode, DragonQueue<int> queue, int value)
    {
        await ContractApi.For(mode).Put(queue, value);
        return 0;
    }
}
