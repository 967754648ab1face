using Dragon.HostedApp;

// Scenarios for the in-process runtime tests: this program is started with plain `dotnet`, never by `dragon`.
return args.FirstOrDefault() switch
{
    "group" => await Scenarios.GroupAcrossTwoNodesAsync(),
    "no-runtime" => Scenarios.NoRuntime(),
    "interrupted" => await Scenarios.WaitForInterruptAsync(),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Dragon.HostedApp group|no-runtime|interrupted");
    return 2;
}
