using System.Diagnostics;
using Dragon.Bench.Driver;
using Dragon.Bench.Scenarios;

var mainTimestamp = Stopwatch.GetTimestamp();

// Two roles in one program. `drive BENCH` runs outside any runtime: it alternates our runs with the peer's and
// reports medians. Every other command is a head program run under `dragon`: it measures from inside the runtime
// and prints BENCH lines that the driver reads.
if (args.Length == 0)
{
    return Usage();
}

var rest = args[1..];
return args[0] switch
{
    "drive" => BenchDriver.Run(rest),
    "group64" => LaunchScenarios.Group64(mainTimestamp),
    "group-warm" => LaunchScenarios.GroupWarm(Arg.Int(rest, 0, 1)),
    "functions" => LaunchScenarios.Functions(),
    "true-group" => ScaleScenarios.TrueGroup(Arg.Int(rest, 0, 64)),
    "sync-ops" => ScaleScenarios.SyncOps(Arg.Int(rest, 0, 2_000)),
    "dotnet-group" => LaunchScenarios.DotnetGroup(),
    "function-phases" => FunctionPhases.Run(Arg.Int(rest, 0, 10)),
    "queue" => QueueScenarios.Run(Arg.Int(rest, 0, 1_000_000), remote: false),
    "queue-remote" => QueueScenarios.Run(Arg.Int(rest, 0, 100_000), remote: true),
    "queue-ring" => QueueRing.Run(Arg.Int(rest, 0, 1_000_000)),
    "pingpong" => PingPongScenarios.Run(Arg.Int(rest, 0, 20_000), Arg.Int(rest, 1, 500), remote: false),
    "pingpong-remote" => PingPongScenarios.Run(Arg.Int(rest, 0, 2_000), Arg.Int(rest, 1, 20), remote: true),
    "pingpong-paths" => PingPongPaths.Run(Arg.Int(rest, 0, 20_000)),
    "remote" => RemoteScenarios.Run(
        Arg.Int(rest, 0, 200_000), Arg.Int(rest, 1, 4_000), Arg.Int(rest, 2, 20_000), Arg.Int(rest, 3, 1_000_000), Arg.Int(rest, 4, 3_000)),
    "lines-phases" => LinesPhases.Run(Arg.Int(rest, 0, 1_000_000), Arg.Int(rest, 1, 100_000)),
    "tasks" => TaskScenarios.Run(Arg.Int(rest, 0, 100_000), Arg.Int(rest, 1, 1_000_000), Arg.Int(rest, 2, 2), Arg.Int(rest, 3, 0)),
    "ddict" => DictScenarios.Run(rest),
    "kv-peer" => KvPeerScenarios.Run(rest),
    "startup-noop" => 0,
    "startup-connect" => FunctionPhases.Connect(),
    "client-steps" => ClientStartupSteps.Run(rest[0]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: Dragon.Bench drive launch|queue|pingpong|remote|all --root DIR [--rounds N] [--cluster]
               dragon [--local-nodes 2] Dragon.Bench.dll SCENARIO [ARGS]   (what the driver runs)
        """);
    return 2;
}
