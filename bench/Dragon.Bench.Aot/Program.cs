using System.Diagnostics;
using Dragon.Bench.Scenarios;

var mainTimestamp = Stopwatch.GetTimestamp();

// The launch scenarios of Dragon.Bench, compiled Native AOT: run as `dragon Dragon.Bench.Aot SCENARIO`.
var rest = args.Length > 0 ? args[1..] : [];
return args.FirstOrDefault() switch
{
    "group64" => LaunchScenarios.Group64(mainTimestamp),
    "group-warm" => LaunchScenarios.GroupWarm(Arg.Int(rest, 0, 1)),
    "functions" => LaunchScenarios.Functions(),
    "true-group" => ScaleScenarios.TrueGroup(Arg.Int(rest, 0, 64)),
    "tasks" => TaskScenarios.Run(Arg.Int(rest, 0, 100_000), Arg.Int(rest, 1, 1_000_000), Arg.Int(rest, 2, 2), Arg.Int(rest, 3, 0)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: dragon Dragon.Bench.Aot group64|group-warm [N]|functions|true-group N|tasks [SUBMITS MAPPED WORKERS]");
    return 2;
}
