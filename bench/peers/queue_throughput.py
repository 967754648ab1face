"""Peer of `scripts/bench queue`: one producer process to one consumer process through multiprocessing.Queue.

usage: queue_throughput.py COUNT. 64-byte bytes messages; the producer writes its CLOCK_MONOTONIC time into the
first one just before putting it, the consumer (this process) reads the clock after the last get.
Prints `BENCH msgs_per_s=<rate>`.
"""
import multiprocessing
import struct
import sys
import time

MESSAGE_BYTES = 64


def produce(queue, count):
    queue.put(struct.pack("<q", time.monotonic_ns()) + bytes(MESSAGE_BYTES - 8))
    message = bytes(MESSAGE_BYTES)
    for _ in range(count - 1):
        queue.put(message)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    producer = context.Process(target=produce, args=(queue, count))
    producer.start()
    first = queue.get()
    start = struct.unpack_from("<q", first)[0]
    for _ in range(count - 1):
        queue.get()
    end = time.monotonic_ns()
    producer.join()
    if producer.exitcode != 0:
        raise SystemExit(f"the producer exited with {producer.exitcode}")
    seconds = (end - start) / 1e9
    print(f"BENCH msgs_per_s={count / seconds!r}")
    print(f"BENCH elapsed_ms={seconds * 1000!r}")


if __name__ == "__main__":
    main()
