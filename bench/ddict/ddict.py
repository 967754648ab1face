#!/usr/bin/python3
"""The distributed dictionary against Redis and Garnet, interleaved in one invocation: scripts/bench ddict.

GUPS-style: CLIENTS client processes, each writing its own KEYS distinct 128-byte keys and reading them back in a
shuffled order, for values of 1 KB, 64 KB and 1 MB (KEYS a client: max(64, MIB_PER_CLIENT MiB / value), so that a
1 MB run is not a thousand times longer than a 1 KB one). Operations:
put (one key a call), mput (batches of BATCH keys, two on their way), get (the put keys, shuffled: the peers pipelined; ours one call
at a time on its node's manager, in GetMany requests of BATCH keys to the other node's, 4 in flight), fget (the mput keys, shuffled, on a frozen
dictionary; the peers have no freeze, so theirs is a plain get), get1 (get one call at a time, unpipelined and
unbatched, at most 4,096 keys a client), for the peers alone mput-sets (the batch as pipelined SETs, not one MSET:
their mput is the better of the two), and for ours alone on one node bget (get into the caller's buffer) and
copy (the node's memory copy rate: each client copying the same blocks within its own memory), for the target on
large values (within 0.5x of the copy rate).
Peers: redis-server and Garnet (the garnet-server dotnet tool) on free loopback ports for the run, no persistence,
flushed between runs, through StackExchange.Redis from `Dragon.Bench kv-peer` (CLIENTS processes, a connection
each; put and get pipelined with at most INFLIGHT unanswered calls a client, mput as MSETs of BATCH keys).
Ours: `dragon --local-nodes K Dragon.Bench.dll ddict ARGS`, on one node and on two.
Medians of ROUNDS rounds, of every phase (get three times a round, one after another, on both sides; our lookup too); the
order of the systems rotates every round.

Both sides take the same arguments (the peers add --system, --port and --inflight; ours takes its node count from
the run and may ignore --nodes):
    --clients N --value BYTES --bytes-per-client B --batch BATCH --ops put,mput,get,fget --nodes K
and print one line per operation (ops in total over the clients; seconds from the first client's start of the
operation to the last client's end, as the clients measured them on the machine's one monotonic clock):
    BENCH ddict system=<dragon|redis|garnet> nodes=<K> clients=<N> value=<BYTES> op=<OP> ops=<N> seconds=<S>
Ours missing or failing leaves its columns and the ratios n/a.

Last line: ddict get_ratio=<ours on 1 node / the better peer, get> put_ratio=<the same, put>
remote_get_ratio=<ours on 2 nodes / the better peer, get>, each the smallest over the value sizes (targets: 10, 3
and 1).
Usage: ddict.py ROOT [--rounds 3] [--clients 4] [--values 1024,65536,1048576] [--mib-per-client 32] [--batch 64]
                [--inflight 64] [--nodes 1,2] [--peers-only]
"""
import argparse, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

parser = argparse.ArgumentParser()
parser.add_argument("root")
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--clients", type=int, default=4)
parser.add_argument("--values", default="1024,65536,1048576")
parser.add_argument("--mib-per-client", type=float, default=32)
parser.add_argument("--batch", type=int, default=64)
parser.add_argument("--inflight", type=int, default=64)
parser.add_argument("--nodes", default="1,2")
parser.add_argument("--peers-only", action="store_true")
opts = parser.parse_args()
root = opts.root
values = [int(v) for v in opts.values.split(",")]
node_counts = [int(n) for n in opts.nodes.split(",")]
dragon = os.path.join(root, "artifacts/bin/dragon")
bench_dll = os.path.join(root, "artifacts/build/bin/Dragon.Bench/release/Dragon.Bench.dll")
garnet_server = os.path.join(root, "artifacts/tools/garnet/garnet-server")
line_re = re.compile(r"^BENCH ddict system=(\w+) nodes=(\d+) clients=(\d+) value=(\d+) op=([\w-]+) ops=(\d+) seconds=([0-9.eE+-]+)\s*$", re.M)
ours_ops = ["put", "mput", "get", "fget", "get1"]
# Ours alone, on one node: bget (get into the caller's buffer, TryCopyValueTo) and copy (the same blocks copied within
# each client's own memory, no dictionary: the memory copy rate of the node, measured by the same processes); lookup
# (the floor of a one-call get: the same key encoding, hash, probe of a key table of the shard's shape, key compare and
# copy into a new array, in each client's own memory, no dictionary).
copy_ops = ["bget", "copy", "lookup"]
# lookup for small values only: a get of large values is bound by the copy (the copy table), not by its misses.
LOOKUP_MAX_VALUE = 4096
# Phases run this many times a round, one after the other, on both sides: a read phase is short (a tenth of a second
# to a few), so one phase a round left the medians, and the get ratios, at the mercy of one slow phase.
REPEATS = {"get": 3, "lookup": 3}
peer_ops = ["put", "mput", "mput-sets", "get", "fget", "get1"]
samples = {}  # (system, nodes, value, op) -> [ops/s]
servers = []  # Popen of the peers' servers, each in a session of its own
failed = set()  # (nodes, value) of ours that failed once: not tried again (a hang costs its timeout every round)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, name, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited ({proc.returncode}) before it answered on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{name} did not answer PING on port {port} within {timeout} s")


