using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dragon.Channels.Internal;
using OsProcess = System.Diagnostics.Process;

namespace Dragon.ShmRingPeer;

/// <summary>
/// A second process for the ShmRing tests and benchmark. Each mode attaches to a ring the test
/// created, does one thing and reports on stdout, one line per event, so the test can kill it
/// at a known point.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            return Usage();
        }

        try
        {
            return args[0] switch
            {
                "send" => Send(args[1], Int(args[2]), Int(args[3]), Int(args[4])),
                "recv" => Receive(args[1]),
                "send-sizes" => SendSizes(args[1], args.Skip(2).Select(Int)),
                "block-recv" => BlockInReceive(args[1]),
                "send-large" => SendLarge(args[1], Int(args[2])),
                "bench" => Bench(Int(args[1]), Int(args[2]), Int(args[3]), Int(args[4])),
                "bench-recv" => BenchReceive(args[1], Int(args[2])),
                _ => Usage(),
            };
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or InvalidDataException)
        {
            Console.Error.WriteLine($"peer {args[0]}: {ex}");
            return 1;
        }
    }

    // Messages carry (producer, sequence) and a payload every byte of which is checked.
    private static int Send(string path, int producer, int count, int size)
    {
        using var ring = ShmRing.Open(path);
        var message = new byte[Math.Max(size, 8)];
        for (var seq = 0; seq < count; seq++)
        {
            MessagePattern.Fill(message, producer, seq);
            ring.Send(message);
        }

        Console.WriteLine("done");
        return 0;
    }

    private static int Receive(string path)
    {
        using var ring = ShmRing.Open(path);
        var buffer = new ArrayBufferWriter<byte>();
        var report = new StringBuilder();
        var count = 0;
        while (true)
        {
            buffer.ResetWrittenCount();
            try
            {
                ring.TryReceive(buffer, Timeout.InfiniteTimeSpan, out _);
            }
            catch (EndOfStreamException)
            {
                break;
            }

            var (producer, seq) = MessagePattern.Check(buffer.WrittenSpan);
            report.Append(CultureInfo.InvariantCulture, $"{producer} {seq}\n");
            count++;
        }

        report.Append(CultureInfo.InvariantCulture, $"end {count}\n");
        Console.Out.Write(report.ToString());
        return 0;
    }

    private static int SendSizes(string path, IEnumerable<int> sizes)
    {
        using var ring = ShmRing.Open(path);
        var seq = 0;
        foreach (var size in sizes)
        {
            var message = new byte[size];
            MessagePattern.FillBytes(message, seq++);
            ring.Send(message);
        }

        Console.WriteLine("done");
        return 0;
    }

    private static int BlockInReceive(string path)
    {
        using var ring = ShmRing.Open(path);
        Console.WriteLine("ready");
        var message = ring.TryReceive(Timeout.InfiniteTimeSpan);
        Console.WriteLine($"got {message?.Length}");
        return 0;
    }

    private static int SendLarge(string path, int size)
    {
        using var ring = ShmRing.Open(path);
        var message = new byte[size];
        MessagePattern.FillBytes(message, 7);
        Console.WriteLine("sending");
        ring.Send(message);
        Console.WriteLine("sent");
        return 0;
    }

    // One process sends, a child process receives; rate = messages / (first send .. child done).
    private static int Bench(int count, int size, int slotCount, int slotSize)
    {
        var path = $"/dev/shm/dragon-bench-{Guid.NewGuid():N}";
        using var ring = ShmRing.Create(path, slotCount, slotSize);
        try
        {
            var start = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet")
            {
                RedirectStandardOutput = true,
            };
            start.ArgumentList.Add(typeof(Program).Assembly.Location);
            start.ArgumentList.Add("bench-recv");
            start.ArgumentList.Add(path);
            start.ArgumentList.Add(count.ToString(CultureInfo.InvariantCulture));
            using var child = OsProcess.Start(start)!;
            if (child.StandardOutput.ReadLine() != "ready")
            {
                throw new InvalidOperationException("bench receiver did not start");
            }

            var message = new byte[size];
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(message, i);
                if (!ring.TrySend(message, TimeSpan.FromSeconds(10)))
                {
                    throw new InvalidOperationException($"bench receiver stopped taking messages at {i}");
                }
            }

            var sendSeconds = clock.Elapsed.TotalSeconds;
            var done = child.StandardOutput.ReadLine();
            var seconds = clock.Elapsed.TotalSeconds;
            child.WaitForExit();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{count} x {size} B through {slotCount} x {slotSize} B slots: {count / seconds / 1e6:F2} M msg/s, {(double)count * size / seconds / 1e6:F0} MB/s (send loop {sendSeconds:F3} s, total {seconds:F3} s; receiver: {done})"));
            return 0;
        }
        finally
        {
            ring.Unlink();
        }
    }

    private static int BenchReceive(string path, int count)
    {
        using var ring = ShmRing.Open(path);
        var buffer = new ArrayBufferWriter<byte>(1 << 16);
        Console.WriteLine("ready");
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            buffer.ResetWrittenCount();
            ring.TryReceive(buffer, Timeout.InfiniteTimeSpan, out _);
            if (BinaryPrimitives.ReadInt32LittleEndian(buffer.WrittenSpan) != i)
            {
                throw new InvalidDataException($"bench message {i} out of order");
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count} in {clock.Elapsed.TotalSeconds:F3} s"));
        return 0;
    }

    private static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);

    private static int Usage()
    {
        Console.Error.WriteLine("usage: Dragon.ShmRingPeer send|recv|send-sizes|block-recv|send-large|bench|bench-recv ...");
        return 2;
    }
}
