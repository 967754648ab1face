using System.Globalization;

namespace Dragon.Services.Objects;

/// <summary>
/// Bounds how many channel rings the node services of one process keep mapped. Every mapping is an entry of the
/// process's map count (<c>vm.max_map_count</c>, 65,530 by default), and with every node service inside the launcher
/// (one node, or <c>--local-nodes</c> without <c>--wlm fork</c>) a run stopped at about 65,000 queues. A service needs a
/// ring mapped only to serve another node's operations on it or to close it; the processes of its node use their own
/// mappings. So past <see cref="Capacity"/> mapped rings the least recently used idle ones are unmapped (a clock sweep:
/// a ring used since the last sweep is passed over once), and a ring is mapped again at its next use. A ring with an
/// operation inside is never unmapped.
/// </summary>
internal static class MappedRings
{
    /// <summary>Rings one process keeps mapped at most (<c>DRAGON_MAPPED_RINGS</c>; by default 16,384).</summary>
    public static int Capacity { get; } = ReadCapacity();

    private static readonly Lock s_lock = new();
    private static readonly List<ChannelHost> s_mapped = [];
    private static int s_hand;

    /// <summary>How many rings are mapped now (for tests and figures).</summary>
    public static int Count
    {
        get
        {
            lock (s_lock)
            {
                return s_mapped.Count;
            }
        }
    }

    /// <summary>A host has just mapped its ring: counted, and idle rings are unmapped if the count passed the capacity.</summary>
    public static void Added(ChannelHost host)
    {
        List<ChannelHost>? victims = null;
        lock (s_lock)
        {
            if (host.MappedSlot >= 0)
            {
                return;
            }

            host.MappedSlot = s_mapped.Count;
            s_mapped.Add(host);
            if (s_mapped.Count > Capacity)
            {
                victims = PickVictims(s_mapped.Count - Capacity + (Capacity / 16));
            }
        }

        if (victims is null)
        {
            return;
        }

        // Outside the registry's lock: an unmap takes the host's own lock, which a host mapping its ring holds
        // before it comes here.
        foreach (var victim in victims)
        {
            if (!victim.TryUnmap())
            {
                // An operation came in meanwhile: it stays mapped, and counted again, without a sweep of its own (the
                // count may stand over the bound until a later mapping sweeps).
                lock (s_lock)
                {
                    if (victim.MappedSlot < 0)
                    {
                        victim.MappedSlot = s_mapped.Count;
                        s_mapped.Add(victim);
                    }
                }
            }
        }
    }

    /// <summary>A host unmapped its ring for good (destroyed).</summary>
    public static void Removed(ChannelHost host)
    {
        lock (s_lock)
        {
            Remove(host);
        }
    }

    /// <summary>Takes up to <paramref name="count"/> hosts not used since the hand last passed them out of the count.</summary>
    private static List<ChannelHost> PickVictims(int count)
    {
        var victims = new List<ChannelHost>(count);
        for (var steps = 2 * s_mapped.Count; steps > 0 && victims.Count < count && s_mapped.Count > 0; steps--)
        {
            if (s_hand >= s_mapped.Count)
            {
                s_hand = 0;
            }

            var host = s_mapped[s_hand];
            if (host.TakeReferenced() || host.Busy)
            {
                // Used since the hand last passed (or an operation is inside it now): passed over.
                s_hand++;
                continue;
            }

            Remove(host);
            victims.Add(host);
        }

        return victims;
    }

    private static void Remove(ChannelHost host)
    {
        var slot = host.MappedSlot;
        if (slot < 0)
        {
            return;
        }

        var last = s_mapped[^1];
        s_mapped[slot] = last;
        last.MappedSlot = slot;
        s_mapped.RemoveAt(s_mapped.Count - 1);
        host.MappedSlot = -1;
    }

    private static int ReadCapacity()
    {
        var text = Environment.GetEnvironmentVariable("DRAGON_MAPPED_RINGS");
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 16 ? value : 16_384;
    }
}
