using System.Buffers;
using System.Text;
using Dragon.Dictionary.Internal;
using Xunit;

namespace Dragon.Tests.Dictionary;

/// <summary>
/// One dictionary shard in a shared-memory file, used directly (no runtime): versions per checkpoint and their
/// retirement, a full heap, and a writer killed inside a change, whose lock the next reader or writer takes over.
/// </summary>
public sealed class DictShardTests : IDisposable
{
    private readonly string _path = $"/dev/shm/dragon-test-shard-{Guid.NewGuid():N}";

    public void Dispose() => DictShard.TryDelete(_path);

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string? Get(DictShard shard, string key, long checkpoint = 0)
    {
        var buffer = Array.Empty<byte>();
        var bytes = Bytes(key);
        var status = shard.TryGet(bytes, DictHash.Of(bytes), checkpoint, ref buffer, out var length);
        return status == DictStatus.Ok ? Encoding.UTF8.GetString(buffer, 0, length) : status == DictStatus.NotFound ? null : status.ToString();
    }

    private static DictStatus Put(DictShard shard, string key, string value, long checkpoint = 0)
    {
        var bytes = Bytes(key);
        return shard.Put(bytes, DictHash.Of(bytes), Bytes(value), checkpoint);
    }

    /// <summary>Puts keys <paramref name="prefix"/>0, 1, ... with <paramref name="value"/> until one is refused: how many went in, and why the next did not.</summary>
    private static (int Count, DictStatus Refusal) PutUntilRefused(DictShard shard, string prefix, string value)
    {
        var count = 0;
        DictStatus status;
        while ((status = Put(shard, $"{prefix}{count}", value)) == DictStatus.Ok)
        {
            count++;
        }

        return (count, status);
    }

    [Fact]
    public void Remove_OnAFullShard_FreesTheKey_UnlessAnOlderCheckpointStillSeesIt()
    {
        using var shard = DictShard.Create(_path, 0, 1 << 20, 100_000, workingSet: 2);
        var value = new string('v', 300);
        var (filled, status) = PutUntilRefused(shard, "full", value);
        Assert.Equal(DictStatus.Full, status);
        var (tiny, _) = PutUntilRefused(shard, "tiny", "t");

        var inUse = shard.Stats().BytesInUse;

        // Checkpoint 0 is the oldest held and nothing newer exists: the key goes at once, with no tombstone's block.
        var first = Bytes("full0");
        Assert.Equal(DictStatus.Ok, shard.Remove(first, DictHash.Of(first), 0));
        Assert.Null(Get(shard, "full0"));
        Assert.Equal(DictStatus.NotFound, shard.Remove(first, DictHash.Of(first), 0));
        Assert.True(shard.Stats().BytesInUse < inUse, "the removed key's block was not freed");
        Assert.Equal(filled + tiny - 1, shard.Count(0));
        Assert.Equal(DictStatus.Ok, Put(shard, "refill", value));

        // A removal at checkpoint 1 while checkpoint 0 still holds the key needs a tombstone: refused for room, and
        // nothing changed (the value read at 0, checkpoint 1 not begun).
        var second = Bytes("full1");
        Assert.Equal(DictStatus.Full, shard.Remove(second, DictHash.Of(second), 1));
        Assert.Equal(value, Get(shard, "full1", 0));
        Assert.Equal((0L, 0L), shard.Checkpoints);
    }

    [Fact]
    public void Checkpoints_KeepTheWorkingSet_AndFreeWhatNoneCanSee()
    {
        using var shard = DictShard.Create(_path, 0, 1 << 20, 1000, workingSet: 2);
        Assert.Equal(DictStatus.Ok, Put(shard, "a", "a0", 0));
        Assert.Equal(DictStatus.Ok, Put(shard, "a", "a1", 1));
        Assert.Equal(DictStatus.Ok, Put(shard, "b", "b1", 1));
        Assert.Equal("a0", Get(shard, "a", 0));
        Assert.Equal("a1", Get(shard, "a", 1));
        Assert.Null(Get(shard, "b", 0));
        Assert.Equal("NotYet", Get(shard, "a", 2));
        var inUse = shard.Stats().BytesInUse;

        // A write at 2 retires 0 (working set of 2); the next write of a frees the version only 0 could see.
        Assert.Equal(DictStatus.Ok, Put(shard, "b", "b2", 2));
        Assert.Equal((1L, 2L), shard.Checkpoints);
        Assert.Equal("Retired", Get(shard, "a", 0));
        Assert.Equal(DictStatus.Retired, Put(shard, "a", "late", 0));
        Assert.Equal(DictStatus.Ok, Put(shard, "a", "a2", 2));
        Assert.Equal("a1", Get(shard, "a", 1));
        Assert.Equal("a2", Get(shard, "a", 2));
        Assert.Equal(inUse + 64, shard.Stats().BytesInUse); // b2 and a2 added, a0 freed: one 64-byte block more

        // A removal at 2 hides the key there and keeps it at 1; counts agree at each checkpoint.
        var b = Bytes("b");
        Assert.Equal(DictStatus.Ok, shard.Remove(b, DictHash.Of(b), 2));
        Assert.Equal(DictStatus.NotFound, shard.Remove(b, DictHash.Of(b), 2));
        Assert.Null(Get(shard, "b", 2));
        Assert.Equal("b1", Get(shard, "b", 1));
        Assert.Equal(1, shard.Count(2));
        Assert.Equal(2, shard.Count(1));
    }

