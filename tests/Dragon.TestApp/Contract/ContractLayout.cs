namespace Dragon.TestApp;

/// <summary>
/// Where the contract puts the object under test (its home node) and the processes that use it, and the one place
/// the contract starts, joins and kills processes. On one node everything shares node 0 and data moves through
/// shared memory; on two nodes the object lives on node 1 while the head and its workers stay on node 0, so every
/// operation crosses the TCP link between the node services.
/// </summary>
public sealed record ContractLayout(string Name, int Home, int Workers)
{
    public const string OneNode = "one-node";
    public const string TwoNodes = "two-nodes";

    public static ContractLayout Parse(string name)
    {
        var layout = name switch
        {
            OneNode => new ContractLayout(name, Home: 0, Workers: 0),
            TwoNodes => new ContractLayout(name, Home: 1, Workers: 0),
            _ => throw new ArgumentException($"unknown layout '{name}' (expected {OneNode} or {TwoNodes})", nameof(name)),
        };
        if (SystemInfo.Nodes.Count <= layout.Home)
        {
            throw new InvalidOperationException($"layout {name} homes objects on node {layout.Home}, but the run has {SystemInfo.Nodes.Count} node(s)");
        }

        return layout;
    }

    /// <summary>
    /// Messages a sender on the workers' node may have accepted beyond a channel's <paramref name="capacity"/>: none
    /// when the channel is on the same node (a send is delivered when it returns); across nodes a send returns once
    /// its node service accepted it, within a window of the channel's capacity.
    /// </summary>
    public int InFlightAllowance(int capacity) => Home == Workers ? 0 : capacity;

    /// <summary>Starts a static method of this program as a process on the workers' node.</summary>
    public static DragonProcess Start(ContractLayout layout, Delegate method, params object?[] args) =>
        DragonProcess.Start(ProcessTemplate.FromMethod(method, args) with { Policy = Policy.OnNode(layout.Workers) });

    /// <summary>The exit code, or null if the process did not exit within <paramref name="seconds"/>.</summary>
    public static int? Join(DragonProcess process, int seconds = 60) => process.TryJoin(TimeSpan.FromSeconds(seconds), out var code) ? code : null;

    public static int?[] JoinAll(IEnumerable<DragonProcess> processes, int seconds = 60) => processes.Select(p => Join(p, seconds)).ToArray();

    public static void Kill(DragonProcess process) => process.Kill();

    public static bool IsAlive(DragonProcess process) => !process.GetStatus().HasExited;

    public static string? ExitReason(DragonProcess process) => process.GetStatus().ExitReason;

    public static string RunId => SystemInfo.RunId;
}
