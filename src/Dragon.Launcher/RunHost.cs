using System.Runtime.InteropServices;
using Dragon.Launcher.Nodes;
using Dragon.Runtime.Protocol;
using Dragon.Services.Global;
using Dragon.Services.Node;
using Dragon.Services.Runtime;
using Dragon.Services.Spawning;
using Microsoft.Extensions.Logging;

namespace Dragon.Launcher;

/// <summary>
/// One run: the run directory, global services, the node services (in this process for one machine, or on other
/// hosts over SSH or Slurm), the head program, and the teardown that leaves nothing behind on any node.
/// </summary>
internal static class RunHost
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(LauncherOptions options)
    {
        var (executable, args) = ProgramResolver.Resolve(options.Program, options.ProgramArgs);
        var plan = NodeLaunchPlan.From(options);

        // First, so a port in use ends dragon before anything of the run exists.
        using var metrics = options.MetricsPort is { } port ? Status.MetricsEndpoint.Start(port) : null;
        using var otlp = options.OtlpEndpoint is { } collector ? Status.OtlpExport.Start(collector) : null;
        using var sink = new ConsoleSink();
        var output = Report.RunReport.Sink(sink, options);
        var run = RunContext.Create(
            output,
            options.Label || options.Report is not null,
            options.LogLevel == LogLevel.None ? null : dir => new FileLoggerFactory(dir, options.LogLevel));

        // Whatever kills this launcher, its fence then kills the processes of the run's local nodes and removes
        // their files. Kept until the run directory is gone.
        using var fence = Fence.Start(run.RunDir);
        var global = new GlobalServices(run);
        Report.RunReport.Attach(global, output, options);
        using var statusServer = Status.StatusServer.Start(global);
        var localNodes = new List<NodeService>();
        RemoteNodes? remote = null;
        var interrupts = 0;

        // Completes with the number of the first signal that interrupted the run: dragon then exits 128 + it.
        var stopping = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            if (Interlocked.Increment(ref interrupts) == 1)
            {
                Console.Error.WriteLine($"dragon: {context.Signal}: stopping every process of the run (again to kill at once)");
                stopping.TrySetResult(context.Signal == PosixSignal.SIGTERM ? Signals.SIGTERM : Signals.SIGINT);
            }
            else
            {
                foreach (var puid in global.RunningPuids())
                {
                    global.Signal(puid, Signals.SIGKILL);
                }
            }
        }

        // A shell without job control starts background commands with SIGINT ignored, and .NET keeps a signal
        // that was ignored at start ignored. Like mpiexec, dragon always answers SIGINT by stopping the run.
        _ = Native.signal(Signals.SIGINT, Native.SIG_DFL);

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        try
        {
            if (plan is null)
            {
                for (var i = 0; i < options.LocalNodes; i++)
                {
                    var name = options.LocalNodes == 1 ? Environment.MachineName : $"local{i}";
                    localNodes.Add(new NodeService(run, i, name, System.Net.IPAddress.Loopback));
                }

                global.AttachNodes(localNodes);
                foreach (var node in localNodes)
                {
                    node.GlobalLink = new LocalGlobalLink(global);
                    node.Nodes = global.NodeDescriptors;
                }
            }
            else
            {
                remote = await RemoteNodes.StartAsync(run, global, plan, options).ConfigureAwait(false);
            }

            var headLost = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            global.NodeLost += (node, why) =>
            {
                Console.Error.WriteLine($"dragon: node {global.NodeDescriptors[node].Name} lost: {why}");
                if (node == 0)
                {
                    headLost.TrySetResult(why);
                }
            };

            var head = new ProcessSpec(
                executable,
                args,
                Environment.CurrentDirectory,
                [],
                new StdioSpec(StdioKind.Inherit, null),
                new StdioSpec(StdioKind.Inherit, null),
                new StdioSpec(StdioKind.Inherit, null),
                new PlacementSpec(0, null, Distribution.Default, null),
                null,
                Path.GetFileName(executable));
            if (options.Ranks is { } ranks)
            {
                return await RunMpiJobAsync(global, head with { Placement = new PlacementSpec(-1, null, Distribution.Block, null) }, ranks, stopping.Task).ConfigureAwait(false);
            }

            ProcessRecord headRecord;
            try
            {
                headRecord = global.Find((await global.StartAsync([head]).ConfigureAwait(false))[0].Puid);
            }
            catch (ServiceException e)
            {
                Console.Error.WriteLine($"dragon: {e.Message}");
                return e.Message.StartsWith("no such program", StringComparison.Ordinal) ? 127 : 126;
            }

            await Task.WhenAny(headRecord.Exit, stopping.Task).ConfigureAwait(false);
            if (!headRecord.HasExited)
            {
                await global.StopAllAsync(s_patience, "stopped: dragon was interrupted").ConfigureAwait(false);
            }

            var status = await headRecord.Exit.ConfigureAwait(false);
            await global.StopAllAsync(s_patience, "stopped: the head program ended").ConfigureAwait(false);
            if (headLost.Task.IsCompleted)
            {
                Console.Error.WriteLine($"dragon: the head program's node {global.NodeDescriptors[0].Name} was lost ({headLost.Task.Result}); the run ends");
                return 1;
            }

            // Interrupted: the head ended by our stop signals (or quietly) stands for dragon's own signal, as a shell
            // reports a command killed by it (130 for SIGINT, 143 for SIGTERM).
            if (stopping.Task.IsCompleted && (status.Signal != 0 || status.ExitCode == 0))
            {
                return 128 + stopping.Task.Result;
            }

            return status.Signal != 0 ? 128 + status.Signal : status.ExitCode;
        }
        finally
        {
            await global.StopAllAsync(TimeSpan.FromMilliseconds(200), "stopped: the run is ending").ConfigureAwait(false);
            if (metrics is not null && options.MetricsLinger > TimeSpan.Zero)
            {
                // A run shorter than the scraper's interval would otherwise end unseen: keep the final figures up
                // until one scrape has read them (or the linger runs out).
                await Task.WhenAny(global.Metrics.FinishAsync(), Task.Delay(options.MetricsLinger)).ConfigureAwait(false);
            }

            global.History.StopSampling();
            if (remote is not null)
            {
                await remote.ShutdownAsync(s_patience).ConfigureAwait(false);
                await remote.DisposeAsync().ConfigureAwait(false);
            }

            if (localNodes.Count > 0)
            {
                // Labelled output still in the pipes of processes that just ended goes out before the sink closes.
                await Task.WhenAny(Task.WhenAll(localNodes.Select(n => n.ForwardedOutputDrained)), Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false);
            }

            foreach (var node in localNodes)
            {
                await node.DisposeAsync().ConfigureAwait(false);
            }

            if (options.Report is { } report)
            {
                Report.RunReport.Write(global, report);
            }

            statusServer.Dispose();

            // The last spans and the final figures go out while the run's meter still exists.
            otlp?.Dispose();
            global.Dispose();
            run.Dispose();
            KeepLogs(run, options);
            run.RemoveFiles();
            fence.Dispose();
        }
    }

    /// <summary><c>dragon -n N PROGRAM</c>: the program's ranks as one PMI group instead of a head program.</summary>
    private static async Task<int> RunMpiJobAsync(GlobalServices global, ProcessSpec rank, int ranks, Task<int> interrupted)
    {
        // The PMI flavour follows the program's MPI library; one that names none is served PMI-1, which reports a
        // program that never connects.
        var pmi = MpiLibraryProbe.TryDetect(rank.Executable, rank.Cwd) ?? PmiMode.Simple;
        var group = global.CreateGroup(new GroupSpec([new GroupMemberSpec(ranks, rank)], Restart: false, IgnoreErrorOnExit: false, WalltimeMs: -1, pmi));
        try
        {
            await group.StartAsync().ConfigureAwait(false);
            var join = group.JoinAsync(-1, CancellationToken.None);
            if (await Task.WhenAny(join, interrupted).ConfigureAwait(false) != join)
            {
                await group.StopAsync(s_patience, "stopped: dragon was interrupted").ConfigureAwait(false);
                return 128 + await interrupted.ConfigureAwait(false);
            }

            await join.ConfigureAwait(false);
            return 0;
        }
        catch (ServiceException e)
        {
            Console.Error.WriteLine($"dragon: {e.Message}");
            return e.Kind == ErrorKind.GroupFailed ? group.FailureExitCode : 127;
        }
    }

    private static void KeepLogs(RunContext run, LauncherOptions options)
    {
        var logs = Path.Combine(run.RunDir, "logs");
        if (options.LogLevel == LogLevel.None || !Directory.Exists(logs))
        {
            return;
        }

        var kept = Path.Combine(Environment.CurrentDirectory, $"dragon-logs-{run.RunId}");
        try
        {
            Directory.Move(logs, kept);
        }
        catch (IOException)
        {
            Directory.CreateDirectory(kept);
            foreach (var file in Directory.EnumerateFiles(logs))
            {
                File.Copy(file, Path.Combine(kept, Path.GetFileName(file)), overwrite: true);
            }
        }
    }
}
