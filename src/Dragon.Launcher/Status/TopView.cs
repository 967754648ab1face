using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Dragon.Launcher.Status;

/// <summary>
/// What <c>dragon top</c> draws from one status document: a summary line, the nodes (CPU and memory in use, live
/// processes), the groups (members running, exited, failed) and as many processes as fit, failed ones first, then
/// running ones longest-running first, then those that ended.
/// </summary>
internal static class TopView
{
    public static IRenderable Render(JsonElement run, int height, bool live)
    {
        var nodes = run.GetProperty("nodes").EnumerateArray().ToArray();
        var groups = run.GetProperty("groups").EnumerateArray().ToArray();
        var processes = run.GetProperty("processes").EnumerateArray().ToArray();
        var running = processes.Count(p => State(p) == "running");
        var failed = processes.Count(Failed);
        var lost = nodes.Count(n => n.GetProperty("lost").GetBoolean());

        var summary = new Markup(string.Create(CultureInfo.InvariantCulture,
            $"[bold]dragon top[/]  run [cyan]{Markup.Escape(run.GetProperty("runId").GetString()!)}[/]  " +
            $"nodes {nodes.Length - lost} up{(lost > 0 ? $", [red]{lost} lost[/]" : string.Empty)}  " +
            $"processes [green]{running} running[/], {processes.Length - running} exited{(failed > 0 ? $", [red]{failed} failed[/]" : string.Empty)}  " +
            $"groups {groups.Length}{(live ? "   [grey](q quits, r writes a report)[/]" : string.Empty)}"));

        var nodeTable = NewTable("NODE", "NAME", "HOST", "CPUS", "CPU", "MEMORY", "PROCS", "STATE");
        foreach (var n in nodes)
        {
            var cpu = n.TryGetProperty("cpuUtilization", out var c) ? c.GetDouble() : double.NaN;
            var total = n.GetProperty("memoryBytes").GetInt64();
            var inUse = n.TryGetProperty("memoryUsedBytes", out var u) ? u.GetInt64() : -1;
            nodeTable.AddRow(
                PsTable.Number(n, "index"), Markup.Escape(n.GetProperty("name").GetString()!), Markup.Escape(n.GetProperty("host").GetString()!),
                PsTable.Number(n, "cpus"),
                double.IsNaN(cpu) ? "-" : $"{Bar(cpu)} {PsTable.Percent(cpu),4}",
                inUse < 0 ? PsTable.Bytes(total) : $"{Bar(total > 0 ? inUse / (double)total : 0)} {PsTable.Bytes(inUse)} of {PsTable.Bytes(total)}",
                PsTable.Number(n, "processes"),
                n.GetProperty("lost").GetBoolean() ? "[red]lost[/]" : "[green]up[/]");
        }

        var parts = new List<IRenderable> { summary, nodeTable };
        var lines = 1 + nodes.Length + 4;
        if (groups.Length > 0)
        {
            var groupTable = NewTable("GROUP", "STATE", "MPI", "MEMBERS", "RUNNING", "EXITED", "FAILED", "FAILURE");
            foreach (var g in groups.TakeLast(Math.Max(3, Math.Min(groups.Length, (height - lines) / 3))))
            {
                var failedMembers = g.GetProperty("failed").GetInt32();
                groupTable.AddRow(
                    PsTable.Number(g, "id"), Colour(g.GetProperty("state").GetString()!), g.GetProperty("mpi").GetBoolean() ? "yes" : "no",
                    PsTable.Number(g, "members"), PsTable.Number(g, "running"), PsTable.Number(g, "exited"),
                    failedMembers > 0 ? $"[red]{failedMembers}[/]" : "0",
                    g.TryGetProperty("failure", out var f) ? Markup.Escape(f.GetString()!) : string.Empty);
            }

            parts.Add(groupTable);
            lines += groupTable.Rows.Count + 4;
        }

        var room = Math.Max(3, height - lines - 5);
        var shown = processes
            .OrderBy(p => Failed(p) ? 0 : State(p) == "running" ? 1 : 2)
            .ThenByDescending(p => p.GetProperty("runtimeSeconds").GetDouble())
            .Take(room)
            .ToArray();
        var processTable = NewTable("PUID", "NODE", "PID", "GROUP", "RANK", "RUNTIME", "STATE", "NAME", "REASON");
        foreach (var p in shown)
        {
            processTable.AddRow(
                PsTable.Number(p, "puid"), PsTable.Number(p, "node"), PsTable.Number(p, "pid"),
                p.GetProperty("group").GetUInt64() == 0 ? "-" : PsTable.Number(p, "group"),
                p.TryGetProperty("rank", out var rank) ? rank.GetRawText() : "-",
                PsTable.Duration(p.GetProperty("runtimeSeconds").GetDouble()),
                Failed(p) ? "[red]failed[/]" : Colour(State(p)),
                Markup.Escape(p.GetProperty("name").GetString()!),
                p.TryGetProperty("reason", out var r) ? Markup.Escape(r.GetString()!) : string.Empty);
        }

        parts.Add(processTable);
        if (shown.Length < processes.Length)
        {
            parts.Add(new Markup($"[grey]... {processes.Length - shown.Length} more processes (dragon ps lists them all)[/]"));
        }

        return new Rows(parts);
    }

    private static Table NewTable(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn($"[bold]{column}[/]").NoWrap());
        }

        return table;
    }

    private static string State(JsonElement process) => process.GetProperty("state").GetString()!;

    private static bool Failed(JsonElement process) => process.TryGetProperty("failed", out var failed) && failed.GetBoolean();

    private static string Colour(string state) => state switch
    {
        "running" => "[green]running[/]",
        "failed" => "[red]failed[/]",
        _ => Markup.Escape(state),
    };

    /// <summary>A ten-cell bar for a share between 0 and 1, green, then yellow past 70%, red past 90%.</summary>
    private static string Bar(double share)
    {
        share = Math.Clamp(share, 0, 1);
        var cells = (int)Math.Round(share * 10);
        var colour = share > 0.9 ? "red" : share > 0.7 ? "yellow" : "green";
        return $"[{colour}]{new string('█', cells)}[/][grey]{new string('░', 10 - cells)}[/]";
    }
}
