namespace Dragon.Runtime.Protocol;

/// <summary>The records nested in control messages, and arrays of them.</summary>
internal static partial class ControlCodec
{
    private delegate void ElementWriter<T>(ref WireWriter w, T value);

    private delegate T ElementReader<T>(ref WireReader r);

    private static void WriteArray<T>(ref WireWriter w, T[]? items, ElementWriter<T> write)
    {
        if (items is null)
        {
            w.Int32(-1);
            return;
        }

        w.Int32(items.Length);
        foreach (var item in items)
        {
            write(ref w, item);
        }
    }

    private static T[]? ReadNullableArray<T>(ref WireReader r, string field, int minElementBytes, ElementReader<T> read)
    {
        var count = r.Count(field, minElementBytes);
        if (count == -1)
        {
            return null;
        }

        var items = new T[count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = read(ref r);
        }

        return items;
    }

    private static T[] ReadArray<T>(ref WireReader r, string field, int minElementBytes, ElementReader<T> read) =>
        ReadNullableArray(ref r, field, minElementBytes, read) ?? throw new InvalidDataException($"bad control message {r.Message}: field {field} is null");

    private static void WriteUInt64s(ref WireWriter w, ulong[] items) => WriteArray(ref w, items, static (ref WireWriter w, ulong v) => w.UInt64(v));

    private static ulong[] ReadUInt64s(ref WireReader r, string field) => ReadArray(ref r, field, 8, static (ref WireReader r) => r.UInt64("[]"));

    private static void WriteInt32s(ref WireWriter w, int[]? items) => WriteArray(ref w, items, static (ref WireWriter w, int v) => w.Int32(v));

    private static int[]? ReadNullableInt32s(ref WireReader r, string field) => ReadNullableArray(ref r, field, 4, static (ref WireReader r) => r.Int32("[]"));

    private static int[] ReadInt32s(ref WireReader r, string field) => ReadArray(ref r, field, 4, static (ref WireReader r) => r.Int32("[]"));

    private static void WriteStrings(ref WireWriter w, string[] items) => WriteArray(ref w, items, static (ref WireWriter w, string v) => w.String(v));

    private static string[] ReadStrings(ref WireReader r, string field) => ReadArray(ref r, field, 4, static (ref WireReader r) => r.String("[]"));

    private static void WritePairs(ref WireWriter w, KeyValuePair<string, string>[] items) =>
        WriteArray(ref w, items, static (ref WireWriter w, KeyValuePair<string, string> kv) =>
        {
            w.String(kv.Key);
            w.String(kv.Value);
        });

    private static KeyValuePair<string, string>[] ReadPairs(ref WireReader r, string field) =>
        ReadArray(ref r, field, 8, static (ref WireReader r) => new KeyValuePair<string, string>(r.String("[].Key"), r.String("[].Value")));

    private static void Write(ref WireWriter w, NodeDescriptor d)
    {
        w.Int32(d.Index);
        w.String(d.Name);
        w.String(d.Host);
        w.Int32(d.Cpus);
        w.Int64(d.MemoryBytes);
        w.String(d.NodeId);
        w.String(d.Endpoint);
    }

    private static NodeDescriptor ReadNodeDescriptor(ref WireReader r) => new(
        r.Int32("Node.Index"), r.String("Node.Name"), r.String("Node.Host"), r.Int32("Node.Cpus"), r.Int64("Node.MemoryBytes"), r.String("Node.NodeId"), r.String("Node.Endpoint"));

    private static void WriteNodes(ref WireWriter w, NodeDescriptor[] nodes) => WriteArray(ref w, nodes, Write);

    // The minimum element sizes below are the smallest encodings (empty strings and arrays, nulls): a count is
    // checked against them before the array is allocated, so they must never exceed a real element's size.
    private static NodeDescriptor[] ReadNodes(ref WireReader r, string field) => ReadArray(ref r, field, 32, ReadNodeDescriptor);

    private static void Write(ref WireWriter w, StdioSpec s)
    {
        w.Enum(s.Kind);
        w.String(s.Path);
    }

    private static StdioSpec ReadStdio(ref WireReader r, string field) => new(r.Enum<StdioKind>(field + ".Kind"), r.NullableString(field + ".Path"));

