"""Peer of `scripts/bench remote`: a child's piped output read line by line, the way a Python program does it.

usage: popen_lines.py COUNT. Starts `seq COUNT` with subprocess.Popen(stdout=PIPE), iterates its lines, waits for it.
Timed from just before Popen to the exit. Prints `BENCH lines_per_s=<rate>` and `BENCH lines=<lines read>`.
"""
import subprocess
import sys
import time


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    start = time.monotonic_ns()
    child = subprocess.Popen(["seq", str(count)], stdout=subprocess.PIPE)
    lines = 0
    for _ in child.stdout:
        lines += 1
    code = child.wait()
    end = time.monotonic_ns()
    if code != 0 or lines != count:
        raise SystemExit(f"seq exited with {code} after {lines} of {count} lines")
    seconds = (end - start) / 1e9
    print(f"BENCH lines_per_s={lines / seconds!r}")
    print(f"BENCH lines={lines}")


if __name__ == "__main__":
    main()
