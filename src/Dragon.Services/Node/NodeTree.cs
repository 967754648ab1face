namespace Dragon.Services.Node;

/// <summary>
/// The run's tree over its nodes, <c>width</c> wide: nodes 0 .. width-1 hang from the launcher, and node i's children
/// are width*(i+1) .. width*(i+1)+width-1. Over SSH the tree starts the node services; in every mode it spreads the
/// node table and the end of the run, so the launcher sends each to <c>width</c> nodes rather than to every node.
/// </summary>
internal static class NodeTree
{
    /// <summary>The nodes the launcher reaches itself.</summary>
    public static IEnumerable<int> Roots(int count, int width) => Enumerable.Range(0, Math.Clamp(width, 0, count));

    /// <summary>The children of node <paramref name="index"/>.</summary>
    public static IEnumerable<int> Children(int index, int count, int width)
    {
        if (width < 1 || index < 0)
        {
            yield break;
        }

        var first = (long)width * (index + 1);
        for (var child = first; child < first + width && child < count; child++)
        {
            yield return (int)child;
        }
    }

    /// <summary>Node <paramref name="index"/> and every node below it.</summary>
    public static IEnumerable<int> Subtree(int index, int count, int width)
    {
        var pending = new Stack<int>([index]);
        while (pending.TryPop(out var node))
        {
            yield return node;
            foreach (var child in Children(node, count, width))
            {
                pending.Push(child);
            }
        }
    }
}