def start_server(name, command, workdir):
    log = open(os.path.join(workdir, f"{name}.log"), "w")
    proc = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    servers.append(proc)
    return proc


def stop_servers():
    for proc in servers:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in servers:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run(command, timeout=900):
    """Runs a measure; on any error or interrupt its process is stopped (SIGTERM, so dragon cleans up)."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except BaseException:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise


def phases(ops):
    """The phases a run is asked for: each operation, as many times as REPEATS says."""
    return [op for name in ops for op in [name] * REPEATS.get(name, 1)]


def record(out, system, nodes, value, ops):
    found = {}
    for m in line_re.finditer(out):
        if m.group(1) == system and int(m.group(4)) == value and float(m.group(7)) > 0:
            found.setdefault(m.group(5), []).append(int(m.group(6)) / float(m.group(7)))
    for op in set(ops):
        if len(found.get(op, [])) != ops.count(op):
            return f"{len(found.get(op, []))} BENCH ddict lines for op={op}, {ops.count(op)} asked"
    for op, rates in found.items():
        samples.setdefault((system, nodes, value, op), []).extend(rates)
    return None


def common_args(value, ops, nodes):
    return ["--clients", str(opts.clients), "--value", str(value), "--bytes-per-client", str(int(opts.mib_per_client * 2**20)), "--batch", str(opts.batch),
            "--ops", ",".join(ops), "--nodes", str(nodes)]


def run_peer(system, port, value):
    code, out, err = run(["dotnet", bench_dll, "kv-peer", "--system", system, "--port", str(port), "--inflight", str(opts.inflight),
                          *common_args(value, phases(peer_ops), 1)])
    problem = f"exit code {code}" if code != 0 else record(out, system, 1, value, phases(peer_ops))
    if problem:
        raise SystemExit(f"kv-peer {system} value={value} failed ({problem}):\n{out}\n{err}")


def run_ours(nodes, value):
    if (nodes, value) in failed:
        return
    ops = phases(ours_ops + ([op for op in copy_ops if op != "lookup" or value <= LOOKUP_MAX_VALUE] if nodes == 1 else []))
    code, out, err = run([dragon, "--local-nodes", str(nodes), bench_dll, "ddict", *common_args(value, ops, nodes)])
    problem = f"exit code {code}" if code != 0 else record(out, "dragon", nodes, value, ops)
    if problem:
        failed.add((nodes, value))
        lines = (out + err).strip().splitlines()
        # The first exception's message says what went wrong; the tail, where it ended.
        first = [line for line in lines if "Exception" in line][:1]
        tail = "\n".join(first + ["..."] + lines[-8:] if first and first[0] not in lines[-8:] else lines[-8:])
        print(f"dragon ddict on {nodes} node(s), value {value}, failed ({problem}); its figures there are n/a:\n{tail}", file=sys.stderr)


def med(system, nodes, value, op):
    v = samples.get((system, nodes, value, op))
    return statistics.median(v) if v else None


def fmt(x, digits=0):
    return "n/a" if x is None else f"{x:,.{digits}f}"


def ratio(ours, peer):
    return None if ours is None or not peer else ours / peer


def main():
    workdir = tempfile.mkdtemp(prefix="ddict-bench-")
    try:
        redis_port = free_port()
        garnet_port = free_port()
        while garnet_port == redis_port:
            garnet_port = free_port()
        redis = start_server("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                       "--protected-mode", "no", "--dir", workdir], workdir)
        # Garnet keeps records in its in-memory log only (no --storage-tier): 4 GB of log holds the three key sets of
        # a run (put, mput, mput-sets: 3 x 4 clients x 64 MB at the defaults) with room to spare.
        garnet = start_server("garnet", [garnet_server, "--port", str(garnet_port), "--bind", "127.0.0.1", "--memory", "4g",
                                         "--index", "64m", "--logger-level", "Warning"], workdir)
        wait_ready(redis_port, redis, "redis-server")
        wait_ready(garnet_port, garnet, "garnet-server")
        contenders = [("redis", lambda v: run_peer("redis", redis_port, v)), ("garnet", lambda v: run_peer("garnet", garnet_port, v))]
        if not opts.peers_only:
            for n in node_counts:
                contenders.append((f"dragon{n}", lambda v, n=n: run_ours(n, v)))
        started = time.monotonic()
        for r in range(opts.rounds):
            for value in values:
                for i in range(len(contenders)):
                    contenders[(i + r) % len(contenders)][1](value)
            print(f"round {r + 1}/{opts.rounds} done ({time.monotonic() - started:.0f} s)", file=sys.stderr)
        report()
    finally:
        stop_servers()
        shutil.rmtree(workdir, ignore_errors=True)


def peer_rate(system, value, op):
    """A peer's median ops/s and how it was had: its mput is the better of MSET (M) and pipelined SETs (S)."""
    if op != "mput":
        return med(system, 1, value, op), ""
    mset, sets = med(system, 1, value, "mput"), med(system, 1, value, "mput-sets")
    if mset is None or sets is None:
        return mset if sets is None else sets, ""
    return (mset, " M") if mset >= sets else (sets, " S")


