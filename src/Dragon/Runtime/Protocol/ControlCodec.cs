namespace Dragon.Runtime.Protocol;

/// <summary>
/// The control codec: a message is its tag (one byte, see <see cref="IMessage"/>) followed by its fields in
/// declaration order, written by hand for each type (no reflection: Native AOT and trimming keep it whole).
/// Decoding is safe on any input: it throws <see cref="InvalidDataException"/> and nothing else, allocates no more
/// than the bytes present justify, and rejects trailing bytes.
/// </summary>
internal static partial class ControlCodec
{
    /// <summary>Writes <paramref name="message"/>'s tag and fields.</summary>
    public static void Write(ref WireWriter w, IMessage message)
    {
        switch (message)
        {
            case Ack:
                w.Byte(0);
                break;
            case ErrorReply m:
                w.Byte(1);
                w.Enum(m.Kind);
                w.String(m.Message);
                Write(ref w, m.Context);
                break;
            case HelloRequest m:
                w.Byte(2);
                w.String(m.Secret);
                w.UInt64(m.Puid);
                w.Int32(m.Pid);
                break;
            case HelloReply m:
                w.Byte(3);
                w.String(m.RunId);
                w.Int32(m.NodeIndex);
                WriteNodes(ref w, m.Nodes);
                break;
            case StartRequest m:
                w.Byte(4);
                WriteArray(ref w, m.Specs, Write);
                break;
            case StartReply m:
                w.Byte(5);
                WriteProcesses(ref w, m.Processes);
                break;
            case JoinRequest m:
                w.Byte(6);
                WriteUInt64s(ref w, m.Puids);
                w.Bool(m.All);
                w.Int64(m.TimeoutMs);
                break;
            case JoinReply m:
                w.Byte(7);
                WriteStatuses(ref w, m.Statuses);
                break;
            case SignalRequest m:
                w.Byte(8);
                w.UInt64(m.Puid);
                w.Int32(m.Signal);
                break;
            case QueryRequest m:
                w.Byte(9);
                w.UInt64(m.Puid);
                break;
            case QueryReply m:
                w.Byte(10);
                Write(ref w, m.Process);
                Write(ref w, m.Status);
                break;
            case StreamRecvRequest m:
                w.Byte(11);
                w.UInt64(m.Puid);
                w.Int32(m.NodeIndex);
                w.Int32(m.Fd);
                w.Int64(m.TimeoutMs);
                w.Int32(m.MaxBytes);
                break;
            case StreamData m:
                w.Byte(12);
                w.BulkBytes(m.Lines);
                w.Bool(m.EndOfStream);
                w.Bool(m.TimedOut);
                break;
            case StreamWriteRequest m:
                w.Byte(13);
                w.UInt64(m.Puid);
                w.Int32(m.NodeIndex);
                w.Bytes(m.Data);
                w.Bool(m.Close);
                break;
            case TargetRequest m:
                w.Byte(14);
                w.UInt64(m.Puid);
                break;
            case TargetReply m:
                w.Byte(15);
                w.Bytes(m.Payload);
                break;
            case GroupCreateRequest m:
                w.Byte(16);
                Write(ref w, m.Spec);
                break;
            case GroupCommand m:
                w.Byte(17);
                w.UInt64(m.GroupId);
                w.Enum(m.Op);
                w.Int64(m.TimeoutMs);
                w.Int32(m.Signal);
                break;
            case GroupStatusReply m:
                w.Byte(18);
                Write(ref w, m.Status);
                break;
            case ObjectCreateRequest m:
                w.Byte(19);
                w.Enum(m.Kind);
                w.String(m.Name);
                w.Int32(m.HomeNode);
                w.Int64(m.Capacity);
                w.Int64(m.SlotSize);
                w.Int64(m.MaxMessageBytes);
                w.Int64(m.Parties);
                w.Bool(m.Flag);
                w.UInt64(m.Puid);
                break;
            case ObjectAttachRequest m:
                w.Byte(20);
                w.UInt64(m.Id);
                w.String(m.Name);
                w.UInt64(m.Puid);
                break;
            case ObjectReleaseRequest m:
                w.Byte(21);
                w.UInt64(m.Id);
                w.UInt64(m.Puid);
                break;
            case ObjectDescriptorReply m:
                w.Byte(22);
                Write(ref w, m.Descriptor);
                break;
            case ObjectRequest m:
                w.Byte(23);
                w.UInt64(m.Id);
                w.Enum(m.Op);
                w.BulkBytes(m.Payload);
                w.Int64(m.TimeoutMs);
                w.Int64(m.Argument);
                w.UInt64(m.Puid);
                break;
            case ObjectReply m:
                w.Byte(24);
                w.Enum(m.Status);
                w.BulkBytes(m.Payload);
                w.Int64(m.Value);
                break;
            case NodeRegisterRequest m:
                w.Byte(26);
                Write(ref w, m.Descriptor);
                w.Int32(m.Pid);
                break;
            case NodeTableRequest m:
                w.Byte(27);
                WriteNodes(ref w, m.Nodes);
                w.Int32(m.FanOut);
                break;
            case SpawnRequest m:
                w.Byte(28);
                WriteArray(ref w, m.Specs, Write);
                WriteArray(ref w, m.Entries, Write);
                break;
            case NodeSignalRequest m:
                w.Byte(29);
                w.UInt64(m.Puid);
                w.Int32(m.Signal);
                break;
            case ProcessExitedNotice m:
                w.Byte(30);
                w.UInt64(m.Puid);
                w.Int32(m.Code);
                w.Int32(m.Signal);
                break;
            case ProcessGoneNotice m:
                w.Byte(31);
                w.UInt64(m.Puid);
                break;
            case OutputNotice m:
                w.Byte(32);
                w.String(m.Label);
                w.Bytes(m.Line);
                w.Bool(m.IsError);
                break;
            case PmiJobRequest m:
                w.Byte(33);
                w.UInt64(m.GroupId);
                WriteInt32s(ref w, m.NodeOfRank);
                WriteInt32s(ref w, m.LocalRanks);
                w.String(m.KvsName);
                w.Bool(m.JobWideBarrier);
                w.Enum(m.Mode);
                break;
            case PmiJobReply m:
                w.Byte(34);
                WriteInt32s(ref w, m.Ranks);
                WriteArray(ref w, m.Environments, WritePairs);
                break;
            case PmiJobClose m:
                w.Byte(35);
                w.UInt64(m.GroupId);
                break;
            case PmiEventNotice m:
                w.Byte(36);
                w.UInt64(m.GroupId);
                w.Int32(m.Rank);
                w.Int32(m.Kind);
                w.Int32(m.ExitCode);
                w.String(m.Message);
                break;
            case PmiExchangeRequest m:
                w.Byte(37);
                w.UInt64(m.GroupId);
                w.Int32(m.NodeIndex);
                WritePairs(ref w, m.Puts);
                break;
            case PmiExchangeReply m:
                w.Byte(38);
                WritePairs(ref w, m.Puts);
                break;
            case ObjectRegisterRequest m:
                w.Byte(39);
                Write(ref w, m.Descriptor);
                break;
            case ObjectLookupRequest m:
                w.Byte(40);
                w.String(m.Name);
                break;
            case ObjectUnregisterNotice m:
                w.Byte(41);
                Write(ref w, m.Descriptor);
                break;
            case ShutdownRequest m:
                w.Byte(42);
                w.Int64(m.PatienceMs);
                break;
            case SpawnReply m:
                w.Byte(43);
                WriteProcesses(ref w, m.Started);
                w.Bool(m.Failure is not null);
                if (m.Failure is { } failure)
                {
                    w.Enum(failure.Kind);
                    w.String(failure.Message);
                    Write(ref w, failure.Context);
                }

                break;
            case LogFileNotice m:
                w.Byte(44);
                w.String(m.Name);
                w.Bytes(m.Content);
                break;
            case NodeStartFailedNotice m:
                w.Byte(45);
                w.Int32(m.Index);
                w.String(m.Host);
                w.String(m.Reason);
                break;
            case QueryManyRequest m:
                w.Byte(46);
                WriteUInt64s(ref w, m.Puids);
                break;
            case QueryManyReply m:
                w.Byte(47);
                WriteProcesses(ref w, m.Processes);
                break;
            case CancelRequest m:
                w.Byte(48);
                w.Int64(m.RequestId);
                break;
            case ChannelPut m:
                w.Byte(49);
                w.UInt64(m.ChannelId);
                w.UInt64(m.Sender);
                w.BulkBytes(m.Payload);
                break;
            case ChannelPutAck m:
                w.Byte(50);
                w.UInt64(m.ChannelId);
                w.UInt64(m.Sender);
                w.Int32(m.Messages);
                w.Int64(m.Bytes);
                w.Enum(m.Status);
                w.String(m.Reason);
                w.Int32(m.NodeIndex);
                break;
            case NodeMetricsNotice m:
                WriteNodeMetrics(ref w, m);
                break;
            default:
                throw new ArgumentException($"{message.GetType().Name} is not a control message", nameof(message));
        }
    }

