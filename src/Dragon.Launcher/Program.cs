using Dragon.Launcher;
using Dragon.Services.Spawning;

try
{
    if (args.Length == 0)
    {
        Console.Error.WriteLine(LauncherOptions.Usage);
        return 2;
    }

    switch (args[0])
    {
        case "--help" or "-h":
            Console.WriteLine(LauncherOptions.Usage);
            return 0;
        case "--version":
            Console.WriteLine($"dragon {LauncherOptions.Version}");
            return 0;
        case "cleanup":
            return Cleanup.Run(args[1..]);
        case Dragon.Launcher.Status.Ps.Command:
            return Dragon.Launcher.Status.Ps.Run(args[1..]);
        case Dragon.Launcher.Status.Top.Command:
            return Dragon.Launcher.Status.Top.Run(args[1..]);
        case Dragon.Launcher.Report.ReportCommand.Command:
            return Dragon.Launcher.Report.ReportCommand.Run(args[1..]);
        case Fence.Command:
            return Fence.Run(args[1..]);
        case Dragon.Launcher.Nodes.NodeServiceMain.Command:
            return await Dragon.Launcher.Nodes.NodeServiceMain.RunAsync(args[1..]).ConfigureAwait(false);
    }

    return await RunHost.RunAsync(LauncherOptions.Parse(args)).ConfigureAwait(false);
}
catch (UsageException e)
{
    Console.Error.WriteLine($"dragon: {e.Message}");
    Console.Error.WriteLine(LauncherOptions.Usage);
    return 2;
}
catch (Dragon.Launcher.Status.MetricsEndpointException e)
{
    Console.Error.WriteLine($"dragon: {e.Message}");
    return 1;
}
catch (Dragon.Services.Runtime.UnsafeRunBaseException e)
{
    Console.Error.WriteLine($"dragon: {e.Message}");
    return 1;
}
catch (SpawnException e)
{
    Console.Error.WriteLine($"dragon: {e.Message}");
    return 127;
}
