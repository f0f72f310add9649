"""`simulator.sweep` on a two-worker LocalCluster against a serial loop in one process.

    python benchmarks/bench_sweep.py [--quick] [--workers 2]

Needs the ``distributed`` extra (dask[distributed], xarray, pandas).

Cases, each a list of points run through the same function:

* ``sim x200``: 200 small simulations (a 100-neuron echo state network built,
  compiled and run for 300 discrete steps; 20 spectral radii x 10 seeds);
* ``train x20``: 20 small trainings (`sim.train`, a 50-neuron random network on
  the sine task, 100 steps x 8 sequences, 100 epochs of BPTT; 5 learning rates
  x 4 seeds);
* ``empty x200``: a function that returns at once (the pure cost of a task).

Columns (medians of the repeats, wall time):

* ``loop``: the points called one after another in this process (warm);
* ``serial``: ``sweep(..., client="serial")`` (the loop plus the sweep's own
  bookkeeping and the Dataset);
* ``cluster``: ``sweep`` on an already running LocalCluster with `--workers`
  single-threaded worker processes, after one warm-up sweep;
* ``fresh``: the first sweep on that cluster's new workers (imports, Numba
  kernels loaded from the on-disk cache);
* ``embedded``: ``sweep(...)`` with no client: a LocalCluster started and
  closed inside the call;
* ``chunked``: the same with ``chunksize=chunk`` points per task (``chunk``
  = points / (8 x workers));
* ``speedup`` = loop / cluster, and loop / chunked (ideal: the number of
  workers);
* ``ovh ms/pt`` = (workers x cluster - loop) / points: worker time spent
  per point on anything but the point itself (scheduling, transfer,
  serialisation, idle tail), in milliseconds; then the same for chunked.

The loop, serial and cluster columns are measured in alternation, all with
one BLAS thread per process (as Dask sets in its workers). The machine
may be shared: the last column is the 1-minute load average after the row;
above the number of cores, compare rows only within one run.

Under each row, the Numba dispatchers' cache statistics on the fresh workers
tell whether they compiled the kernels or loaded them from the on-disk cache.

Cold start: with ``NUMBA_CACHE_DIR`` pointed at an empty folder (inherited by
the worker processes), the first and second sweep on a fresh cluster whose
workers must compile every kernel, then on a second fresh cluster that finds
them in that folder.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

# Dask starts its workers with one BLAS thread each; the serial baseline gets
# the same, so that both run the same single-threaded code.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simulator as sim  # noqa: E402
import topologies as tp  # noqa: E402
from benchmarks._common import machine  # noqa: E402
from simulator.sweeps import sweep  # noqa: E402


def small_simulation(spectral_radius: float, seed: int) -> dict:
    """Build, compile and run a 100-neuron reservoir for 300 steps."""
    net = sim.compile(tp.echo_state(100, spectral_radius=spectral_radius, seed=seed))
    x = np.sin(np.arange(300) / 7.0)[:, None]
    states = sim.run(net, x).states
    return {"activity": float(np.abs(states).mean())}


def small_training(lr: float, seed: int) -> dict:
    """Train a 50-neuron random recurrent network on the sine task by BPTT."""
    G = tp.fixed_indegree(50, 5, seed=seed, scale=0.9)
    G.add_node("x", role="input")
    G.add_node("y", role="output")
    for v in range(50):
        G.add_edge("x", v, weight=0.5)
        G.add_edge(v, "y", weight=0.1)
    x, y = sim.tasks.sine(100, 8, seed=seed)
    _, history = sim.train(sim.compile(G), x, y, epochs=100, lr=lr, progress=False, seed=seed)
    return {"loss": float(history["loss"][-1])}


def empty(k: int) -> dict:
    return {"value": float(k)}


CASES = {
    "sim x200": (small_simulation, {"spectral_radius": list(np.round(np.linspace(0.5, 1.45, 20), 2))}, 10),
    "train x20": (small_training, {"lr": [0.003, 0.01, 0.03, 0.1, 0.3]}, 4),
    "empty x200": (empty, {"k": list(range(200))}, None),
}


def loop(fn, grid, seeds) -> None:
    """The serial baseline: the points called one after another."""
    (name, values), = grid.items()
    for v in values:
        for s in (range(seeds) if seeds else [None]):
            fn(**{name: v}) if s is None else fn(**{name: v}, seed=s)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def cache_stats() -> dict:
    """On a worker: (cache hits, cache misses) summed over the simulator's kernels."""
    import importlib
    import pkgutil

    import simulator._kernels as kernels

    hits = misses = 0
    for info in pkgutil.iter_modules(kernels.__path__):
        module = importlib.import_module(f"simulator._kernels.{info.name}")
        for obj in vars(module).values():
            stats = getattr(obj, "stats", None)
            if getattr(obj, "signatures", None) and stats is not None and hasattr(stats, "cache_hits"):
                hits += sum(stats.cache_hits.values())
                misses += sum(stats.cache_misses.values())
    return {"hits": hits, "misses": misses}


