#!/usr/bin/python3
"""Python peers of `scripts/bench tasks`: warm process pools running x*x.

usage: tasks_pool.py submit|dask-submit|executor-map|pool-map COUNT WORKERS
  submit        concurrent.futures.ProcessPoolExecutor.submit, one future per task, then wait for all
  dask-submit   Dask distributed: a LocalCluster of WORKERS worker processes (one thread each), client.submit per
                task (pure=False, so no task is deduplicated), then gather
  executor-map  ProcessPoolExecutor.map with chunksize chosen as multiprocessing.Pool.map's default
                (ProcessPoolExecutor's own default is 1)
  pool-map      multiprocessing.Pool.map with its default chunksize
The pool is started and warmed before the clock starts. Prints `BENCH per_s=<tasks per second>`.
"""
import concurrent.futures
import multiprocessing
import sys
import time


def square(x):
    return x * x


def default_chunksize(count, workers):
    # multiprocessing.Pool.map's rule (Lib/multiprocessing/pool.py, _map_async).
    chunksize, extra = divmod(count, workers * 4)
    return chunksize + 1 if extra else chunksize


def main():
    mode, count, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if mode == "dask-submit":
        import dask
        from distributed import Client, LocalCluster
        dask.config.set({"distributed.worker.daemon": False})
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            client.gather(client.map(square, range(100), pure=False))
            start = time.perf_counter()
            futures = [client.submit(square, i, pure=False) for i in range(count)]
            results = client.gather(futures)
            elapsed = time.perf_counter() - start
    elif mode == "pool-map":
        with multiprocessing.Pool(workers) as pool:
            pool.map(square, range(1000), chunksize=10)
            start = time.perf_counter()
            results = pool.map(square, range(count))
            elapsed = time.perf_counter() - start
    else:
        with concurrent.futures.ProcessPoolExecutor(workers) as pool:
            list(pool.map(square, range(1000), chunksize=10))
            start = time.perf_counter()
            if mode == "submit":
                futures = [pool.submit(square, i) for i in range(count)]
                results = [f.result() for f in futures]
            else:
                results = list(pool.map(square, range(count), chunksize=default_chunksize(count, workers)))
            elapsed = time.perf_counter() - start
    assert results[-1] == (count - 1) ** 2
    print(f"BENCH per_s={count / elapsed}")


if __name__ == "__main__":
    main()
