"""Compile a large graph: 1,000,000 hidden neurons, 10,000,000 edges.

Builds a NetworkX DiGraph with a fixed in-degree of 10 (from NumPy arrays, as
fast as NetworkX allows), then times ``simulator.compile(G)`` and reports the
peak resident memory before and after it, the bytes held by the compiled
network's arrays, and the time of a 10-step ``simulator.run``.

Usage::

    python benchmarks/compile_large.py [--neurons N] [--in-degree K]

Needs about 10 GiB of memory at the default size (the NetworkX graph itself
takes most of it).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import time

import numpy as np

from _common import current_rss_mb, fixed_in_degree, machine, network_nbytes, peak_rss_mb, wiring_nbytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, default=1_000_000)
    parser.add_argument("--in-degree", type=int, default=10)
    args = parser.parse_args()
    n, k = args.neurons, args.in_degree

    import networkx as nx

    import simulator as sim

    print(f"# compile_large: {n:,} hidden neurons, in-degree {k}, {n * k:,} edges")
    print(f"# {datetime.date.today().isoformat()}; {machine()}; load average {os.getloadavg()[0]:.2f}")

    t0 = time.perf_counter()
    src, dst, weight = fixed_in_degree(n, k, seed=0)
    t_arrays = time.perf_counter() - t0
    t0 = time.perf_counter()
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), weight.tolist()))
    t_graph = time.perf_counter() - t0
    del src, dst
    gc.collect()
    assert G.number_of_edges() == n * k
    print(f"random arrays          {t_arrays:8.2f} s")
    print(f"nx.DiGraph build       {t_graph:8.2f} s   ({G.number_of_edges():,} edges)")

    peak_before, rss_before = peak_rss_mb(), current_rss_mb()
    t0 = time.perf_counter()
    net = sim.compile(G)
    t_compile = time.perf_counter() - t0
    peak_after, rss_after = peak_rss_mb(), current_rss_mb()
    print(f"simulator.compile(G)   {t_compile:8.2f} s   -> {net!r}")
    print(f"peak RSS  before compile {peak_before:9.0f} MiB, after {peak_after:9.0f} MiB "
          f"(compile raised the peak by {peak_after - peak_before:,.0f} MiB)")
    print(f"current RSS before       {rss_before:9.0f} MiB, after {rss_after:9.0f} MiB "
          f"(the network holds {rss_after - rss_before:,.0f} MiB more than the graph alone)")

    total = 0
    print("compiled arrays:")
    for name, nbytes in network_nbytes(net).items():
        total += nbytes
        print(f"  {name:58s} {nbytes / 2**20:9.1f} MiB")
    print(f"  {'total':58s} {total / 2**20:9.1f} MiB  ({total / net.n_edges:.1f} bytes per edge)")

    # Weight edges of the kernels' view (built once per network, on first run).
    t0 = time.perf_counter()
    wiring_bytes = wiring_nbytes(net)
    t_wiring = time.perf_counter() - t0
    print(f"net.wiring() (first run builds it) {t_wiring:6.2f} s, its weight copies {wiring_bytes / 2**20:.1f} MiB")

    del G
    gc.collect()
    sim.run(net, 1, parallel=False)  # load / compile the kernels
    for parallel in (None, False, True):
        label = {None: "default", False: "parallel=False", True: "parallel=True"}[parallel]
        times = []
        try:
            for _ in range(3):
                t0 = time.perf_counter()
                res = sim.run(net, 10, h0=np.full(n, 0.5), parallel=parallel)
                times.append(time.perf_counter() - t0)
        except Exception as exc:  # report, don't hide: the default may pick a broken kernel
            print(f"simulator.run(net, 10) [{label:14s}] FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
            continue
        med = float(np.median(times))
        print(f"simulator.run(net, 10) [{label:14s}] median {med:6.3f} s over 3 "
              f"({med / 10 * 1e3:.1f} ms/step, {med / 10 / (net.n_edges + n) * 1e9:.2f} ns per edge+neuron); "
              f"states {res.states.shape}")
    print(f"peak RSS at the end {peak_rss_mb():,.0f} MiB")


if __name__ == "__main__":
    main()
