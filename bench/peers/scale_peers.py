"""Peers for `scripts/bench scale`.

  scale_peers.py popen N   start N /bin/true with subprocess.Popen, then wait for each: BENCH popen_ms=<ms>
  scale_peers.py sync N    multiprocessing.Event set+clear and Lock acquire+release N times each, after 100 of
                           each to warm up: BENCH event_us=<us per pair> and BENCH lock_us=<us per pair>; then
                           multiprocessing.Barrier(2) with a second process, N rounds after 100: BENCH barrier_us=<median
                           us per round>
"""
import multiprocessing
import subprocess
import sys
import time


def popen(count):
    start = time.perf_counter()
    children = [subprocess.Popen(["/bin/true"]) for _ in range(count)]
    for child in children:
        child.wait()
    print(f"BENCH popen_ms={(time.perf_counter() - start) * 1000:.3f}")


def sync(count):
    event = multiprocessing.Event()
    lock = multiprocessing.Lock()
    for _ in range(100):
        event.set()
        event.clear()
        lock.acquire()
        lock.release()
    start = time.perf_counter()
    for _ in range(count):
        event.set()
        event.clear()
    mid = time.perf_counter()
    for _ in range(count):
        lock.acquire()
        lock.release()
    end = time.perf_counter()
    print(f"BENCH event_us={(mid - start) * 1e6 / count:.3f}")
    print(f"BENCH lock_us={(end - mid) * 1e6 / count:.3f}")
    print(f"BENCH barrier_us={barrier_rounds(count):.3f}")


def barrier_partner(barrier, rounds):
    for _ in range(rounds):
        barrier.wait()


def barrier_rounds(count):
    """Median time of one round of a barrier of two: this process and a partner process."""
    barrier = multiprocessing.Barrier(2)
    partner = multiprocessing.Process(target=barrier_partner, args=(barrier, count + 100))
    partner.start()
    for _ in range(100):
        barrier.wait()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        barrier.wait()
        samples.append((time.perf_counter() - start) * 1e6)
    partner.join()
    samples.sort()
    return samples[count // 2]


if __name__ == "__main__":
    {"popen": popen, "sync": sync}[sys.argv[1]](int(sys.argv[2]))
