using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Dragon.Runtime.Protocol;
using Dragon.Services.Global;

namespace Dragon.Launcher.Report;

/// <summary>
/// The run's history as the JSON the report page embeds. Processes are rows of numbers (names and reasons by index
/// into tables of their own), so a run of 100,000 processes stays a few megabytes and parses in well under a second.
/// The writer's default encoder escapes <c>&lt;</c>, <c>&gt;</c> and <c>&amp;</c>, so no program name or stderr line
/// can close the script element that carries the data.
/// </summary>
internal static class ReportData
{
    /// <summary>Columns of a process row, in order (the page reads them by these positions).</summary>
    public const string ProcessColumns = "puid,node,name,group,rank,start,end,kind,exitCode,signal,reason";

    public static byte[] Write(string runId, IReadOnlyList<NodeDescriptor> nodes, Func<int, bool> isLost, HistorySnapshot history, bool final)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("runId", runId);
            json.WriteString("command", history.Command);
            json.WriteString("startedAt", history.StartedAt.ToString("O", CultureInfo.InvariantCulture));
            json.WriteNumber("durationMs", history.NowMs);
            json.WriteBoolean("final", final);
            json.WriteBoolean("keepsStderr", history.KeepsStderr);
            json.WriteNumber("sampleIntervalMs", history.SampleIntervalMs);
            WriteNodes(json, nodes, isLost);
            WriteProcesses(json, history.Processes);
            WriteGroups(json, history.Groups);
            WriteTails(json, history);
            WriteSamples(json, history.Samples);
            WriteCounts(json, history.Counts);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteNodes(Utf8JsonWriter json, IReadOnlyList<NodeDescriptor> nodes, Func<int, bool> isLost)
    {
        json.WriteStartArray("nodes");
        foreach (var node in nodes)
        {
            json.WriteStartObject();
            json.WriteNumber("index", node.Index);
            json.WriteString("name", node.Name);
            json.WriteString("host", node.Host);
            json.WriteNumber("cpus", node.Cpus);
            json.WriteNumber("memoryBytes", node.MemoryBytes);
            json.WriteBoolean("lost", isLost(node.Index));
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteProcesses(Utf8JsonWriter json, ProcessEntry[] processes)
    {
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var reasons = new Dictionary<string, int>(StringComparer.Ordinal);
        static int Index(Dictionary<string, int> table, string? text) =>
            text is null ? -1 : table.TryGetValue(text, out var i) ? i : table[text] = table.Count;

        json.WriteString("processColumns", ProcessColumns);
        json.WriteStartArray("processes");
        foreach (var p in processes)
        {
            json.WriteStartArray();
            json.WriteNumberValue(p.Puid);
            json.WriteNumberValue(p.Node);
            json.WriteNumberValue(Index(names, p.Name));
            json.WriteNumberValue(p.Group);
            json.WriteNumberValue(p.Rank);
            json.WriteNumberValue(p.StartMs);
            json.WriteNumberValue(p.EndMs);
            json.WriteNumberValue((int)p.Kind);
            json.WriteNumberValue(p.ExitCode);
            json.WriteNumberValue(p.Signal);
            json.WriteNumberValue(Index(reasons, p.Reason));
            json.WriteEndArray();
        }

        json.WriteEndArray();
        WriteTable(json, "names", names);
        WriteTable(json, "reasons", reasons);
    }

    private static void WriteTable(Utf8JsonWriter json, string name, Dictionary<string, int> table)
    {
        json.WriteStartArray(name);
        foreach (var text in table.OrderBy(t => t.Value).Select(t => t.Key))
        {
            json.WriteStringValue(text);
        }

        json.WriteEndArray();
    }

    private static void WriteGroups(Utf8JsonWriter json, GroupEntry[] groups)
    {
        json.WriteStartArray("groups");
        foreach (var g in groups)
        {
            json.WriteStartObject();
            json.WriteNumber("id", g.Id);
            json.WriteBoolean("mpi", g.Mpi);
            json.WriteNumber("size", g.Size);
            json.WriteNumber("created", g.CreatedMs);
            json.WriteString("state", g.State);
            if (g.Failure is { } failure)
            {
                json.WriteString("failure", failure);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteTails(Utf8JsonWriter json, HistorySnapshot history)
    {
        // Only the tails of processes that did not end well (or still run) are shown.
        var shown = history.Processes.Where(p => p.Kind != ExitKind.Ok).Select(p => p.Puid).ToHashSet();
        json.WriteStartObject("stderrTails");
        foreach (var (puid, lines) in history.StderrTails.Where(t => shown.Contains(t.Key)).OrderBy(t => t.Key))
        {
            json.WriteStartArray(puid.ToString(CultureInfo.InvariantCulture));
            foreach (var line in lines)
            {
                json.WriteStringValue(line);
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    private static void WriteSamples(Utf8JsonWriter json, HistorySample[] samples)
    {
        json.WriteStartObject("samples");
        Series(json, "t", samples.Select(s => s.TimeMs));
        Series(json, "live", samples.Select(s => (long)s.Live));
        Series(json, "started", samples.Select(s => s.Started));
        Series(json, "exited", samples.Select(s => s.Exited));
        Series(json, "failed", samples.Select(s => s.Failed));
        Series(json, "depth", samples.Select(s => s.QueueDepth));
        var nodes = samples.Length == 0 ? 0 : samples.Max(s => s.Nodes.Length);
        json.WriteStartArray("nodes");
        for (var n = 0; n < nodes; n++)
        {
            var node = n;
            NodeSample At(HistorySample s) => node < s.Nodes.Length ? s.Nodes[node] : new NodeSample(0, -1, -1, 0);
            json.WriteStartObject();
            Series(json, "live", samples.Select(s => (long)At(s).Live));
            Series(json, "cpu", samples.Select(s => (long)At(s).CpuPerMille));
            Series(json, "memory", samples.Select(s => At(s).MemoryBytes));
            Series(json, "depth", samples.Select(s => At(s).QueueDepth));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void Series(Utf8JsonWriter json, string name, IEnumerable<long> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteNumberValue(value);
        }

        json.WriteEndArray();
    }

    private static void WriteCounts(Utf8JsonWriter json, HistoryCounts counts)
    {
        json.WriteStartObject("counts");
        json.WriteNumber("started", counts.Started);
        json.WriteNumber("exited", counts.Exited);
        json.WriteNumber("failed", counts.Failed);
        json.WriteNumber("processesNotKept", counts.ProcessesNotKept);
        json.WriteNumber("groupsNotKept", counts.GroupsNotKept);
        json.WriteNumber("tailsNotKept", counts.TailsNotKept);
        json.WriteNumber("samplesDropped", counts.SamplesDropped);
        json.WriteEndObject();
        json.WriteStartObject("caps");
        json.WriteNumber("processes", RunHistory.MaxProcesses);
        json.WriteNumber("groups", RunHistory.MaxGroups);
        json.WriteNumber("tails", RunHistory.MaxTails);
        json.WriteNumber("tailLines", RunHistory.TailLines);
        json.WriteNumber("samples", RunHistory.MaxSamples);
        json.WriteNumber("nodeSeries", RunHistory.MaxNodeSeries);
        json.WriteEndObject();
    }
}
