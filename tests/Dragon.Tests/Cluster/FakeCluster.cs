using System.Globalization;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Cluster;

/// <summary>
/// A fake cluster of four hosts with Slurm on this machine (tests/cluster/cluster.sh): network namespaces n1..n4 with
/// their own address, hostname, machine-id, boot_id and /dev/shm, one sshd and one slurmd each, and a head namespace
/// (bridge, slurmctld) where the tests launch from. Brought up once per test collection, always torn down.
/// </summary>
public sealed class FakeCluster : IDisposable
{
    /// <summary>The head's network namespace, where srun/ssh run from.</summary>
    public const string HeadNamespace = "mnh";

    private const string Subnet = "10.77.0";
    private static readonly TimeSpan s_lifecycleTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan s_controlTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_lockWait = TimeSpan.FromMinutes(10);
    private static readonly string[] s_hosts = ["n1", "n2", "n3", "n4"];

    private readonly string _script;
    private readonly Dictionary<string, string> _environment;
    private readonly FileStream _lock;
    private int _disposed;

    /// <summary>Brings the cluster up (tearing down what a previous run left first); throws if it cannot.</summary>
    public FakeCluster()
    {
        _script = Path.Combine(Repo.Root, "tests", "cluster", "cluster.sh");
        CheckMachine(_script);
        // The script's settings, stated here so the names below are the ones the script uses.
        _environment = new Dictionary<string, string>
        {
            ["N"] = s_hosts.Length.ToString(CultureInfo.InvariantCulture),
            ["P"] = "n",
            ["H"] = HeadNamespace,
            ["SUB"] = Subnet,
            ["W"] = StateDirectory,
        };
        _lock = TakeMachineLock();
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        try
        {
            Lifecycle("up");
            Lifecycle("slurm-up");
        }
        catch (Exception e)
        {
            AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
            _disposed = 1;
            var down = TryDown();
            _lock.Dispose();
            throw new FakeClusterException($"{e.Message}\n--- cluster.sh down after the failure: {down}", e);
        }
    }

    /// <summary>The host names, n1..n4.</summary>
    public IReadOnlyList<string> Hosts => s_hosts;

    /// <summary>The head's address on the cluster network (the bridge in <see cref="HeadNamespace"/>).</summary>
    public string HeadAddress => Subnet + ".254";

    /// <summary>Where the script keeps keys, pid files and the sshd/slurmd/slurmctld logs.</summary>
    public string StateDirectory => "/tmp/dragon-testbed";

    /// <summary>The slurm.conf that srun/sbatch/salloc need (set as SLURM_CONF by <see cref="RunInHead"/>).</summary>
    public string SlurmConf => Path.Combine(StateDirectory, "slurm", "slurm.conf");

    /// <summary>The address of a host, e.g. 10.77.0.2 for n2.</summary>
    public string AddressOf(string host) => Subnet + "." + HostIndex(host).ToString(CultureInfo.InvariantCulture);

    /// <summary>Runs a bash command in the head namespace with SLURM_CONF set (and no other SLURM_* variable).</summary>
    public ClusterCommandResult RunInHead(string command, TimeSpan timeout) => Script(timeout, "head", "bash", "-c", command);

    /// <summary>Runs a shell command on a host through ssh from the head namespace (fails while its link is down).</summary>
    public ClusterCommandResult RunOnHost(string host, string command, TimeSpan timeout)
    {
        HostIndex(host);
        return Script(timeout, "ssh", host, command);
    }

    /// <summary>Runs a bash command inside a host's namespaces without ssh (works while its link is down).</summary>
    public ClusterCommandResult RunInHostNamespaces(string host, string command, TimeSpan timeout)
    {
        HostIndex(host);
        return Script(timeout, "on", host, "bash", "-c", command);
    }

    /// <summary>Pulls the host's cable: its veth on the head's bridge goes down, and with it the host's carrier.</summary>
    public void SetLinkDown(string host) => Control("link-down", host);

    /// <summary>Plugs the host's cable back in.</summary>
    public void SetLinkUp(string host) => Control("link-up", host);

