using Dragon.Dictionary.Internal;
using Dragon.Runtime.Protocol;

namespace Dragon;

// Checkpoints: this handle's position, moving it, and persisting one to files.
public sealed partial class DragonDictionary<TKey, TValue>
{
    /// <summary>
    /// The checkpoint this handle reads and writes: a write goes into it, and a read sees each key's value as of it
    /// (the value written at the newest checkpoint up to it).
    /// </summary>
    public long CheckpointId => Volatile.Read(ref _checkpoint);

    /// <summary>
    /// Moves this handle to the next checkpoint and returns it. Its first write there makes it the newest on that
    /// key's manager, which then retires checkpoints older than its working set.
    /// </summary>
    public long Checkpoint() => Interlocked.Increment(ref _checkpoint);

    /// <summary>Moves this handle back one checkpoint (to read an older state) and returns it.</summary>
    /// <exception cref="InvalidOperationException">At checkpoint 0.</exception>
    public long Rollback()
    {
        while (true)
        {
            var current = Volatile.Read(ref _checkpoint);
            if (current == 0)
            {
                throw new InvalidOperationException($"{this}: already at checkpoint 0");
            }

            if (Interlocked.CompareExchange(ref _checkpoint, current - 1, current) == current)
            {
                return current - 1;
            }
        }
    }

    /// <summary>Moves this handle to the newest checkpoint any manager holds, and returns it.</summary>
    public long SyncToNewestCheckpoint()
    {
        var newest = GetStats().Max(s => s.NewestCheckpoint);
        Volatile.Write(ref _checkpoint, Math.Max(newest, CheckpointId));
        return CheckpointId;
    }

    /// <summary>
    /// Writes this handle's checkpoint to files, one directory per manager under <paramref name="directory"/> (default
    /// <see cref="DragonDictionaryOptions.PersistDirectory"/>), each written by the node that holds the manager. A new
    /// dictionary restores it with <see cref="DragonDictionaryOptions.RestoreFrom"/>. Returns the keys written.
    /// </summary>
    /// <exception cref="ArgumentException">No directory given, here or in the options.</exception>
    /// <exception cref="DictionaryCheckpointException">A manager no longer holds the checkpoint.</exception>
    public long Persist(string? directory = null) => PersistAsync(directory).GetAwaiter().GetResult();

    /// <inheritdoc cref="Persist"/>
    public async Task<long> PersistAsync(string? directory = null, CancellationToken cancellationToken = default)
    {
        directory ??= PersistDirectory ?? throw new ArgumentException($"{this}: no directory to persist to (none given, none in the options)", nameof(directory));
        var written = await _client.OnEveryManagerAsync(
            ObjectOp.DictPersist, DictWire.Text(Path.GetFullPath(directory)), CheckpointId, cancellationToken, Enumerable.Range(0, _client.ManagerCount)).ConfigureAwait(false);
        return written.Sum();
    }
}
