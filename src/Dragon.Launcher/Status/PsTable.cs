using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Dragon.Launcher.Status;

/// <summary>The table <c>dragon ps</c> prints from the run's status document: nodes, groups, then processes.</summary>
internal static class PsTable
{
    public static string Format(JsonElement run)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"run {run.GetProperty("runId").GetString()}\n\n");
        Table(text, ["NODE", "NAME", "HOST", "CPUS", "CPU", "MEMORY", "USED", "PROCESSES", "STATE"], run.GetProperty("nodes").EnumerateArray().Select(n => new[]
        {
            Number(n, "index"), n.GetProperty("name").GetString()!, n.GetProperty("host").GetString()!, Number(n, "cpus"),
            n.TryGetProperty("cpuUtilization", out var cpu) ? Percent(cpu.GetDouble()) : "-",
            Bytes(n.GetProperty("memoryBytes").GetInt64()),
            n.TryGetProperty("memoryUsedBytes", out var used) ? Bytes(used.GetInt64()) : "-",
            Number(n, "processes"), n.GetProperty("lost").GetBoolean() ? "lost" : "up",
        }));
        var groups = run.GetProperty("groups").EnumerateArray().ToArray();
        if (groups.Length > 0)
        {
            text.Append('\n');
            Table(text, ["GROUP", "STATE", "MPI", "MEMBERS", "RUNNING", "EXITED", "FAILED", "FAILURE"], groups.Select(g => new[]
            {
                Number(g, "id"), g.GetProperty("state").GetString()!, g.GetProperty("mpi").GetBoolean() ? "yes" : "no", Number(g, "members"),
                Number(g, "running"), Number(g, "exited"), Number(g, "failed"), g.TryGetProperty("failure", out var f) ? f.GetString()! : string.Empty,
            }));
        }

        text.Append('\n');
        Table(text, ["PUID", "NODE", "PID", "GROUP", "RANK", "RUNTIME", "STATE", "NAME", "REASON"], run.GetProperty("processes").EnumerateArray().Select(p => new[]
        {
            Number(p, "puid"), Number(p, "node"), Number(p, "pid"), p.GetProperty("group").GetUInt64() == 0 ? "-" : Number(p, "group"),
            p.TryGetProperty("rank", out var rank) ? rank.GetRawText() : "-", Duration(p.GetProperty("runtimeSeconds").GetDouble()),
            p.GetProperty("state").GetString()!, p.GetProperty("name").GetString()!, p.TryGetProperty("reason", out var r) ? r.GetString()! : string.Empty,
        }));
        return text.ToString();
    }

    internal static string Number(JsonElement element, string name) => element.GetProperty(name).GetRawText();

    internal static string Percent(double share) => string.Create(CultureInfo.InvariantCulture, $"{share * 100:F0}%");

    /// <summary>A runtime as people read it: 0.4s, 12.3s, 4m05s, 2h03m.</summary>
    internal static string Duration(double seconds) => seconds switch
    {
        < 60 => string.Create(CultureInfo.InvariantCulture, $"{seconds:F1}s"),
        < 3600 => string.Create(CultureInfo.InvariantCulture, $"{(int)seconds / 60}m{(int)seconds % 60:D2}s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{(int)seconds / 3600}h{(int)seconds % 3600 / 60:D2}m"),
    };

    internal static string Bytes(long bytes) =>
        bytes >= 1L << 30 ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F1} GiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes >> 20} MiB");

    private static void Table(StringBuilder text, string[] header, IEnumerable<string[]> rows)
    {
        var all = rows.Prepend(header).ToArray();
        var widths = header.Select((_, i) => all.Max(r => r[i].Length)).ToArray();
        foreach (var row in all)
        {
            text.Append(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd()).Append('\n');
        }
    }
}
