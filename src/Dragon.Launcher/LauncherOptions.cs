using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Dragon.Launcher;

/// <summary>The command line of <c>dragon</c>: options up to the program, then the program and its own arguments.</summary>
internal sealed record LauncherOptions
{
    public const string Usage = """
        usage: dragon [options] PROGRAM [ARGS...]
               dragon cleanup [--dry-run] [--hosts H1,H2,...]
               dragon ps [--json] [RUN]
               dragon top [RUN] [--interval SECONDS] [--once]
               dragon report [RUN] -o FILE.html

        Runs PROGRAM (an executable, a .NET .dll, or a .NET project directory) as the head process of a Dragon
        runtime. Everything after PROGRAM is passed to it. dragon exits with the head's exit code
        (128+N if it was killed by signal N).

        options:
          --local-nodes N       run N node services on this machine (nodes local0..localN-1)
          --hosts H1,H2,...     run a node service on each host, started over SSH
          --hostfile FILE       the same, one host per line (# comments)
          --wlm ssh|slurm|fork|local
                                choose how node services start; inside a Slurm allocation (SLURM_JOB_ID set)
                                the default is slurm (one srun task per allocated node); fork runs the
                                --local-nodes services as separate processes on this machine, as on a cluster
          --nodes N             use only the first N hosts or allocated nodes
          -n, --ranks N         run PROGRAM as an MPI job of N ranks (PMI served by the runtime, no
                                mpiexec), spread in blocks over the nodes; dragon exits with the first
                                failing rank's code
          -l, --log-level LEVEL write logs (trace, debug, information, warning, error) to the run directory;
                                they are kept in ./dragon-logs-<run id> when the run ends
          --label               prefix forwarded output with [puid@node]
          --metrics-port PORT   serve the run's metrics for Prometheus at http://localhost:PORT/metrics
                                (also DRAGON_METRICS_PORT); off by default
          --otlp-endpoint URL   send the run's metrics and traces (process starts, group lifetimes) to an
                                OpenTelemetry collector over OTLP/HTTP, e.g. http://localhost:4318 (also
                                DRAGON_OTLP_ENDPOINT); off by default
          --metrics-linger SECONDS
                                after the program ends, keep the endpoint up until one scrape has read the
                                final figures (at most SECONDS); default 0
          --report FILE.html    write the run report when the run ends (also when it fails or is interrupted):
                                one self-contained HTML file with every process on a timeline per node, the
                                groups and MPI jobs, metrics over time, and the failures with their stderr tails
          --version             print the version
          -h, --help            print this help

        commands:
          cleanup [--dry-run] [--hosts H1,...]
                                remove what killed runs left behind (processes, run directories,
                                shared memory) whose launcher or node service is gone, here or on
                                every host given (over SSH); --dry-run only lists them
          ps [--json] [RUN]     list a running run's nodes, groups and processes (this host's run, or the
                                one named); authenticated with DRAGON_SECRET or the run's status token
          top [RUN] [--interval SECONDS] [--once]
                                the same, live: redrawn every interval (default 1 s) until the run ends
                                or q is pressed (r writes the report); to a pipe, a snapshot per interval
                                (--once: one)
          report [RUN] -o FILE.html
                                write a running run's report as it stands now (authenticated as ps)
        """;

