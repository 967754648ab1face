using Dragon.TestApp;

// Scenarios the integration tests run under `dragon`. Most print CHECK lines for what held and exit non-zero with a
// FAIL line when something did not; `contract` (and `cancel-cross-node`) write a typed JSON result instead.
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Dragon.TestApp SCENARIO [ARGS]");
    return 2;
}

try
{
    return args[0] switch
    {
        "group-mixed" => ProcessScenarios.GroupMixed(),
        "restart" => GroupScenarios.Restart(),
        "ignore-error" => GroupScenarios.IgnoreError(),
        "walltime" => GroupScenarios.Walltime(),
        "stop-escalation" => GroupScenarios.StopEscalation(),
        "failure-reasons" => GroupScenarios.FailureReasons(),
        "bad-input" => BadInputScenarios.All(),
        "hardening" => RefusedInputScenarios.All(),
        "sleepers" => ProcessScenarios.Sleepers(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture)),
        "pass-objects" => ProcessScenarios.PassObjects(),
        "system-info" => ProcessScenarios.PrintSystemInfo(),
        "channel-smoke" => ChannelSmoke.Run(),
        "placement" => NodeScenarios.Placement(args[1]),
        "concurrent-spreads" => PlacementScenarios.ConcurrentSpreads(),
        "objects-all-nodes" => NodeScenarios.ObjectsOnAllNodes(),
        "roundtrip-probe" => RoundTripProbe.Run(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture)),
        "wireup-probe" => WireupProbe.Run(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture)),
        "output-every-node" => NodeScenarios.OutputFromEveryNode(),
        "lose-node" => NodeScenarios.LoseNode(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture)),
        "mpi-hello" => MpiScenarios.Hello(args[1], spread: args.Length > 2 && args[2] == "spread"),
        "mpi-failures" => MpiScenarios.Failures(args[1]),
        "openmpi-allreduce" => OpenMpiScenarios.Allreduce(args[1], Enum.Parse<Dragon.Pmi>(args[2]), spread: args.Length > 3 && args[3] == "spread"),
        "openmpi-beside-mpich" => OpenMpiScenarios.BesideMpich(args[1], args[2]),
        "openmpi-failures" => MpiScenarios.Failures(args[1], Dragon.Pmi.Pmix),
        "mpi-auto-unknown" => OpenMpiScenarios.AutoUnknown(),
        "mpi-not-mpi" => MpiScenarios.NotMpi(),
        "contract" => ContractCommand.Run(args[1], args[2], args[3], args[4], args.Length > 5 ? args[5] : null).GetAwaiter().GetResult(),
        "queue-cancel" => QueueApiScenarios.Cancel(),
        "queue-joinable-fast" => QueueApiScenarios.JoinableFastConsumer(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture)),
        "queue-name-taken" => QueueApiScenarios.NameTaken(),
        "queue-async" => QueueAsyncScenarios.ReadAllAndJoin(args[1]).GetAwaiter().GetResult(),
        "cancel-cross-node" => CrossNodeCancelScenario.Run(args[1]),
        "sync-waiter-killed" => WaiterKilledScenario.Run(args[1]),
        "dict-million" => DictionaryScenarios.Million(args[1]),
        "dict-counters" => DictionaryScenarios.Counters(args[1]),
        "sync-barrier-shared" => BarrierSharedScenario.Run(args[1]),
        "cancel-plan" => CancelPlanScenario.Run(args[1], args[2]),
        "group-close-dispose" => GroupScenarios.CloseThenDispose(),
        "start-after" => HardeningScenarios.StartAfter(args[1]),
        "object-on-lost-node" => HardeningScenarios.ObjectOnLostNode(args[1]),
        "sleepers-then-end" => HardeningScenarios.SleepersThenEnd(args[1]),
        "puts-to-lost-node" => HardeningScenarios.PutsToLostNode(args[1]),
        "remote-put-flood" => HardeningScenarios.RemotePutFlood(),
        "unread-output" => OutputScenarios.Unread(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture)),
        "numbered-output" => PipedOutputScenarios.Numbered(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture)),
        "stalled-output" => PipedOutputScenarios.Stalled(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture)),
        "many-short" => OutputScenarios.ManyShort(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture)),
        "big-message" => HardeningScenarios.BigMessage(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture)),
        "logging" => LoggingScenario.Run(args[1]),
        "error-context" => ErrorContextScenario.Run(args[1]),
        "observe-workload" => ObservabilityScenarios.Workload(args[1], args[2]),
        "scale-queues" => NodeScaleScenarios.ManyQueues(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture)),
        "scale-true" => NodeScaleScenarios.TrueGroup(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture)),
        "scale-partial-start" => NodeScaleScenarios.PartialStart(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture)),
        "observe-mpi" => ObservabilityScenarios.MpiSleepers(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), args[3]),
        "scale-children" => ScaleScenarios.Children(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture), args[2]),
        "observe-sleepers" => ObservabilityScenarios.Sleepers(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture), args[2]),
        "pool-map-kill" => PoolScenarios.MapWithKill().GetAwaiter().GetResult(),
        "pool-failures" => PoolScenarios.Failures().GetAwaiter().GetResult(),
        "pool-metrics" => PoolScenarios.Metrics().GetAwaiter().GetResult(),
        "pool-cancel" => PoolScenarios.Cancel().GetAwaiter().GetResult(),
        "pool-shutdown" => PoolScenarios.Shutdown().GetAwaiter().GetResult(),
        "pool-sizing" => PoolScenarios.Sizing(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture)).GetAwaiter().GetResult(),
        "pool-owner-killed" => PoolScenarios.OwnerKilled().GetAwaiter().GetResult(),
        "batch-diamond" => BatchScenarios.Diamond(args[1]).GetAwaiter().GetResult(),
        "batch-cancel" => BatchScenarios.Cancel().GetAwaiter().GetResult(),
        "batch-many" => BatchScenarios.Many().GetAwaiter().GetResult(),
        "batch-limits" => BatchScenarios.Limits().GetAwaiter().GetResult(),
        _ => Check.Usage(args[0]),
    };
}
catch (CheckFailedException e)
{
    Console.WriteLine($"FAIL {e.Message}");
    return 1;
}
