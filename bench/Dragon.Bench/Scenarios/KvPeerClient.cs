using System.Diagnostics;
using System.Net;
using StackExchange.Redis;

namespace Dragon.Bench.Scenarios;

/// <summary>
/// One client process of the peers' dictionary benchmark: a connection of its own to the Redis or Garnet server,
/// its own keys. It speaks to its parent (<see cref="KvPeerScenarios"/>) over stdin/stdout: it prints
/// <c>ready</c> once connected and prepared, then for each operation waits for <c>go</c> and prints <c>done OPS START END</c> (its own span, Stopwatch ticks).
/// The end of stdin (the parent gone) ends it.
/// </summary>
internal static class KvPeerClient
{
    /// <summary>Untimed: reads of the put keys before the first timed read, until the JIT is quiet (<see cref="UntilJitQuiet"/>).</summary>
    public const string WarmRead = "warm-get";

    // A warm pass is repeated until QuietPasses passes in a row, each with this pause after it, compiled at most
    // QuietMethods methods each, at most MaxWarmPasses times.
    private const int QuietPauseMs = 250;
    private const int QuietMethods = 2;
    private const int QuietPasses = 2;
    private const int MaxWarmPasses = 20;

    /// <summary>Bytes of values unanswered at once a client, whatever INFLIGHT says: see <see cref="Window"/>.</summary>
    private const int InflightBytes = 4 << 20;

    /// <summary>Unpipelined gets are slow: a sample of the keys is enough for their rate.</summary>
    private const int UnpipelinedKeys = 4_096;

    public static int Run(DictBenchArgs args)
    {
        using var connection = Connect(args.Port);
        var db = connection.GetDatabase();
        var value = new byte[args.Value];
        new Random(args.Client).NextBytes(value);
        var putKeys = Keys("p", args);
        var mputKeys = args.Ops.Contains("mput") ? Keys("m", args) : putKeys;
        var setsKeys = args.Ops.Contains("mput-sets") ? Keys("s", args) : putKeys;
        var random = new Random(1_000 + args.Client);
        WarmUp(db, args);
        Console.WriteLine("ready");
        foreach (var op in Phases(args))
        {
            // Shuffled before the go, so that the reads' order costs nothing inside the measure.
            var keys = op switch
            {
                "put" => putKeys,
                "mput" => mputKeys,
                "mput-sets" => setsKeys,
                "fget" => Shuffled(mputKeys, mputKeys.Length, random),
                "get1" => Shuffled(putKeys, Math.Min(UnpipelinedKeys, putKeys.Length), random),
                _ => Shuffled(putKeys, putKeys.Length, random),
            };
            if (Console.ReadLine() != "go")
            {
                return 1;
            }

            var started = Stopwatch.GetTimestamp();
            var ops = op switch
            {
                "put" => Put(db, keys, value, Window(args)),
                "mput" => PutBatches(db, keys, value, args.Batch),
                "mput-sets" => PutPipelinedBatches(db, keys, value, args.Batch),
                "get1" => GetOneByOne(db, keys, args.Value),
                WarmRead => UntilJitQuiet(() => Get(db, keys, args.Value, Window(args))),
                _ => Get(db, keys, args.Value, Window(args)),
            };
            // The span as this client measured it (Stopwatch ticks, one clock for the machine), as ours report theirs.
            Console.WriteLine($"done {ops} {started} {Stopwatch.GetTimestamp()}");
        }

        return 0;
    }

    /// <summary>
    /// Calls unanswered at once: INFLIGHT, but at most 4 MiB of values (at least 2 calls). With 64 values of 1 MB in
    /// flight a client (256 MB in all), pipelined gets ran no faster than one call at a time, on both servers.
    /// </summary>
    private static int Window(DictBenchArgs args) => Math.Min(args.Inflight, Math.Max(2, InflightBytes / args.Value));

