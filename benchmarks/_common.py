"""Helpers shared by the benchmark scripts: random fixed-in-degree wiring as
NumPy arrays, the NetworkX graph built from them, timing and memory probes.

Only NumPy, SciPy, NetworkX and Numba plus the project are needed.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: Name of the single input node (hidden neurons are named 0 .. N-1).
INPUT = "x"


def fixed_in_degree(n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random wiring where every neuron has exactly `k` distinct presynaptic
    neurons (self-loops allowed), as arrays.

    Parameters
    ----------
    n : int
        Number of neurons.
    k : int
        In-degree, ``1 <= k <= n``.
    seed : int

    Returns
    -------
    src, dst : ndarray of int64, shape (n * k,)
        Edge ``e`` is ``src[e] -> dst[e]``; edges are grouped by target (``dst``
        sorted), sources sorted within a target.
    weight : ndarray of float64, shape (n * k,)
        Normal, scaled by ``1.5 / sqrt(k)`` so the dynamics neither die nor
        saturate.
    """
    if not 1 <= k <= n:
        raise ValueError(f"in-degree k={k} must be in 1..n={n}")
    rng = np.random.default_rng(seed)
    if 2 * k > n:
        src = rng.permuted(np.broadcast_to(np.arange(n), (n, n)), axis=1)[:, :k]
        src = np.sort(src, axis=1)
    else:
        # Draw with replacement, then redraw the rows that hold a repeat.
        src = np.sort(rng.integers(0, n, size=(n, k)), axis=1)
        bad = np.flatnonzero((np.diff(src, axis=1) == 0).any(axis=1))
        while bad.size:
            src[bad] = np.sort(rng.integers(0, n, size=(bad.size, k)), axis=1)
            bad = bad[(np.diff(src[bad], axis=1) == 0).any(axis=1)]
    dst = np.repeat(np.arange(n), k)
    weight = rng.standard_normal(n * k) * (1.5 / np.sqrt(k))
    return src.ravel().astype(np.int64), dst, weight


def build_graph(n, src, dst, weight, u=None, bias=None):
    """The NetworkX DiGraph of the wiring: hidden neurons ``0 .. n-1`` (tanh,
    with `bias`), and, if `u` is given, one input node `INPUT` feeding neuron
    ``i`` with weight ``u[i]``.

    Neurons are added first, in order, so that ``net.neurons == (0, ..., n-1)``.
    """
    import networkx as nx

    G = nx.DiGraph()
    if bias is None:
        G.add_nodes_from(range(n))
    else:
        G.add_nodes_from(zip(range(n), ({"bias": b} for b in bias.tolist())))
    if u is not None:
        G.add_node(INPUT, role="input")
        G.add_weighted_edges_from(zip([INPUT] * n, range(n), u.tolist()))
    G.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), weight.tolist()))
    return G


def alternating_rounds(fns: list[Callable[[], object]], repeats: int,
                       clock: Callable[[], float] = time.perf_counter, warm_up: bool = False) -> list[list[float]]:
    """Seconds (by `clock`) of each of `fns` in `repeats` rounds, the calls
    in turn within a round, so that what the machine does meanwhile falls
    on all of them alike; with `warm_up`, one untimed call of each first."""
    if warm_up:
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for bucket, fn in zip(times, fns):
            t0 = clock()
            fn()
            bucket.append(clock() - t0)
    return times


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """Median wall time of `repeats` calls of `fn`, and all the times."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time of `repeats` calls of `fn`, and the last call's result."""
    last = [None]

    def call() -> None:
        last[0] = fn()

    return median_time(call, repeats)[0], last[0]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux: ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Current resident set size, in MiB (from /proc/self/status; NaN elsewhere)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def machine() -> str:
    """One line about the machine and the library versions."""
    import numba
    import scipy

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, numba {numba.__version__} "
        f"({numba.config.NUMBA_NUM_THREADS} threads, {numba.threading_layer() if _threads_started() else 'layer n/a'}), "
        f"numpy {np.__version__}, scipy {scipy.__version__}, python {platform.python_version()}"
    )


def _threads_started() -> bool:
    import numba

    try:
        numba.threading_layer()
        return True
    except ValueError:
        return False


def network_nbytes(net) -> dict[str, int]:
    """Bytes of every array a compiled network holds, by group."""
    groups = {
        "per-edge arrays (weight, edge_kind, edge_src, edge_dst)": sum(
            a.nbytes for a in (net.weight, net.edge_kind, net.edge_src, net.edge_dst)
        ),
        "per-node arrays (bias, tau, activation_codes)": sum(
            a.nbytes for a in (net.bias, net.tau, net.activation_codes)
        ),
    }
    for side in ("by_target", "by_source"):
        blocks = getattr(net.layout, side)
        groups[f"layout.{side} (indptr, indices, edge; 5 blocks)"] = sum(
            b.indptr.nbytes + b.indices.nbytes + b.edge.nbytes for b in blocks
        )
    return groups


def wiring_nbytes(net) -> int:
    """Bytes of the weight copies in the kernels' view of `net` (built on first use)."""
    w = net.wiring()
    return w.hidden.weight.nbytes + w.outputs.weight.nbytes
