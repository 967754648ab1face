#!/usr/bin/python3
"""Tasks on warm workers: DragonPool against Python's process pools, interleaved in one invocation.

(a) 100,000 trivial tasks (x*x) submitted one at a time, a future each: DragonPool.SubmitAsync (JIT workers, and
    Native AOT workers when the AOT bench head is published) against ProcessPoolExecutor.submit;
    and Dask's client.submit (a LocalCluster of worker processes; fewer tasks, as it runs about a thousand a second);
(b) a map of 1,000,000 trivial inputs with default chunking: DragonPool.MapAsync against multiprocessing.Pool.map and
    ProcessPoolExecutor.map (chunksize as Pool.map's default);
(c) 1,000 tasks of 10 ms mapped: wall time against the ideal (1,000 x 10 ms / workers).
Same worker count (2), one node; ours again on two local nodes (a worker each) and, with --cluster, on the 4 hosts of
the fake cluster (a worker each): scaling_4 is tasks/s per CPU in use on 4 hosts over that on one node (per CPU, not
per worker: the 4 fake hosts share this machine's CPUs). Medians of ROUNDS rounds; the order of the contenders
rotates every round.
Last line: tasks submit_ratio=<ours / best peer> map_ratio=<ours / best peer> efficiency_10ms=<ideal / wall>
scaling_4=<per-CPU rate on 4 hosts / on 1 node, or n/a>
"""
import os, re, statistics, subprocess, sys

root = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 3
use_cluster = "--cluster" in sys.argv
submits, mapped, workers, naps, dask_submits = 100_000, 1_000_000, 2, 1_000, 5_000
cpus = os.cpu_count() or 1
cluster_sh = os.path.join(root, "tests/cluster/cluster.sh")
dragon = os.path.join(root, "artifacts/bin/dragon")
bench_dll = os.path.join(root, "artifacts/build/bin/Dragon.Bench/release/Dragon.Bench.dll")
bench_aot = os.path.join(root, "artifacts/publish/bench-aot/Dragon.Bench.Aot")
peer = os.path.join(root, "bench/peers/tasks_pool.py")
figure = re.compile(r"BENCH (\w*per_s|nap_\w+)=([0-9.eE+-]+)$", re.M)


def ours(program, nodes=1, hosts=None):
    pool = workers if hosts is None else len(hosts.split(","))
    where = ["--local-nodes", str(nodes)] if hosts is None else ["--hosts", hosts]
    command = [dragon, *where, program, "tasks", str(submits), str(mapped), str(pool), str(naps if nodes == 1 and hosts is None else 0)]
    if hosts is not None:
        command = ["bash", cluster_sh, "head", *command]
    out = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"dragon {program} tasks failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    values = {k: float(v) for k, v in figure.findall(out.stdout)}
    if "nap_wall_s" in values:
        samples["efficiency"].append(values["nap_ideal_s"] / values["nap_wall_s"])
    return values["submit_per_s"], values["map_per_s"]


def python(mode, count):
    out = subprocess.run(["/usr/bin/python3", peer, mode, str(count), str(workers)], capture_output=True, text=True, check=True, timeout=600)
    return float(figure.search(out.stdout).group(2))


samples = {k: [] for k in ["jit_submit", "jit_map", "aot_submit", "aot_map", "aot2_submit", "aot2_map", "aot4_submit", "aot4_map",
                           "ppe_submit", "ppe_map", "mp_map", "dask_submit", "efficiency"]}


def has_dask():
    return subprocess.run(["/usr/bin/python3", "-c", "import distributed"], capture_output=True).returncode == 0


def run_ours(kind, program, nodes=1, hosts=None):
    submit, mapping = ours(program, nodes, hosts)
    samples[f"{kind}_submit"].append(submit)
    samples[f"{kind}_map"].append(mapping)


contenders = [lambda: run_ours("jit", bench_dll),
              lambda: samples["ppe_submit"].append(python("submit", submits)),
              lambda: samples["mp_map"].append(python("pool-map", mapped)),
              lambda: samples["ppe_map"].append(python("executor-map", mapped))]
