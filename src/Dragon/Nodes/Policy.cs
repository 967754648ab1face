using Dragon.Runtime.Protocol;

namespace Dragon;

/// <summary>How processes spread over nodes when no single node is named.</summary>
public enum PlacementDistribution
{
    /// <summary>The runtime's choice: round-robin over nodes.</summary>
    Default = 0,

    /// <summary>One process per node in turn.</summary>
    RoundRobin = 1,

    /// <summary>Consecutive members fill one node, then the next, in equal blocks.</summary>
    Block = 2,
}

/// <summary>Placement of a process: a node by index or name, a distribution over nodes, CPU affinity.</summary>
public sealed record Policy
{
    private readonly int? _nodeIndex;

    /// <summary>Index of the node to run on, or null for any.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is negative.</exception>
    public int? NodeIndex
    {
        get => _nodeIndex;
        init
        {
            if (value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(NodeIndex), value, $"node index {value} is negative; nodes are numbered from 0");
            }

            _nodeIndex = value;
        }
    }

    /// <summary>Name (host name, or <c>localN</c>) of the node to run on, or null for any.</summary>
    public string? NodeName { get; init; }

    /// <summary>Distribution over nodes for members of a group with no node named.</summary>
    public PlacementDistribution Distribution { get; init; }

    /// <summary>CPUs the process is bound to on its node, or null for no binding.</summary>
    public IReadOnlyList<int>? Cpus { get; init; }

    /// <summary>Run on the node with this index; an index beyond the run's nodes fails at start, naming both.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is negative.</exception>
    public static Policy OnNode(int index) =>
        index < 0
            ? throw new ArgumentOutOfRangeException(nameof(index), index, $"node index {index} is negative; nodes are numbered from 0")
            : new() { NodeIndex = index };

    /// <summary>Run on the node with this name.</summary>
    public static Policy OnNode(string name) => new() { NodeName = name };

    /// <summary>Spread round-robin over every node.</summary>
    public static Policy RoundRobin { get; } = new() { Distribution = PlacementDistribution.RoundRobin };

    /// <summary>Fill nodes in equal consecutive blocks.</summary>
    public static Policy Block { get; } = new() { Distribution = PlacementDistribution.Block };

    /// <summary>The same placement, bound to these CPUs.</summary>
    public Policy WithCpus(params int[] cpus) => this with { Cpus = cpus };

    internal PlacementSpec ToSpec() => new(NodeIndex ?? -1, NodeName, (Distribution)Distribution, Cpus?.ToArray());
}