    private static void Write(ref WireWriter w, ProcessSpec s)
    {
        w.String(s.Executable);
        WriteStrings(ref w, s.Args);
        w.String(s.Cwd);
        WritePairs(ref w, s.Env);
        Write(ref w, s.Stdin);
        Write(ref w, s.Stdout);
        Write(ref w, s.Stderr);
        w.Int32(s.Placement.NodeIndex);
        w.String(s.Placement.NodeName);
        w.Enum(s.Placement.Distribution);
        WriteInt32s(ref w, s.Placement.Cpus);
        w.NullableBytes(s.MethodTarget);
        w.String(s.DisplayName);
    }

    private static ProcessSpec ReadProcessSpec(ref WireReader r) => new(
        r.String("Spec.Executable"),
        ReadStrings(ref r, "Spec.Args"),
        r.NullableString("Spec.Cwd"),
        ReadPairs(ref r, "Spec.Env"),
        ReadStdio(ref r, "Spec.Stdin"),
        ReadStdio(ref r, "Spec.Stdout"),
        ReadStdio(ref r, "Spec.Stderr"),
        new PlacementSpec(r.Int32("Spec.Placement.NodeIndex"), r.NullableString("Spec.Placement.NodeName"), r.Enum<Distribution>("Spec.Placement.Distribution"), ReadNullableInt32s(ref r, "Spec.Placement.Cpus")),
        r.NullableBytes("Spec.MethodTarget"),
        r.String("Spec.DisplayName"));

    private static void Write(ref WireWriter w, SpawnEntry e)
    {
        w.UInt64(e.Puid);
        w.Int32(e.Spec);
        w.UInt64(e.GroupId);
        WritePairs(ref w, e.ExtraEnv);
    }

    /// <summary>A spawn request whose entries each name one of its specs (an index out of range is bad data).</summary>
    private static SpawnRequest ReadSpawnRequest(ref WireReader r)
    {
        var specs = ReadArray(ref r, "Specs", 60, ReadProcessSpec);
        var entries = ReadArray(ref r, "Entries", 24, static (ref WireReader r) => new SpawnEntry(r.UInt64("Entries[].Puid"), r.Int32("Entries[].Spec"), r.UInt64("Entries[].GroupId"), ReadPairs(ref r, "Entries[].ExtraEnv")));
        foreach (var entry in entries)
        {
            if ((uint)entry.Spec >= (uint)specs.Length)
            {
                throw new InvalidDataException($"bad control message SpawnRequest: entry of process {entry.Puid} names spec {entry.Spec} of {specs.Length}");
            }
        }

        return new SpawnRequest(specs, entries);
    }

    private static void Write(ref WireWriter w, ProcessDescriptor d)
    {
        w.UInt64(d.Puid);
        w.Int32(d.NodeIndex);
        w.Int32(d.Pid);
        w.Bool(d.StdinPiped);
        w.Bool(d.StdoutPiped);
        w.Bool(d.StderrPiped);
        w.UInt64(d.GroupId);
        w.String(d.DisplayName);
    }

    private static ProcessDescriptor ReadProcessDescriptor(ref WireReader r) => new(
        r.UInt64("Process.Puid"), r.Int32("Process.NodeIndex"), r.Int32("Process.Pid"), r.Bool("Process.StdinPiped"), r.Bool("Process.StdoutPiped"),
        r.Bool("Process.StderrPiped"), r.UInt64("Process.GroupId"), r.String("Process.DisplayName"));

    private static void WriteProcesses(ref WireWriter w, ProcessDescriptor[] items) => WriteArray(ref w, items, Write);

    private static ProcessDescriptor[] ReadProcesses(ref WireReader r, string field) => ReadArray(ref r, field, 31, ReadProcessDescriptor);

    private static void Write(ref WireWriter w, ProcessStatus s)
    {
        w.UInt64(s.Puid);
        w.Enum(s.State);
        w.Int32(s.ExitCode);
        w.Int32(s.Signal);
        w.String(s.Reason);
        w.Int32(s.NodeIndex);
        w.Bool(s.Failed);
    }

    private static ProcessStatus ReadProcessStatus(ref WireReader r) => new(
        r.UInt64("Status.Puid"), r.Enum<ProcessState>("Status.State"), r.Int32("Status.ExitCode"), r.Int32("Status.Signal"), r.String("Status.Reason"),
        r.Int32("Status.NodeIndex"), r.Bool("Status.Failed"));

    private static void WriteStatuses(ref WireWriter w, ProcessStatus[] items) => WriteArray(ref w, items, Write);

    private static ProcessStatus[] ReadStatuses(ref WireReader r, string field) => ReadArray(ref r, field, 29, ReadProcessStatus);