    /// <summary>
    /// The exact encoded size of the messages that carry bulk data (object payloads, stream data, method targets, log
    /// files), so they are written without growing a buffer; a small default for the others.
    /// </summary>
    public static int SizeHint(IMessage message) => message switch
    {
        ObjectRequest m => 1 + 8 + 4 + 4 + m.Payload.Length + 8 + 8 + 8,
        ObjectReply m => 1 + 4 + 4 + m.Payload.Length + 8,
        ChannelPut m => 1 + 8 + 8 + 4 + m.Payload.Length,
        StreamData m => 1 + 4 + m.Lines.Length + 1 + 1,
        StreamWriteRequest m => 1 + 8 + 4 + 4 + m.Data.Length + 1,
        TargetReply m => 1 + 4 + m.Payload.Length,
        LogFileNotice m => 1 + 4 + System.Text.Encoding.UTF8.GetByteCount(m.Name) + 4 + m.Content.Length,
        _ => 244,
    };

    /// <summary>Decodes one whole message (a frame's body); throws <see cref="InvalidDataException"/> on any bad input.</summary>
    public static IMessage Read(ReadOnlySpan<byte> body)
    {
        var r = new WireReader(body, "(no tag)");
        return Read(ref r);
    }

    /// <summary>
    /// Decodes one whole message from a body the message may keep: bulk payloads are slices of
    /// <paramref name="body"/>, not copies.
    /// </summary>
    public static IMessage Read(ReadOnlyMemory<byte> body)
    {
        var r = new WireReader(body, "(no tag)");
        return Read(ref r);
    }

