using Dragon.Runtime;
using Dragon.Runtime.Protocol;

namespace Dragon;

/// <summary>A node of the run: one machine (or, with <c>--local-nodes</c>, one simulated machine).</summary>
/// <param name="Index">Position in the run's node list, from 0.</param>
/// <param name="Name">Host name, or <c>localN</c> for local nodes.</param>
/// <param name="Host">Host the node service runs on.</param>
/// <param name="Cpus">Logical CPUs of the node.</param>
/// <param name="MemoryBytes">Physical memory of the node.</param>
/// <param name="Id">Identity of the node, unique in the run even where host names repeat.</param>
public sealed record Node(int Index, string Name, string Host, int Cpus, long MemoryBytes, string Id)
{
    /// <summary>The node this process runs on.</summary>
    public static Node Current => SystemInfo.Nodes[RuntimeClient.Current.Hello.NodeIndex];

    internal static Node From(NodeDescriptor d) => new(d.Index, d.Name, d.Host, d.Cpus, d.MemoryBytes, d.NodeId);
}

/// <summary>The run's nodes and their resources.</summary>
public static class SystemInfo
{
    /// <summary>Every node of the run, by index.</summary>
    public static IReadOnlyList<Node> Nodes => RuntimeClient.Current.Nodes;

    /// <summary>Logical CPUs over all nodes.</summary>
    public static int CpuCount => Nodes.Sum(n => n.Cpus);

    /// <summary>The id of the run.</summary>
    public static string RunId => RuntimeClient.Current.Hello.RunId;

    /// <summary>True when this process runs inside a Dragon runtime.</summary>
    public static bool InRuntime => RuntimeClient.IsAvailable;

    /// <summary>Finds a node by name; throws naming the node list when there is none.</summary>
    public static Node NodeByName(string name) =>
        Nodes.FirstOrDefault(n => n.Name == name)
        ?? throw new ArgumentException($"no node named '{name}' in this run (nodes: {string.Join(", ", Nodes.Select(n => n.Name))})", nameof(name));
}
