using System.Buffers;
using System.Diagnostics;
using Dragon.Runtime;
using Xunit;

namespace Dragon.Tests.Dictionary;

/// <summary>
/// The distributed dictionary in a runtime hosted in this process (<see cref="LocalRuntime"/>) with two nodes: manager
/// 0 on this process's node (its shard used in shared memory, no request), manager 1 on the other (every operation a
/// request its node performs on the same kind of shard).
/// </summary>
public sealed class DictionaryTests
{
    [Fact]
    public async Task Operations_OnBothManagers_AgreeAndLocalOnesMakeNoRequest()
    {
        using var runtime = LocalRuntime.Start(nodes: 2);
        using var dict = new DragonDictionary<string, long>(new() { MemoryPerManager = 8 << 20 });
        Assert.Equal(2, dict.ManagerCount);
        Assert.Equal([0, 1], dict.ManagerNodes);
        Assert.Equal([0], dict.LocalManagers);

        var keys = Enumerable.Range(0, 2000).Select(i => $"key-{i}").ToArray();
        var local = keys.Where(k => dict.ManagerOf(k) == 0).ToArray();
        var remote = keys.Where(k => dict.ManagerOf(k) == 1).ToArray();
        Assert.InRange(local.Length, 800, 1200);

        var before = RuntimeClient.RequestsSent;
        foreach (var key in local)
        {
            dict[key] = key.Length;
            Assert.Equal(key.Length, dict[key]);
            Assert.True(dict.ContainsKey(key));
            Assert.Equal(key.Length + 5, dict.Increment(key, 5));
        }

        var missing = Enumerable.Range(0, 100).Select(i => $"missing-{i}").First(k => dict.ManagerOf(k) == 0);
        Assert.False(dict.TryGetValue(missing, out _));
        Assert.Equal(0, RuntimeClient.RequestsSent - before);

        foreach (var key in remote)
        {
            await dict.SetAsync(key, key.Length);
            Assert.Equal(key.Length, dict[key]);
            Assert.Equal(key.Length + 5, await dict.IncrementAsync(key, 5));
        }

        Assert.True(RuntimeClient.RequestsSent - before >= remote.Length * 3);
        Assert.Equal(keys.Length, dict.Count);
        Assert.Equal(keys.Length, await dict.CountAsync());
        var all = dict.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(keys.Length, all.Count);
        Assert.All(keys, k => Assert.Equal(k.Length + 5, all[k]));
        Assert.Equal(keys.Order(), dict.Keys.Order());
        Assert.Equal(local.Order(), dict.LocalKeys().Order());

        Assert.True(dict.Remove(local[0]));
        Assert.False(dict.Remove(local[0]));
        Assert.True(await dict.RemoveAsync(remote[0]));
        Assert.False(dict.ContainsKey(remote[0]));
        Assert.Equal(keys.Length - 2, dict.Count);
        Assert.Throws<KeyNotFoundException>(() => dict[remote[0]]);

        // Batches, then a frozen dictionary refuses writes and still reads.
        dict.SetMany(Enumerable.Range(0, 5000).Select(i => KeyValuePair.Create($"batch-{i}", (long)i)));
        Assert.Equal(keys.Length - 2 + 5000, dict.Count);
        Assert.Equal(4321, dict["batch-4321"]);
        await dict.FreezeAsync();
        Assert.All(dict.GetStats(), s => Assert.True(s.Frozen));
        var frozen = Assert.Throws<InvalidOperationException>(() => dict.Set(local[1], 1));
        Assert.Contains("frozen", frozen.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => dict.Set(remote[1], 1));
        Assert.Equal(local[1].Length + 5, dict[local[1]]);
        Assert.Equal(remote[1].Length + 5, dict[remote[1]]);
        dict.Unfreeze();
        dict[local[1]] = 1;

        // An add on a value that is not an integer is refused, naming why.
        using var text = new DragonDictionary<string, string>();
        text["x"] = "not a number";
        var notInteger = Assert.Throws<InvalidOperationException>(() => text.Increment("x"));
        Assert.Contains("is not a 64-bit integer", notInteger.Message, StringComparison.Ordinal);
        await dict.ClearAsync();
        Assert.Equal(0, dict.Count);
        Assert.Empty(dict);
    }

    [Fact]
    public async Task SetBroadcast_ReadOnThisNodeFromItsOwnManager_AndCountedOncePerManager()
    {
        using var runtime = LocalRuntime.Start(nodes: 2);
        using var dict = new DragonDictionary<string, byte[]>();
        await dict.SetBroadcastAsync("model", [1, 2, 3]);
        Assert.True(dict.TryGetBroadcast("model", out var read));
        Assert.Equal(new byte[] { 1, 2, 3 }, read);
        Assert.False(dict.TryGetBroadcast("absent", out _));
        Assert.Equal(dict.ManagerCount, dict.Count);
    }

