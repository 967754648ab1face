using System.Collections.Concurrent;
using Dragon.Runtime.Protocol;

namespace Dragon.Services.Node;

/// <summary>
/// Which other nodes each process of this node has reached: every object, channel or stream request a process sends
/// passes through its own node service, which notes the node it went to. When the process exits, global services
/// tell only this node, and this node tells only those nodes, so an exit costs a notice per node the process used,
/// not one per node of the run (10,000 exits on 64 nodes: not 640,000 notices).
/// </summary>
internal sealed partial class NodeService
{
    private readonly ConcurrentDictionary<ulong, HashSet<int>> _reached = new();

    /// <summary>Notes that <paramref name="puid"/>, a process of this node, sent a request to node <paramref name="node"/>.</summary>
    public void NoteReached(ulong puid, int node)
    {
        if (node == Descriptor.Index || puid == 0)
        {
            return;
        }

        var nodes = _reached.GetOrAdd(puid, static _ => []);
        lock (nodes)
        {
            nodes.Add(node);
        }
    }

    /// <summary>
    /// The process exited (as global services tell it): this node's objects let go of it, then every node it reached
    /// does; completes when all have, so nobody hears of the exit before its waits are withdrawn everywhere.
    /// </summary>
    public async Task OnProcessExitedAsync(ulong puid)
    {
        OnProcessExited(puid);
        if (!_reached.TryRemove(puid, out var nodes))
        {
            return;
        }

        int[] peers;
        lock (nodes)
        {
            peers = [.. nodes];
        }

        await Task.WhenAll(peers.Select(async peer =>
        {
            try
            {
                await ForwardAsync(peer, new ProcessGoneNotice(puid), _stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or ObjectDisposedException or DragonException)
            {
                // That node is gone or going: nothing of it can hold the process's waits any more.
            }
        })).ConfigureAwait(false);
    }
}
