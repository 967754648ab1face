using System.Globalization;

namespace Dragon.TestApp;

/// <summary>
/// Where a channel scenario puts the object under test (its home node) and the processes that use it. On one node
/// everything shares node 0 and moves data through shared memory; on two nodes the object lives on node 1 while the
/// head and its workers stay on node 0, so every operation crosses the TCP link between the node services.
/// </summary>
public sealed record ChannelLayout(string Name, int Home, int Workers)
{
    public const string OneNode = "one-node";
    public const string TwoNodes = "two-nodes";

    public static ChannelLayout Parse(string name)
    {
        var layout = name switch
        {
            OneNode => new ChannelLayout(name, Home: 0, Workers: 0),
            TwoNodes => new ChannelLayout(name, Home: 1, Workers: 0),
            _ => throw new CheckFailedException($"unknown layout '{name}' (expected {OneNode} or {TwoNodes})"),
        };
        Console.WriteLine($"INFO run {SystemInfo.RunId}");
        Check.That(SystemInfo.Nodes.Count > layout.Home, $"layout {name}: the run has {SystemInfo.Nodes.Count} node(s), the object lives on node {layout.Home}");
        return layout;
    }

    /// <summary>Starts a C# method on the workers' node.</summary>
    public DragonProcess Start(Delegate method, params object?[] args) =>
        DragonProcess.Start(ProcessTemplate.FromMethod(method, args) with { Policy = Policy.OnNode(Workers) });

    public override string ToString() => $"{Name} (object on node {Home}, processes on node {Workers})";
}

/// <summary>Small helpers the queue API scenarios share.</summary>
internal static class Scenario
{
    /// <summary>Joins a worker and checks it exited 0 (its own CHECK/FAIL lines say why not).</summary>
    public static void JoinedOk(DragonProcess process, string what, int seconds = 60)
    {
        var exited = process.TryJoin(TimeSpan.FromSeconds(seconds), out var code);
        Check.That(exited && code == 0, $"{what} ({process}) exited 0 (got {(exited ? code.ToString(CultureInfo.InvariantCulture) : "no exit in time")}{(exited && code != 0 ? ": " + process.GetStatus().ExitReason : string.Empty)})");
    }

    /// <summary>True when the action returned, false when it threw <see cref="TimeoutException"/>.</summary>
    public static bool Returns(Action action)
    {
        try
        {
            action();
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
