using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;

namespace Dragon.Dictionary.Internal;

/// <summary>
/// A manager's checkpoint on disk: <c>&lt;directory&gt;/manager-&lt;i&gt;/checkpoint-&lt;k&gt;.ddc</c>. A header (magic, version,
/// manager index and count, checkpoint id, key count), then blocks of <see cref="DictWire"/> pairs, each with its length
/// and hash, then an end block with the totals. Written to a temporary name and renamed, so a checkpoint file is
/// whole or absent; read back block by block, every length and hash checked, so a damaged file is an error naming the
/// file and where, never half a dictionary.
/// </summary>
internal static class DictCheckpointFile
{
    private const ulong Magic = 0x4b43_4444_4e47_5244; // "DRGNDDCK"
    private const int Version = 1;
    private const int HeaderBytes = 40;
    private const int BlockBytes = 1 << 20;

    public static string ManagerDirectory(string directory, int manager) =>
        System.IO.Path.Combine(directory, "manager-" + manager.ToString(CultureInfo.InvariantCulture));

    public static string PathOf(string directory, int manager, long checkpoint) =>
        System.IO.Path.Combine(ManagerDirectory(directory, manager), "checkpoint-" + checkpoint.ToString(CultureInfo.InvariantCulture) + ".ddc");

    /// <summary>The checkpoints persisted for <paramref name="manager"/> under <paramref name="directory"/>, oldest first.</summary>
    public static long[] List(string directory, int manager)
    {
        var managerDirectory = ManagerDirectory(directory, manager);
        if (!Directory.Exists(managerDirectory))
        {
            return [];
        }

        var ids = new List<long>();
        foreach (var file in Directory.EnumerateFiles(managerDirectory, "checkpoint-*.ddc"))
        {
            var name = System.IO.Path.GetFileNameWithoutExtension(file);
            if (long.TryParse(name.AsSpan("checkpoint-".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                ids.Add(id);
            }
        }

        ids.Sort();
        return [.. ids];
    }

    /// <summary>Writes what <paramref name="shard"/> holds at <paramref name="checkpoint"/>; returns the keys written.</summary>
    public static long Write(DictShard shard, int managers, long checkpoint, string directory)
    {
        var path = PathOf(directory, shard.ManagerIndex, checkpoint);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        long keys = 0;
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Span<byte> header = stackalloc byte[HeaderBytes];
                BinaryPrimitives.WriteUInt64LittleEndian(header, Magic);
                BinaryPrimitives.WriteInt32LittleEndian(header[8..], Version);
                BinaryPrimitives.WriteInt32LittleEndian(header[12..], shard.ManagerIndex);
                BinaryPrimitives.WriteInt32LittleEndian(header[16..], managers);
                BinaryPrimitives.WriteInt64LittleEndian(header[24..], checkpoint);
                stream.Write(header);

                var page = new ArrayBufferWriter<byte>(BlockBytes + (64 << 10));
                long cursor = 0;
                while (cursor >= 0)
                {
                    page.ResetWrittenCount();
                    cursor = shard.Scan(cursor, checkpoint, withValues: true, page, BlockBytes, out var count);
                    if (count == 0)
                    {
                        continue;
                    }

                    WriteBlock(stream, page.WrittenSpan, count);
                    keys += count;
                }

                // The end block: no pairs, the total count, so a file cut at a block boundary is caught too.
                WriteBlock(stream, default, -1);
                Span<byte> total = stackalloc byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(total, keys);
                stream.Write(total);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }

        return keys;
    }

    private static void WriteBlock(FileStream stream, ReadOnlySpan<byte> pairs, int count)
    {
        Span<byte> head = stackalloc byte[16];
        BinaryPrimitives.WriteInt32LittleEndian(head, pairs.Length);
        BinaryPrimitives.WriteInt32LittleEndian(head[4..], count);
        BinaryPrimitives.WriteUInt64LittleEndian(head[8..], DictHash.Of(pairs) ^ (ulong)(uint)count);
        stream.Write(head);
        stream.Write(pairs);
    }

    /// <summary>
    /// Reads the checkpoint file of <paramref name="shard"/>'s manager and puts every pair at <paramref name="checkpoint"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such checkpoint was persisted for this manager.</exception>
    /// <exception cref="InvalidDataException">The file is damaged or belongs to another dictionary layout (named).</exception>
    /// <exception cref="DictionaryFullException">The pairs do not fit in this manager.</exception>
    public static long Read(DictShard shard, int managers, long checkpoint, string directory)
    {
        var path = PathOf(directory, shard.ManagerIndex, checkpoint);
        if (!File.Exists(path))
        {
            var held = List(directory, shard.ManagerIndex);
            throw new FileNotFoundException(
                $"no checkpoint {checkpoint} for manager {shard.ManagerIndex} in '{directory}' (persisted: {(held.Length == 0 ? "none" : string.Join(", ", held))})", path);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> header = stackalloc byte[HeaderBytes];
        if (stream.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false) != HeaderBytes
            || BinaryPrimitives.ReadUInt64LittleEndian(header) != Magic)
        {
            throw Damaged(path, 0, "it is not a dictionary checkpoint");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        var manager = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        var fileManagers = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        var fileCheckpoint = BinaryPrimitives.ReadInt64LittleEndian(header[24..]);
        if (version != Version)
        {
            throw Damaged(path, 8, $"version {version}, this runtime reads version {Version}");
        }

        if (manager != shard.ManagerIndex || fileManagers != managers || fileCheckpoint != checkpoint)
        {
            throw Damaged(path, 12,
                $"it holds checkpoint {fileCheckpoint} of manager {manager} of {fileManagers}, not checkpoint {checkpoint} of manager {shard.ManagerIndex} of {managers} " +
                "(a dictionary restores into the same number of managers it was persisted from)");
        }

        shard.AdvanceTo(checkpoint);
        long keys = 0;
        var buffer = new byte[BlockBytes];
        Span<byte> head = stackalloc byte[16];
        while (true)
        {
            var at = stream.Position;
            if (stream.ReadAtLeast(head, 16, throwOnEndOfStream: false) != 16)
            {
                throw Damaged(path, at, "it ends before its last block");
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(head);
            var count = BinaryPrimitives.ReadInt32LittleEndian(head[4..]);
            var hash = BinaryPrimitives.ReadUInt64LittleEndian(head[8..]);
            if (length < 0 || length > stream.Length - stream.Position)
            {
                throw Damaged(path, at, $"a block claims {length} bytes");
            }

            if (length > buffer.Length)
            {
                buffer = new byte[length];
            }

            var pairs = buffer.AsSpan(0, length);
            stream.ReadExactly(pairs);
            if ((DictHash.Of(pairs) ^ (ulong)(uint)count) != hash)
            {
                throw Damaged(path, at, "a block's contents do not match its hash");
            }

            if (count == -1)
            {
                Span<byte> total = stackalloc byte[8];
                if (stream.ReadAtLeast(total, 8, throwOnEndOfStream: false) != 8 || BinaryPrimitives.ReadInt64LittleEndian(total) != keys)
                {
                    throw Damaged(path, stream.Position, $"its end does not count the {keys} keys read");
                }

                return keys;
            }

            var status = shard.PutMany(pairs, checkpoint, out var done);
            if (status == DictStatus.Ok && done != count)
            {
                throw Damaged(path, at, $"a block says {count} keys and holds {done}");
            }

            if (status != DictStatus.Ok)
            {
                // A pair refused for room (this manager smaller than the one that persisted it, or one pair larger
                // than all of it) is the dictionary's full error, with the size of the pair that did not fit.
                throw status.IsForRoom()
                    ? new DictionaryFullException($"restoring '{path}': {shard.Describe(status, checkpoint, DictWire.EntryBytesOfPair(pairs, done))}")
                    : new InvalidDataException($"restoring '{path}': {shard.Describe(status, checkpoint)}");
            }

            keys += done;
        }
    }

    private static InvalidDataException Damaged(string path, long offset, string what) =>
        new($"checkpoint file '{path}' is damaged at byte {offset}: {what}");
}
