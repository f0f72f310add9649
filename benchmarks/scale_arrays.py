"""Scale: 1,000,000 neurons and 100,000,000 edges from a scipy.sparse matrix.

Builds the wiring as a CSR matrix (fixed in-degree, distinct sources per
neuron), then times ``simulator.compile_arrays`` and a 100-step ``run`` at
batch 1, and reports the bytes of the compiled arrays beside the peak resident
memory: what the matrix alone takes, and how far compile and run raise the
peak above it.

Usage::

    python benchmarks/scale_arrays.py [--neurons N] [--in-degree K] [--steps T]

Needs about 10 GiB of memory at the default size.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import time

import numpy as np

from _common import current_rss_mb, machine, network_nbytes, peak_rss_mb, wiring_nbytes
from graphrnn.baselines import random_csr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, default=1_000_000)
    parser.add_argument("--in-degree", type=int, default=100)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    n, k, steps = args.neurons, args.in_degree, args.steps

    import simulator as sim

    sim.run(sim.compile_arrays(np.eye(2)), 1)  # load the kernels before measuring memory
    print(f"# scale_arrays: {n:,} neurons, in-degree {k}, {n * k:,} edges, {steps} steps, batch 1")
    print(f"# {datetime.date.today().isoformat()}; {machine()}; load average {os.getloadavg()[0]:.2f}")
    t0 = time.perf_counter()
    W = random_csr(n, k)
    gc.collect()
    matrix_mb = (W.data.nbytes + W.indices.nbytes + W.indptr.nbytes) / 2**20
    print(f"scipy.sparse CSR built     {time.perf_counter() - t0:7.2f} s, {matrix_mb:9.0f} MiB")

    rss_before, peak_before = current_rss_mb(), peak_rss_mb()
    t0 = time.perf_counter()
    net = sim.compile_arrays(W)
    t_compile = time.perf_counter() - t0
    peak_compile = peak_rss_mb()
    t0 = time.perf_counter()
    arrays_mb = (sum(network_nbytes(net).values()) + wiring_nbytes(net)) / 2**20  # builds the kernels' view too
    t_wiring = time.perf_counter() - t0
    print(f"compile_arrays(W)          {t_compile:7.2f} s  -> {net!r}")
    print(f"kernels' weight view       {t_wiring:7.2f} s")
    print(f"compiled arrays            {arrays_mb:9.0f} MiB ({arrays_mb * 2**20 / net.n_edges:.1f} bytes per edge)")

    h0 = np.full(n, 0.5)
    t0 = time.perf_counter()
    res = sim.run(net, steps, h0=h0)
    t_run = time.perf_counter() - t0
    states_mb = res.states.nbytes / 2**20
    print(f"run(net, {steps})              {t_run:7.2f} s ({t_run / steps * 1e3:.1f} ms/step, "
          f"{t_run / steps / net.n_edges * 1e9:.2f} ns/edge); states {states_mb:.0f} MiB")
    peak = peak_rss_mb()
    added = peak - rss_before
    print(f"RSS before compile (process + matrix)  {rss_before:9.0f} MiB (peak so far {peak_before:.0f})")
    print(f"peak RSS after compile                 {peak_compile:9.0f} MiB")
    print(f"peak RSS after run                     {peak:9.0f} MiB")
    print(f"peak raised by compile+run             {added:9.0f} MiB = {added / arrays_mb:.2f}x the compiled "
          f"arrays ({(added - states_mb) / arrays_mb:.2f}x without the recorded states)")


if __name__ == "__main__":
    main()
