"""Diagnosis for `scripts/bench launch`: the floor of starting 64 /bin/true on this machine from one thread.

64 os.posix_spawn calls (glibc's vfork-style spawn, as the node service uses), then a waitpid for each; no
bookkeeping of any kind. Prints `BENCH floor_ms=<ms>`, after one warm-up round, and `BENCH true_cpu_us=<us>`,
the CPU time one /bin/true itself takes (user + system, from the children's rusage).
"""
import os
import resource
import time

COUNT = 64


def spawn_and_wait():
    pids = [os.posix_spawn("/bin/true", ["/bin/true"], os.environ) for _ in range(COUNT)]
    for pid in pids:
        os.waitpid(pid, 0)


def main():
    spawn_and_wait()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    spawn_and_wait()
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(f"BENCH floor_ms={elapsed * 1000!r}")
    print(f"BENCH true_cpu_us={cpu / COUNT * 1e6!r}")


if __name__ == "__main__":
    main()
