using System.Net.Sockets;
using System.Text;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Hardening;

/// <summary>
/// A real run whose head waits (after printing READY) until the test has attacked it from outside, then goes on;
/// the test speaks to the run's real control socket in its run directory, as any process on the machine could.
/// </summary>
internal sealed class HostileRun : IDisposable
{
    private readonly DragonRun _dragon;
    private readonly System.Diagnostics.Process _launcher;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _goFile = Path.Combine(Path.GetTempPath(), $"dragon-go-{Guid.NewGuid():N}");

    /// <param name="dragon">The test's runs.</param>
    /// <param name="launcherArgs">Options before the program (e.g. --wlm fork).</param>
    /// <param name="scenario">The head scenario of the test app; its last argument is the go file.</param>
    /// <param name="env">Extra environment of the launcher, if any.</param>
    public HostileRun(DragonRun dragon, string[] launcherArgs, string scenario, IReadOnlyDictionary<string, string>? env = null)
    {
        _dragon = dragon;
        _launcher = dragon.StartDragon([.. launcherArgs, Repo.TestApp, scenario, _goFile], env);
        _launcher.OutputDataReceived += (_, e) =>
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
        _launcher.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _launcher.BeginOutputReadLine();
        _launcher.BeginErrorReadLine();
        if (!_ready.Task.Wait(TimeSpan.FromSeconds(60)))
        {
            throw new TimeoutException($"the head did not get ready\n{Output}");
        }
    }

    /// <summary>The launcher's pid (in a one-machine run, node 0's service runs inside it).</summary>
    public int LauncherPid => _launcher.Id;

    public string Output
    {
        get
        {
            lock (_stdout)
            {
                lock (_stderr)
                {
                    return $"--- stdout\n{_stdout}\n--- stderr\n{_stderr}";
                }
            }
        }
    }

    /// <summary>Node 0's control socket, found in the run directory.</summary>
    public string ControlSocket => Directory.GetFiles(_dragon.RunBase, "node0.sock", SearchOption.AllDirectories).Single();

    /// <summary>A new connection to node 0's control socket, proving nothing.</summary>
    public Socket Connect()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(ControlSocket));
        return socket;
    }

    /// <summary>Lets the head go on and waits for the run to end; returns its exit code.</summary>
    public int Finish(TimeSpan timeout)
    {
        File.WriteAllText(_goFile, "go");
        if (!_launcher.WaitForExit(timeout))
        {
            _launcher.Kill(entireProcessTree: true);
            throw new TimeoutException($"the run did not end within {timeout}\n{Output}");
        }

        _launcher.WaitForExit();
        return _launcher.ExitCode;
    }

    /// <summary>Reads until the service closes the connection; returns how long that took (throws past the limit).</summary>
    public static TimeSpan TimeUntilClosed(Socket socket, TimeSpan limit)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        socket.ReceiveTimeout = (int)limit.TotalMilliseconds;
        var buffer = new byte[4096];
        try
        {
            while (socket.Receive(buffer) > 0)
            {
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock)
        {
            throw new TimeoutException($"the service did not close the connection within {limit}");
        }

        return clock.Elapsed;
    }

    public void Dispose()
    {
        if (!_launcher.HasExited)
        {
            _launcher.Kill(entireProcessTree: true);
            _launcher.WaitForExit();
        }

        _launcher.Dispose();
        File.Delete(_goFile);
    }
}
