using System.Globalization;

namespace Dragon.Bench.Driver;

/// <summary>Paths, round counts and the runners every benchmark uses; counts failed runs and tracks what to clean.</summary>
internal sealed class BenchContext
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(3);
    private readonly int? _rounds;

    public BenchContext(string root, int? rounds)
    {
        Root = root;
        _rounds = rounds;
    }

    public string Root { get; }

    public string Launcher => Path.Combine(Root, "artifacts", "bin", "dragon");

    /// <summary>This program: the head the launcher runs.</summary>
    public static string BenchDll => typeof(BenchContext).Assembly.Location;

    /// <summary>The launch scenarios published Native AOT (<c>bench/Dragon.Bench.Aot</c>, by <c>scripts/bench</c>).</summary>
    public string AotHead => Path.Combine(Root, "artifacts", "publish", "bench-aot", "Dragon.Bench.Aot");

    /// <summary>The plain system Python the peers run on (standard library only).</summary>
    public static string Python => "/usr/bin/python3";

    public LeakCheck Leaks { get; } = new();

    /// <summary>Also measure on the fake cluster (<c>--cluster</c>; tests/cluster/cluster.sh up, as root).</summary>
    public bool Cluster { get; init; }

    public int Failures { get; private set; }

    /// <summary>Rounds for a benchmark: its default, or what <c>--rounds</c> asked for; never fewer than 5.</summary>
    public int Rounds(int fallback) => Math.Max(5, _rounds ?? fallback);

    /// <summary>Rounds for a long benchmark (minutes a round): its default, or what <c>--rounds</c> asked for, at least <paramref name="floor"/>.</summary>
    public int RoundsAtLeast(int floor, int fallback) => Math.Max(floor, _rounds ?? fallback);

    /// <summary>Runs a scenario of this program as the head of a runtime: <c>dragon [--local-nodes N] Dragon.Bench.dll ...</c>.</summary>
    public CommandResult? Ours(int localNodes, string scenario, params string[] args) => OursWith(null, localNodes, scenario, args);

    /// <summary>
    /// <see cref="Ours"/> with variables added to the environment, which every process of the run inherits (for
    /// diagnosis: .NET runtime settings).
    /// </summary>
    public CommandResult? OursWith(IReadOnlyDictionary<string, string>? environment, int localNodes, string scenario, params string[] args) =>
        OursWithHead(environment, localNodes, BenchDll, scenario, args);

    /// <summary>Runs a scenario of this program on one node with launcher options before it (<c>dragon OPTIONS Dragon.Bench.dll ...</c>).</summary>
    public CommandResult? OursWithOptions(IReadOnlyList<string> launcherOptions, string scenario, params string[] args) =>
        Checked(CommandRunner.Run(Launcher, [.. launcherOptions, BenchDll, scenario, .. args], s_timeout, null));

    /// <summary>Runs a scenario of the Native AOT head: <c>dragon Dragon.Bench.Aot ...</c>.</summary>
    public CommandResult? OursAot(string scenario, params string[] args) => OursWithHead(null, 1, AotHead, scenario, args);

    private CommandResult? OursWithHead(IReadOnlyDictionary<string, string>? environment, int localNodes, string head, string scenario, string[] args)
    {
        var command = new List<string>();
        if (localNodes != 1)
        {
            command.AddRange(["--local-nodes", localNodes.ToString(CultureInfo.InvariantCulture)]);
        }

        command.Add(head);
        command.Add(scenario);
        command.AddRange(args);
        return Checked(CommandRunner.Run(Launcher, command, s_timeout, environment));
    }

    /// <summary>Runs a peer script from bench/peers.</summary>
    public CommandResult? Peer(string script, params string[] args) =>
        Checked(CommandRunner.Run(Python, [Path.Combine(Root, "bench", "peers", script), .. args], s_timeout));

    /// <summary>Runs any other command.</summary>
    public CommandResult? Command(string file, params string[] args) => Checked(CommandRunner.Run(file, args, s_timeout));

    private CommandResult? Checked(CommandResult result)
    {
        Leaks.AddRun(result.Text("run_id"), result.Text("run_dir"));
        if (result.Succeeded)
        {
            return result;
        }

        Failures++;
        var tail = string.Join(" | ", result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(5));
        Console.Error.WriteLine($"\n  run failed (exit {result.ExitCode}): {result.Description}: {tail}");
        return null;
    }
}
