using Dragon.Channels.Internal;

namespace Dragon.Tests.Channels;

/// <summary>
/// What one test creates: ring files under a per-test /dev/shm prefix, open rings and peer
/// processes. Dispose kills and reaps the peers, unmaps the rings, removes the files and fails if
/// any of them survived.
/// </summary>
internal sealed class ShmRingScope : IDisposable
{
    private const string ShmDirectory = "/dev/shm";

    private readonly string _prefix = $"dragon-test-{Guid.NewGuid():N}";
    private readonly List<ShmRing> _rings = [];
    private readonly List<PeerProcess> _peers = [];
    private int _next;

    /// <summary>A fresh path under this scope's prefix.</summary>
    public string NewPath() => Path.Combine(ShmDirectory, $"{_prefix}-{Interlocked.Increment(ref _next)}");

    /// <summary>Creates a ring that the scope will dispose and unlink.</summary>
    public ShmRing Create(int slotCount, int slotSize, int maxMessageSize = ShmRing.DefaultMaxMessageSize, bool joinable = false) =>
        Track(ShmRing.Create(NewPath(), slotCount, slotSize, maxMessageSize, joinable));

    /// <summary>Opens another mapping of <paramref name="path"/>, disposed with the scope.</summary>
    public ShmRing Open(string path) => Track(ShmRing.Open(path));

    /// <summary>Starts a peer process, killed (if still running) with the scope.</summary>
    public PeerProcess StartPeer(string peerDll, params string[] arguments)
    {
        var peer = PeerProcess.Start(peerDll, arguments);
        lock (_peers)
        {
            _peers.Add(peer);
        }

        return peer;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var peer in _peers)
        {
            peer.Dispose();
        }

        // A failed RunOnThreads may have left threads inside these rings: closing wakes them (senders throw,
        // receivers drain and see the end), and a ring is unmapped only once none is left, because unmapping under
        // a thread crashes the whole test host. A ring still in use stays mapped until the process exits (no throw
        // here: the failure that stranded the threads is the one to report).
        var stranded = !ShmRingTests.WaitForStrandedThreads(TimeSpan.Zero);
        lock (_rings)
        {
            if (stranded)
            {
                foreach (var ring in _rings)
                {
                    ring.Close();
                }

                stranded = !ShmRingTests.WaitForStrandedThreads(TimeSpan.FromSeconds(15));
            }

            if (!stranded)
            {
                foreach (var ring in _rings)
                {
                    ring.Dispose();
                }
            }
        }

        foreach (var file in Directory.GetFiles(ShmDirectory, _prefix + "*"))
        {
            File.Delete(file);
        }

        var leftovers = Directory.GetFiles(ShmDirectory, _prefix + "*");
        var running = _peers.Where(p => !p.HasExited).Select(p => p.Description).ToList();
        if (leftovers.Length > 0 || running.Count > 0)
        {
            throw new InvalidOperationException($"test leaked files [{string.Join(", ", leftovers)}] or processes [{string.Join(", ", running)}]");
        }
    }

    private ShmRing Track(ShmRing ring)
    {
        lock (_rings)
        {
            _rings.Add(ring);
        }

        return ring;
    }
}