if os.access(bench_aot, os.X_OK):
    contenders.insert(1, lambda: run_ours("aot", bench_aot))
    # Two local nodes, a worker on each: the caller reaches the second through the node services and their link.
    contenders.append(lambda: run_ours("aot2", bench_aot, nodes=2))
    if use_cluster:
        contenders.append(lambda: run_ours("aot4", bench_aot, hosts="n1,n2,n3,n4"))
if has_dask():
    contenders.append(lambda: samples["dask_submit"].append(python("dask-submit", dask_submits)))
else:
    print("Dask (python3-distributed) is not installed: its column is left out", file=sys.stderr)
for r in range(rounds):
    for i in range(len(contenders)):
        contenders[(i + r) % len(contenders)]()

med = {k: statistics.median(v) for k, v in samples.items() if v}
best_submit_peer = max(med["ppe_submit"], med.get("dask_submit", 0))
best_map_peer = max(med["mp_map"], med["ppe_map"])
best_submit_ours = max(med.get("aot_submit", 0), med["jit_submit"])
best_map_ours = max(med.get("aot_map", 0), med["jit_map"])
print(f"tasks/s, medians of {rounds} rounds, {workers} workers on one node")
print(f"{'measure':<66}{'tasks/s':>14}")
rows = [("(a) DragonPool.SubmitAsync, JIT workers", "jit_submit"),
        ("(a) DragonPool.SubmitAsync, Native AOT workers", "aot_submit"),
        ("(a) DragonPool.SubmitAsync, AOT workers on 2 local nodes", "aot2_submit"),
        ("(a) DragonPool.SubmitAsync, AOT workers on 4 fake-cluster hosts", "aot4_submit"),
        ("(a) ProcessPoolExecutor.submit", "ppe_submit"),
        (f"(a) Dask client.submit ({dask_submits:,} tasks)", "dask_submit"),
        ("(b) DragonPool.MapAsync, JIT workers", "jit_map"),
        ("(b) DragonPool.MapAsync, Native AOT workers", "aot_map"),
        ("(b) DragonPool.MapAsync, AOT workers on 2 local nodes", "aot2_map"),
        ("(b) DragonPool.MapAsync, AOT workers on 4 fake-cluster hosts", "aot4_map"),
        ("(b) multiprocessing.Pool.map (default chunks)", "mp_map"),
        ("(b) ProcessPoolExecutor.map (Pool.map's chunks)", "ppe_map")]
for label, key in rows:
    if key in med:
        print(f"{label:<66}{med[key]:>14,.0f}")
efficiency = med["efficiency"]
print(f"(c) {naps:,} tasks of 10 ms on {workers} workers: {efficiency:.3f} of the ideal ({naps * 0.010 / workers:.2f} s)")
scaling = "n/a"
if "aot4_submit" in med:
    # Per CPU in use: one node runs 2 workers on this machine's CPUs, the 4 hosts 4 workers on the same CPUs.
    per_cpu_1 = med["aot_submit"] / min(workers, cpus)
    per_cpu_4 = med["aot4_submit"] / min(4, cpus)
    scaling = f"{per_cpu_4 / per_cpu_1:.2f}"
    print(f"per CPU in use, submit: one node {per_cpu_1:,.0f}/s, 4 hosts {per_cpu_4:,.0f}/s; per worker: {med['aot_submit'] / workers:,.0f}/s and {med['aot4_submit'] / 4:,.0f}/s")
print(f"JIT workers alone: submit_ratio={med['jit_submit'] / best_submit_peer:.2f} map_ratio={med['jit_map'] / best_map_peer:.2f}")
print(f"tasks submit_ratio={best_submit_ours / best_submit_peer:.2f} map_ratio={best_map_ours / best_map_peer:.2f} efficiency_10ms={efficiency:.3f} scaling_4={scaling}")
