namespace Dragon.TestApp;

/// <summary>
/// Bad input on channels, each with its documented error, run in a worker process so it takes the layout's path:
/// a message larger than the queue allows, use after Close or Dispose, attaching a destroyed queue, the wrong end
/// of a one-way pipe.
/// </summary>
public static class ChannelBadInput
{
    public static int Run(string layoutName)
    {
        var layout = ChannelLayout.Parse(layoutName);
        using (var doomed = new DragonQueue<int>(name: "doomed-queue", node: layout.Home))
        {
            doomed.Put(1);
        }

        using var small = new DragonQueue<byte[]>(maxMessageBytes: 1024, name: "small-queue", node: layout.Home);
        var (reader, writer) = DragonPipe.Create(duplex: false, node: layout.Home);
        var worker = layout.Start(Worker, reader, writer);
        Scenario.JoinedOk(worker, $"{layout} bad-input worker");
        Check.Throws<EndOfStreamException>(() => small.TryGet(out _, TimeSpan.Zero), "the head sees the closed, drained queue as end of stream");
        return 0;
    }

    public static int Worker(Connection reader, Connection writer)
    {
        var where = $"in a process on node {Node.Current.Index}";
        var small = DragonQueue<byte[]>.Attach("small-queue");
        var tooLarge = Check.Throws<ArgumentException>(() => small.Put(new byte[4096]), $"{where}: a 4 KiB Put into a queue created with maxMessageBytes 1024");
        Check.That(tooLarge.Message.Contains("4097", StringComparison.Ordinal) && tooLarge.Message.Contains("1024", StringComparison.Ordinal) && tooLarge.Message.Contains("small-queue", StringComparison.Ordinal),
            "the error names the message size, the limit and the queue");
        Check.Throws<ArgumentException>(() => small.TryPut(new byte[4096], TimeSpan.Zero), "TryPut of it too");
        Check.That(!small.TryGet(out _, TimeSpan.FromMilliseconds(100)), "nothing was delivered");
        small.Put(new byte[1000]);
        Check.That(small.Get(timeout: TimeSpan.FromSeconds(5)).Length == 1000, "a message within the limit still goes through");

        small.Close();
        var closed = Check.Throws<InvalidOperationException>(() => small.Put([1]), "Put after Close");
        Check.That(closed.Message.Contains("small-queue", StringComparison.Ordinal) && closed.Message.Contains("closed", StringComparison.Ordinal), "the error names the queue and says it is closed");
        Check.Throws<EndOfStreamException>(() => small.Get(timeout: TimeSpan.FromSeconds(1)), "Get after Close on the drained queue is end of stream");
        small.Dispose();
        var disposed = Check.Throws<ObjectDisposedException>(() => small.Put([1]), "Put after Dispose");
        Check.That(disposed.Message.Contains("small-queue", StringComparison.Ordinal), "the error names the queue");

        var missing = Check.Throws<ObjectNotFoundException>(() => DragonQueue<int>.Attach("doomed-queue"), "attaching a queue that was destroyed");
        Check.That(missing.Message.Contains("doomed-queue", StringComparison.Ordinal), "the error names it");
        Check.That(missing.ObjectName == "doomed-queue", "the error's ObjectName is the queue's name");
        Check.Throws<ObjectNotFoundException>(() => DragonQueue<int>.Attach("never-created"), "attaching a name that never existed");

        Check.Throws<NotSupportedException>(() => reader.Send(1), "Send on the reading end of a one-way pipe");
        Check.Throws<NotSupportedException>(() => writer.Receive<int>(TimeSpan.Zero), "Recv on the writing end");
        Check.Throws<NotSupportedException>(() => writer.Poll(TimeSpan.Zero), "Poll on the writing end");
        writer.Close();
        Check.Throws<ObjectDisposedException>(() => writer.Send(1), "Send on a pipe end after closing it");
        Check.Throws<EndOfStreamException>(() => reader.Receive<int>(TimeSpan.FromSeconds(1)), "the reading end then sees end of stream");
        return 0;
    }
}