    /// <summary>
    /// Sends a signal (KILL unless told) to the processes of one host whose command line matches the regular
    /// expression <paramref name="pattern"/> (pkill -f, limited to the host's network namespace); returns how many.
    /// </summary>
    public int KillOnHost(string host, string pattern, string signal = "KILL")
    {
        HostIndex(host);
        var result = Script(s_controlTimeout, "kill", host, pattern, signal);
        return result.ExitCode switch
        {
            0 => result.Lines.Length,
            1 => 0,
            _ => throw new FakeClusterException($"kill {signal} '{pattern}' on {host} failed: {result}"),
        };
    }

    /// <summary>Tears the cluster down; throws if something could not be removed.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        ClusterCommandResult down;
        try
        {
            down = Script(s_lifecycleTimeout, "down");
        }
        finally
        {
            _lock.Dispose();
        }

        if (down.ExitCode != 0)
        {
            throw new FakeClusterException($"cluster.sh down did not leave the machine clean: {down}");
        }
    }

    private static void CheckMachine(string script)
    {
        var problems = new List<string>();
        if (!OperatingSystem.IsLinux())
        {
            problems.Add("it runs on Linux only");
        }
        else if (!Environment.IsPrivilegedProcess)
        {
            problems.Add("it must run as root (it creates network namespaces, mounts and daemons)");
        }

        if (!File.Exists(script))
        {
            problems.Add($"{script} is missing");
        }

        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin", "/bin"]);
        foreach (var tool in new[] { "bash", "ip" })
        {
            if (!path.Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, tool))))
            {
                problems.Add($"'{tool}' is not installed (scripts/install-deps installs what the cluster needs)");
            }
        }

        if (problems.Count > 0)
        {
            throw new FakeClusterException("The fake cluster cannot run on this machine: " + string.Join("; ", problems) + ".");
        }
    }

    // The namespaces and the address range are machine-wide: a second test run (another engineer's) waits for the first
    // instead of tearing its cluster down. FileShare.None is an exclusive flock on Linux, released if the process dies.
    private FileStream TakeMachineLock()
    {
        var path = StateDirectory + ".lock";
        var deadline = DateTime.UtcNow + s_lockWait;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(TimeSpan.FromSeconds(1));
            }
            catch (IOException e)
            {
                throw new FakeClusterException($"another test run has held the fake cluster ({path}) for {s_lockWait.TotalMinutes:F0} minutes", e);
            }
        }
    }

    private void Lifecycle(string step)
    {
        var result = Script(s_lifecycleTimeout, step);
        if (result.ExitCode != 0)
        {
            throw new FakeClusterException($"cluster.sh {step} failed (logs in {StateDirectory}): {result}");
        }
    }

    private void Control(string step, string host)
    {
        HostIndex(host);
        var result = Script(s_controlTimeout, step, host);
        if (result.ExitCode != 0)
        {
            throw new FakeClusterException($"cluster.sh {step} {host} failed: {result}");
        }
    }

    private ClusterCommandResult Script(TimeSpan timeout, params string[] args) =>
        ClusterProcess.Run(["bash", _script, .. args], _environment, timeout);

    private static int HostIndex(string host)
    {
        var index = Array.IndexOf(s_hosts, host);
        return index >= 0 ? index + 1 : throw new ArgumentException($"'{host}' is not a host of the fake cluster ({string.Join(", ", s_hosts)})", nameof(host));
    }

    // Best effort by design: it runs when something already went wrong, and must not hide that first error.
    private string TryDown()
    {
        try
        {
            var down = Script(s_lifecycleTimeout, "down");
            return down.ExitCode == 0 ? "clean" : down.ToString();
        }
        catch (Exception e) when (e is TimeoutException or FakeClusterException or System.ComponentModel.Win32Exception)
        {
            return e.Message;
        }
    }

    // An aborted run (Ctrl-C, SIGTERM) still tears down; a SIGKILLed one is cleaned by the next run's up.
    private void OnProcessExit(object? sender, EventArgs e)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            TryDown();
        }
    }
}
