using Dragon.Runtime.Protocol;

namespace Dragon.Services.Global;

/// <summary>Chooses a node for each process, and refuses placements that cannot be honoured.</summary>
internal static class Placement
{
    /// <param name="placement">What the template asked for.</param>
    /// <param name="ordinal">Position among the processes being placed together.</param>
    /// <param name="count">How many are placed together.</param>
    /// <param name="nodes">The run's nodes.</param>
    /// <param name="spread">The live nodes in the order a spread fills them (least busy first).</param>
    /// <param name="nextDefault">The runtime's rotating choice, for processes that asked for nothing.</param>
    /// <param name="isLost">Whether a node is lost: distributions skip it, naming it fails.</param>
    public static int Choose(PlacementSpec placement, int ordinal, int count, IReadOnlyList<NodeDescriptor> nodes, IReadOnlyList<int> spread, Func<int> nextDefault, Func<int, bool> isLost)
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
        else if (placement.NodeIndex < -1)
        {
            throw new ServiceException(ErrorKind.InvalidArgument, $"node index {placement.NodeIndex} is negative");
        }
        else if (placement.NodeName is { } name)
        {
            index = nodes.FirstOrDefault(n => n.Name == name || n.Host == name)?.Index
                ?? throw new ServiceException(ErrorKind.StartFailed, $"no node named '{name}' in this run (nodes: {string.Join(", ", nodes.Select(n => n.Name))})");
        }
        else
        {
            // Spread over the nodes still alive, in index order.
            var live = Enumerable.Range(0, nodes.Count).Where(n => !isLost(n)).ToArray();
            if (live.Length == 0)
            {
                throw new ServiceException(ErrorKind.StartFailed, $"every node of the run is lost ({nodes.Count} node(s)); nothing can start");
            }

            // Block keeps index order (neighbouring ranks on neighbouring nodes); a round-robin spread starts at the
            // least busy node.
            index = placement.Distribution switch
            {
                Distribution.Block => live[(int)((long)ordinal * live.Length / Math.Max(count, 1))],
                Distribution.RoundRobin when count > 1 => spread[ordinal % spread.Count],
                _ => count > 1 ? spread[ordinal % spread.Count] : nextDefault(),
            };
        }

        if (isLost(index))
        {
            throw new ServiceException(ErrorKind.StartFailed, $"node {index} is lost ({nodes[index].Name}); nothing can start there", new ErrorContext(NodeIndex: index));
        }

        if (placement.Cpus is { Length: > 0 } cpus)
        {
            var node = nodes[index];
            foreach (var cpu in cpus)
            {
                if (cpu < 0 || cpu >= node.Cpus)
                {
                    throw new ServiceException(ErrorKind.StartFailed, $"CPU {cpu} does not exist on node {node.Name} ({node.Cpus} CPUs)", new ErrorContext(NodeIndex: index));
                }
            }
        }

        return index;
    }
}
