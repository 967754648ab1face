#!/usr/bin/python3
"""Tasks on warm workers: DragonPool against Python's process pools, interleaved in one invocation.

(a) 100,000 trivial tasks (x*x) submitted one at a time, a future each: DragonPool.SubmitAsync (JIT workers, and
    Native AOT workers when the AOT bench head is published) against ProcessPoolExecutor.submit;
(b) a map of 1,000,000 trivial inputs with default chunking: DragonPool.MapAsync against multiprocessing.Pool.map and
    ProcessPoolExecutor.map (chunksize as Pool.map's default).
Same worker count (2), one node; ours again on two local nodes (a worker each), reported, not in the ratios. Medians of ROUNDS rounds; the order of the contenders rotates every round.
Last line: tasks submit_ratio=<ours / best peer> map_ratio=<ours / best peer>
"""
import os, re, statistics, subprocess, sys

root = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
submits, mapped, workers = 100_000, 1_000_000, 2
dragon = os.path.join(root, "artifacts/bin/dragon")
bench_dll = os.path.join(root, "artifacts/build/bin/Dragon.Bench/release/Dragon.Bench.dll")
bench_aot = os.path.join(root, "artifacts/publish/bench-aot/Dragon.Bench.Aot")
peer = os.path.join(root, "bench/peers/tasks_pool.py")
figure = re.compile(r"BENCH (\w*per_s)=([0-9.eE+-]+)")


def ours(program, nodes=1):
    out = subprocess.run([dragon, "--local-nodes", str(nodes), program, "tasks", str(submits), str(mapped), str(workers)],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"dragon {program} tasks failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    values = {k: float(v) for k, v in figure.findall(out.stdout)}
    return values["submit_per_s"], values["map_per_s"]


def python(mode, count):
    out = subprocess.run(["/usr/bin/python3", peer, mode, str(count), str(workers)], capture_output=True, text=True, check=True, timeout=600)
    return float(figure.search(out.stdout).group(2))


samples = {k: [] for k in ["jit_submit", "jit_map", "aot_submit", "aot_map", "aot2_submit", "aot2_map", "ppe_submit", "ppe_map", "mp_map"]}


def run_ours(kind, program, nodes=1):
    submit, mapping = ours(program, nodes)
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
for r in range(rounds):
    for i in range(len(contenders)):
        contenders[(i + r) % len(contenders)]()

med = {k: statistics.median(v) for k, v in samples.items() if v}
best_submit_peer = med["ppe_submit"]
best_map_peer = max(med["mp_map"], med["ppe_map"])
best_submit_ours = max(med.get("aot_submit", 0), med["jit_submit"])
best_map_ours = max(med.get("aot_map", 0), med["jit_map"])
print(f"tasks/s, medians of {rounds} rounds, {workers} workers on one node")
print(f"{'measure':<58}{'tasks/s':>14}")
rows = [("(a) DragonPool.SubmitAsync, JIT workers", "jit_submit"),
        ("(a) DragonPool.SubmitAsync, Native AOT workers", "aot_submit"),
        ("(a) DragonPool.SubmitAsync, AOT workers on 2 local nodes", "aot2_submit"),
        ("(a) ProcessPoolExecutor.submit", "ppe_submit"),
        ("(b) DragonPool.MapAsync, JIT workers", "jit_map"),
        ("(b) DragonPool.MapAsync, Native AOT workers", "aot_map"),
        ("(b) DragonPool.MapAsync, AOT workers on 2 local nodes", "aot2_map"),
        ("(b) multiprocessing.Pool.map (default chunks)", "mp_map"),
        ("(b) ProcessPoolExecutor.map (Pool.map's chunks)", "ppe_map")]
for label, key in rows:
    if key in med:
        print(f"{label:<58}{med[key]:>14,.0f}")
print(f"JIT workers alone: submit_ratio={med['jit_submit'] / best_submit_peer:.2f} map_ratio={med['jit_map'] / best_map_peer:.2f}")
print(f"tasks submit_ratio={best_submit_ours / best_submit_peer:.2f} map_ratio={best_map_ours / best_map_peer:.2f}")
