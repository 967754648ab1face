using System.Diagnostics;

namespace Dragon.TestApp;

/// <summary>For the nodes benchmark: round trip of a 64-byte message through a queue pair between two nodes.</summary>
public static class RoundTripProbe
{
    public static int Run(int count)
    {
        using var ping = new DragonQueue<byte[]>(maxSize: 16);
        using var pong = new DragonQueue<byte[]>(maxSize: 16);
        var echo = DragonProcess.Start(ProcessTemplate.FromMethod(Echo, ping, pong, count + 10) with { Policy = Policy.OnNode(1) });
        var message = new byte[64];
        var samples = new List<double>(count);
        for (var i = 0; i < count + 10; i++)
        {
            var clock = Stopwatch.GetTimestamp();
            ping.Put(message);
            _ = pong.Get();
            if (i >= 10)
            {
                samples.Add(Stopwatch.GetElapsedTime(clock).TotalMicroseconds);
            }
        }

        echo.Join();
        samples.Sort();
        Console.WriteLine($"ROUNDTRIP_P50_US {samples[samples.Count / 2]:F0} P99_US {samples[(int)(samples.Count * 0.99)]:F0} ON {echo.Node.Name}");
        return 0;
    }

    public static void Echo(DragonQueue<byte[]> ping, DragonQueue<byte[]> pong, int count)
    {
        for (var i = 0; i < count; i++)
        {
            pong.Put(ping.Get());
        }
    }
}
