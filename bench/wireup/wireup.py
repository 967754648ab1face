#!/usr/bin/python3
"""Wire-up of a 2-rank MPI hello: Dragon.NET (PMI served by the runtime) against the MPI library's own launcher.

MPICH (PMI-1 served by the runtime) against mpiexec.mpich, and Open MPI (PMIx from the node service's embedded
libpmix) against mpirun.openmpi, each interleaved:
(a) from group start (inside a running runtime) until every rank is past MPI_Init, against the launcher -n 2
    from its start until every rank is past MPI_Init (ranks print CLOCK_REALTIME after MPI_Init);
(b) the whole command `dragon -n 2 mpitest hello` against `mpiexec.mpich -n 2 mpitest hello`;
(c), (d) the same with mpitest-openmpi against `mpirun.openmpi -n 2` (skipped when Open MPI is not installed).
Medians of ROUNDS rounds; ours and the peer alternate within each round (the order flips every round).
Last line: wireup ratio_in_runtime=<a> ratio_whole=<b> openmpi_ratio_in_runtime=<c> openmpi_ratio_whole=<d>
"""
import os, re, shutil, statistics, subprocess, sys, time

root = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 9
dragon = os.path.join(root, "artifacts/bin/dragon")
mpitest = os.path.join(root, "artifacts/mpi/mpitest")
mpitest_openmpi = os.path.join(root, "artifacts/mpi/mpitest-openmpi")
mpirun_openmpi = ["mpirun.openmpi"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
has_openmpi = shutil.which("mpirun.openmpi") is not None and os.path.exists(mpitest_openmpi)
testapp = os.path.join(root, "artifacts/build/bin/Dragon.TestApp/release/Dragon.TestApp.dll")
initialized = re.compile(r"initialized rank=\d+ t=(\d+)")


def ours_in_runtime(program):
    out = subprocess.run([dragon, testapp, "wireup-probe", program, "3"], capture_output=True, text=True, check=True).stdout
    samples = [float(m) for m in re.findall(r"WIREUP_US (\d+)", out)]
    return statistics.median(samples[1:])  # the first group of a runtime also starts its PMI server


def peer_in_runtime(launcher, program):
    start = time.time_ns()
    out = subprocess.run(launcher + ["-n", "2", program, "hello"], capture_output=True, text=True, check=True).stdout
    return (max(int(t) for t in initialized.findall(out)) - start) / 1000.0


def whole(command):
    start = time.monotonic_ns()
    subprocess.run(command, capture_output=True, check=True)
    return (time.monotonic_ns() - start) / 1e6


a_ours, a_peer, b_ours, b_peer = [], [], [], []
c_ours, c_peer, d_ours, d_peer = [], [], [], []
for r in range(rounds):
    pairs = [(a_ours, lambda: ours_in_runtime(mpitest)), (a_peer, lambda: peer_in_runtime(["mpiexec.mpich"], mpitest)),
             (b_ours, lambda: whole([dragon, "-n", "2", mpitest, "hello"])),
             (b_peer, lambda: whole(["mpiexec.mpich", "-n", "2", mpitest, "hello"]))]
    if has_openmpi:
        pairs += [(c_ours, lambda: ours_in_runtime(mpitest_openmpi)), (c_peer, lambda: peer_in_runtime(mpirun_openmpi, mpitest_openmpi)),
                  (d_ours, lambda: whole([dragon, "-n", "2", mpitest_openmpi, "hello"])),
                  (d_peer, lambda: whole(mpirun_openmpi + ["-n", "2", mpitest_openmpi, "hello"]))]
    if r % 2:
        pairs = [pairs[i ^ 1] for i in range(len(pairs))]
    for samples, measure in pairs:
        samples.append(measure())

med = statistics.median
print(f"{'measure':<44}{'ours':>12}{'mpiexec':>12}{'ratio':>8}")
print(f"{'(a) start -> every rank past MPI_Init (us)':<44}{med(a_ours):>12.0f}{med(a_peer):>12.0f}{med(a_ours) / med(a_peer):>8.2f}")
print(f"{'(b) whole command (ms)':<44}{med(b_ours):>12.1f}{med(b_peer):>12.1f}{med(b_ours) / med(b_peer):>8.2f}")
if has_openmpi:
    print(f"{'Open MPI, PMIx':<44}{'ours':>12}{'mpirun':>12}{'ratio':>8}")
    print(f"{'(c) start -> every rank past MPI_Init (us)':<44}{med(c_ours):>12.0f}{med(c_peer):>12.0f}{med(c_ours) / med(c_peer):>8.2f}")
    print(f"{'(d) whole command (ms)':<44}{med(d_ours):>12.1f}{med(d_peer):>12.1f}{med(d_ours) / med(d_peer):>8.2f}")
print(f"rounds={rounds}; (a) ours: median of the 2nd and 3rd group of each runtime; ranges: "
      f"a_ours={min(a_ours):.0f}..{max(a_ours):.0f} a_peer={min(a_peer):.0f}..{max(a_peer):.0f} "
      f"b_ours={min(b_ours):.1f}..{max(b_ours):.1f} b_peer={min(b_peer):.1f}..{max(b_peer):.1f}")
openmpi = (f" openmpi_ratio_in_runtime={med(c_ours) / med(c_peer):.2f} openmpi_ratio_whole={med(d_ours) / med(d_peer):.2f}"
           if has_openmpi else " openmpi=not-installed")
print(f"wireup ratio_in_runtime={med(a_ours) / med(a_peer):.2f} ratio_whole={med(b_ours) / med(b_peer):.2f}{openmpi}")