    private static IMessage Read(ref WireReader r)
    {
        var tag = r.Byte("tag");
        r.Message = tag < s_names.Length && s_names[tag] is { } name ? name : $"with unknown tag {tag}";
        IMessage message = tag switch
        {
            0 => new Ack(),
            1 => new ErrorReply(r.Enum<ErrorKind>("Kind"), r.String("Message"), ReadErrorContext(ref r)),
            2 => new HelloRequest(r.String("Secret"), r.UInt64("Puid"), r.Int32("Pid")),
            3 => new HelloReply(r.String("RunId"), r.Int32("NodeIndex"), ReadNodes(ref r, "Nodes")),
            4 => new StartRequest(ReadArray(ref r, "Specs", 60, ReadProcessSpec)),
            5 => new StartReply(ReadProcesses(ref r, "Processes")),
            6 => new JoinRequest(ReadUInt64s(ref r, "Puids"), r.Bool("All"), r.Int64("TimeoutMs")),
            7 => new JoinReply(ReadStatuses(ref r, "Statuses")),
            8 => new SignalRequest(r.UInt64("Puid"), r.Int32("Signal")),
            9 => new QueryRequest(r.UInt64("Puid")),
            10 => new QueryReply(ReadProcessDescriptor(ref r), ReadProcessStatus(ref r)),
            11 => new StreamRecvRequest(r.UInt64("Puid"), r.Int32("NodeIndex"), r.Int32("Fd"), r.Int64("TimeoutMs"), r.Int32("MaxBytes")),
            12 => new StreamData(r.Memory("Lines"), r.Bool("EndOfStream"), r.Bool("TimedOut")),
            13 => new StreamWriteRequest(r.UInt64("Puid"), r.Int32("NodeIndex"), r.Bytes("Data"), r.Bool("Close")),
            14 => new TargetRequest(r.UInt64("Puid")),
            15 => new TargetReply(r.Bytes("Payload")),
            16 => new GroupCreateRequest(ReadGroupSpec(ref r)),
            17 => new GroupCommand(r.UInt64("GroupId"), r.Enum<GroupOp>("Op"), r.Int64("TimeoutMs"), r.Int32("Signal")),
            18 => new GroupStatusReply(ReadGroupStatus(ref r)),
            19 => new ObjectCreateRequest(
                r.Enum<ObjectKind>("Kind"), r.NullableString("Name"), r.Int32("HomeNode"), r.Int64("Capacity"), r.Int64("SlotSize"),
                r.Int64("MaxMessageBytes"), r.Int64("Parties"), r.Bool("Flag"), r.UInt64("Puid")),
            20 => new ObjectAttachRequest(r.UInt64("Id"), r.NullableString("Name"), r.UInt64("Puid")),
            21 => new ObjectReleaseRequest(r.UInt64("Id"), r.UInt64("Puid")),
            22 => new ObjectDescriptorReply(ReadObjectDescriptor(ref r)),
            23 => new ObjectRequest(r.UInt64("Id"), r.Enum<ObjectOp>("Op"), r.Memory("Payload"), r.Int64("TimeoutMs"), r.Int64("Argument"), r.UInt64("Puid")),
            24 => new ObjectReply(r.Enum<ObjectStatus>("Status"), r.Memory("Payload"), r.Int64("Value")),
            26 => new NodeRegisterRequest(ReadNodeDescriptor(ref r), r.Int32("Pid")),
            27 => new NodeTableRequest(ReadNodes(ref r, "Nodes"), r.Int32("FanOut")),
            28 => ReadSpawnRequest(ref r),
            29 => new NodeSignalRequest(r.UInt64("Puid"), r.Int32("Signal")),
            30 => new ProcessExitedNotice(r.UInt64("Puid"), r.Int32("Code"), r.Int32("Signal")),
            31 => new ProcessGoneNotice(r.UInt64("Puid")),
            32 => new OutputNotice(r.String("Label"), r.Bytes("Line"), r.Bool("IsError")),
            33 => new PmiJobRequest(r.UInt64("GroupId"), ReadInt32s(ref r, "NodeOfRank"), ReadInt32s(ref r, "LocalRanks"), r.String("KvsName"), r.Bool("JobWideBarrier"), r.Enum<PmiMode>("Mode")),
            34 => new PmiJobReply(ReadInt32s(ref r, "Ranks"), ReadArray(ref r, "Environments", 4, static (ref WireReader r) => ReadPairs(ref r, "Environments[]"))),
            35 => new PmiJobClose(r.UInt64("GroupId")),
            36 => new PmiEventNotice(r.UInt64("GroupId"), r.Int32("Rank"), r.Int32("Kind"), r.Int32("ExitCode"), r.NullableString("Message")),
            37 => new PmiExchangeRequest(r.UInt64("GroupId"), r.Int32("NodeIndex"), ReadPairs(ref r, "Puts")),
            38 => new PmiExchangeReply(ReadPairs(ref r, "Puts")),
            39 => new ObjectRegisterRequest(ReadObjectDescriptor(ref r)),
            40 => new ObjectLookupRequest(r.String("Name")),
            41 => new ObjectUnregisterNotice(ReadObjectDescriptor(ref r)),
            42 => new ShutdownRequest(r.Int64("PatienceMs")),
            43 => new SpawnReply(ReadProcesses(ref r, "Started"), r.Bool("Failed") ? new ErrorReply(r.Enum<ErrorKind>("Failure.Kind"), r.String("Failure.Message"), ReadErrorContext(ref r)) : null),
            44 => new LogFileNotice(r.String("Name"), r.Bytes("Content")),
            45 => new NodeStartFailedNotice(r.Int32("Index"), r.String("Host"), r.String("Reason")),
            46 => new QueryManyRequest(ReadUInt64s(ref r, "Puids")),
            47 => new QueryManyReply(ReadProcesses(ref r, "Processes")),
            48 => new CancelRequest(r.Int64("RequestId")),
            49 => new ChannelPut(r.UInt64("ChannelId"), r.UInt64("Sender"), r.Memory("Payload")),
            50 => new ChannelPutAck(r.UInt64("ChannelId"), r.UInt64("Sender"), r.Int32("Messages"), r.Int64("Bytes"), r.Enum<ObjectStatus>("Status"), r.String("Reason"), r.Int32("NodeIndex")),
            NodeMetricsNoticeTag => ReadNodeMetrics(ref r),
            _ => throw new InvalidDataException($"bad control message: unknown tag {tag}"),
        };
        r.End();
        return message;
    }

