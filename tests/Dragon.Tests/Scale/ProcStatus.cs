using System.Globalization;

namespace Dragon.Tests.Scale;

/// <summary>What /proc says about a process: its thread count, resident memory, and children.</summary>
internal static class ProcStatus
{
    /// <summary>Threads of a process (the Threads line of /proc/PID/status).</summary>
    public static int Threads(int pid) => (int)Field(pid, "Threads:");

    /// <summary>Resident memory of a process, in bytes (VmRSS).</summary>
    public static long ResidentBytes(int pid) => Field(pid, "VmRSS:") * 1024;

    /// <summary>Live (not zombie) children of a process whose command is <paramref name="comm"/>.</summary>
    public static int LiveChildren(int parent, string comm)
    {
        var count = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _))
            {
                continue;
            }

            try
            {
                // "pid (comm) state ppid ...": comm may hold spaces, so parse after its closing parenthesis.
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var open = stat.IndexOf('(', StringComparison.Ordinal);
                var close = stat.LastIndexOf(')');
                var rest = stat[(close + 2)..].Split(' ');
                if (stat[(open + 1)..close] == comm && rest[0] != "Z" && int.Parse(rest[1], CultureInfo.InvariantCulture) == parent)
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // Gone while we looked.
            }
        }

        return count;
    }

    private static long Field(int pid, string name)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(name, StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(name.Length).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/status has no {name} line");
    }
}
