using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text;
using OsProcess = System.Diagnostics.Process;

namespace Dragon.Tests.Channels;

/// <summary>
/// Builds tests/ShmRingPeer once per test run (same configuration as this assembly) and starts it.
/// </summary>
public sealed class ShmRingPeerFixture
{
    private static readonly Lazy<string> s_peerDll = new(BuildPeer, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Path of the built Dragon.ShmRingPeer.dll.</summary>
    public string PeerDll => s_peerDll.Value;

    /// <summary>The dotnet host that runs the tests, used to run the peer as well.</summary>
    internal static string DotnetHost
    {
        get
        {
            var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(host) && File.Exists(host))
            {
                return host;
            }

            var self = Environment.ProcessPath;
            return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        }
    }

    private static string BuildPeer()
    {
        var root = FindRepositoryRoot();
        var configuration = typeof(ShmRingPeerFixture).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var project = Path.Combine(root, "tests", "ShmRingPeer", "ShmRingPeer.csproj");
        var start = new ProcessStartInfo(DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = root,
        };
        foreach (var argument in new[] { "build", project, "-c", configuration, "-nologo", "-v", "q" })
        {
            start.ArgumentList.Add(argument);
        }

        // The test host inherits MSBuild's variables from "dotnet test"; they would point the
        // nested build at the outer one's state.
        foreach (var name in new[] { "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath", "MSBuildLoadMicrosoftTargetsReadOnly" })
        {
            start.Environment.Remove(name);
        }

        using var build = OsProcess.Start(start) ?? throw new InvalidOperationException("could not start dotnet build");
        var stdout = build.StandardOutput.ReadToEndAsync();
        var stderr = build.StandardError.ReadToEndAsync();
        if (!build.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            build.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"building {project} took over 5 minutes");
        }

        build.WaitForExit();
        if (build.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"building {project} failed with exit code {build.ExitCode}:\n{stdout.GetAwaiter().GetResult()}\n{stderr.GetAwaiter().GetResult()}");
        }

        var dll = Path.Combine(root, "artifacts", "build", "bin", "ShmRingPeer", configuration.ToLowerInvariant(), "Dragon.ShmRingPeer.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"built {project} but found no {dll}", dll);
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Dragon.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no Dragon.slnx above {AppContext.BaseDirectory}");
    }
}

/// <summary>One running Dragon.ShmRingPeer; its stdout lines are collected as they come.</summary>
internal sealed class PeerProcess : IDisposable
{
    private readonly OsProcess _process;
    private readonly BlockingCollection<string> _pending = [];
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly StringBuilder _stderr = new();
    private bool _reaped;

    private PeerProcess(OsProcess process)
    {
        _process = process;
    }

    /// <summary>The peer's pid.</summary>
    public int Id => _process.Id;

    /// <summary>The command line, for failure messages.</summary>
    public string Description { get; private init; } = "";

    /// <summary>Starts the peer with <paramref name="arguments"/>.</summary>
    public static PeerProcess Start(string peerDll, params string[] arguments)
    {
        var start = new ProcessStartInfo(ShmRingPeerFixture.DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(peerDll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = new OsProcess { StartInfo = start };
        var peer = new PeerProcess(process) { Description = "peer " + string.Join(' ', arguments) };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                peer._lines.Enqueue(e.Data);
                peer._pending.Add(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (peer._stderr)
                {
                    peer._stderr.AppendLine(e.Data);
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return peer;
    }

    /// <summary>Waits for the next stdout line to be <paramref name="expected"/>.</summary>
    public void WaitForLine(string expected, TimeSpan timeout)
    {
        if (!_pending.TryTake(out var line, timeout))
        {
            throw new TimeoutException($"{Description}: no '{expected}' within {timeout}; stderr: {Stderr}");
        }

        if (line != expected)
        {
            throw new InvalidOperationException($"{Description}: expected '{expected}', got '{line}'; stderr: {Stderr}");
        }
    }

    /// <summary>Waits for a clean exit and returns every stdout line.</summary>
    public IReadOnlyList<string> WaitForSuccess(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            throw new TimeoutException($"{Description}: still running after {timeout}; stderr: {Stderr}");
        }

        _process.WaitForExit(); // drains the redirected streams
        if (_process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Description}: exit code {_process.ExitCode}; stderr: {Stderr}");
        }

        return [.. _lines];
    }

    /// <summary>SIGKILL, then reap, so no zombie outlives the test.</summary>
    public void Kill()
    {
        if (_reaped)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit();
        _reaped = true;
    }

    /// <summary>True once the process has exited and been reaped (it stays true after Dispose).</summary>
    public bool HasExited => _reaped || _process.HasExited;

    private string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Kill();
        _process.Dispose();
        _pending.Dispose();
    }
}
