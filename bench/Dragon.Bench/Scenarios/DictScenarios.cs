using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Dragon.Channels;
using Dragon.Dictionary.Internal;

namespace Dragon.Bench.Scenarios;

/// <summary>
/// The dictionary benchmark's side of ours (gups-style, the shape of Dragon's DDict benchmark): CLIENTS processes
/// spread over the run's nodes, each with its own keys of 128 bytes and values of VALUE bytes, about BYTES per client;
/// phases put (one key at a time), mput (batches, two on their way, as the peers' MSETs), get (in a shuffled order),
/// fget (the same, dictionary frozen), get1 (one <c>TryGetValue</c> at a time, 4,096 keys a client, as the peers'
/// get1) and mget (every key through <c>GetManyAsync</c> into the client's arrays, batches of 64 keys a manager, four
/// in flight; not in the default set); bget (get into the client's one buffer, <c>TryCopyValueTo</c>) and copy (the floor of any read: the same
/// blocks in the same order copied within the client's own memory) go over the keys enough times to move 256 MiB a
/// client.
/// Before the first read phase, an untimed read pass (warm-get), as the peers' clients take one.
/// Each phase starts when every client is ready and ends when the last one is done; the head prints
/// <c>BENCH ddict system=dragon nodes=K clients=N value=V op=OP ops=TOTAL seconds=S</c>, the line the peers print too.
/// Keys on this node's manager are read one call at a time; keys on another node's manager go as the peers' do,
/// pipelined: puts 64 in flight per client, gets 64 to a request with up to 4 requests in flight. Untimed first: each client runs every operation on keys of its own (so the phases
/// time compiled code), then puts all its keys once and the dictionary is cleared, so the phases use memory already
/// touched, as a server that has run before does (a peer keeps its memory across FLUSHALL). On this VM a first touch
/// of a page costs several microseconds, more than a put.
/// </summary>
public static class DictScenarios
{
    private const int KeyBytes = 128;

    // get1 reads this many keys a client one call at a time, as the peers' get1 does.
    private const int OneByOneKeys = 4_096;

    // bget and copy move at least this much a client (passes over its keys), so that a phase of large values lasts
    // long enough to time: 64 reads of 1 MB take a few milliseconds, about what the barriers cost.
    private const long CopyBytesPerClient = 256L << 20;

    /// <summary>How many times bget and copy go over a client's keys.</summary>
    private static int Passes(int keys, int value) => (int)Math.Max(1, CopyBytesPerClient / ((long)keys * value));