    [Fact]
    public async Task TryCopyValueTo_OnBothManagers_AppendsTheBytesToTheCallersBuffer_AfterSetManyOfMixedSizes()
    {
        using var runtime = LocalRuntime.Start(nodes: 2);
        using var dict = new DragonDictionary<string, byte[]>(new() { MemoryPerManager = 64 << 20 });
        // Sizes from empty to past a batch's 1 MiB, so SetMany sends several batches a manager through reused buffers.
        var sizes = new[] { 0, 1, 1000, 65_536, 300_000, 1 << 20, 3 };
        var pairs = Enumerable.Range(0, 70)
            .Select(i => KeyValuePair.Create($"value-{i}", Enumerable.Range(0, sizes[i % sizes.Length]).Select(b => (byte)(b * 31 + i)).ToArray()))
            .ToArray();
        dict.SetMany(pairs);
        await dict.SetManyAsync(pairs.Take(10).Select(p => KeyValuePair.Create(p.Key + "-again", p.Value)));
        Assert.Contains(pairs, p => dict.ManagerOf(p.Key) == 0);
        Assert.Contains(pairs, p => dict.ManagerOf(p.Key) == 1);

        var buffer = new ArrayBufferWriter<byte>(16);
        foreach (var (key, value) in pairs)
        {
            buffer.ResetWrittenCount();
            buffer.Write<byte>([0xEE]);
            Assert.True(dict.TryCopyValueTo(key, buffer));
            Assert.Equal([0xEE, .. value], buffer.WrittenSpan.ToArray());
            buffer.ResetWrittenCount();
            Assert.True(await dict.TryCopyValueToAsync(key, buffer));
            Assert.Equal(value, buffer.WrittenSpan.ToArray());
            Assert.Equal(value, dict[key]);
        }

        Assert.All(pairs.Take(10), p => Assert.Equal(p.Value, dict[p.Key + "-again"]));
        Assert.Equal(80, dict.Count);
        buffer.ResetWrittenCount();
        var absent = Enumerable.Range(0, 50).Select(i => $"absent-{i}").ToArray();
        Assert.All(absent, k => Assert.False(dict.TryCopyValueTo(k, buffer)));
        Assert.False(await dict.TryCopyValueToAsync(absent[0], buffer));
        Assert.Equal(0, buffer.WrittenCount);

        using var numbers = new DragonDictionary<string, long>(new() { MemoryPerManager = 8 << 20 });
        numbers["n"] = 5;
        var error = Assert.Throws<InvalidCastException>(() => numbers.TryCopyValueTo("n", buffer));
        Assert.Contains("'n'", error.Message);
        Assert.Contains("not bytes", error.Message);
        Assert.Equal(0, buffer.WrittenCount);
    }

    [Fact]
    public async Task SetMany_AfterAnEarlierBatchWasRemoved_WritesOnlyItsOwnPairs()
    {
        // The batch buffers are reused: one that kept what an earlier call wrote would put those pairs back.
        using var runtime = LocalRuntime.Start(nodes: 2);
        using var dict = new DragonDictionary<string, byte[]>(new() { MemoryPerManager = 16 << 20 });
        var first = Enumerable.Range(0, 300).Select(i => KeyValuePair.Create($"first-{i}", new byte[] { 1, (byte)i })).ToArray();
        var second = Enumerable.Range(0, 200).Select(i => KeyValuePair.Create($"second-{i}", new byte[] { 2, (byte)i, 9 })).ToArray();
        for (var round = 0; round < 3; round++)
        {
            dict.SetMany(first);
            Assert.Equal(first.Length, dict.Count);
            foreach (var (key, _) in first)
            {
                Assert.True(await dict.RemoveAsync(key));
            }

            Assert.Equal(0, dict.Count);
            await dict.SetManyAsync(second);
            Assert.Equal(second.Length, dict.Count);
            Assert.All(second, p => Assert.Equal(p.Value, dict[p.Key]));
            Assert.All(first, p => Assert.False(dict.ContainsKey(p.Key)));
            dict.Clear();
        }
    }

    /// <summary>
    /// Values for a reader racing a writer: each one byte repeated, a different byte for each, so a read that mixed two
    /// of them shows. Values of one size reuse each other's blocks at once (a replacement frees the block it replaced,
    /// and the next write of that size takes it), so a reader that kept reading a reused block would.
    /// </summary>
    private static (int[] Sizes, byte[][] Values) OneByteValues()
    {
        int[] sizes = [70_000, 70_000, 70_000, 3_000, 3_000, 3_000, 1];
        return (sizes, sizes.Select((size, i) => Enumerable.Repeat((byte)(i + 1), size).ToArray()).ToArray());
    }

    /// <summary>Sets <paramref name="key"/> to each of <paramref name="values"/> in turn on a thread of its own for <paramref name="time"/>; the writes it made.</summary>
    private static Task<int> Rewrite(DragonDictionary<string, byte[]> dict, string key, byte[][] values, TimeSpan time) => Task.Run(() =>
    {
        var stop = Stopwatch.StartNew();
        var writes = 0;
        while (stop.Elapsed < time)
        {
            dict[key] = values[writes++ % values.Length];
        }

        return writes;
    });

