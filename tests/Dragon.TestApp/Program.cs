using Dragon.TestApp;

// Scenarios the integration tests run under `dragon`. Each prints CHECK lines for what held and exits non-zero
// with a FAIL line when something did not.
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
        "sleepers" => ProcessScenarios.Sleepers(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture)),
        "pass-objects" => ProcessScenarios.PassObjects(),
        "system-info" => ProcessScenarios.PrintSystemInfo(),
        "channel-smoke" => ChannelSmoke.Run(),
        "mpi-hello" => MpiScenarios.Hello(args[1], spread: args.Length > 2 && args[2] == "spread"),
        "mpi-failures" => MpiScenarios.Failures(args[1]),
        "mpi-not-mpi" => MpiScenarios.NotMpi(),
        _ => Check.Usage(args[0]),
    };
}
catch (CheckFailedException e)
{
    Console.WriteLine($"FAIL {e.Message}");
    return 1;
}
