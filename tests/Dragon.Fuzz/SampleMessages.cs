using Dragon.Runtime.Protocol;

namespace Dragon.Fuzz;

/// <summary>One well-filled instance of every control message type (the seeds, and the codec's round-trip cases).</summary>
internal static class SampleMessages
{
    internal static IReadOnlyList<IMessage> All { get; } = Build();

    /// <summary>How many message types there are samples of.</summary>
    public static int TypeCount => All.Select(m => m.GetType()).Distinct().Count();

    /// <summary>Encodes every sample, decodes it, and returns the names of those that did not come back equal.</summary>
    public static IReadOnlyList<string> RoundTripFailures()
    {
        var failures = new List<string>();
        foreach (var message in All)
        {
            var frame = FrameCodec.Encode(7, message);
            var back = FrameCodec.Decode(frame.AsSpan(FrameCodec.HeaderBytes));
            if (Describe(back) != Describe(message))
            {
                failures.Add($"{message.GetType().Name}: {Describe(message)} came back as {Describe(back)}");
            }
        }

        return failures;
    }

    /// <summary>The record's text with arrays spelled out (records compare arrays by reference).</summary>
    private static string Describe(object? value) => value switch
    {
        null => "null",
        string s => '"' + s + '"',
        byte[] b => Convert.ToHexString(b),
        ReadOnlyMemory<byte> m => Convert.ToHexString(m.Span),
        System.Collections.IEnumerable items => "[" + string.Join(", ", items.Cast<object?>().Select(Describe)) + "]",
        _ when value.GetType().Namespace == typeof(IMessage).Namespace && !value.GetType().IsEnum =>
            value.GetType().Name + "{" + string.Join(", ", value.GetType().GetProperties().Where(p => p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract").Select(p => p.Name + "=" + Describe(p.GetValue(value)))) + "}",
        KeyValuePair<string, string> kv => Describe(kv.Key) + "=" + Describe(kv.Value),
        _ => value.ToString() ?? string.Empty,
    };

    private static List<IMessage> Build()
    {
        var node = new NodeDescriptor(1, "n1", "host-1", 8, 1L << 34, "boot/n1", "10.0.0.2:4000");
        var stdio = new StdioSpec(StdioKind.File, "/tmp/out.txt");
        var spec = new ProcessSpec(
            "/bin/echo", ["hello", "wörld", string.Empty], "/tmp", [new("A", "1"), new("B", string.Empty)],
            new StdioSpec(StdioKind.Pipe, null), stdio, new StdioSpec(StdioKind.Stdout, null),
            new PlacementSpec(2, "n2", Distribution.Block, [0, 3]), [1, 2, 3], "echo");
        var bare = spec with { Cwd = null, MethodTarget = null, Placement = new PlacementSpec(-1, null, Distribution.Default, null) };
        var process = new ProcessDescriptor(4294967301, 1, 4242, true, false, true, 9, "worker");
        var status = new ProcessStatus(4294967301, ProcessState.Exited, -9, 9, "killed", 1, true);
        var objectDescriptor = new ObjectDescriptor(1UL << 48 | 5, ObjectKind.Channel, "queue", 1, "/dev/shm/dragon-x-n1-ch5", 16, 4096, 1 << 20, 0, true);
        var pairs = new KeyValuePair<string, string>[] { new("PMI_RANK", "0"), new("kvs", "v") };
        var minimalNode = new NodeDescriptor(0, string.Empty, string.Empty, 0, 0, string.Empty, string.Empty);
        var minimalSpec = new ProcessSpec(
            string.Empty, [], null, [], new StdioSpec(StdioKind.Inherit, null), new StdioSpec(StdioKind.Inherit, null), new StdioSpec(StdioKind.Inherit, null),
            new PlacementSpec(0, null, Distribution.Default, null), null, string.Empty);
        var minimalProcess = new ProcessDescriptor(0, 0, 0, false, false, false, 0, string.Empty);
        var minimalStatus = new ProcessStatus(0, ProcessState.Pending, 0, 0, string.Empty, 0, false);
        return
        [
            new Ack(),
            new ErrorReply(ErrorKind.GroupFailed, "rank 3 exited with signal 9"),
            new ErrorReply(ErrorKind.GroupFailed, "member 3 exited with code 7", new ErrorContext(4294967301, 1, 3, 7, 9, "queue")),
            new ErrorReply(ErrorKind.ObjectNotFound, "no object named 'q'", new ErrorContext(ObjectName: string.Empty)),
            new ErrorReply(ErrorKind.NodeLost, "node 2 is lost", new ErrorContext(NodeIndex: 2)),
            new HelloRequest("0123456789abcdef0123456789abcdef", 4294967301, 1234),
            new HelloReply("run-1", 0, [node, node with { Index = 2 }]),
            new StartRequest([spec, bare]),
            new StartReply([process, process with { Puid = 2 }]),
            new JoinRequest([1, 2, 3], true, 1500),
            new JoinReply([status, status with { State = ProcessState.Running }]),
            new SignalRequest(7, 15),
            new QueryRequest(7),
            new QueryReply(process, status),
            new StreamRecvRequest(7, 1, 2, -1, StreamRecvRequest.DefaultMaxBytes),
            new StreamData(new byte[] { 104, 105, 10 }, false, true),
            new StreamWriteRequest(7, 0, [1, 2, 3], true),
            new TargetRequest(7),
            new TargetReply([9, 8, 7]),
            new GroupCreateRequest(new GroupSpec([new GroupMemberSpec(4, spec), new GroupMemberSpec(1, bare)], true, false, 60000, PmiMode.Simple)),
            new GroupCommand(3, GroupOp.Signal, 100, 2),
            new GroupStatusReply(new GroupStatus(3, GroupState.Finished, [1, 2], [2], [status], "rank 1 failed", false)),
            new ObjectCreateRequest(ObjectKind.Semaphore, "sem", -1, 1, 2, 3, 4, true, 7),
            new ObjectAttachRequest(0, "queue", 7),
            new ObjectReleaseRequest(5, 7),
            new ObjectDescriptorReply(objectDescriptor),
            new ObjectDescriptorReply(objectDescriptor with { Kind = ObjectKind.Lock, ShmPath = "/dev/shm/dragon-x-n1-sync0", ShmOffset = 4032 }),
            new ObjectRequest(5, ObjectOp.SemaphoreRelease, new byte[] { 1, 2 }, 250, -3, 7),
            new ObjectReply(ObjectStatus.EndOfStream, new byte[] { 4, 5 }, 42),
            new NodeRegisterRequest(node, 999),
            new NodeTableRequest([node], 16),
            new SpawnRequest([spec, bare], [new SpawnEntry(7, 0, 3, pairs), new SpawnEntry(8, 1, 3, []), new SpawnEntry(9, 0, 3, [])]),
            new NodeSignalRequest(7, 9),
            new ProcessExitedNotice(7, 0, 0),
            new ProcessGoneNotice(7),
            new OutputNotice("[7@n1] ", [104, 105], true),
            new PmiJobRequest(3, [0, 0, 1], [0, 1], "kvs_3", true),
            new PmiJobReply([0, 1], [pairs, []]),
            new PmiJobClose(3),
            new PmiEventNotice(3, 1, 2, 1, "abort"),
            new PmiExchangeRequest(3, 1, pairs),
            new PmiExchangeReply(pairs),
            new ObjectRegisterRequest(objectDescriptor),
            new ObjectLookupRequest("queue"),
            new ObjectUnregisterNotice(objectDescriptor with { ShmPath = null }),
            new ShutdownRequest(2000),
            new SpawnReply([process, process with { Puid = 2 }], null),
            new SpawnReply([process], new ErrorReply(ErrorKind.StartFailed, "no such file: /bin/nope", new ErrorContext(4294967302, 1))),
            new LogFileNotice("node1.log", [1, 2, 3]),
            new NodeStartFailedNotice(3, "host-3", "ssh: connection refused"),
            new QueryManyRequest([1, 2]),
            new QueryManyReply([process]),
            new CancelRequest(12),
            new ChannelPut(0x0001_0000_0000_0007, 3, new byte[] { 1, 2, 3 }),
            new ChannelPutAck(0x0001_0000_0000_0007, 3, 2, 128, ObjectStatus.Ok, string.Empty, 1),
            new NodeMetricsNotice(2, 1L << 30, 250, [new ChannelTraffic("queue-1", 100, 500, 40, 60)], [new LinkTraffic(-1, 4096, 2048, 85), new LinkTraffic(3, 1, 2, 3)]),

            // The smallest encodings of the records that travel in arrays (empty strings and arrays, nulls): an
            // array's count is checked against these sizes before it is allocated.
            new HelloReply(string.Empty, 0, [minimalNode]),
            new StartRequest([minimalSpec]),
            new StartReply([minimalProcess]),
            new JoinReply([minimalStatus]),
            new QueryManyReply([minimalProcess]),
            new GroupCreateRequest(new GroupSpec([new GroupMemberSpec(0, minimalSpec)], false, false, 0, PmiMode.None)),
            new GroupStatusReply(new GroupStatus(0, GroupState.Pending, [], [], [minimalStatus], null, false)),
            new PmiJobReply([], [[]]),
            new PmiExchangeReply([new(string.Empty, string.Empty)]),
            new SpawnRequest([minimalSpec], [new SpawnEntry(0, 0, 0, [])]),
            new SpawnReply([minimalProcess], new ErrorReply(ErrorKind.Internal, string.Empty)),
            new NodeMetricsNotice(0, 0, 0, [new ChannelTraffic(string.Empty, 0, 0, 0, 0)], []),
        ];
    }
}
