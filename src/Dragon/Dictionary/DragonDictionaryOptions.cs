namespace Dragon;

/// <summary>How a <see cref="DragonDictionary{TKey, TValue}"/> is laid out over the nodes, sized, and checkpointed.</summary>
public sealed record DragonDictionaryOptions
{
    /// <summary>A run-wide name others can attach to (<c>Attach</c>); null for an anonymous dictionary.</summary>
    public string? Name { get; init; }

    /// <summary>The nodes that hold managers (indexes); default every node of the run.</summary>
    public IReadOnlyList<int>? Nodes { get; init; }

    /// <summary>Managers (shards) on each of those nodes (default 1). Keys spread over all managers by their hash.</summary>
    public int ManagersPerNode { get; init; } = 1;

    /// <summary>
    /// Bytes each manager has for keys and values (default 256 MiB). The memory is taken from /dev/shm as it fills,
    /// not at creation; a manager that has no room left refuses a write with <see cref="DictionaryFullException"/>.
    /// </summary>
    public long MemoryPerManager { get; init; } = 256L << 20;

    /// <summary>
    /// Keys each manager can hold (default: one per 256 bytes of <see cref="MemoryPerManager"/>). The key table is
    /// taken from /dev/shm at creation: 16 bytes for every 3/4 of a key, rounded up to a power of two.
    /// </summary>
    public long? MaxKeysPerManager { get; init; }

    /// <summary>
    /// Checkpoints each manager keeps (default 4): a write at a checkpoint past the newest retires those older than
    /// this many, and reads and writes of a retired checkpoint fail with <see cref="DictionaryCheckpointException"/>.
    /// </summary>
    public int WorkingSetSize { get; init; } = 4;

    /// <summary>
    /// What a read of a checkpoint a manager has not reached yet does: wait until a write brings it there, up to
    /// <see cref="CheckpointWaitTimeout"/> (true), or fail at once with <see cref="DictionaryCheckpointException"/>
    /// (false, the default).
    /// </summary>
    public bool WaitForCheckpoints { get; init; }

    /// <summary>How long such a read waits (default 60 s); past it, it fails as if it had not waited.</summary>
    public TimeSpan CheckpointWaitTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Where <c>Persist</c> writes checkpoints by default: one directory per manager under it, written by the node that
    /// holds the manager (so across machines, a shared file system or one each node can reach the same way).
    /// </summary>
    public string? PersistDirectory { get; init; }

    /// <summary>
    /// A directory of persisted checkpoints to fill the new dictionary from (it must have the same number of managers
    /// as the one persisted). The dictionary starts at the restored checkpoint.
    /// </summary>
    public string? RestoreFrom { get; init; }

    /// <summary>Which checkpoint <see cref="RestoreFrom"/> restores; default the newest every manager persisted.</summary>
    public long? RestoreCheckpoint { get; init; }
}

/// <summary>One manager's figures (<see cref="DragonDictionary{TKey, TValue}.GetStats"/>).</summary>
/// <param name="Manager">The manager's index.</param>
/// <param name="Node">The node that holds it.</param>
/// <param name="Keys">Keys with a value at its newest checkpoint.</param>
/// <param name="MaxKeys">Keys its key table holds at most.</param>
/// <param name="Bytes">Bytes it has for entries.</param>
/// <param name="BytesInUse">Bytes its entries use now (blocks of size classes, all versions held).</param>
/// <param name="OldestCheckpoint">The oldest checkpoint it holds.</param>
/// <param name="NewestCheckpoint">The newest checkpoint it holds.</param>
/// <param name="Frozen">Whether it is frozen.</param>
/// <param name="Puts">Writes it took since it was created.</param>
/// <param name="Removes">Removals it took since it was created.</param>
public sealed record DictionaryManagerStats(int Manager, int Node, long Keys, long MaxKeys, long Bytes, long BytesInUse, long OldestCheckpoint, long NewestCheckpoint, bool Frozen, long Puts, long Removes);
