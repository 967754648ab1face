using System.Diagnostics;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Api;

/// <summary>
/// A project made by <c>dotnet new console</c> (implicit usings and nullable on) that references the library and
/// says <c>using Dragon;</c> compiles with zero warnings: no public name collides with what the template imports.
/// </summary>
public sealed class ConsoleAppCompileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dragon-console-").FullName;

    [Fact]
    public void DotnetNewConsole_UsingDragonWithImplicitUsings_BuildsWithZeroWarnings()
    {
        Run("dotnet", "new", "console", "--name", "UsesDragon", "--output", _dir, "--no-restore", "--force");
        var project = Path.Combine(_dir, "UsesDragon.csproj");
        var text = File.ReadAllText(project);
        Assert.Contains("<ImplicitUsings>enable</ImplicitUsings>", text, StringComparison.Ordinal);

        // Reference the built library (not its project, so this test never rebuilds what other tests run).
        var library = Repo.Built("Dragon");
        text = text.Replace("</Project>", $"""
              <ItemGroup>
                <Reference Include="Dragon" HintPath="{library}" />
                <PackageReference Include="Microsoft.Extensions.Logging.Abstractions" Version="10.0.0" />
              </ItemGroup>
            </Project>
            """, StringComparison.Ordinal);
        File.WriteAllText(project, text);
        File.WriteAllText(Path.Combine(_dir, "Program.cs"), """
            using Dragon;

            // Every public type a workflow names, next to the implicit usings (System.Threading, System.IO,
            // System.Collections.Generic, ...). Nothing here runs: the test only compiles it.
            if (args.Length > 99)
            {
                using var queue = new DragonQueue<string>(maxSize: 8);
                using var done = new DragonEvent();
                using var barrier = new DragonBarrier(parties: 2);
                using var gate = new DragonLock();
                using var slots = new DragonSemaphore(2);
                var (left, right) = DragonPipe.Create(duplex: true);
                var p = DragonProcess.Start(ProcessTemplate.Executable("/bin/true") with { Stdout = Stdio.Pipe, Policy = Policy.RoundRobin });
                using var group = new ProcessGroup(pmi: Pmi.Simple);
                group.AddProcess(2, ProcessTemplate.Executable("/bin/true"));
                var q = new Queue<int>();               // System.Collections.Generic
                var monitor = new Lock();               // System.Threading
                var bcl = new Barrier(1);               // System.Threading
                var sem = new Semaphore(1, 1);          // System.Threading
                Console.WriteLine($"{queue.Name} {done} {barrier.Parties} {gate} {slots} {left} {right} {p.Puid} {group} {q.Count} {monitor} {bcl} {sem} {SystemInfo.Nodes.Count}");

                // The overloads of the timeout convention resolve without casts or named arguments.
                using var cts = new CancellationTokenSource();
                var item = await queue.GetAsync();
                item = await queue.GetAsync(cts.Token);
                item = await queue.GetAsync(TimeSpan.FromSeconds(1));
                item = await queue.GetAsync(TimeSpan.FromSeconds(1), cts.Token);
                item = queue.Get(TimeSpan.FromSeconds(1), cts.Token);
                var (got, next) = await queue.TryGetAsync(TimeSpan.Zero, cts.Token);
                if (queue.TryGet(out var ready) && got && gate.TryAcquire(TimeSpan.Zero) && done.TryWait(TimeSpan.Zero))
                {
                    await done.WaitAsync(cts.Token);
                    await gate.AcquireAsync(TimeSpan.FromSeconds(1), cts.Token);
                    await slots.ReleaseAsync(1, cts.Token);
                }

                var line = await p.Stdout!.ReceiveAsync<string>(cts.Token);
                var status = await p.GetStatusAsync(cts.Token);
                var running = group.GetStatus().IsRunning;
                var code = p.Join(TimeSpan.FromSeconds(1)) + await p.JoinAsync(cts.Token) + slots.GetValue();
                Console.WriteLine($"{item} {next} {ready} {line} {status.HasExited} {running} {code} {done.IsSet()}");

                DragonRuntime.LoggerFactory = null;
                try
                {
                    group.Join();
                }
                catch (ProcessGroupException e) when (e.Rank is { } rank)
                {
                    Console.WriteLine($"{rank} {e.Puid} {e.NodeIndex} {e.ExitCode} {e.Signal}");
                }
                catch (NodeLostException e)
                {
                    Console.WriteLine(e.NodeIndex);
                }
                catch (ObjectNotFoundException e)
                {
                    Console.WriteLine(e.ObjectName);
                }
            }
            """);

        var build = Run("dotnet", "build", _dir, "-c", "Release", "-nologo", "-warnaserror", "-p:TreatWarningsAsErrors=true");
        Assert.Contains("0 Warning(s)", build, StringComparison.Ordinal);
        Assert.Contains("0 Error(s)", build, StringComparison.Ordinal);
    }

    private string Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(4)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish in 4 minutes");
        }

        var output = stdout.Result + stderr.Result;
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {process.ExitCode}:\n{output}");
        return output;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