    [Fact]
    public async Task TryDecode_WhileAWriterReplacesAndRemovesTheValue_NeverReturnsAHalfMadeOne()
    {
        // The writer replaces one key's value with ones of other sizes and contents (every byte of a value the same,
        // its length telling which byte), removes it now and then, and reuses the freed blocks; readers decode
        // straight out of the shared memory and check each value they get is whole.
        using var shard = DictShard.Create(_path, 0, 4 << 20, 1000, workingSet: 1);
        var key = Bytes("flipping");
        var hash = DictHash.Of(key);
        var values = Enumerable.Range(1, 6).Select(k => Enumerable.Repeat((byte)k, k * 700).ToArray()).ToArray();
        Assert.Equal(DictStatus.Ok, shard.Put(key, hash, values[0], 0));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var decodes = 0L;
        var missing = 0L;
        SpanDecoder<byte[]> decode = bytes =>
        {
            // A decoder that fails on a mixed value, as a real codec fails on a torn one: the read must retry it.
            if (bytes.Length == 0 || bytes.Length % 700 != 0 || bytes.IndexOfAnyExcept(bytes[0]) >= 0 || bytes[0] * 700 != bytes.Length)
            {
                throw new InvalidDataException("mixed value");
            }

            return bytes.ToArray();
        };
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var status = shard.TryDecode(key, hash, 0, decode, out var value);
                if (status == DictStatus.Ok)
                {
                    Assert.Equal(values[value[0] - 1], value);
                    Interlocked.Increment(ref decodes);
                }
                else
                {
                    Assert.Equal(DictStatus.NotFound, status);
                    Interlocked.Increment(ref missing);
                }
            }
        })).ToArray();
        var writes = 0;
        while (!stop.IsCancellationRequested)
        {
            var status = ++writes % 7 == 0 ? shard.Remove(key, hash, 0) : shard.Put(key, hash, values[writes % values.Length], 0);
            Assert.True(status is DictStatus.Ok or DictStatus.NotFound, status.ToString());
        }

        await Task.WhenAll(readers);
        Assert.True(decodes > 1000, $"decodes {decodes}, not found {missing}, writes {writes}");
    }

    [Fact]
    public void PutAndPutMany_RefusedForAFullKeyTable_GiveBackTheBlocksTheyTook()
    {
        // A put takes its block, fills it, then links it: refused at the link (the key table is full), the block
        // goes back, so the bytes in use are those of the keys that went in, and removing them all leaves none.
        using var shard = DictShard.Create(_path, 0, 1 << 20, 8, workingSet: 1);
        var value = new string('v', 500);
        var (accepted, status) = PutUntilRefused(shard, "single", value);
        Assert.Equal(DictStatus.KeyTableFull, status);
        var perKey = shard.Stats().BytesInUse / accepted;
        Assert.Equal(accepted * perKey, shard.Stats().BytesInUse);
        for (var k = accepted / 2; k < accepted; k++)
        {
            var key = Bytes($"single{k}");
            Assert.Equal(DictStatus.Ok, shard.Remove(key, DictHash.Of(key), 0));
        }

        // A batch longer than the room left: the pairs up to the room go in, in order, and the rest give back theirs.
        var batch = new ArrayBufferWriter<byte>();
        for (var k = 0; k < 20; k++)
        {
            DictWire.WritePair(batch, Bytes($"many{k}"), Bytes(value), withValue: true);
        }

        Assert.Equal(DictStatus.KeyTableFull, shard.PutMany(batch.WrittenSpan, 0, out var done));
        Assert.InRange(done, 1, 19);
        for (var k = 0; k < 20; k++)
        {
            Assert.Equal(k < done ? value : null, Get(shard, $"many{k}"));
        }

        Assert.Equal((accepted - (accepted - (accepted / 2)) + done) * perKey, shard.Stats().BytesInUse);
    }

    [Fact]
    public void FullHeap_RefusesWithItsSizes_AndKeepsEveryEntry()
    {
        using var shard = DictShard.Create(_path, 3, 64 << 10, 10_000, workingSet: 1);
        var value = new string('v', 1000);
        var (i, status) = PutUntilRefused(shard, "k", value);

        Assert.Equal(DictStatus.Full, status);
        Assert.InRange(i, 40, 64);
        Assert.Matches(@"^manager 3 is full: 65536 bytes for entries, \d+ in use, \d+ never used; an entry of 1034 bytes does not fit$", shard.Describe(status, 0, 1034));
        for (var k = 0; k < i; k++)
        {
            Assert.Equal(value, Get(shard, $"k{k}"));
        }

        Assert.Equal(i, shard.Count(0));
        var tooLarge = Bytes("huge");
        Assert.Equal(DictStatus.TooLarge, shard.Put(tooLarge, DictHash.Of(tooLarge), new byte[70_000], 0));
    }

    [Fact]
    public void Restore_IntoAManagerTooSmall_IsTheFullError_NamingTheSizeOfWhatDidNotFit()
    {
        var directory = Directory.CreateTempSubdirectory("dragon-test-restore-").FullName;
        var smallPath = $"/dev/shm/dragon-test-shard-{Guid.NewGuid():N}";
        try
        {
            using (var shard = DictShard.Create(_path, 0, 4 << 20, 1_000, workingSet: 2))
            {
                Assert.Equal(DictStatus.Ok, Put(shard, "a", "small"));
                var big = Bytes("big");
                Assert.Equal(DictStatus.Ok, shard.Put(big, DictHash.Of(big), new byte[200_000], 0));
                Assert.Equal(2, DictCheckpointFile.Write(shard, 1, 0, directory));
            }

            // One entry larger than the whole manager: 32 bytes of entry, 3 of key, 200,000 of value.
            using var small = DictShard.Create(smallPath, 0, 64 << 10, 1_000, workingSet: 2);
            var tooLarge = Assert.Throws<DictionaryFullException>(() => DictCheckpointFile.Read(small, 1, 0, directory));
            Assert.Contains($"an entry of {DictLayout.EntryBytes + 3 + 200_000} bytes is larger than manager 0's", tooLarge.Message);
            Assert.Contains(directory, tooLarge.Message);
        }
        finally
        {
            DictShard.TryDelete(smallPath);
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task KilledWriter_ItsLockIsTakenOver_AndTheShardRepaired()
    {
        using var shard = DictShard.Create(_path, 0, 1 << 20, 1000, workingSet: 1);
        for (var k = 0; k < 100; k++)
        {
            Assert.Equal(DictStatus.Ok, Put(shard, $"k{k}", $"v{k}"));
        }

        // A pid that no longer names a process: a child that has exited and been reaped.
        using var gone = System.Diagnostics.Process.Start("/bin/true");
        gone.WaitForExit();
        shard.LeaveAsKilledWriter(gone.Id);

        // A reader waits for the "writer", finds it dead, takes its lock over (which repairs) and reads.
        var read = await Task.Run(() => Get(shard, "k42")).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("v42", read);
        Assert.Equal(100, shard.Stats().Keys);

        shard.LeaveAsKilledWriter(gone.Id);
        var write = await Task.Run(() => Put(shard, "k100", "v100")).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(DictStatus.Ok, write);
        Assert.Equal(101, shard.Stats().Keys);
        Assert.Equal("v7", Get(shard, "k7"));
    }

    [Fact]
    public void Open_AFileThatIsNotAShard_IsRefusedNamingIt()
    {
        File.WriteAllBytes(_path, new byte[8192]);
        var e = Assert.Throws<InvalidDataException>(() => DictShard.Open(_path));
        Assert.Contains($"'{_path}' is not a dictionary shard", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_PagesEveryVisibleKeyOnce()
    {
        using var shard = DictShard.Create(_path, 0, 4 << 20, 20_000, workingSet: 1);
        for (var k = 0; k < 10_000; k++)
        {
            Assert.Equal(DictStatus.Ok, Put(shard, $"k{k}", $"v{k}"));
        }

        var seen = new HashSet<string>();
        long cursor = 0;
        var pages = 0;
        while (cursor >= 0)
        {
            var output = new ArrayBufferWriter<byte>();
            cursor = shard.Scan(cursor, 0, withValues: true, output, 16 << 10, out _);
            pages++;
            var reader = new DictWire.PairReader(output.WrittenSpan);
            while (reader.Next(out var key, out var value))
            {
                var name = Encoding.UTF8.GetString(key);
                Assert.True(seen.Add(name), $"{name} seen twice");
                Assert.Equal("v" + name[1..], Encoding.UTF8.GetString(value));
            }
        }

        Assert.Equal(10_000, seen.Count);
        Assert.True(pages > 5, $"{pages} pages of 16 KiB for 10,000 pairs");
    }
}