def better_peer(value, op):
    """The better of the peers' median ops/s for an operation (None when neither has one)."""
    return max([p for p, _ in (peer_rate(s, value, op) for s in ("redis", "garnet")) if p is not None], default=None)


def report():
    print(f"ops/s in total over {opts.clients} clients, medians of {opts.rounds} rounds, of every phase ("
          + ", ".join(f"{op} {n} a round" for op, n in REPEATS.items()) + f"; {os.cpu_count()} CPUs); keys a client: "
          f"{opts.mib_per_client:g} MiB of values, at least 64; batch {opts.batch}; peers {opts.inflight} in flight a client")
    print(f"{'value':>8} {'op':<5}{'redis':>14}{'garnet':>14}" + "".join(f"{f'dragon {n}n':>12}" for n in node_counts)
          + "".join(f"{f'ratio {n}n':>10}" for n in node_counts))
    worst = {}
    for value in values:
        for op in ["put", "mput", "get", "fget", "get1"]:
            peers = [peer_rate(s, value, op) for s in ("redis", "garnet")]
            best = better_peer(value, op)
            ours = [med("dragon", n, value, op) if op in ours_ops else None for n in node_counts]
            ratios = [ratio(o, best) for o in ours]
            for n, rt in zip(node_counts, ratios):
                key = (n, op)
                worst[key] = None if rt is None or worst.get(key, 0) is None else min(worst.get(key, rt), rt)
            print(f"{value:>8} {op:<5}" + "".join(f"{fmt(p) + tag:>14}" for p, tag in peers)
                  + "".join(f"{fmt(o) if op in ours_ops else '':>12}" for o in ours)
                  + "".join(f"{fmt(rt, 2) if op in ours_ops else '':>10}" for rt in ratios))
    print("ratio: ours over the better peer. The peers run once, on one loopback server: their figures stand under every\n"
          "node count (clients split over two nodes mean nothing to them). Peer mput: the better of MSET (M) and the batch\n"
          "as pipelined SETs (S). get: the peers pipelined, ours one call at a time on the node. fget for the peers is a plain get of\n"
          "the mput keys (they have no freeze). get1: one call at a time, unpipelined (at most 4,096 keys a client).")
    for n in node_counts:
        if n != 1:
            print(f"targets on {n} nodes (>= 1): get {fmt(worst.get((n, 'get')), 2)} put {fmt(worst.get((n, 'put')), 2)}; "
                  f"on 1 node: get >= 10, put >= 3; each the smallest ratio over the value sizes")
    if 1 in node_counts:
        copy_report()
        lookup_report()
    first_touch_report()
    remote = max(node_counts)
    print(f"ddict get_ratio={fmt(worst.get((1, 'get')), 2)} put_ratio={fmt(worst.get((1, 'put')), 2)} "
          f"remote_get_ratio={fmt(worst.get((remote, 'get')) if remote > 1 else None, 2)}")


