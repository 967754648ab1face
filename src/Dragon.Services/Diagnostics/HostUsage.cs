using System.Globalization;

namespace Dragon.Services.Diagnostics;

/// <summary>The host's CPU and memory use, from /proc (Linux), read only when a metric is collected.</summary>
internal sealed class HostUsage
{
    private readonly System.Threading.Lock _lock = new();
    private (long Busy, long Total) _previous;

    /// <summary>Busy share of all CPUs since the previous call (since boot on the first), 0 to 1.</summary>
    public double CpuUtilization()
    {
        var now = ReadCpu();
        lock (_lock)
        {
            var (busy, total) = (now.Busy - _previous.Busy, now.Total - _previous.Total);
            _previous = now;
            return total > 0 ? Math.Clamp((double)busy / total, 0, 1) : 0;
        }
    }

    /// <summary>MemTotal less MemAvailable, in bytes; 0 when /proc/meminfo cannot be read.</summary>
    public static long MemoryUsed()
    {
        long total = 0, available = 0;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                {
                    total = Kilobytes(line);
                }
                else if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    available = Kilobytes(line);
                    break;
                }
            }
        }
        catch (IOException)
        {
            return 0;
        }

        return Math.Max(0, total - available) * 1024;
    }

    private static long Kilobytes(string line) =>
        long.TryParse(line.AsSpan(line.IndexOf(':') + 1).Trim().TrimEnd("kB").Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb) ? kb : 0;

    /// <summary>The first line of /proc/stat: user nice system idle iowait irq softirq steal, in clock ticks.</summary>
    private static (long Busy, long Total) ReadCpu()
    {
        try
        {
            using var reader = new StreamReader("/proc/stat");
            var fields = reader.ReadLine()?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
            long total = 0, idle = 0;
            for (var i = 1; i < Math.Min(fields.Length, 9); i++)
            {
                var value = long.Parse(fields[i], CultureInfo.InvariantCulture);
                total += value;
                if (i is 4 or 5)
                {
                    idle += value;
                }
            }

            return (total - idle, total);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return (0, 0);
        }
    }
}