    /// <summary>
    /// Runs an untimed pass of reads over the real keys again and again until the JIT is quiet: until
    /// <see cref="QuietPasses"/> passes in a row, each with a pause after it for the background compiler, compiled at
    /// most <see cref="QuietMethods"/> methods each (at most <see cref="MaxWarmPasses"/> passes). One pass was not enough: a method is promoted to optimised code after 30
    /// calls, the promotion waits until no new method was compiled for 100 ms, and it goes through an instrumented
    /// tier first. Code called once a batch (the path of a large reply) took several passes to get there, so 64 KB
    /// reads between two nodes compiled 20-90 methods a client in each timed phase, 20-210 ms of compiling in
    /// phases of 30-170 ms on two cores. One quiet pass was not enough for 1 MB values either (16 reads of the other
    /// node a pass): clients then compiled 450-720 methods in 5-8 passes and still up to 22 in a timed phase. Both
    /// sides' clients are .NET processes and both warm this way (ours in
    /// DictScenarios). Returns what the last pass returned.
    /// </summary>
    public static long UntilJitQuiet(Func<long> pass)
    {
        var quiet = 0;
        for (var passes = 1; ; passes++)
        {
            var before = System.Runtime.JitInfo.GetCompiledMethodCount();
            var result = pass();
            Thread.Sleep(QuietPauseMs);
            quiet = System.Runtime.JitInfo.GetCompiledMethodCount() - before <= QuietMethods ? quiet + 1 : 0;
            if (quiet == QuietPasses || passes == MaxWarmPasses)
            {
                if (Environment.GetEnvironmentVariable("DDICT_TRACE") == "1")
                {
                    Console.Error.WriteLine($"TRACE warm passes={passes}");
                }

                return result;
            }
        }
    }

    /// <summary>
    /// The operations in order, with <see cref="WarmRead"/> before the first read: a client's first pass of reads
    /// (fresh heap for the values, the server's reply buffers) ran up to twice as slow as the same pass again.
    /// </summary>
    public static IEnumerable<string> Phases(DictBenchArgs args) => Phases(args.Ops);

    /// <summary>The same for a list of operations: our side of the benchmark (DictScenarios) takes the same pass.</summary>
    public static IEnumerable<string> Phases(IEnumerable<string> ops)
    {
        var warmed = false;
        foreach (var op in ops)
        {
            if (!warmed && op is "get" or "fget" or "get1" or "mget")
            {
                warmed = true;
                yield return WarmRead;
            }

            yield return op;
        }
    }

    /// <summary>
    /// Every operation's code path fifty times over a few small keys of their own, then those deleted, then a pause
    /// for the JIT's background recompilation: the measure sees optimised code (tier 1), as a long-running client
    /// would, not the first tier (a method is promoted after 30 calls).
    /// </summary>
    private static void WarmUp(IDatabase db, DictBenchArgs args)
    {
        var keys = Keys("w", args, 32);
        var value = new byte[Math.Min(args.Value, 1_024)];
        for (var round = 0; round < 50; round++)
        {
            Put(db, keys, value, args.Inflight);
            PutBatches(db, keys, value, args.Batch);
            PutPipelinedBatches(db, keys, value, args.Batch);
            Get(db, keys, value.Length, args.Inflight);
            GetOneByOne(db, keys[..4], value.Length);
        }

        db.KeyDelete(keys);
        Thread.Sleep(500);
    }

    public static ConnectionMultiplexer Connect(int port)
    {
        var options = new ConfigurationOptions
        {
            EndPoints = { new IPEndPoint(IPAddress.Loopback, port) },
            AllowAdmin = true,
            // A pipeline of 1 MB values is tens of megabytes in flight: the default 5 s would cut it off on a busy machine.
            SyncTimeout = 120_000,
            AsyncTimeout = 120_000,
            ConnectTimeout = 30_000,
        };
        return ConnectionMultiplexer.Connect(options);
    }

    private static RedisKey[] Keys(string set, DictBenchArgs args, int? count = null)
    {
        var keys = new RedisKey[count ?? args.Keys];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = DictBenchArgs.Key(set, args.Client, i);
        }

