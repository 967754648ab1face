using System.Buffers.Binary;
using System.Diagnostics;

namespace Dragon.Bench.Scenarios;

/// <summary>
/// Round trips of 64 bytes over a duplex <see cref="DragonPipe"/> between the head and an echo process, then 1 MiB
/// messages one way for bandwidth. Echo protocol (the Python peer speaks the same): a 1-byte message ends the echo,
/// an 8-byte message N means "swallow the next N messages, then answer with one byte", anything else comes back.
/// </summary>
public static class PingPongScenarios
{
    private const int SmallBytes = 64;
    private const int BulkBytes = 1 << 20;

    /// <param name="roundTrips">Timed round trips (after a tenth as many, at least 200, to warm up).</param>
    /// <param name="bulkMessages">Timed 1 MiB messages (after a tenth as many, at least 2, to warm up).</param>
    /// <param name="remote">Echo on node 1, channels on node 0 (needs <c>--local-nodes 2</c>).</param>
    public static int Run(int roundTrips, int bulkMessages, bool remote)
    {
        Report.RunId();
        var (mine, theirs) = DragonPipe.Create(duplex: true);
        var template = ProcessTemplate.FromMethod(Echo, theirs);
        var echo = DragonProcess.Start(remote ? template with { Policy = Policy.OnNode(1) } : template);

        var small = new byte[SmallBytes];
        for (var i = 0; i < Math.Max(200, roundTrips / 10); i++)
        {
            mine.Send(small);
            _ = mine.Receive<byte[]>();
        }

        var samples = new double[roundTrips];
        for (var i = 0; i < roundTrips; i++)
        {
            var start = Stopwatch.GetTimestamp();
            mine.Send(small);
            _ = mine.Receive<byte[]>();
            samples[i] = Report.Milliseconds(start, Stopwatch.GetTimestamp()) * 1000;
        }

        Array.Sort(samples);
        Report.Value("p50_us", Percentile.OfSorted(samples, 50));
        Report.Value("p99_us", Percentile.OfSorted(samples, 99));

        var bulk = new byte[BulkBytes];
        _ = SendBulk(mine, bulk, Math.Max(2, bulkMessages / 10));
        var seconds = SendBulk(mine, bulk, bulkMessages);
        Report.Value("gb_per_s", (double)bulkMessages * BulkBytes / seconds / 1e9);

        mine.Send(new byte[1]);
        var code = echo.Join();
        mine.Close();
        theirs.Close();
        if (code != 0)
        {
            Console.Error.WriteLine($"the echo process exited with {code}");
            return 1;
        }

        return 0;
    }

    /// <summary>Sends <paramref name="count"/> bulk messages and waits for the echo's receipt; returns seconds.</summary>
    private static double SendBulk(Connection connection, byte[] bulk, int count)
    {
        var request = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(request, count);
        connection.Send(request);
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            connection.Send(bulk);
        }

        _ = connection.Receive<byte[]>();
        return (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
    }

    /// <summary>The echo process.</summary>
    public static void Echo(Connection connection)
    {
        while (true)
        {
            var message = connection.Receive<byte[]>();
            switch (message.Length)
            {
                case 1:
                    connection.Close();
                    return;
                case 8:
                    var count = BinaryPrimitives.ReadInt64LittleEndian(message);
                    for (var i = 0; i < count; i++)
                    {
                        _ = connection.Receive<byte[]>();
                    }

                    connection.Send(new byte[1]);
                    break;
                default:
                    connection.Send(message);
                    break;
            }
        }
    }
}
