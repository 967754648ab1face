using System.Buffers;
using System.Text.Json;
using Dragon.Runtime.Protocol;

namespace Dragon.Services.Global;

/// <summary>
/// What <c>dragon ps</c> shows, as JSON: the run's nodes (hardware, live processes), its groups (state, members
/// running and exited) and every process (puid, node, pid, state, exit reason). Written by hand with
/// <see cref="Utf8JsonWriter"/>, so Native AOT needs no serializer metadata.
/// </summary>
internal static class RunStatus
{
    /// <summary>Field names of the document, shared with the reader in the launcher.</summary>
    public static class Fields
    {
        public const string RunId = "runId";
        public const string Nodes = "nodes";
        public const string Groups = "groups";
        public const string Processes = "processes";
        public const string Error = "error";
    }

    public static byte[] Write(GlobalServices global)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString(Fields.RunId, global.Run.RunId);
            json.WriteStartArray(Fields.Nodes);
            var figures = global.Nodes.Where(n => !global.IsLost(n.Descriptor.Index)).Select(n => n.SampleFigures()).OfType<NodeMetricsNotice>()
                .ToDictionary(f => f.NodeIndex);
            foreach (var node in global.NodeDescriptors)
            {
                json.WriteStartObject();
                json.WriteNumber("index", node.Index);
                json.WriteString("name", node.Name);
                json.WriteString("host", node.Host);
                json.WriteNumber("cpus", node.Cpus);
                json.WriteNumber("memoryBytes", node.MemoryBytes);
                json.WriteBoolean("lost", global.IsLost(node.Index));
                json.WriteNumber("processes", global.LiveOn(node.Index));
                if (figures.TryGetValue(node.Index, out var used))
                {
                    json.WriteNumber("cpuUtilization", used.CpuPerMille / 1000.0);
                    json.WriteNumber("memoryUsedBytes", used.MemoryUsedBytes);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray(Fields.Groups);
            var mpiGroups = new HashSet<ulong>();
            foreach (var group in global.Groups)
            {
                var status = group.Status(timedOut: false);
                var exited = status.Members.Count(m => m.State == ProcessState.Exited);
                if (group.Spec.Pmi != PmiMode.None)
                {
                    mpiGroups.Add(group.Id);
                }

                json.WriteStartObject();
                json.WriteNumber("id", group.Id);
                json.WriteString("state", status.State.ToString().ToLowerInvariant());
                json.WriteBoolean("mpi", group.Spec.Pmi != PmiMode.None);
                json.WriteNumber("members", status.Puids.Length);
                json.WriteNumber("running", status.Members.Length - exited);
                json.WriteNumber("exited", exited);
                json.WriteNumber("failed", status.Members.Count(m => m.State == ProcessState.Exited && m.Failed));
                if (status.Failure is { } failure)
                {
                    json.WriteString("failure", failure);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray(Fields.Processes);
            foreach (var record in global.Processes)
            {
                var status = record.Status;
                json.WriteStartObject();
                json.WriteNumber("puid", record.Puid);
                json.WriteNumber("node", record.NodeIndex);
                json.WriteNumber("pid", record.Descriptor.Pid);
                json.WriteString("name", record.Descriptor.DisplayName);
                json.WriteNumber("group", record.Descriptor.GroupId);
                if (mpiGroups.Contains(record.Descriptor.GroupId))
                {
                    json.WriteNumber("rank", record.Ordinal);
                }

                json.WriteNumber("runtimeSeconds", Math.Round(record.Runtime.TotalSeconds, 3));
                json.WriteString("state", status.State.ToString().ToLowerInvariant());
                if (status.State == ProcessState.Exited)
                {
                    json.WriteNumber("exitCode", status.ExitCode);
                    json.WriteNumber("signal", status.Signal);
                    json.WriteString("reason", status.Reason);
                    json.WriteBoolean("failed", status.Failed);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The reply to a caller that is refused: one object with an <c>error</c> field.</summary>
    public static byte[] Error(string message)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString(Fields.Error, message);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