    /// <summary>Message type names by tag, for error messages (null: a tag not in use).</summary>
    private static readonly string?[] s_names =
    [
        "Ack", "ErrorReply", "HelloRequest", "HelloReply", "StartRequest", "StartReply", "JoinRequest", "JoinReply", "SignalRequest", "QueryRequest",
        "QueryReply", "StreamRecvRequest", "StreamData", "StreamWriteRequest", "TargetRequest", "TargetReply", "GroupCreateRequest", "GroupCommand",
        "GroupStatusReply", "ObjectCreateRequest", "ObjectAttachRequest", "ObjectReleaseRequest", "ObjectDescriptorReply", "ObjectRequest",
        "ObjectReply", null, "NodeRegisterRequest", "NodeTableRequest", "SpawnRequest", "NodeSignalRequest", "ProcessExitedNotice", "ProcessGoneNotice",
        "OutputNotice", "PmiJobRequest", "PmiJobReply", "PmiJobClose", "PmiEventNotice", "PmiExchangeRequest", "PmiExchangeReply",
        "ObjectRegisterRequest", "ObjectLookupRequest", "ObjectUnregisterNotice", "ShutdownRequest", "SpawnReply", "LogFileNotice",
        "NodeStartFailedNotice", "QueryManyRequest", "QueryManyReply", "CancelRequest", "ChannelPut", "ChannelPutAck",
    ];
}