def cold_start(workers: int) -> None:
    """First sweeps on fresh workers with an empty, then a filled Numba cache."""
    from distributed import Client, LocalCluster

    print(f"\ncold start: fresh {workers}-worker clusters; NUMBA_CACHE_DIR empty, then filled by the first")
    print(f"{'case':>11} {'cache':>6} {'1st sweep s':>12} {'2nd sweep s':>12} {'compiled':>9} {'loaded':>7}")
    previous = os.environ.get("NUMBA_CACHE_DIR")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["NUMBA_CACHE_DIR"] = cache  # the worker processes spawned below inherit it
        try:
            for case in ("sim x200", "train x20"):
                fn, grid, seeds = CASES[case]
                for label in ("empty", "filled"):
                    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                      dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
                            Client(cluster) as client:
                        first = timed(lambda: sweep(fn, grid, seeds=seeds, client=client, progress=False))
                        second = timed(lambda: sweep(fn, grid, seeds=seeds, client=client, progress=False))
                        stats = client.run(cache_stats)
                    compiled = sum(s["misses"] for s in stats.values())
                    loaded = sum(s["hits"] for s in stats.values())
                    print(f"{case:>11} {label:>6} {first:>12.3f} {second:>12.3f} {compiled:>9} {loaded:>7}")
        finally:
            if previous is None:
                os.environ.pop("NUMBA_CACHE_DIR", None)
            else:
                os.environ["NUMBA_CACHE_DIR"] = previous


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    from distributed import Client, LocalCluster

    print(machine())
    print(f"workers: {args.workers} processes x 1 thread; medians of {repeats} alternating repeats; "
          "load: 1-minute load average after the row\n")
    header = (f"{'case':>11} {'points':>6} {'loop s':>7} {'serial s':>8} {'cluster s':>9} {'chunk':>5} "
              f"{'chunked s':>9} {'fresh s':>7} {'embedded s':>10} {'speedup':>7} {'chunked':>7} "
              f"{'ovh ms/pt':>9} {'chunked':>7} {'load':>5}")
    print(header)
    warnings.simplefilter("ignore")  # the sweeps here do not fail; keep dask's notices quiet
    for case, (fn, grid, seeds) in CASES.items():
        n = len(next(iter(grid.values()))) * (seeds or 1)
        loop(fn, grid, seeds)  # warm up this process (compilation, caches)
        chunk = max(1, n // (8 * args.workers))
        times: dict[str, list[float]] = {"loop": [], "serial": [], "cluster": [], "chunked": [], "embedded": []}
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            t_fresh = timed(lambda: sweep(fn, grid, seeds=seeds, client=client, progress=False))
            stats = client.run(cache_stats)
            for _ in range(repeats):  # alternate, so that a busy moment hits every column alike
                times["loop"].append(timed(lambda: loop(fn, grid, seeds)))
                times["serial"].append(timed(lambda: sweep(fn, grid, seeds=seeds, client="serial",
                                                           progress=False)))
                times["cluster"].append(timed(lambda: sweep(fn, grid, seeds=seeds, client=client,
                                                            progress=False)))
                times["chunked"].append(timed(lambda: sweep(fn, grid, seeds=seeds, client=client,
                                                            progress=False, chunksize=chunk)))
        for _ in range(max(1, repeats // 2)):
            times["embedded"].append(timed(lambda: sweep(fn, grid, seeds=seeds, progress=False)))
        t = {k: statistics.median(v) for k, v in times.items()}
        overhead = {k: (args.workers * t[k] - t["loop"]) / n * 1e3 for k in ("cluster", "chunked")}
        print(f"{case:>11} {n:>6} {t['loop']:>7.3f} {t['serial']:>8.3f} {t['cluster']:>9.3f} {chunk:>5} "
              f"{t['chunked']:>9.3f} {t_fresh:>7.3f} {t['embedded']:>10.3f} {t['loop'] / t['cluster']:>6.2f}x "
              f"{t['loop'] / t['chunked']:>6.2f}x {overhead['cluster']:>9.2f} {overhead['chunked']:>7.2f} "
              f"{os.getloadavg()[0]:>5.1f}")
        compiled = sum(s["misses"] for s in stats.values())
        loaded = sum(s["hits"] for s in stats.values())
        print(f"{'':>11} Numba on the fresh workers: {loaded} kernel signatures loaded from the on-disk cache, "
              f"{compiled} compiled")
    cold_start(args.workers)


if __name__ == "__main__":
    main()