def lookup_report():
    """The one-call get on one node against its floor: a hash table read one call at a time in the client's own memory."""
    print("one-call get on 1 node against its floor (ops/s): lookup is each client reading its keys in the same order from a\n"
          "hash table of its own (the same key encoding and hash, a key table and entries of the shard's shape, each value\n"
          "copied into a new array; no dictionary, no shared memory); 10x peer is the get target (10 x the better peer's get);\n"
          f"values up to {LOOKUP_MAX_VALUE} bytes (larger ones are bound by the copy, above)")
    print(f"{'value':>8}{'lookup':>12}{'get':>12}{'get/lookup':>12}{'10x peer':>12}{'10x/lookup':>12}")
    for value in [v for v in values if v <= LOOKUP_MAX_VALUE]:
        lookup, get = med("dragon", 1, value, "lookup"), med("dragon", 1, value, "get")
        best = better_peer(value, "get")
        target = None if best is None else 10 * best
        print(f"{value:>8}{fmt(lookup):>12}{fmt(get):>12}{fmt(ratio(get, lookup), 2):>12}{fmt(target):>12}{fmt(ratio(target, lookup), 2):>12}")
    load_latency_report()


def load_latency_report():
    """Under the lookup: the latency of one dependent load here (bench/peers/load_latency.c, 256 MiB in 4 KB pages), and
    what it allows a one-call get of a random key that needs three such loads in a row (the caller's key string, the
    key's slot in a key table of megabytes, its entry), with no other work, on every CPU of the machine."""
    done = run_floor("load_latency", "256", "load_latency_ns")
    if not done:
        return
    ns = float(done[0])
    cpus = os.cpu_count() or 1
    bound = cpus / (3 * ns * 1e-9)
    best = better_peer(1024, "get") if 1024 in values else None
    target = "" if best is None else f"; the 1 KB get target, {fmt(10 * best)}, is {fmt(10 * best / bound, 2)} of it"
    print(f"a dependent load here: {ns:.1f} ns (a random line of 256 MiB, 4 KB pages). Three in a row (the caller's key, its\n"
          f"slot, its entry) and nothing else, on {cpus} CPUs: at most {fmt(bound)} one-call gets/s{target}")


def first_touch_report():
    """The machine's cost of a process's first access to a populated page of shared memory (bench/peers/first_touch.c),
    measured after the rounds: several microseconds under shadow paging, a cache miss on bare metal. Each process
    that maps a shard pays it once a page (the dictionary touches up to 512 MiB as it maps in)."""
    done = run_floor("first_touch", "128", "first_touch_us_per_page")
    detail = done and re.search(r"^first_touch .*$", done[1], re.M)
    if not detail:
        return
    print(f"a process's first access to a page of shared memory, populated: {detail.group(0)} ({done[0]} us a page)")


def run_floor(name, mib, figure):
    """Runs the C floor artifacts/bench/NAME (built by scripts/bench) on MIB mebibytes: (the value of its last line
    `BENCH FIGURE=<value>`, its whole output), or None when it is missing or failed (said on stderr)."""
    tool = os.path.join(root, "artifacts", "bench", name)
    if not os.access(tool, os.X_OK):
        return None
    try:
        done = subprocess.run([tool, mib], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"{name} failed: {e}", file=sys.stderr)
        return None
    found = re.search(rf"^BENCH {figure}=([0-9.]+)$", done.stdout, re.M)
    if done.returncode != 0 or not found:
        print(f"{name} failed (exit {done.returncode}): {done.stderr.strip()}", file=sys.stderr)
        return None
    return found.group(1), done.stdout


def copy_report():
    """Reads on one node against the node's memory copy rate, in MB/s of values: the target for large values is 0.5."""
    print("reads on 1 node against the memory copy rate (MB/s of values): copy is each client copying the same blocks in the same\n"
          "order within its own memory, no dictionary; bget reads into the caller's buffer (TryCopyValueTo); get returns a new\n"
          "array per read (TryGetValue)")
    print(f"{'value':>8}{'copy':>12}{'bget':>12}{'get':>12}{'bget/copy':>11}{'get/copy':>10}")
    worst = None
    for value in values:
        copy, bget, get = (med("dragon", 1, value, op) for op in ("copy", "bget", "get"))
        mb = lambda rate: None if rate is None else rate * value / 1e6
        b, g = ratio(bget, copy), ratio(get, copy)
        if value >= 65536 and b is not None:
            worst = b if worst is None else min(worst, b)
        print(f"{value:>8}{fmt(mb(copy)):>12}{fmt(mb(bget)):>12}{fmt(mb(get)):>12}{fmt(b, 2):>11}{fmt(g, 2):>10}")
    print(f"large values (64 KB and up), bget over copy, the smallest: {fmt(worst, 2)} (target >= 0.5)")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
