namespace Dragon.TestApp;

/// <summary>
/// The queue's async surface from a consumer's side: <c>await foreach</c> over <see cref="DragonQueue{T}.ReadAllAsync"/>
/// until the producer closes it, <see cref="DragonQueue{T}.JoinAsync(CancellationToken)"/> (cancelled, then completed), and
/// <c>await using</c> of queues, sync objects and groups.
/// </summary>
public static class QueueAsyncScenarios
{
    public static async Task<int> ReadAllAndJoin(string layoutName)
    {
        var layout = ChannelLayout.Parse(layoutName);
        var home = layout.Home;
        await using var items = new DragonQueue<int>(maxSize: 16, node: home);
        await using var work = new DragonQueue<int>(maxSize: 16, joinable: true, node: home);
        await using var done = new DragonEvent(node: home);
        var producer = layout.Start(ProduceThenClose, items, 500);

        var got = new List<int>();
        await foreach (var item in items.ReadAllAsync())
        {
            got.Add(item);
        }

        Check.That(got.Count == 500 && got.SequenceEqual(Enumerable.Range(0, 500)), $"{layout.Name}: await foreach read all 500 items in order, then ended when the queue was closed ({got.Count} items)");
        Check.That(producer.Join(TimeSpan.FromSeconds(60)) == 0, $"{layout.Name}: the producer exited 0");

        work.Put(1);
        work.Put(2);
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            var cancelled = false;
            try
            {
                await work.JoinAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                cancelled = true;
            }

            Check.That(cancelled, $"{layout.Name}: JoinAsync with two items outstanding ends as cancelled when its token fires");
        }

        var joining = work.JoinAsync();
        Check.That(work.Get() == 1 && work.Get() == 2, $"{layout.Name}: both items are still there after the cancelled join");
        work.TaskDone();
        Check.That(!joining.IsCompleted, $"{layout.Name}: JoinAsync waits while one item is not done");
        work.TaskDone();
        Check.That(await Task.WhenAny(joining, Task.Delay(TimeSpan.FromSeconds(30))) == joining, $"{layout.Name}: JoinAsync completes after the last TaskDone");

        await using (var group = new ProcessGroup())
        {
            group.AddProcess(2, ProcessTemplate.Executable("/bin/sleep", "300"));
            group.Start();
        }

        Console.WriteLine($"CHECK {layout.Name}: await using of a group with running members returned");
        return 0;
    }

    public static void ProduceThenClose(DragonQueue<int> queue, int count)
    {
        for (var i = 0; i < count; i++)
        {
            queue.Put(i);
        }

        queue.Close();
    }
}