    [Fact]
    public async Task TryCopyValueTo_WhileAnotherThreadReplacesTheValue_CommitsOnlyWholeValues_AndReadsAFrozenDictionary()
    {
        using var runtime = LocalRuntime.Start(nodes: 1);
        using var dict = new DragonDictionary<string, byte[]>(new() { MemoryPerManager = 16 << 20 });
        var (sizes, values) = OneByteValues();
        dict["k"] = values[0];
        var writer = Rewrite(dict, "k", values, TimeSpan.FromSeconds(1.5));

        var buffer = new ArrayBufferWriter<byte>();
        var reads = 0;
        var seen = new HashSet<int>();
        while (!writer.IsCompleted)
        {
            buffer.ResetWrittenCount();
            Assert.True(dict.TryCopyValueTo("k", buffer));
            var read = buffer.WrittenSpan;
            Assert.Contains(read.Length, sizes);
            Assert.True(read.IndexOfAnyExcept(read[0]) < 0, $"a read of {read.Length} bytes mixed two values");
            seen.Add(read.Length);
            reads++;
        }

        var writes = await writer;
        Assert.True(writes > 100, $"the writer made {writes} writes");
        Assert.True(reads > 100 && seen.Count > 1, $"{reads} reads saw the sizes {string.Join(",", seen)}");

        dict.Freeze();
        buffer.ResetWrittenCount();
        Assert.True(dict.TryCopyValueTo("k", buffer));
        Assert.Contains(buffer.WrittenCount, sizes);
        dict.Unfreeze();
    }

