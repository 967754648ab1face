"""Peers for `scripts/bench scale`.

  scale_peers.py popen N   start N /bin/true with subprocess.Popen, then wait for each: BENCH popen_ms=<ms>
  scale_peers.py sync N    multiprocessing.Event set+clear and Lock acquire+release N times each, after 100 of
                           each to warm up: BENCH event_us=<us per pair> and BENCH lock_us=<us per pair>
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


if __name__ == "__main__":
    {"popen": popen, "sync": sync}[sys.argv[1]](int(sys.argv[2]))
