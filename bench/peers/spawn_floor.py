"""Diagnosis for `scripts/bench launch`: the floor of starting 64 /bin/true on this machine, from one thread and two.

64 os.posix_spawn calls (glibc's vfork-style spawn, as the node service uses), then a waitpid for each; no
bookkeeping of any kind. Prints `BENCH floor_ms=<ms>`, after one warm-up round, and `BENCH true_cpu_us=<us>`,
the CPU time one /bin/true itself takes (user + system, from the children's rusage); then `BENCH floor2_ms=<ms>`,
the same 64 spawned from two threads.
"""
import os
import resource
import threading
import time

COUNT = 64


def spawn_and_wait():
    pids = [os.posix_spawn("/bin/true", ["/bin/true"], os.environ) for _ in range(COUNT)]
    for pid in pids:
        os.waitpid(pid, 0)


def spawn_and_wait_two_threads():
    """The same 64 children spawned from two threads at once (os.posix_spawn releases the GIL)."""
    pids = []

    def spawn(count):
        for _ in range(count):
            pids.append(os.posix_spawn("/bin/true", ["/bin/true"], os.environ))

    threads = [threading.Thread(target=spawn, args=(COUNT // 2,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
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
    spawn_and_wait_two_threads()
    start = time.perf_counter()
    spawn_and_wait_two_threads()
    print(f"BENCH floor2_ms={(time.perf_counter() - start) * 1000!r}")


if __name__ == "__main__":
    main()