    [Fact]
    public async Task TryReadValue_OnBothManagers_ReadsTheBytesInPlaceOnThisNode_AndTheReadersErrorsAreTheCallers()
    {
        using var runtime = LocalRuntime.Start(nodes: 2);
        using var dict = new DragonDictionary<string, byte[]>(new() { MemoryPerManager = 64 << 20 });
        var keys = Enumerable.Range(0, 100).Select(i => $"array-{i}").ToArray();
        var local = keys.First(k => dict.ManagerOf(k) == 0);
        var remote = keys.First(k => dict.ManagerOf(k) == 1);
        var value = Enumerable.Range(0, 1 << 20).Select(i => (byte)(i * 7)).ToArray();
        var sum = value.Sum(b => (long)b);
        dict[local] = value;
        dict[remote] = value;
        static long Sum(ReadOnlySpan<byte> bytes)
        {
            long total = 0;
            foreach (var b in bytes)
            {
                total += b;
            }

            return total;
        }

        foreach (var key in new[] { local, remote })
        {
            Assert.True(dict.TryReadValue(key, Sum, out var read), key);
            Assert.Equal(sum, read);
            Assert.Equal((true, sum), await dict.TryReadValueAsync(key, Sum));
            Assert.Equal(value.Length, dict.TryReadValue(key, bytes => bytes.Length, out var length) ? length : -1);
        }

        // On this node the reader runs over the shard's memory: twenty reads of a 1 MB value make no array of it (a
        // copy a read would allocate 20 MB).
        _ = dict.TryReadValue(local, Sum, out _);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 20; i++)
        {
            Assert.True(dict.TryReadValue(local, Sum, out var read) && read == sum);
        }

        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - allocated, 0, 64 << 10);

        // A key without a value: false, and the reader never runs.
        var ran = false;
        Assert.False(dict.TryReadValue("missing", bytes => ran = true, out var none));
        Assert.False(none);
        Assert.False((await dict.TryReadValueAsync("missing", bytes => ran = true)).Found);
        Assert.False(ran);

        // What the reader throws over a whole value is the caller's, as it was thrown, on either node.
        foreach (var key in new[] { local, remote })
        {
            var thrown = Assert.Throws<FormatException>(() => dict.TryReadValue<int>(key, bytes => throw new FormatException($"bad header {bytes[0]}"), out _));
            Assert.Equal($"bad header {value[0]}", thrown.Message);
            await Assert.ThrowsAsync<FormatException>(() => dict.TryReadValueAsync<int>(key, bytes => throw new FormatException("bad")));
        }

        // An array of doubles is read in place too, as its elements' bytes (unaligned after the value's tag).
        using var arrays = new DragonDictionary<string, double[]>(new() { MemoryPerManager = 32 << 20 });
        var doubles = Enumerable.Range(0, 100_000).Select(i => i * 0.5).ToArray();
        foreach (var key in new[] { local, remote })
        {
            arrays[key] = doubles;
            Assert.True(arrays.TryReadValue(key, bytes => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(bytes).ToArray().Sum(), out var total));
            Assert.Equal(doubles.Sum(), total);
            Assert.Equal(doubles, arrays[key]);
        }

        // A value that is neither cannot be read in place, and the error names the key.
        using var texts = new DragonDictionary<string, string>(new() { MemoryPerManager = 8 << 20 });
        foreach (var key in new[] { local, remote })
        {
            texts[key] = "text";
            var wrong = Assert.Throws<InvalidCastException>(() => texts.TryReadValue(key, bytes => bytes.Length, out _));
            Assert.Contains(key, wrong.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<InvalidCastException>(() => texts.TryReadValueAsync(key, bytes => bytes.Length));
        }
    }

    [Fact]
    public async Task TryReadValue_WhileAnotherThreadReplacesTheValue_SeesOnlyWholeValues_AndOnAFrozenDictionaryRunsTheReaderOnce()
    {
        using var runtime = LocalRuntime.Start(nodes: 1);
        using var dict = new DragonDictionary<string, byte[]>(new() { MemoryPerManager = 16 << 20 });
        // The reader throws an exception the dictionary knows nothing of when it sees a mix (OneByteValues): a read
        // that raced the writer must keep it and run again, and only a whole read's result (or error) may reach the
        // caller.
        var (sizes, values) = OneByteValues();
        dict["k"] = values[0];
        var runs = 0;
        int Whole(ReadOnlySpan<byte> bytes)
        {
            runs++;
            return bytes.IndexOfAnyExcept(bytes[0]) < 0 ? bytes.Length : throw new ApplicationException($"a read of {bytes.Length} bytes mixed two values");
        }

        var writer = Rewrite(dict, "k", values, TimeSpan.FromSeconds(1.5));

        var reads = 0;
        var seen = new HashSet<int>();
        while (!writer.IsCompleted)
        {
            Assert.True(dict.TryReadValue("k", Whole, out var length));
            Assert.Contains(length, sizes);
            seen.Add(length);
            reads++;
        }

        var writes = await writer;
        Assert.True(writes > 100, $"the writer made {writes} writes");
        Assert.True(reads > 100 && seen.Count > 1, $"{reads} reads saw the sizes {string.Join(",", seen)}");

        dict.Freeze();
        runs = 0;
        Assert.True(dict.TryReadValue("k", Whole, out var frozen));
        Assert.Contains(frozen, sizes);
        Assert.Equal(1, runs);
        dict.Unfreeze();
    }

    [Fact]
    public async Task GetMany_OnBothManagers_ReturnsEveryFoundKeyWithItsValue_AndLeavesOutTheMissing()
    {
        using var runtime = LocalRuntime.Start(nodes: 2);
        using var dict = new DragonDictionary<string, byte[]>(new() { MemoryPerManager = 32 << 20 });
        var sizes = new[] { 0, 7, 4096, 200_000 };
        var pairs = Enumerable.Range(0, 40)
            .Select(i => KeyValuePair.Create($"many-{i}", Enumerable.Range(0, sizes[i % sizes.Length]).Select(b => (byte)(b + i)).ToArray()))
            .ToArray();
        dict.SetMany(pairs);
        var missing = Enumerable.Range(0, 20).Select(i => $"none-{i}").ToArray();
        Assert.Contains(missing, k => dict.ManagerOf(k) == 0);
        Assert.Contains(missing, k => dict.ManagerOf(k) == 1);

        // Twice: a manager sizes its second reply from its first.
        for (var round = 0; round < 2; round++)
        {
            var read = await dict.GetManyAsync(pairs.Select(p => p.Key).Concat(missing));
            Assert.Equal(pairs.Length, read.Count);
            Assert.All(pairs, p => Assert.Equal(p.Value, read[p.Key]));
        }

        Assert.Empty(dict.GetMany(missing));
        Assert.Equal(pairs[3].Value, dict.GetMany([pairs[3].Key])[pairs[3].Key]);
    }

    [Fact]
    public async Task GetMany_IntoArrays_OnBothManagers_PutsEachValueAtItsKeysPlace_AndClearsThePlacesOfMissingKeys()
    {
        using var runtime = LocalRuntime.Start(nodes: 2);
        using var dict = new DragonDictionary<string, byte[]>(new() { MemoryPerManager = 64 << 20 });
        // 300 keys on both managers (this node's, read out of shared memory with prefetches, and the other node's, in
        // requests), values from empty to 100 KB, a missing key every fourth place and one key asked twice.
        var keys = Enumerable.Range(0, 300).Select(i => i % 4 == 3 ? $"absent-{i}" : $"place-{i}").ToArray();
        keys[299] = keys[0];
        byte[] ValueOf(int i) => [.. Enumerable.Range(0, i % 7 == 0 ? 100_000 : i % 5).Select(b => (byte)(b + i))];
        dict.SetMany(keys.Select((k, i) => (k, i)).Where(p => p.k.StartsWith("place-", StringComparison.Ordinal) && p.i != 299).Select(p => KeyValuePair.Create(p.k, ValueOf(p.i))));
        Assert.Contains(keys, k => dict.ManagerOf(k) == 0);
        Assert.Contains(keys, k => dict.ManagerOf(k) == 1);

        for (var round = 0; round < 2; round++)
        {
            // The arrays hold what an earlier batch left: a missing key's place must be cleared, not kept.
            var values = Enumerable.Repeat(new byte[] { 9 }, keys.Length).ToArray();
            var found = Enumerable.Repeat(true, keys.Length).ToArray();
            var count = round == 0 ? dict.GetMany(keys, values, found) : await dict.GetManyAsync(keys, values, found);
            Assert.Equal(keys.Count(k => k.StartsWith("place-", StringComparison.Ordinal)), count);
            for (var i = 0; i < keys.Length; i++)
            {
                var at = i == 299 ? 0 : i;
                Assert.Equal(keys[i].StartsWith("place-", StringComparison.Ordinal), found[i]);
                Assert.Equal(found[i] ? ValueOf(at) : null, values[i]);
            }
        }

        var error = Assert.Throws<ArgumentException>(() => dict.GetMany(keys, new byte[10][], new bool[keys.Length]));
        Assert.Contains("300 keys", error.Message, StringComparison.Ordinal);
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();
        // An already cancelled token ends the task cancelled, as the other async operations do; a wrong call throws at once.
        var cancelled = dict.GetManyAsync(keys, new byte[300][], new bool[300], cancel.Token);
        Assert.True(cancelled.IsCanceled);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Throws<ArgumentException>(() => { _ = dict.GetManyAsync(keys, new byte[300][], new bool[10], cancel.Token); });
    }

    [Fact]
    public async Task GetMany_IntoArrays_WhileAWriterRewritesTheKeys_NeverReturnsAHalfWrittenValue()
    {
        using var runtime = LocalRuntime.Start();
        using var dict = new DragonDictionary<string, byte[]>(new() { MemoryPerManager = 32 << 20 });
        // Every version of a key is one byte repeated, its length following from that byte: a read that mixed two
        // versions, or read a block being reused, shows as a value whose bytes differ or whose length is wrong.
        var keys = Enumerable.Range(0, 256).Select(i => $"torn-{i}").ToArray();
        static byte[] Version(int v) => Enumerable.Repeat((byte)v, 64 + ((v % 16) * 100)).ToArray();
        dict.SetMany(keys.Select(k => KeyValuePair.Create(k, Version(0))));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var writer = Task.Run(() =>
        {
            for (var v = 1; !stop.IsCancellationRequested; v++)
            {
                dict[keys[v % keys.Length]] = Version(v);
            }
        });
        var values = new byte[keys.Length][];
        var found = new bool[keys.Length];
        var batches = 0;
        while (!stop.IsCancellationRequested)
        {
            Assert.Equal(keys.Length, dict.GetMany(keys, values, found));
            foreach (var value in values)
            {
                Assert.Equal(64 + ((value[0] % 16) * 100), value.Length);
                Assert.All(value, b => Assert.Equal(value[0], b));
            }

            batches++;
        }

        await writer;
        Assert.True(batches > 10, $"only {batches} batches read");
    }

    [Fact]
    public async Task GetMany_OfMoreThanAPartFromAnotherNode_ReadsEveryKeyInOrder_AndACancelledReadLeavesTheNextWhole()
    {
        using var runtime = LocalRuntime.Start(nodes: 2);
        using var dict = new DragonDictionary<string, byte[]>(new() { MemoryPerManager = 96 << 20 });
        // 400 keys of manager 1 (another node): values of 64 KB and of 3 bytes mixed, and missing keys among them, so
        // that the parts (about 1 MiB of reply each, sized from the previous reply) split the batch at many places.
        var remote = Enumerable.Range(0, 4000).Select(i => $"part-{i}").Where(k => dict.ManagerOf(k) == 1).Take(400).ToArray();
        var pairs = remote.Where((_, i) => i % 5 != 4)
            .Select((k, i) => KeyValuePair.Create(k, Enumerable.Range(0, i % 3 == 0 ? 3 : 65_536).Select(b => (byte)(b * 7 + i)).ToArray()))
            .ToArray();
        dict.SetMany(pairs);
        var expected = pairs.ToDictionary(p => p.Key, p => p.Value);
        Assert.True(expected.Values.Sum(v => (long)v.Length) > 8L << 20);

        for (var round = 0; round < 2; round++)
        {
            var read = await dict.GetManyAsync(remote);
            Assert.Equal(expected.Count, read.Count);
            Assert.All(expected, p => Assert.Equal(p.Value, read[p.Key]));
        }

        using (var cancel = new CancellationTokenSource())
        {
            var cancelled = dict.GetManyAsync(remote, cancel.Token);
            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        }

        var again = await dict.GetManyAsync(remote.Reverse());
        Assert.Equal(expected.Count, again.Count);
        Assert.All(expected, p => Assert.Equal(p.Value, again[p.Key]));

        // A read of keys that have no value leaves the judged size at 4 bytes a key, so the next batch of large values
        // goes as one part: the manager stops its reply at its bound and the rest is asked again, key by key in order.
        var large = remote.Take(24).Select((k, i) => KeyValuePair.Create(k, Enumerable.Range(0, 600_000).Select(b => (byte)(b ^ i)).ToArray())).ToArray();
        dict.SetMany(large);
        Assert.Empty(await dict.GetManyAsync(Enumerable.Range(0, 4000).Select(i => $"absent-{i}").Where(k => dict.ManagerOf(k) == 1).Take(50)));
        var big = await dict.GetManyAsync(large.Select(p => p.Key));
        Assert.Equal(large.Length, big.Count);
        Assert.All(large, p => Assert.Equal(p.Value, big[p.Key]));
    }

    [Fact]
    public async Task WaitFor_ReleasedByAPutOnEitherManager_AndTimesOutOtherwise()
    {
        using var runtime = LocalRuntime.Start(nodes: 2);
        using var dict = new DragonDictionary<string, string>();
        var local = Enumerable.Range(0, 100).Select(i => $"w-{i}").First(k => dict.ManagerOf(k) == 0);
        var remote = Enumerable.Range(0, 100).Select(i => $"w-{i}").First(k => dict.ManagerOf(k) == 1);

        var waitLocal = dict.WaitForAsync(local, TimeSpan.FromSeconds(30));
        var waitRemote = dict.WaitForAsync(remote, TimeSpan.FromSeconds(30));
        await Task.Delay(200);
        Assert.False(waitLocal.IsCompleted);
        Assert.False(waitRemote.IsCompleted);
        dict[local] = "here";
        dict[remote] = "there";
        Assert.Equal("here", await waitLocal.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("there", await waitRemote.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Throws<TimeoutException>(() => dict.WaitFor("never", TimeSpan.FromMilliseconds(100)));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => dict.WaitForAsync(remote + "-never", null, cancel.Token));
    }

    [Fact]
    public void FullManager_RefusesWithANamedError_AndKeepsWhatItHolds()
    {
        using var runtime = LocalRuntime.Start(nodes: 2);
        using var dict = new DragonDictionary<int, byte[]>(new() { MemoryPerManager = 1 << 20, MaxKeysPerManager = 100_000 });
        var value = new byte[10_000];
        var stored = new List<int>();
        DictionaryFullException? full = null;
        for (var i = 0; i < 1000 && full is null; i++)
        {
            value[0] = (byte)i;
            try
            {
                dict[i] = value;
                stored.Add(i);
            }
            catch (DictionaryFullException e)
            {
                full = e;
            }
        }

        Assert.NotNull(full);
        Assert.Matches(@"dictionary '.*': manager [01] is full: 1048576 bytes for entries, \d+ in use", full.Message);
        Assert.InRange(stored.Count, 100, 210);
        Assert.All(stored, i => Assert.Equal((byte)i, dict[i][0]));
        Assert.All(stored, i => Assert.Equal(10_000, dict[i].Length));
        Assert.Equal(stored.Count, dict.Count);

        // Freeing room lets writes in again.
        Assert.True(dict.Remove(stored[0]));
        Assert.True(dict.Remove(stored[1]));
        dict[stored[0]] = value;
        Assert.Equal(10_000, dict[stored[0]].Length);
    }

    [Fact]
    public async Task SmallPutsToAnotherNode_SentTogether_EachEndsOnItsOwn_WhenTheManagerFillsInTheMiddleOfABatch()
    {
        using var runtime = LocalRuntime.Start(nodes: 2);
        using var dict = new DragonDictionary<string, byte[]>(new() { MemoryPerManager = 1 << 20, MaxKeysPerManager = 100_000 });
        // 600 puts of 4 KB to the other node's manager, all on their way at once: beyond the first few they go in
        // batches, and the manager fills (room for about 200) inside one.
        var keys = Enumerable.Range(0, 6000).Select(i => $"lane-{i}").Where(k => dict.ManagerOf(k) == 1).Take(600).ToArray();
        byte[] ValueOf(int i) => [.. Enumerable.Range(0, 4000).Select(b => (byte)(b + i))];
        var puts = keys.Select((k, i) => dict.SetAsync(k, ValueOf(i))).ToArray();
        await Task.WhenAll(puts).ContinueWith(_ => { }, TaskScheduler.Default);

        var stored = Enumerable.Range(0, keys.Length).Where(i => puts[i].IsCompletedSuccessfully).ToList();
        var refused = Enumerable.Range(0, keys.Length).Where(i => puts[i].IsFaulted).ToList();
        Assert.Equal(keys.Length, stored.Count + refused.Count);
        Assert.All(refused, i => Assert.IsType<DictionaryFullException>(puts[i].Exception!.InnerException));
        Assert.InRange(stored.Count, 100, 300);
        Assert.All(stored, i => Assert.Equal(ValueOf(i), dict[keys[i]]));
        Assert.All(refused, i => Assert.False(dict.ContainsKey(keys[i])));
        Assert.Equal(stored.Count, dict.Count);
    }

    [Fact]
    public async Task PutsToAnotherNode_SentTogether_OnesRefusedForRoomFailOnTheirOwn_AndSmallerOnesAfterThemGoIn()
    {
        using var runtime = LocalRuntime.Start(nodes: 2);
        using var dict = new DragonDictionary<string, byte[]>(new() { MemoryPerManager = 2 << 20, MaxKeysPerManager = 50_000 });
        var keys = Enumerable.Range(0, 100_000).Select(i => $"room-{i}").Where(k => dict.ManagerOf(k) == 1).ToArray();
        var small = new byte[200];

        // The other node's manager filled with small values, then room made for 300 of them again: no room for a
        // large value anywhere.
        var filled = 0;
        while (true)
        {
            try
            {
                dict[keys[filled]] = small;
                filled++;
            }
            catch (DictionaryFullException)
            {
                break;
            }
        }

        Assert.InRange(filled, 1000, keys.Length - 1000);
        for (var i = 0; i < 300; i++)
        {
            Assert.True(dict.Remove(keys[i]));
        }

        // 400 puts at once, large and small in turn: they go in batches; each large one is refused for room on its
        // own (more refusals than one reply describes), and every small one after it still goes in.
        var large = new byte[300_000];
        var fresh = keys[filled..(filled + 400)];
        var puts = fresh.Select((k, i) => dict.SetAsync(k, i % 2 == 0 ? large : small)).ToArray();
        await Task.WhenAll(puts).ContinueWith(_ => { }, TaskScheduler.Default);

        for (var i = 0; i < fresh.Length; i++)
        {
            if (i % 2 == 0)
            {
                var e = Assert.IsType<DictionaryFullException>(puts[i].Exception?.InnerException);
                Assert.Contains("manager 1", e.Message, StringComparison.Ordinal);
                Assert.Contains("does not fit", e.Message, StringComparison.Ordinal);
                Assert.False(dict.ContainsKey(fresh[i]));
            }
            else
            {
                Assert.True(puts[i].IsCompletedSuccessfully, $"small put {i}: {puts[i].Exception?.InnerException?.Message}");
                Assert.Equal(small, dict[fresh[i]]);
            }
        }

        Assert.Equal(filled - 300 + 200, dict.Count);
    }

    [Fact]
    public async Task PutsToAnotherNode_AskedFasterThanTheyGo_WaitForRoom_SoWhatWaitsStaysBounded_AndEveryOneGoesIn()
    {
        using var runtime = LocalRuntime.Start(nodes: 2);
        using var dict = new DragonDictionary<string, byte[]>(new() { MemoryPerManager = 512 << 20, MaxKeysPerManager = 10_000 });
        // A bound of 4 MiB instead of 64 (the same code): 320 puts of 512 KB (160 MB) to the other node's manager,
        // none awaited before the last is asked, left up to 49-58 MB waiting at once without it.
        const long bound = 4 << 20;
        dict.Client.MaxWaitingPutBytes = bound;
        var keys = Enumerable.Range(0, 5000).Select(i => $"bound-{i}").Where(k => dict.ManagerOf(k) == 1).Take(320).ToArray();
        var value = new byte[512 << 10];
        var producer = Task.Factory.StartNew(
            () =>
            {
                var puts = new Task[keys.Length];
                for (var i = 0; i < keys.Length; i++)
                {
                    // The caller may change its array once the call returns: each put's copy was taken by then.
                    BitConverter.TryWriteBytes(value, i);
                    puts[i] = dict.SetAsync(keys[i], value);
                }

                return puts;
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        // Meanwhile, puts given up while they wait for room: each asked from a thread of its own once the producer is
        // blocked, cancelled once it waits in line behind it. One cancelled while it waited never goes.
        var late = new List<(string Key, Task Put, bool GaveUpWaiting)>();
        var lateValue = new byte[512 << 10];
        for (var attempt = 0; attempt < 20 && !producer.IsCompleted; attempt++)
        {
            if (!SpinWait.SpinUntil(() => dict.Client.CallersWaitingForRoom(1) >= 1 || producer.IsCompleted, 10_000) || producer.IsCompleted)
            {
                break;
            }

            var gaveUpBefore = dict.Client.RoomWaitsCancelled(1);
            using var giveUp = new CancellationTokenSource();
            var key = $"bound-late-{attempt}";
            var put = Task.Factory.StartNew(
                () => dict.SetAsync(key, lateValue, giveUp.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
            SpinWait.SpinUntil(() => dict.Client.CallersWaitingForRoom(1) >= 2 || put.IsCompleted, 10_000);
            giveUp.Cancel();
            await put.ContinueWith(_ => { }, TaskScheduler.Default);
            late.Add((key, put, dict.Client.RoomWaitsCancelled(1) > gaveUpBefore));
        }

        await Task.WhenAll(await producer);

        Assert.InRange(dict.Client.PeakWaitingBytes(1), 1, bound);
        for (var i = 0; i < keys.Length; i += 7)
        {
            var read = dict[keys[i]];
            Assert.Equal(value.Length, read.Length);
            Assert.Equal(i, BitConverter.ToInt32(read));
        }

        Assert.Contains(late, l => l.GaveUpWaiting);
        foreach (var (key, put, gaveUpWaiting) in late)
        {
            if (gaveUpWaiting)
            {
                Assert.True(put.IsCanceled, $"{key}: {put.Status}");
                Assert.False(dict.ContainsKey(key), key);
            }
            else if (put.IsCompletedSuccessfully)
            {
                Assert.True(dict.ContainsKey(key), key);
            }
        }

        Assert.Equal(keys.Length + late.Count(l => dict.ContainsKey(l.Key)), dict.Count);
    }

    [Fact]
    public async Task SmallPutsToAnotherNode_CancelledWhileWaitingToGo_NeverGo_AndTheLaneGoesOn()
    {
        using var runtime = LocalRuntime.Start(nodes: 2);
        using var dict = new DragonDictionary<string, string>(new() { MemoryPerManager = 256 << 20 });
        var onOne = Enumerable.Range(0, 100_000).Select(i => $"cancel-{i}").Where(k => dict.ManagerOf(k) == 1).ToArray();

        // Whether puts still wait in the lane when the cancel comes depends on how fast the first ones come back, so
        // the scenario runs again (fresh keys) until some did; every run checks what must always hold.
        var waitedAndNeverWent = false;
        for (var attempt = 0; attempt < 8 && !waitedAndNeverWent; attempt++)
        {
            var keys = onOne.AsSpan(attempt * 2000, 2000).ToArray();
            using var cancel = new CancellationTokenSource();
            var puts = new Task[keys.Length];
            for (var i = 0; i < keys.Length; i++)
            {
                puts[i] = dict.SetAsync(keys[i], $"value-{i}", cancel.Token);
                if (i == keys.Length / 2)
                {
                    await cancel.CancelAsync();
                }
            }

            await Task.WhenAll(puts).ContinueWith(_ => { }, TaskScheduler.Default);
            Assert.DoesNotContain(puts, p => p.IsFaulted);
            var done = Enumerable.Range(0, keys.Length).Where(i => puts[i].IsCompletedSuccessfully).ToList();
            var cancelled = Enumerable.Range(0, keys.Length).Where(i => puts[i].IsCanceled).ToList();
            Assert.All(done, i => Assert.Equal($"value-{i}", dict[keys[i]]));
            // Puts after the cancel never went; of those before it, the ones still waiting never went either (those
            // already in a batch on its way may have gone in: they end cancelled, written or not).
            Assert.All(cancelled.Where(i => i > keys.Length / 2), i => Assert.False(dict.ContainsKey(keys[i])));
            waitedAndNeverWent = cancelled.Any(i => i <= keys.Length / 2 && !dict.ContainsKey(keys[i]));
        }

        Assert.True(waitedAndNeverWent, "in 8 runs no put was still waiting in the lane when the cancel came");

        // The lane is not left waiting on anything: more puts go and end.
        var more = onOne.Take(100).Select((k, i) => dict.SetAsync(k, $"again-{i}")).ToArray();
        await Task.WhenAll(more).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(Enumerable.Range(0, 100), i => Assert.Equal($"again-{i}", dict[onOne[i]]));
    }

    [Fact]
    public void Checkpoints_PersistedAndRestoredInANewRun_ReadExactlyThatCheckpoint()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"dragon-dict-{Guid.NewGuid():N}");
        try
        {
            string shmPrefix;
            using (var runtime = LocalRuntime.Start(nodes: 2))
            {
                shmPrefix = RuntimeEnvironment.ShmPrefix(SystemInfo.RunId);
                using var dict = new DragonDictionary<string, int>(new() { PersistDirectory = directory, WorkingSetSize = 3 });
                for (var checkpoint = 0; checkpoint < 3; checkpoint++)
                {
                    Assert.Equal(checkpoint, dict.CheckpointId);
                    for (var i = 0; i < 500; i++)
                    {
                        // Every key changes each checkpoint; some appear only from checkpoint 1, some go at 2.
                        if (i % 10 == 0 && checkpoint == 0)
                        {
                            continue;
                        }

                        if (i % 7 == 0 && checkpoint == 2)
                        {
                            dict.Remove($"k{i}");
                            continue;
                        }

                        dict[$"k{i}"] = (checkpoint * 1000) + i;
                    }

                    Assert.Equal(checkpoint switch { 0 => 450, 1 => 500, _ => 500 - 72 }, dict.Count);
                    Assert.True(dict.Persist() > 0);
                    dict.Checkpoint();
                }

                // Reads of an older checkpoint see that checkpoint's values.
                dict.Rollback();
                dict.Rollback();
                Assert.Equal(1, dict.CheckpointId);
                Assert.Equal(1003, dict["k3"]);
                Assert.Equal(1007, dict["k7"]);
                Assert.Equal(500, dict.Count);
                Assert.Equal([0L, 1L, 2L], DragonDictionary<string, int>.PersistedCheckpoints(directory, 2));
            }

            Assert.Empty(Directory.GetFiles("/dev/shm", $"{shmPrefix}*"));
            using (var runtime = LocalRuntime.Start(nodes: 2))
            {
                using var restored = new DragonDictionary<string, int>(new() { RestoreFrom = directory, RestoreCheckpoint = 1 });
                Assert.Equal(1, restored.CheckpointId);
                Assert.Equal(500, restored.Count);
                Assert.All(Enumerable.Range(0, 500), i => Assert.Equal(1000 + i, restored[$"k{i}"]));
                using var newest = new DragonDictionary<string, int>(new() { RestoreFrom = directory });
                Assert.Equal(2, newest.CheckpointId);
                Assert.Equal(500 - 72, newest.Count);
                Assert.False(newest.ContainsKey("k7"));

                // A missing checkpoint and a damaged file are named.
                var missing = Assert.Throws<DictionaryCheckpointException>(() => new DragonDictionary<string, int>(new() { RestoreFrom = directory, RestoreCheckpoint = 9 }));
                Assert.Contains("no checkpoint 9 for manager", missing.Message, StringComparison.Ordinal);
                var file = Path.Combine(directory, "manager-1", "checkpoint-2.ddc");
                var bytes = File.ReadAllBytes(file);
                bytes[bytes.Length / 2] ^= 0x5a;
                File.WriteAllBytes(file, bytes);
                var damaged = Assert.Throws<InvalidDataException>(() => new DragonDictionary<string, int>(new() { RestoreFrom = directory, RestoreCheckpoint = 2 }));
                Assert.Contains($"checkpoint file '{file}' is damaged at byte", damaged.Message, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Dispose_LastReference_RemovesTheShardFiles()
    {
        using var runtime = LocalRuntime.Start(nodes: 2);
        var prefix = RuntimeEnvironment.ShmPrefix(SystemInfo.RunId);
        var dict = new DragonDictionary<string, string>(new() { Name = "named", ManagersPerNode = 2 });
        Assert.Equal(2, Directory.GetFiles("/dev/shm", $"{prefix}-n0-dd*").Length);
        Assert.Equal(2, Directory.GetFiles("/dev/shm", $"{prefix}-n1-dd*").Length);
        using (var attached = DragonDictionary<string, string>.Attach("named"))
        {
            attached["a"] = "b";
            dict.Dispose();
            Assert.Equal("b", attached["a"]);
        }

        Assert.Empty(Directory.GetFiles("/dev/shm", $"{prefix}-*dd*"));
        Assert.Throws<ObjectNotFoundException>(() => DragonDictionary<string, string>.Attach("named"));
    }
}
