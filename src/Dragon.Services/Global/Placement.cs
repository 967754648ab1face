using Dragon.Runtime.Protocol;

namespace Dragon.Services.Global;

/// <summary>Chooses a node for each process, and refuses placements that cannot be honoured.</summary>
internal static class Placement
{
    /// <param name="placement">What the template asked for.</param>
    /// <param name="ordinal">Position among the processes being placed together.</param>
    /// <param name="count">How many are placed together.</param>
    /// <param name="nodes">The run's nodes.</param>
    /// <param name="nextDefault">The runtime's rotating choice, for processes that asked for nothing.</param>
    public static int Choose(PlacementSpec placement, int ordinal, int count, IReadOnlyList<NodeDescriptor> nodes, Func<int> nextDefault)
    {
        int index;
        if (placement.NodeIndex >= 0)
        {
            if (placement.NodeIndex >= nodes.Count)
            {
                throw new ServiceException(ErrorKind.StartFailed, $"node index {placement.NodeIndex} is out of range: the run has {nodes.Count} node(s)");
            }

            index = placement.NodeIndex;
        }
        else if (placement.NodeName is { } name)
        {
            index = nodes.FirstOrDefault(n => n.Name == name || n.Host == name)?.Index
                ?? throw new ServiceException(ErrorKind.StartFailed, $"no node named '{name}' in this run (nodes: {string.Join(", ", nodes.Select(n => n.Name))})");
        }
        else
        {
            index = placement.Distribution switch
            {
                Distribution.Block => (int)((long)ordinal * nodes.Count / Math.Max(count, 1)),
                Distribution.RoundRobin when count > 1 => ordinal % nodes.Count,
                _ => count > 1 ? ordinal % nodes.Count : nextDefault(),
            };
        }

        if (placement.Cpus is { Length: > 0 } cpus)
        {
            var node = nodes[index];
            foreach (var cpu in cpus)
            {
                if (cpu < 0 || cpu >= node.Cpus)
                {
                    throw new ServiceException(ErrorKind.StartFailed, $"CPU {cpu} does not exist on node {node.Name} ({node.Cpus} CPUs)");
                }
            }
        }

        return index;
    }
}