        return keys;
    }

    private static RedisKey[] Shuffled(RedisKey[] keys, int count, Random random)
    {
        var copy = (RedisKey[])keys.Clone();
        random.Shuffle(copy);
        return copy[..count];
    }

    /// <summary>SETs, pipelined: at most INFLIGHT unanswered at once.</summary>
    private static long Put(IDatabase db, RedisKey[] keys, byte[] value, int inflight) =>
        Pipelined(db, keys, inflight, (batch, key) => batch.StringSetAsync(key, value), ok => ok ? 0 : throw Refused("a SET"));

    /// <summary>GETs, pipelined: at most INFLIGHT unanswered at once; every value's length is checked.</summary>
    private static long Get(IDatabase db, RedisKey[] keys, int valueBytes, int inflight) =>
        Pipelined(db, keys, inflight, (batch, key) => batch.StringGetAsync(key), got => Check(got, valueBytes));

    /// <summary>MSETs of BATCH keys, two in flight, so that one batch is on the wire while the next is sent.</summary>
    private static long PutBatches(IDatabase db, RedisKey[] keys, byte[] value, int batch)
    {
        var window = new Task<bool>[2];
        var sent = 0;
        for (var start = 0; start < keys.Length; start += batch)
        {
            var pairs = new KeyValuePair<RedisKey, RedisValue>[Math.Min(batch, keys.Length - start)];
            for (var j = 0; j < pairs.Length; j++)
            {
                pairs[j] = new(keys[start + j], value);
            }

            ref var slot = ref window[sent++ % window.Length];
            if (slot is not null && !slot.GetAwaiter().GetResult())
            {
                throw Refused("an MSET");
            }

            slot = db.StringSetAsync(pairs);
        }

        foreach (var task in window)
        {
            if (task is not null && !task.GetAwaiter().GetResult())
            {
                throw Refused("an MSET");
            }
        }

        return keys.Length;
    }

    /// <summary>
    /// The other batched put: BATCH SETs written as one pipeline, two batches in flight (Garnet takes an MSET of
    /// megabytes far slower than the same SETs pipelined).
    /// </summary>
    private static long PutPipelinedBatches(IDatabase db, RedisKey[] keys, byte[] value, int batch) =>
        Put(db, keys, value, 2 * batch);

    /// <summary>
    /// Calls sent in chunks of INFLIGHT/2 as one write each (an <see cref="IBatch"/>: one buffer, one flush), two
    /// chunks unanswered at most: the client's cost per call stays low and the server always has the next chunk.
    /// </summary>
    private static long Pipelined<T>(IDatabase db, RedisKey[] keys, int inflight, Func<IBatch, RedisKey, Task<T>> send, Func<T, int> check)
    {
        var chunk = Math.Max(1, inflight / 2);
        Task<T>[]? previous = null;
        for (var start = 0; start < keys.Length; start += chunk)
        {
            var batch = db.CreateBatch();
            var tasks = new Task<T>[Math.Min(chunk, keys.Length - start)];
            for (var j = 0; j < tasks.Length; j++)
            {
                tasks[j] = send(batch, keys[start + j]);
            }

            batch.Execute();
            Await(previous, check);
            previous = tasks;
        }

        Await(previous, check);
        return keys.Length;
    }

    private static void Await<T>(Task<T>[]? tasks, Func<T, int> check)
    {
        foreach (var task in tasks ?? [])
        {
            check(task.GetAwaiter().GetResult());
        }
    }

    private static InvalidOperationException Refused(string what) => new($"{what} was refused");

    private static long GetOneByOne(IDatabase db, RedisKey[] keys, int valueBytes)
    {
        foreach (var key in keys)
        {
            Check(db.StringGet(key), valueBytes);
        }

        return keys.Length;
    }

    private static int Check(RedisValue got, int valueBytes) =>
        !got.IsNull && got.Length() == valueBytes
            ? 0
            : throw new InvalidOperationException($"a GET returned {(got.IsNull ? "nothing" : $"{got.Length()} bytes")}, not {valueBytes}");
}
