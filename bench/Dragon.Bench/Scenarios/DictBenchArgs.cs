using System.Globalization;

namespace Dragon.Bench.Scenarios;

/// <summary>
/// The arguments both sides of the dictionary benchmark take (bench/ddict/ddict.py passes the same ones to the
/// peers' <c>kv-peer</c> and to our <c>ddict</c>), and the one line each side prints per operation:
/// <code>
/// --clients N --value BYTES --bytes-per-client B --batch BATCH --ops put,mput,get,fget --nodes NODES
/// BENCH ddict system=redis nodes=1 clients=4 value=1024 op=get ops=262144 seconds=0.81
/// </code>
/// Every client writes its own KEYS = max(64, B / BYTES) distinct 128-byte keys (<see cref="Key"/>). Operations:
/// put (one key a call), mput (batches of BATCH keys), get (the put keys, shuffled), fget (the same read, of the
/// mput keys, on a frozen dictionary); the peers' own: mput-sets (the batch as pipelined SETs rather than one MSET,
/// keys of their own; the table takes the better of the two as the peer's mput) and get1 (get unpipelined, at most
/// 4,096 keys a client).
/// ops is the total over all clients, seconds the wall time from the common start of the operation to the last
/// client's end. The peers' own options: --system redis|garnet --port P --inflight W.
/// </summary>
internal sealed record DictBenchArgs(
    int Clients, int Value, int BytesPerClient, int Batch, IReadOnlyList<string> Ops, int Nodes,
    string System, int Port, int Inflight, int Client)
{
    public static readonly string[] KnownOps = ["put", "mput", "mput-sets", "get", "fget", "get1"];

    public const int KeyBytes = 128;

    /// <summary>Keys a client, the rule both sides use: about BYTES_PER_CLIENT of values, at least 64 keys.</summary>
    public int Keys => Math.Max(64, BytesPerClient / Value);

    /// <summary>Parses <c>--name value</c> pairs; an unknown name, a missing value or a bad number is an error.</summary>
    public static DictBenchArgs Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["clients"] = "4", ["value"] = "1024", ["bytes-per-client"] = "33554432", ["batch"] = "64", ["ops"] = "put,mput,get,fget",
            ["nodes"] = "1", ["system"] = "redis", ["port"] = "6379", ["inflight"] = "64", ["client"] = "-1",
        };
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i].StartsWith("--", StringComparison.Ordinal) ? args[i][2..] : null;
            if (name is null || !values.ContainsKey(name) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"ddict arguments: '{args[i]}' is not one of --{string.Join(" --", values.Keys)} followed by a value");
            }

            values[name] = args[++i];
        }

        var ops = values["ops"].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = ops.FirstOrDefault(op => !KnownOps.Contains(op));
        if (unknown is not null || ops.Length == 0)
        {
            throw new ArgumentException($"ddict arguments: --ops '{values["ops"]}' names '{unknown}', not one of {string.Join(",", KnownOps)}");
        }

        return new DictBenchArgs(
            Positive(values, "clients"), Positive(values, "value"), Positive(values, "bytes-per-client"), Positive(values, "batch"), ops,
            Positive(values, "nodes"), values["system"], Positive(values, "port"), Positive(values, "inflight"),
            int.Parse(values["client"], CultureInfo.InvariantCulture));
    }

    /// <summary>The i-th key of a client for an operation's key set: 128 ASCII bytes, distinct over clients.</summary>
    public static byte[] Key(string set, int client, int index)
    {
        var key = new byte[KeyBytes];
        Array.Fill(key, (byte)'k');
        var head = string.Create(CultureInfo.InvariantCulture, $"ddict:{set}:{client:D5}:{index:D10}:");
        global::System.Text.Encoding.ASCII.GetBytes(head, key);
        return key;
    }

    /// <summary>The result line of one operation, what ddict.py reads.</summary>
    public string Line(string system, int nodes, string op, long ops, double seconds) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Report.Prefix}ddict system={system} nodes={nodes} clients={Clients} value={Value} op={op} ops={ops} seconds={seconds:0.######}");

    /// <summary>The arguments again, for a client process of the peers' benchmark.</summary>
    public IEnumerable<string> ToArgs(int client) =>
    [
        "--clients", Str(Clients), "--value", Str(Value), "--bytes-per-client", Str(BytesPerClient), "--batch", Str(Batch), "--ops", string.Join(",", Ops),
        "--nodes", Str(Nodes), "--system", System, "--port", Str(Port), "--inflight", Str(Inflight), "--client", Str(client),
    ];

    private static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static int Positive(Dictionary<string, string> values, string name) =>
        int.TryParse(values[name], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new ArgumentException($"ddict arguments: --{name} '{values[name]}' is not a positive integer");
}
