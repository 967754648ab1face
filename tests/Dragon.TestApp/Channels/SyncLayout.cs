namespace Dragon.TestApp;

/// <summary>
/// Where the sync scenarios run: the object lives on node 1, the head stays on node 0, and workers are spread
/// round-robin over every node, so some reach the object's home directly and others over the TCP links.
/// </summary>
internal static class SyncLayout
{
    public const int Home = 1;

    public static void RequireNodes(int nodes)
    {
        Console.WriteLine($"INFO run {SystemInfo.RunId}");
        Check.That(SystemInfo.Nodes.Count >= nodes, $"the run has {SystemInfo.Nodes.Count} nodes (at least {nodes} needed); objects live on node {Home}");
    }

    public static int NodeOf(int worker) => worker % SystemInfo.Nodes.Count;

    public static DragonProcess Start(int node, Delegate method, params object?[] args) =>
        DragonProcess.Start(ProcessTemplate.FromMethod(method, args) with { Policy = Policy.OnNode(node) });
}
