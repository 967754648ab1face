namespace Dragon.TestApp;

public sealed record Item(int Producer, int Seq, string Text);

public static class ChannelSmoke
{
    public static int Run()
    {
        using var queue = new DragonQueue<Item>(maxSize: 64);
        using var done = new DragonEvent();
        var producers = Enumerable.Range(0, 2)
            .Select(p => DragonProcess.Start(ProcessTemplate.FromMethod(Produce, queue, p, 1000) with { Policy = Policy.OnNode(p % SystemInfo.Nodes.Count) }))
            .ToArray();
        var seen = new int[2];
        for (var i = 0; i < 2000; i++)
        {
            var item = queue.Get(timeout: TimeSpan.FromSeconds(30));
            Check.That(item.Seq == seen[item.Producer]++, $"in order {item.Producer}/{item.Seq}");
        }

        foreach (var p in producers)
        {
            Check.That(p.Join(TimeSpan.FromSeconds(30)) == 0, $"producer {p.Puid} on {p.Node.Name} exited 0");
        }

        done.Set();
        Check.That(done.IsSet(), "event set");
        return 0;
    }

    public static void Produce(DragonQueue<Item> queue, int producer, int count)
    {
        for (var i = 0; i < count; i++)
        {
            queue.Put(new Item(producer, i, $"p{producer}-{i}"));
        }
    }
}
