using System.Globalization;
using System.Text;

namespace Dragon.Services.Pmi;

/// <summary>
/// Which node each rank of a job runs on, in the form MPICH reads from the special KVS key
/// <c>PMI_process_mapping</c>: <c>(vector,(first_node,node_count,ranks_per_node),...)</c>.
/// </summary>
/// <remarks>
/// Each triple places <c>ranks_per_node</c> consecutive ranks on node <c>first_node</c>, as many on
/// the next node, and so on for <c>node_count</c> nodes; MPICH repeats the whole vector until every
/// rank is placed, which is how a cyclic layout stays short: 4 ranks over 2 nodes round-robin is
/// <c>(vector,(0,2,1))</c>. MPICH uses it to find which ranks share a node (shared memory).
/// </remarks>
internal sealed class PmiProcessMapping
{
    /// <summary>The wire value must fit in a PMI response line, whose limit is 1024 bytes with the line's other fields.</summary>
    internal const int MaxWireLength = 960;

    private PmiProcessMapping(int size, int nodeCount, string value)
    {
        Size = size;
        NodeCount = nodeCount;
        Value = value;
    }

    /// <summary>The number of ranks mapped.</summary>
    public int Size { get; }

    /// <summary>The number of distinct nodes.</summary>
    public int NodeCount { get; }

    /// <summary>The wire value, e.g. <c>(vector,(0,1,4))</c>.</summary>
    public string Value { get; }

    /// <summary>
    /// False when the vector is longer than a PMI line can carry; the server then answers that the key
    /// is not found and MPICH falls back to exchanging host names (one extra barrier).
    /// </summary>
    public bool FitsOnWire => Value.Length <= MaxWireLength;

    /// <summary>All <paramref name="size"/> ranks on one node: <c>(vector,(0,1,size))</c>.</summary>
    public static PmiProcessMapping SingleNode(int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        return new PmiProcessMapping(size, 1, string.Create(CultureInfo.InvariantCulture, $"(vector,(0,1,{size}))"));
    }

    /// <summary>Builds the mapping from the node index (0-based, dense) of every rank, in rank order.</summary>
    public static PmiProcessMapping FromNodeOfRank(IReadOnlyList<int> nodeOfRank)
    {
        ArgumentNullException.ThrowIfNull(nodeOfRank);
        if (nodeOfRank.Count == 0)
        {
            throw new ArgumentException("a process mapping needs at least one rank", nameof(nodeOfRank));
        }

        // Runs of consecutive ranks on one node, each as (node, 1, run length); then merge runs
        // that continue on the next node with the same length into one triple.
        var triples = new List<(int First, int Count, int PerNode)>();
        var nodes = new HashSet<int>();
        int runStart = 0;
        for (int rank = 0; rank <= nodeOfRank.Count; rank++)
        {
            if (rank < nodeOfRank.Count)
            {
                int node = nodeOfRank[rank];
                if (node < 0)
                {
                    throw new ArgumentException($"rank {rank} has negative node index {node}", nameof(nodeOfRank));
                }
                nodes.Add(node);
                if (node == nodeOfRank[runStart])
                {
                    continue;
                }
            }

            int runNode = nodeOfRank[runStart];
            int runLength = rank - runStart;
            if (triples.Count > 0)
            {
                var last = triples[^1];
                if (last.PerNode == runLength && last.First + last.Count == runNode)
                {
                    triples[^1] = (last.First, last.Count + 1, runLength);
                    runStart = rank;
                    continue;
                }
            }
            triples.Add((runNode, 1, runLength));
            runStart = rank;
        }

        int period = ShortestPeriod(triples);
        var text = new StringBuilder("(vector");
        for (int i = 0; i < period; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $",({triples[i].First},{triples[i].Count},{triples[i].PerNode})");
        }
        text.Append(')');
        return new PmiProcessMapping(nodeOfRank.Count, nodes.Count, text.ToString());
    }

    /// <inheritdoc/>
    public override string ToString() => Value;

    // MPICH cycles through the vector until all ranks are placed, so a vector that is its own
    // prefix repeated (the last repetition possibly cut short) can be sent as that prefix.
    private static int ShortestPeriod(List<(int First, int Count, int PerNode)> triples)
    {
        for (int period = 1; period < triples.Count; period++)
        {
            bool repeats = true;
            for (int i = period; i < triples.Count && repeats; i++)
            {
                repeats = triples[i] == triples[i % period];
            }
            if (repeats)
            {
                return period;
            }
        }
        return triples.Count;
    }
}
