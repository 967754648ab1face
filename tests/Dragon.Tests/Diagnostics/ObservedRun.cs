using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Diagnostics;

/// <summary>
/// A run of a test-app workflow that prints READY and then waits for its go-file: the test looks at the run from
/// outside meanwhile (a scrape, <c>dragon ps</c>), then lets it end and checks the exit and the leak check.
/// </summary>
internal sealed class ObservedRun : IDisposable
{
    private readonly DragonRun _dragon;
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ObservedRun(DragonRun dragon, IEnumerable<string> dragonArgs, string scenario, params string[] scenarioArgs)
    {
        _dragon = dragon;
        GoFile = Path.Combine(Path.GetTempPath(), $"dragon-observe-go-{Guid.NewGuid():N}");
        _process = dragon.StartDragon([.. dragonArgs, Repo.TestApp, scenario, .. scenarioArgs, GoFile]);
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (_stdout)
            {
                _stdout.AppendLine(e.Data);
            }

            if (e.Data == "READY")
            {
                _ready.TrySetResult();
            }
        };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (_stderr) { _stderr.AppendLine(e.Data); } } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string GoFile { get; }

    public void WaitUntilReady(TimeSpan timeout)
    {
        if (!_ready.Task.Wait(timeout))
        {
            Assert.Fail($"the workflow did not get ready within {timeout}\n{Output()}");
        }
    }

    /// <summary>Lets the workflow end; asserts dragon exits 0 with no FAIL and the run left nothing.</summary>
    public void Finish(TimeSpan timeout)
    {
        File.WriteAllText(GoFile, "go");
        Assert.True(_process.WaitForExit(timeout), $"dragon did not end within {timeout}\n{Output()}");
        _process.WaitForExit();
        Assert.True(_process.ExitCode == 0, $"dragon exited {_process.ExitCode}\n{Output()}");
        Assert.DoesNotContain("FAIL", Output(), StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
    }

    public string Output()
    {
        lock (_stdout)
        {
            lock (_stderr)
            {
                return $"--- stdout\n{_stdout}\n--- stderr\n{_stderr}";
            }
        }
    }

    /// <summary>Runs <c>dragon ARGS</c> beside the run (same run base, none of the run's environment).</summary>
    public RunResult Dragon(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var info = new ProcessStartInfo(Repo.Dragon) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DRAGON_RUN_BASE"] = _dragon.RunBase;
        info.Environment.Remove("DRAGON_SECRET");
        info.Environment.Remove("DRAGON_RUN_ID");
        foreach (var (key, value) in env ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), $"dragon {string.Join(' ', args)} did not end within 30 s");
        process.WaitForExit();
        return new RunResult(process.ExitCode, stdout.Result, stderr.Result, clock.Elapsed);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
        File.Delete(GoFile);
    }

    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
