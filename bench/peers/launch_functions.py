"""Peer of `scripts/bench launch` (c): 64 no-op functions started with the spawn method and joined.

Prints `BENCH functions_ms=<ms>` from the first start to the last join, after two processes have warmed up,
as the C# side does.
"""
import multiprocessing
import time

COUNT = 64


def noop():
    pass


def start_and_join(context, count):
    processes = [context.Process(target=noop) for _ in range(count)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"a function process exited with {process.exitcode}")


def main():
    context = multiprocessing.get_context("spawn")
    start_and_join(context, 2)
    start = time.perf_counter()
    start_and_join(context, COUNT)
    print(f"BENCH functions_ms={(time.perf_counter() - start) * 1000!r}")


if __name__ == "__main__":
    main()
