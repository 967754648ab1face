"""Peer of `scripts/bench pingpong`: 64-byte round trips and 1 MiB one-way messages over multiprocessing.Pipe.

usage: pipe_pingpong.py ROUND_TRIPS BULK_MESSAGES bytes|pickle
  bytes:  send_bytes/recv_bytes (raw bytes, like the C# side's byte[])
  pickle: send/recv of bytes objects (pickled)
Echo protocol, as on the C# side: a 1-byte message ends the echo, an 8-byte message N means "swallow the next N
messages, then answer with one byte", anything else comes back. Prints p50_us, p99_us and gb_per_s BENCH lines.
"""
import multiprocessing
import struct
import sys
import time

SMALL_BYTES = 64
BULK_BYTES = 1 << 20


def operations(connection, mode):
    if mode == "bytes":
        return connection.send_bytes, connection.recv_bytes
    return connection.send, connection.recv


def echo(connection, mode):
    send, recv = operations(connection, mode)
    while True:
        message = recv()
        if len(message) == 1:
            connection.close()
            return
        if len(message) == 8:
            for _ in range(struct.unpack("<q", message)[0]):
                recv()
            send(b"k")
        else:
            send(message)


def percentile(ordered, percent):
    rank = -(-percent * len(ordered) // 100)
    return ordered[min(max(rank - 1, 0), len(ordered) - 1)]


def send_bulk(send, recv, bulk, count):
    send(struct.pack("<q", count))
    start = time.perf_counter()
    for _ in range(count):
        send(bulk)
    recv()
    return time.perf_counter() - start


def main():
    round_trips = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    bulk_messages = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    mode = sys.argv[3] if len(sys.argv) > 3 else "bytes"
    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe(duplex=True)
    process = context.Process(target=echo, args=(theirs, mode))
    process.start()
    send, recv = operations(mine, mode)

    small = bytes(SMALL_BYTES)
    for _ in range(max(200, round_trips // 10)):
        send(small)
        recv()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(round_trips):
        start = clock()
        send(small)
        recv()
        samples.append(clock() - start)
    samples.sort()
    print(f"BENCH p50_us={percentile(samples, 50) / 1000!r}")
    print(f"BENCH p99_us={percentile(samples, 99) / 1000!r}")

    bulk = bytes(BULK_BYTES)
    send_bulk(send, recv, bulk, max(2, bulk_messages // 10))
    seconds = send_bulk(send, recv, bulk, bulk_messages)
    print(f"BENCH gb_per_s={bulk_messages * BULK_BYTES / seconds / 1e9!r}")

    send(b"q")
    process.join()
    mine.close()
    theirs.close()
    if process.exitcode != 0:
        raise SystemExit(f"the echo process exited with {process.exitcode}")


if __name__ == "__main__":
    main()