    private static void Write(ref WireWriter w, GroupSpec s)
    {
        WriteArray(ref w, s.Members, static (ref WireWriter w, GroupMemberSpec m) =>
        {
            w.Int32(m.Count);
            Write(ref w, m.Template);
        });
        w.Bool(s.Restart);
        w.Bool(s.IgnoreErrorOnExit);
        w.Int64(s.WalltimeMs);
        w.Enum(s.Pmi);
    }

    private static GroupSpec ReadGroupSpec(ref WireReader r) => new(
        ReadArray(ref r, "Spec.Members", 4, static (ref WireReader r) => new GroupMemberSpec(r.Int32("Spec.Members[].Count"), ReadProcessSpec(ref r))),
        r.Bool("Spec.Restart"),
        r.Bool("Spec.IgnoreErrorOnExit"),
        r.Int64("Spec.WalltimeMs"),
        r.Enum<PmiMode>("Spec.Pmi"));

    private static void Write(ref WireWriter w, GroupStatus s)
    {
        w.UInt64(s.GroupId);
        w.Enum(s.State);
        WriteUInt64s(ref w, s.Puids);
        WriteUInt64s(ref w, s.InactivePuids);
        WriteStatuses(ref w, s.Members);
        w.String(s.Failure);
        w.Bool(s.TimedOut);
    }

    private static GroupStatus ReadGroupStatus(ref WireReader r) => new(
        r.UInt64("Status.GroupId"),
        r.Enum<GroupState>("Status.State"),
        ReadUInt64s(ref r, "Status.Puids"),
        ReadUInt64s(ref r, "Status.InactivePuids"),
        ReadStatuses(ref r, "Status.Members"),
        r.NullableString("Status.Failure"),
        r.Bool("Status.TimedOut"));

    private static void Write(ref WireWriter w, ObjectDescriptor d)
    {
        w.UInt64(d.Id);
        w.Enum(d.Kind);
        w.String(d.Name);
        w.Int32(d.HomeNode);
        w.String(d.ShmPath);
        w.Int64(d.Capacity);
        w.Int64(d.SlotSize);
        w.Int64(d.MaxMessageBytes);
        w.Int64(d.Parties);
        w.Bool(d.Flag);
        w.Int64(d.ShmOffset);
    }

    private static ObjectDescriptor ReadObjectDescriptor(ref WireReader r) => new(
        r.UInt64("Descriptor.Id"), r.Enum<ObjectKind>("Descriptor.Kind"), r.String("Descriptor.Name"), r.Int32("Descriptor.HomeNode"),
        r.NullableString("Descriptor.ShmPath"), r.Int64("Descriptor.Capacity"), r.Int64("Descriptor.SlotSize"), r.Int64("Descriptor.MaxMessageBytes"),
        r.Int64("Descriptor.Parties"), r.Bool("Descriptor.Flag"), r.Int64("Descriptor.ShmOffset"));

    private const byte ContextFields = 0b11_1111;

    private static void Write(ref WireWriter w, ErrorContext? c)
    {
        if (c is null || c.IsEmpty)
        {
            w.Byte(0);
            return;
        }

        w.Byte((byte)((c.Puid is null ? 0 : 1) | (c.NodeIndex is null ? 0 : 2) | (c.Rank is null ? 0 : 4)
            | (c.ExitCode is null ? 0 : 8) | (c.Signal is null ? 0 : 16) | (c.ObjectName is null ? 0 : 32)));
        if (c.Puid is { } puid)
        {
            w.UInt64(puid);
        }

        foreach (var value in (ReadOnlySpan<int?>)[c.NodeIndex, c.Rank, c.ExitCode, c.Signal])
        {
            if (value is { } v)
            {
                w.Int32(v);
            }
        }

        if (c.ObjectName is { } name)
        {
            w.String(name);
        }
    }

    private static ErrorContext? ReadErrorContext(ref WireReader r)
    {
        var flags = r.Byte("Context.Flags");
        if ((flags & ~ContextFields) != 0)
        {
            ProtocolError.Throw(r.Message, "Context.Flags", $"has unknown bits 0x{flags:x2}");
        }

        if (flags == 0)
        {
            return null;
        }

        return new ErrorContext(
            (flags & 1) != 0 ? r.UInt64("Context.Puid") : null,
            (flags & 2) != 0 ? r.Int32("Context.NodeIndex") : null,
            (flags & 4) != 0 ? r.Int32("Context.Rank") : null,
            (flags & 8) != 0 ? r.Int32("Context.ExitCode") : null,
            (flags & 16) != 0 ? r.Int32("Context.Signal") : null,
            (flags & 32) != 0 ? r.String("Context.ObjectName") : null);
    }
}
