"""The measured limit of each sparse forward and BPTT row, and the fraction reached.

    python benchmarks/roofline.py [--quick] [--threads 1] [--only forward,bptt]

For a fixed in-degree network (the `graphrnn bench` problem: N neurons, k
sources each, one input, tanh), one time step cannot cost less than its
irreducible parts, each timed here alone in the simplest Numba loop that
does it, on the same arrays and in the same layout as the library's kernels
(states ``(N, batch)``, batch innermost, rows of a CSR table):

- **sum**: ``a_i = sum_k w_k h_{j_k}`` for every neuron (k gathers of a
  random source row of `batch` values, k x batch FMAs): what the gather
  bandwidth allows for that state size;
- **tanh**: N x batch evaluations of the kernels' vectorisable ``tanh``
  (`simulator._kernels.elementary`) over a contiguous state, the loop LLVM
  turns into SIMD code;
- for BPTT, the backward step adds the **pull-back** (the same gather on
  the transposed table) and the **outer products** (``dW_e += sum_b
  delta_i,b h_j,b``: one more random row read an edge) and the slope
  ``1 - h^2``.

The bound is the sum of the parts (they share the core; they do not
overlap in a step's dependency chain), and the fraction reached is the
bound over the library's own time. (The library's backward walks each
out-edge once for the pull-back and the W outer product together, so for
BPTT the sum of the two timed apart is no longer a strict lower bound.) (`sim.run` / `sim.bptt`, one thread
unless ``--threads`` says more).
The effective gather bandwidth (bytes of source values read per second) is
printed beside the sum.
Figures are medians of rounds; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simulator as sim  # noqa: E402
from graphrnn.baselines import random_csr  # noqa: E402
from simulator._kernels import elementary as el  # noqa: E402


@njit(cache=False, error_model="numpy")
def sum_rows(ptr, index, weight, src, dst):
    """``dst[i] = sum_k weight[k] src[index[k]]`` for every row i."""
    n, nb = np.uint64(src.shape[0]), np.uint64(src.shape[1])
    if nb == 1:
        for i in range(n):
            total = 0.0
            for q in range(ptr[i], ptr[i + 1]):
                total += weight[q] * src[index[q], 0]
            dst[i, 0] = total
        return
    acc = np.empty(nb)
    for i in range(n):
        acc[:] = 0.0
        for q in range(ptr[i], ptr[i + 1]):
            j, c = index[q], weight[q]
            for b in range(nb):
                acc[b] += c * src[j, b]
        for b in range(nb):
            dst[i, b] = acc[b]


@njit(cache=False, error_model="numpy")
def sums(ptr, index, weight, h, a, steps):
    """`steps` times `sum_rows`, `a` and `h` swapping roles (every step reads
    the previous step's values)."""
    for t in range(0, steps, 2):
        sum_rows(ptr, index, weight, h, a)
        sum_rows(ptr, index, weight, a, h)


@njit(cache=False, error_model="numpy")
def tanhs(h, a, steps):
    """`steps` times: ``a = tanh(h)`` over the whole state."""
    flat_h, flat_a = h.reshape(-1), a.reshape(-1)
    for t in range(steps):
        for i in range(flat_h.size):
            flat_a[i] = el.tanh(flat_h[i] + 1e-3 * t)


@njit(cache=False, error_model="numpy")
def outers(ptr, index, delta, h, grad, steps):
    """`steps` times: ``grad[q] += sum_b delta[i, b] h[index[q], b]`` for every
    edge q of row i, and the slope ``delta *= 1 - h^2`` of every neuron."""
    n, nb = np.uint64(h.shape[0]), np.uint64(h.shape[1])
    for t in range(steps):
        for i in range(n):
            for q in range(ptr[i], ptr[i + 1]):
                j = index[q]
                total = 0.0
                for b in range(nb):
                    total += delta[i, b] * h[j, b]
                grad[q] += total
            for b in range(nb):
                delta[i, b] *= 1.0 - 1e-6 * h[i, b] * h[i, b]


def median_seconds(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def row(n: int, k: int, batch: int, steps: int, repeats: int, bptt: bool) -> str:
    rng = np.random.default_rng(0)
    W = random_csr(n, k)
    WT = W.T.tocsr()
    h = rng.uniform(-1, 1, size=(n, batch))
    a = np.empty_like(h)
    ptr, index, weight = W.indptr.astype(np.uint64), W.indices.astype(np.uint32), W.data  # the library's dtypes
    t_sum = median_seconds(lambda: sums(ptr, index, weight, h, a, steps), repeats) / steps
    t_tanh = median_seconds(lambda: tanhs(h, a, steps), repeats) / steps
    gathered = n * k * batch * 8  # bytes of source values read a step
    bound = t_sum + t_tanh
    parts = f"sum {t_sum * 1e6:7.1f} us ({gathered / t_sum / 1e9:5.1f} GB/s gathered), tanh {t_tanh * 1e6:6.1f} us"
    net = sim.compile_arrays(W, U=rng.normal(size=(n, 1)), V=np.full((1, n), 1.0 / n))
    x = rng.normal(size=(steps, 1) if batch == 1 else (steps, batch, 1))
    if bptt:
        grad = np.zeros(W.nnz)
        ptr_t, index_t, weight_t = WT.indptr.astype(np.uint64), WT.indices.astype(np.uint32), WT.data
        t_pull = median_seconds(lambda: sums(ptr_t, index_t, weight_t, h, a, steps), repeats) / steps
        delta = rng.uniform(-1, 1, size=(n, batch))
        t_outer = median_seconds(lambda: outers(ptr, index, delta, h, grad, steps), repeats) / steps
        bound += t_pull + t_outer
        parts += f", pull-back {t_pull * 1e6:6.1f} us, outer products + slope {t_outer * 1e6:6.1f} us"
        y = rng.normal(size=(steps, 1) if batch == 1 else (steps, batch, 1))
        actual = median_seconds(lambda: sim.bptt(net, x, y), repeats) / steps
        what = "BPTT   "
    else:
        actual = median_seconds(lambda: sim.run(net, x), repeats) / steps
        what = "forward"
    return (f"{what} N={n:>7,} k={k:>3} batch {batch:>2}: library {actual * 1e6:8.1f} us/step, "
            f"bound {bound * 1e6:8.1f} us/step, fraction reached {bound / actual:5.2f}\n    {parts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rows and rounds")
    parser.add_argument("--threads", type=int, default=1, help="Numba threads for the library (default 1)")
    parser.add_argument("--only", default="forward,bptt", help="comma-separated row kinds: forward, bptt")
    args = parser.parse_args()
    numba.set_num_threads(args.threads)
    repeats = 3 if args.quick else 7
    print(f"# load average {os.getloadavg()[0]:.2f} at the start; the library on {args.threads} thread(s), the parts on one; medians of {repeats} rounds")
    rows = [(100, 10, 1, False), (1000, 10, 1, False), (10_000, 10, 1, False), (1000, 10, 32, False),
            (10_000, 10, 32, False), (10_000, 100, 1, False), (1000, 10, 1, True), (1000, 10, 32, True)]
    if not args.quick:
        rows.insert(6, (100_000, 100, 1, False))
    kinds = set(args.only.split(","))
    for n, k, batch, bptt in rows:
        if ("bptt" if bptt else "forward") not in kinds:
            continue
        steps = max(10, min(2000, int(2e7 // (n * k * batch))))
        print(row(n, k, batch, steps, repeats, bptt), flush=True)
    print(f"# load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