    /// <summary>
    /// The package version, as `dotnet tool list` shows it: the informational version without its
    /// <c>+source-revision</c> suffix (the commit stays in the assembly's metadata).
    /// </summary>
    public static string Version { get; } =
        typeof(LauncherOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(LauncherOptions).Assembly.GetName().Version?.ToString(3)
        ?? "unknown";

    /// <summary>The most node services one machine runs (a cluster's worth, to rehearse one).</summary>
    public const int MaxLocalNodes = 1024;

    public int LocalNodes { get; init; } = 1;

    public IReadOnlyList<string> Hosts { get; init; } = [];

    public string? Wlm { get; init; }

    public int? Nodes { get; init; }

    public int? Ranks { get; init; }

    public LogLevel LogLevel { get; init; } = LogLevel.None;

    public bool Label { get; init; }

    /// <summary>The OpenTelemetry collector metrics and traces go to (OTLP/HTTP), when they are exported.</summary>
    public Uri? OtlpEndpoint { get; init; } = ParseEndpoint(Environment.GetEnvironmentVariable(Status.OtlpExport.EndpointVariable), Status.OtlpExport.EndpointVariable);

    /// <summary>How long the endpoint may wait, after the program ended, for a scrape to read the final figures.</summary>
    public TimeSpan MetricsLinger { get; init; }

    /// <summary>The port of the Prometheus endpoint, when metrics are exported.</summary>
    public int? MetricsPort { get; init; } = ParsePort(Environment.GetEnvironmentVariable(Status.MetricsEndpoint.PortVariable), Status.MetricsEndpoint.PortVariable);

    /// <summary>Where to write the run report when the run ends, when asked.</summary>
    public string? Report { get; init; }

    public string Program { get; init; } = string.Empty;

    public IReadOnlyList<string> ProgramArgs { get; init; } = [];

    /// <summary>Parses the command line; throws <see cref="UsageException"/> with the problem.</summary>
    public static LauncherOptions Parse(IReadOnlyList<string> args)
    {
        var options = new LauncherOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            switch (arg)
            {
                case "--local-nodes":
                    var text = Value(args, ref i, arg);
                    if (!int.TryParse(text, out var n) || n < 1 || n > MaxLocalNodes)
                    {
                        throw new UsageException($"--local-nodes takes a number from 1 to {MaxLocalNodes}, not '{text}'");
                    }

                    options = options with { LocalNodes = n };
                    break;
                case "-l" or "--log-level":
                    var level = Value(args, ref i, arg);
                    options = options with
                    {
                        LogLevel = Enum.TryParse<LogLevel>(level, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
                            ? parsed
                            : throw new UsageException($"unknown log level '{level}' (trace, debug, information, warning, error, none)"),
                    };
                    break;
                case "--hosts":
                    options = options with { Hosts = Value(args, ref i, arg).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
                    break;
                case "--hostfile":
                    var file = Value(args, ref i, arg);
                    options = options with
                    {
                        Hosts = File.Exists(file)
                            ? File.ReadAllLines(file).Select(l => l.Split('#')[0].Trim()).Where(l => l.Length > 0).ToArray()
                            : throw new UsageException($"--hostfile {file} does not exist"),
                    };
                    break;
                case "--wlm":
                    var wlm = Value(args, ref i, arg);
                    options = options with { Wlm = wlm is "ssh" or "slurm" or "local" or "fork" ? wlm : throw new UsageException($"--wlm takes ssh, slurm, fork or local, not '{wlm}'") };
                    break;
                case "--nodes":
                    var count = Value(args, ref i, arg);
                    options = options with { Nodes = int.TryParse(count, out var nodes) && nodes >= 1 ? nodes : throw new UsageException($"--nodes takes a number of at least 1, not '{count}'") };
                    break;
                case "-n" or "--ranks":
                    var ranks = Value(args, ref i, arg);
                    options = options with { Ranks = int.TryParse(ranks, out var r) && r >= 1 ? r : throw new UsageException($"{arg} takes a number of ranks of at least 1, not '{ranks}'") };
                    break;
                case "--label":
                    options = options with { Label = true };
                    break;
                case "--metrics-port":
                    options = options with { MetricsPort = ParsePort(Value(args, ref i, arg), arg) };
                    break;
                case "--otlp-endpoint":
                    options = options with { OtlpEndpoint = ParseEndpoint(Value(args, ref i, arg), arg) };
                    break;
                case "--metrics-linger":
                    var linger = Value(args, ref i, arg);
                    options = options with
                    {
                        MetricsLinger = double.TryParse(linger, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds >= 0 && seconds <= 3600
                            ? TimeSpan.FromSeconds(seconds)
                            : throw new UsageException($"--metrics-linger takes seconds between 0 and 3600, not '{linger}'"),
                    };
                    break;
                case "--report":
                    options = options with { Report = ReportPath(Value(args, ref i, arg), arg) };
                    break;
                case "--":
                    return WithProgram(options, args, i + 1);
                default:
                    if (arg.StartsWith('-'))
                    {
                        throw new UsageException($"unknown option '{arg}'");
                    }

                    return WithProgram(options, args, i);
            }
        }

        throw new UsageException("no program given");
    }

    private static LauncherOptions WithProgram(LauncherOptions options, IReadOnlyList<string> args, int index) =>
        index < args.Count
            ? options with { Program = args[index], ProgramArgs = args.Skip(index + 1).ToArray() }
            : throw new UsageException("no program given");

    private static int? ParsePort(string? text, string option) =>
        string.IsNullOrEmpty(text) ? null
        : int.TryParse(text, out var port) && port is > 0 and < 65536 ? port
        : throw new UsageException($"{option} takes a TCP port from 1 to 65535, not '{text}'");

    private static Uri? ParseEndpoint(string? text, string option) =>
        string.IsNullOrEmpty(text) ? null
        : Uri.TryCreate(text.EndsWith('/') ? text : text + "/", UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? uri
        : throw new UsageException($"{option} takes an http:// or https:// URL of an OpenTelemetry collector, not '{text}'");

    /// <summary>A report file whose directory exists (checked now, so a typo does not cost a whole run's report).</summary>
    internal static string ReportPath(string path, string option)
    {
        if (path.Length == 0 || Directory.Exists(path))
        {
            throw new UsageException($"{option} takes a file name, not '{path}'");
        }

        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full);
        return directory is null || Directory.Exists(directory) ? full : throw new UsageException($"{option} {path}: directory {directory} does not exist");
    }

    private static string Value(IReadOnlyList<string> args, ref int i, string option) =>
        ++i < args.Count ? args[i] : throw new UsageException($"{option} needs a value");
}

/// <summary>A command line that cannot be run; dragon prints it with the usage and exits 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