    public static int Run(string[] args)
    {
        var clients = Option(args, "--clients", 4);
        var value = Option(args, "--value", 1024);
        var bytes = Option(args, "--bytes-per-client", 32 << 20);
        var batch = Option(args, "--batch", 64);
        var ops = KvPeerClient.Phases(OptionText(args, "--ops", "put,mput,get,fget").Split(',', StringSplitOptions.RemoveEmptyEntries)).ToArray();
        var keys = Math.Max(64, bytes / value);
        var nodes = SystemInfo.Nodes.Count;

        // Room for every version a phase holds at once (an overwrite allocates before it frees), in size classes.
        var perManager = ((long)clients * keys * (value + KeyBytes + 64) * 3 / 2 / nodes) + (16L << 20);
        using var dict = new DragonDictionary<string, byte[]>(new() { MemoryPerManager = perManager, MaxKeysPerManager = ((long)clients * keys / nodes * 2) + 1024 });
        // Each client's start and end of each phase (Stopwatch ticks: CLOCK_MONOTONIC, one clock for the processes of
        // this machine), in a dictionary of their own that is never frozen.
        using var spans = new DragonDictionary<string, byte[]>(new() { MemoryPerManager = 4 << 20 });
        using var ready = new DragonBarrier(clients + 1);
        using var done = new DragonBarrier(clients + 1);
        var workers = Enumerable.Range(0, clients)
            .Select(c => DragonProcess.Start(ProcessTemplate.FromMethod(Client, dict, spans, ready, done, c, keys, value, batch, string.Join(',', ops))
                with { Policy = Policy.OnNode(c % nodes) }))
            .ToArray();
        // A client that fails ends the benchmark at once (its barrier would otherwise keep the others waiting).
        using var failed = new CancellationTokenSource();
        foreach (var worker in workers)
        {
            _ = worker.JoinAsync().ContinueWith(
                t =>
                {
                    if (!t.IsCompletedSuccessfully || t.Result != 0)
                    {
                        failed.Cancel();
                    }
                },
                TaskScheduler.Default);
        }

        try
        {
            ready.Wait(TimeSpan.FromMinutes(5), failed.Token);
            done.Wait(TimeSpan.FromMinutes(5), failed.Token);
            dict.Clear();
            for (var phase = 0; phase < ops.Length; phase++)
            {
                var op = ops[phase];
                if (op == "fget")
                {
                    dict.Freeze();
                }

                ready.Wait(TimeSpan.FromMinutes(5), failed.Token);
                done.Wait(TimeSpan.FromMinutes(5), failed.Token);
                // From the first client's start to the last one's end, as each measured it: the head's own clock would
                // start late whenever the head ran after the clients the barrier let go (a phase of a few milliseconds
                // then showed several times the machine's memory bandwidth).
                var measured = spans.GetMany(Enumerable.Range(0, clients).Select(c => SpanKey(c, phase)));
                if (measured.Count != clients)
                {
                    Console.Error.WriteLine($"FAIL {clients - measured.Count} clients left no span for {op}");
                    return 1;
                }

                var first = measured.Values.Min(v => BitConverter.ToInt64(v, 0));
                var last = measured.Values.Max(v => BitConverter.ToInt64(v, 8));
                var seconds = (last - first) / (double)Stopwatch.Frequency;
                if (op == KvPeerClient.WarmRead)
                {
                    continue;
                }

                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"BENCH ddict system=dragon nodes={nodes} clients={clients} value={value} op={op} ops={(op == "get1" ? (long)clients * Math.Min(OneByOneKeys, keys) : (long)clients * keys * (op is "bget" or "copy" ? Passes(keys, value) : 1))} seconds={seconds:F4}"));
                if (op == "fget")
                {
                    dict.Unfreeze();
                }
            }
        }
        catch (OperationCanceledException)
        {
            foreach (var worker in workers)
            {
                try
                {
                    worker.Kill();
                }
                catch (DragonException)
                {
                    // Already gone.
                }
            }

            Console.Error.WriteLine("FAIL a client failed (its error is above)");
            return 1;
        }

        foreach (var worker in workers)
        {
            if (worker.Join(TimeSpan.FromMinutes(1)) != 0)
            {
                Console.Error.WriteLine($"FAIL client {worker} ended with {worker.GetStatus().ExitReason}");
                return 1;
            }
        }

        return 0;
    }

    /// <summary>One client: its keys, a value, and the phases in order, each between the two barriers.</summary>
    private static string SpanKey(int client, int phase) => $"span-{client}-{phase}";

    public static int Client(DragonDictionary<string, byte[]> dict, DragonDictionary<string, byte[]> spans, DragonBarrier ready, DragonBarrier done, int client, int keys, int value, int batch, string ops)
    {
        var names = Enumerable.Range(0, keys).Select(i => KeyOf(client, i)).ToArray();
        var data = new byte[value];
        Random.Shared.NextBytes(data);
        var order = Enumerable.Range(0, keys).ToArray();
        new Random(client).Shuffle(order);
        var local = dict.LocalManagers.ToHashSet();
        var isLocal = names.Select(n => local.Contains(dict.ManagerOf(n))).ToArray();
        var warm = Enumerable.Range(0, Math.Clamp(keys / 4, 16, 2000)).Select(i => KeyOf(client, i) + "w").ToArray();
        var warmLocal = warm.Select(n => local.Contains(dict.ManagerOf(n))).ToArray();
        var warmOrder = Enumerable.Range(0, warm.Length).ToArray();
        Put(dict, warm, warmLocal, data);
        dict.SetMany(warm.Take(batch).Select(n => KeyValuePair.Create(n, data)));
        Get(dict, warm, warmOrder, warmLocal, value, batch);
        GetBatched(dict, warm, warmOrder, value, batch);
        foreach (var name in warm)
        {
            dict.Remove(name);
        }

        // Then, as the peers' clients warm up (KvPeerClient.WarmUp): every operation's code path fifty times over a
        // few small keys of its own, those removed, and a pause for the JIT's background recompilation, so the timed
        // phases see optimised code, as a long-running client would, not the first tiers.
        // lookup is the floor of a one-call get: the same work in this process's own memory, no dictionary.
        var lookup = ops.Split(',').Contains("lookup") ? new LookupFloor(names, data) : null;
        var few = Enumerable.Range(0, 32).Select(i => KeyOf(client, i) + "s").ToArray();
        var fewLocal = few.Select(n => local.Contains(dict.ManagerOf(n))).ToArray();
        var fewOrder = Enumerable.Range(0, few.Length).ToArray();
        var small = new byte[Math.Min(value, 1024)];
        var into = new ArrayBufferWriter<byte>(small.Length);
        for (var round = 0; round < 50; round++)
        {
            Put(dict, few, fewLocal, small);
            dict.SetManyAsync(few.Select(n => KeyValuePair.Create(n, small))).GetAwaiter().GetResult();
            Get(dict, few, fewOrder, fewLocal, small.Length, batch);
            Get(dict, few, fewOrder, fewLocal, small.Length, batch, into);
            GetBatched(dict, few, fewOrder, small.Length, batch);
            foreach (var name in few.AsSpan(0, 4))
            {
                _ = dict.TryGetValue(name, out _);
            }

            lookup?.ReadAll(names, fewOrder, value);
        }

        foreach (var name in few)
        {
            dict.Remove(name);
        }

        Thread.Sleep(500);

        // bget reads into this one buffer; copy is the floor of any read: the same bytes, blocks of the value's size
        // in the same order, copied from this process's own memory into the buffer, with no dictionary at all.
        var buffer = new ArrayBufferWriter<byte>(value);
        var source = ops.Split(',').Contains("copy") ? new byte[(long)keys * value] : null;
        if (source is not null)
        {
            Random.Shared.NextBytes(source);
            Copy(source, order, buffer, value);
        }

        ready.Wait(TimeSpan.FromMinutes(5));
        Put(dict, names, isLocal, data);
        done.Wait(TimeSpan.FromMinutes(5));
        // Every client's puts are in: one more operation on each of this node's managers maps in (and touches) what
        // the other clients backed after this one's last operation, as a client that has run a while has
        // (DictShard.Enter); otherwise the first timed phase pays this process's first access to their pages.
        foreach (var manager in local)
        {
            if (Array.FindIndex(names, n => dict.ManagerOf(n) == manager) is var first and >= 0)
            {
                _ = dict.ContainsKey(names[first]);
            }
        }

        var phases = ops.Split(',');
        for (var phase = 0; phase < phases.Length; phase++)
        {
            var op = phases[phase];
            ready.Wait(TimeSpan.FromMinutes(5));
            var started = Stopwatch.GetTimestamp();
            var trace = PhaseTrace.Start();
            switch (op)
            {
                case "put":
                    Put(dict, names, isLocal, data);
                    break;
                case "mput":
                    // Two batches on their way at most, as the peers keep their MSETs.
                    Task? previous = null;
                    foreach (var chunk in names.Chunk(batch))
                    {
                        var next = dict.SetManyAsync(chunk.Select(n => KeyValuePair.Create(n, data)));
                        previous?.GetAwaiter().GetResult();
                        previous = next;
                    }

                    previous?.GetAwaiter().GetResult();
                    break;
                case "get" or "fget":
                    Get(dict, names, order, isLocal, value, batch);
                    break;
                case KvPeerClient.WarmRead:
                    KvPeerClient.UntilJitQuiet(() =>
                    {
                        Get(dict, names, order, isLocal, value, batch);
                        return keys;
                    });
                    break;
                case "mget":
                    GetBatched(dict, names, order, value, batch);
                    break;
                case "get1":
                    foreach (var i in order.AsSpan(0, Math.Min(OneByOneKeys, keys)))
                    {
                        if (!dict.TryGetValue(names[i], out var read) || read.Length != value)
                        {
                            throw new InvalidOperationException($"key {names[i]} read wrong");
                        }
                    }

                    break;
                case "bget":
                    for (var pass = 0; pass < Passes(keys, value); pass++)
                    {
                        Get(dict, names, order, isLocal, value, batch, into: buffer);
                    }

                    break;
                case "copy":
                    for (var pass = 0; pass < Passes(keys, value); pass++)
                    {
                        Copy(source!, order, buffer, value);
                    }

                    break;
                case "lookup":
                    lookup!.ReadAll(names, order, value);
                    break;
            }

            var ended = Stopwatch.GetTimestamp();
            trace?.Print(client, op);
            var span = new byte[16];
            BitConverter.TryWriteBytes(span, started);
            BitConverter.TryWriteBytes(span.AsSpan(8), ended);
            spans[SpanKey(client, phase)] = span;
            done.Wait(TimeSpan.FromMinutes(5));
        }

        return 0;
    }

    /// <summary>
    /// With <c>DDICT_TRACE=1</c>, what a client's phase cost it beyond its own work, on stderr: its time, the garbage
    /// collections and their pauses, the page faults and the bytes it allocated. This is how the first read pass was
    /// found to pay for promoting the client's own setup (a gen1 collection) and a 1 MB get for a large-object
    /// allocation (a gen2 collection every few reads).
    /// </summary>
    private sealed class PhaseTrace
    {
        private readonly long _start = Stopwatch.GetTimestamp();
        private readonly int[] _collections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        private readonly TimeSpan _paused = GC.GetTotalPauseDuration();
        private readonly long _faults = MinorFaults();
        private readonly long _allocated = GC.GetTotalAllocatedBytes();
        private readonly long _jitted = System.Runtime.JitInfo.GetCompiledMethodCount();
        private readonly TimeSpan _jitTime = System.Runtime.JitInfo.GetCompilationTime();

        public static PhaseTrace? Start() => Environment.GetEnvironmentVariable("DDICT_TRACE") == "1" ? new PhaseTrace() : null;

        public void Print(int client, string op) => Console.Error.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"TRACE client={client} op={op} ms={Stopwatch.GetElapsedTime(_start).TotalMilliseconds:F1} gen0={GC.CollectionCount(0) - _collections[0]} " +
            $"gen1={GC.CollectionCount(1) - _collections[1]} gen2={GC.CollectionCount(2) - _collections[2]} " +
            $"pause_ms={(GC.GetTotalPauseDuration() - _paused).TotalMilliseconds:F1} minor_faults={MinorFaults() - _faults} " +
            $"allocated_mb={(GC.GetTotalAllocatedBytes() - _allocated) >> 20} jitted={System.Runtime.JitInfo.GetCompiledMethodCount() - _jitted} " +
            $"jit_ms={(System.Runtime.JitInfo.GetCompilationTime() - _jitTime).TotalMilliseconds:F1} {LastCollection()}"));

        // What the last collection of each kind found: the objects pinned, the bytes promoted, the heap after it.
        private static string LastCollection() => string.Join(' ', new[] { GCKind.Ephemeral, GCKind.FullBlocking, GCKind.Background }.Select(kind =>
        {
            var info = GC.GetGCMemoryInfo(kind);
            return string.Create(CultureInfo.InvariantCulture, $"{kind}:pinned={info.PinnedObjectsCount},promoted_kb={info.PromotedBytes >> 10},heap_mb={info.HeapSizeBytes >> 20}");
        }));

        // Field 10 of /proc/self/stat (minflt), counted after the command's closing parenthesis.
        private static long MinorFaults() =>
            long.Parse(File.ReadAllText("/proc/self/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[7], CultureInfo.InvariantCulture);
    }

    private static void Put(DragonDictionary<string, byte[]> dict, string[] names, bool[] isLocal, byte[] data)
    {
        var inFlight = new Queue<Task>();
        for (var i = 0; i < names.Length; i++)
        {
            if (isLocal[i])
            {
                dict[names[i]] = data;
                continue;
            }

            inFlight.Enqueue(dict.SetAsync(names[i], data));
            if (inFlight.Count == 64)
            {
                inFlight.Dequeue().GetAwaiter().GetResult();
            }
        }

        Task.WaitAll(inFlight);
    }

    private static void Copy(byte[] source, int[] order, ArrayBufferWriter<byte> buffer, int value)
    {
        foreach (var i in order)
        {
            buffer.ResetWrittenCount();
            source.AsSpan((int)((long)i * value), value).CopyTo(buffer.GetSpan(value));
            buffer.Advance(value);
        }
    }

    private static void Get(DragonDictionary<string, byte[]> dict, string[] names, int[] order, bool[] isLocal, int value, int batch, ArrayBufferWriter<byte>? into = null)
    {
        // Remote keys are read in batches of about a mebibyte (at most the batch size), up to four on their way: about
        // 4 MiB of values unanswered, the peers' window (KvPeerClient.Window). With half of that a batch and a
        // mebibyte on their way, 64 KB reads between two nodes ran at a median 13,800/s against 16,700/s (30 phases
        // each, alternated), the client waiting on one round trip per mebibyte. Values of a mebibyte went one at a
        // time until the clients' JIT was quiet before the timed reads (KvPeerClient.UntilJitQuiet): with it, four on
        // their way read at a median 1,975/s against 1,748/s for one (18 phases each, alternated); before it, the
        // compiles hid any difference.
        batch = Math.Clamp((1 << 20) / value, 1, batch);
        var depth = Math.Clamp((4 << 20) / (batch * value), 1, 4);
        var inFlight = new Queue<(int Count, Task<Dictionary<string, byte[]>> Read)>();
        var remote = new List<string>(batch);
        foreach (var i in order)
        {
            if (isLocal[i] && into is not null)
            {
                into.ResetWrittenCount();
                if (!dict.TryCopyValueTo(names[i], into) || into.WrittenCount != value)
                {
                    throw new InvalidOperationException($"key {names[i]} read wrong");
                }

                continue;
            }

            if (isLocal[i])
            {
                if (!dict.TryGetValue(names[i], out var read) || read.Length != value)
                {
                    throw new InvalidOperationException($"key {names[i]} read wrong");
                }

                continue;
            }

            remote.Add(names[i]);
            if (remote.Count == batch)
            {
                inFlight.Enqueue((remote.Count, dict.GetManyAsync(remote)));
                remote = new List<string>(batch);
                if (inFlight.Count == depth)
                {
                    Expect(inFlight.Dequeue(), value);
                }
            }
        }

        if (remote.Count > 0)
        {
            inFlight.Enqueue((remote.Count, dict.GetManyAsync(remote)));
        }

        while (inFlight.Count > 0)
        {
            Expect(inFlight.Dequeue(), value);
        }
    }

    /// <summary>
    /// Every key read through <c>GetManyAsync</c> into the client's arrays, four batches on their way (each its own
    /// arrays, reused), as the peers keep their gets pipelined. A batch holds the batch size times the managers (one a node), so that
    /// each manager's part of it is about the batch size (the request to another node's manager as large as the
    /// peers' pipeline is deep), and at most about a mebibyte of values a manager: a batch's values are all alive
    /// until its last is in, so a batch of 64 values of 1 MB would be 64 MB of young objects for the collector to move
    /// (a client's 1 MB reads took twice as long with 64 on their way as with 2-4).
    /// </summary>
    private static void GetBatched(DragonDictionary<string, byte[]> dict, string[] names, int[] order, int value, int batch)
    {
        batch = Math.Clamp((1 << 20) / value, 1, batch) * dict.ManagerCount;
        const int depth = 4;
        var keys = new string[depth][];
        var values = new byte[depth][][];
        var found = new bool[depth][];
        for (var d = 0; d < depth; d++)
        {
            (keys[d], values[d], found[d]) = (new string[batch], new byte[batch][], new bool[batch]);
        }

        var inFlight = new Queue<(int Slot, int Count, Task<int> Read)>();
        var next = 0;
        for (var at = 0; at < order.Length; at += batch)
        {
            if (inFlight.Count == depth)
            {
                ExpectBatch(inFlight.Dequeue(), values, value);
            }

            var count = Math.Min(batch, order.Length - at);
            var slot = next++ % depth;
            for (var k = 0; k < count; k++)
            {
                keys[slot][k] = names[order[at + k]];
            }

            inFlight.Enqueue((slot, count, dict.GetManyAsync(keys[slot].AsMemory(0, count), values[slot], found[slot])));
        }

        while (inFlight.Count > 0)
        {
            ExpectBatch(inFlight.Dequeue(), values, value);
        }
    }

    private static void ExpectBatch((int Slot, int Count, Task<int> Read) batch, byte[][][] values, int value)
    {
        if (batch.Read.GetAwaiter().GetResult() != batch.Count || values[batch.Slot].Take(batch.Count).Any(v => v.Length != value))
        {
            throw new InvalidOperationException("a batch of keys read wrong");
        }

        // Let the values go, as a reader that has used them would (kept, they would live on into older generations).
        Array.Clear(values[batch.Slot]);
    }

    private static void Expect((int Count, Task<Dictionary<string, byte[]>> Read) batch, int value)
    {
        var read = batch.Read.GetAwaiter().GetResult();
        if (read.Count != batch.Count || read.Values.Any(v => v.Length != value))
        {
            throw new InvalidOperationException("a remote key read wrong");
        }
    }

    /// <summary>A key of 128 bytes (ASCII), distinct per client and index.</summary>
    /// <summary>
    /// The floor of a one-call get, without the dictionary: each read encodes the same key string and hashes it as a
    /// get does (<see cref="MessageCodec"/>, <see cref="DictHash"/>), probes a key table of the same shape (16-byte
    /// slots of a tag and an offset, open addressing, at most three quarters full), compares the key stored in an
    /// entry laid out as a shard's (a 32-byte header, the key, the value, in blocks of the shard's size classes) and
    /// copies the value into a new array. All in this process's own memory: no shared memory, no sequence word, no
    /// checkpoint, no count of users. What a hash table read one call at a time pays for its cache misses here.
    /// </summary>
    private sealed class LookupFloor
    {
        private readonly ulong[] _slots;
        private readonly byte[] _heap;
        private readonly long _mask;
        private readonly ArrayBufferWriter<byte> _key = new(256);

        public LookupFloor(string[] names, byte[] value)
        {
            var slots = DictLayout.SlotsFor(names.Length);
            _slots = GC.AllocateArray<ulong>(checked((int)(slots * 2)), pinned: true);
            _mask = slots - 1;
            var entries = new (byte[] Key, ulong Hash)[names.Length];
            var largest = 0;
            for (var i = 0; i < names.Length; i++)
            {
                var key = Encoded(names[i]).ToArray();
                entries[i] = (key, DictHash.Of(key));
                largest = Math.Max(largest, key.Length);
            }

            var block = (int)DictLayout.ClassSize(DictLayout.ClassOf(DictLayout.EntryBytes + largest + value.Length));
            // On the pinned heap, as a shard's file is outside the collector's: never copied by a collection (with the
            // benchmark's large-object threshold a plain array of tens of megabytes would start in the young
            // generation and be moved as it is promoted, inside the timed phase).
            _heap = GC.AllocateArray<byte>(checked(block * names.Length), pinned: true);
            for (var i = 0; i < names.Length; i++)
            {
                var at = (long)block * i;
                var (key, hash) = entries[i];
                BinaryPrimitives.WriteInt32LittleEndian(_heap.AsSpan((int)at + 16), key.Length);
                BinaryPrimitives.WriteInt32LittleEndian(_heap.AsSpan((int)at + 20), value.Length);
                key.CopyTo(_heap.AsSpan((int)at + DictLayout.EntryBytes));
                value.CopyTo(_heap.AsSpan((int)at + DictLayout.EntryBytes + key.Length));
                var index = (long)hash & _mask;
                while (_slots[index * 2] != 0)
                {
                    index = (index + 1) & _mask;
                }

                _slots[index * 2] = DictLayout.TagOf(hash);
                _slots[(index * 2) + 1] = (ulong)at;
            }
        }

        public void ReadAll(string[] names, int[] order, int value)
        {
            foreach (var i in order)
            {
                if (Read(names[i]) is not { } read || read.Length != value)
                {
                    throw new InvalidOperationException($"key {names[i]} read wrong in the lookup floor");
                }
            }
        }

        private byte[]? Read(string name)
        {
            var key = Encoded(name);
            var hash = DictHash.Of(key);
            var tag = DictLayout.TagOf(hash);
            for (var index = (long)hash & _mask; ; index = (index + 1) & _mask)
            {
                var seen = _slots[index * 2];
                if (seen == 0)
                {
                    return null;
                }

                if (seen != tag)
                {
                    continue;
                }

                var at = (int)_slots[(index * 2) + 1];
                var keyLength = BinaryPrimitives.ReadInt32LittleEndian(_heap.AsSpan(at + 16));
                if (keyLength == key.Length && _heap.AsSpan(at + DictLayout.EntryBytes, keyLength).SequenceEqual(key))
                {
                    var valueLength = BinaryPrimitives.ReadInt32LittleEndian(_heap.AsSpan(at + 20));
                    return _heap.AsSpan(at + DictLayout.EntryBytes + keyLength, valueLength).ToArray();
                }
            }
        }

        private ReadOnlySpan<byte> Encoded(string name)
        {
            _key.ResetWrittenCount();
            MessageCodec.Encode(name, _key);
            return _key.WrittenSpan;
        }
    }

    private static string KeyOf(int client, int i) => $"c{client:D3}-k{i:D9}-".PadRight(KeyBytes - 1, 'x');

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static string OptionText(string[] args, string name, string fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
    }
}
