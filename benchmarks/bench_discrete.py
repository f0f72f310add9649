"""Discrete-time runs: `simulator.run` against the loop a user would write.

The baseline is a ``scipy.sparse`` CSR loop recording every state into a
preallocated history, one step per Python iteration::

    H = np.empty((T + 1, N)); H[0] = 0                 # batched: (T + 1, N, B)
    for t in range(T):
        np.tanh(W @ H[t] + U @ x[t] + b, out=H[t + 1])

against ``simulator.run(net, x)`` on the same network, compiled from a
NetworkX DiGraph built from the same weights: N tanh neurons with a fixed
in-degree k (random sources, self-loops allowed) and one input node feeding
every neuron. Before any timing, each case checks that our states equal the
SciPy loop's to 1e-10 (float64; 1e-4 for float32).

Each timing is one call over T steps, T chosen per case so the faster of the
two takes about ``--target`` seconds; the two are timed alternately, and the
table gives the medians and their ratio (baseline / ours: > 1 means we are
faster). Where the default run uses threads, ``run(..., parallel=False)`` is
timed in the same alternation too ("1-thread" columns): on a shared 2-core
machine a busy core stalls every step's barrier, and this column shows what
one thread does regardless. A STREAM-like triad measured in the same process
gives the memory bandwidth the largest batch-1 case is compared against.

Usage::

    python benchmarks/bench_discrete.py            # full table, a few minutes
    python benchmarks/bench_discrete.py --quick    # smaller sizes, under a minute
    python benchmarks/bench_discrete.py --torch-sparse [--quick]   # batch 32 against torch.sparse only
    python benchmarks/bench_discrete.py --torch-sparse --threads 1 --sizes 1000 --dtypes float32   # one row

``--torch-sparse``: the batch-32 forward (N = 1,000 and 10,000, in-degree
10, float32 and float64) against a ``torch.sparse`` CSR loop
(`graphrnn.baselines.torch_csr_loop`: per step ``torch.sparse.mm(W, h)`` +
input + tanh into the history), states checked equal first: one thread each
side timed in CPU time (``time.process_time``, which a shared machine's
waits for a core do not inflate), and two threads each side in wall time.
Needs torch.

Needs about 5.5 GiB of memory for the full run (the 10-million-edge graph).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import hashlib
import math
import os
import statistics
import time

import numpy as np
import scipy.sparse as sp

from _common import INPUT, ROOT, build_graph, fixed_in_degree, machine, peak_rss_mb
from graphrnn.baselines import scipy_loop

#: Targets from the issue: (predicate on N and batch, minimum ratio, label).
TARGETS = (
    (lambda n, b: n <= 100, 10.0, ">=10x"),
    (lambda n, b: n >= 10_000 and b == 1, 1.5, ">=1.5x"),
    (lambda n, b: n >= 10_000 and b >= 32, 3.0, ">=3x"),
)

#: Bytes one step must move per edge (4-byte index, weight, gathered value)
#: and per neuron (the state written), by dtype itemsize.
def step_bytes(n_edges: int, n_neurons: int, itemsize: int) -> int:
    return n_edges * (4 + 2 * itemsize) + n_neurons * itemsize


def target_for(n: int, batch: int) -> tuple[float, str]:
    for pred, ratio, label in TARGETS:
        if pred(n, batch):
            return ratio, label
    return float("nan"), ""


def source_fingerprint() -> str:
    """Short hash of simulator/**/*.py, to tie a table to a code version."""
    h = hashlib.sha1()
    for path in sorted((ROOT / "simulator").rglob("*.py")):
        h.update(path.relative_to(ROOT).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:10]


# ----------------------------------------------------------------- baseline
def ours_as_baseline_layout(states: np.ndarray) -> np.ndarray:
    """Our (T+1, [B,] N) states in the baseline's (T+1, N[, B]) layout."""
    return states if states.ndim == 2 else states.transpose(0, 2, 1)


# -------------------------------------------------------------------- runs
class Ours:
    """Calls ``simulator.run(net, x)``; if the default kernel raises, says so
    and falls back to ``parallel=False`` (so the table still has a number)."""

    def __init__(self, sim, net):
        self.sim, self.net = sim, net
        self.parallel = None
        self.note = ""

    def __call__(self, x):
        try:
            return self.sim.run(self.net, x, parallel=self.parallel)
        except Exception as exc:
            if self.parallel is not None:
                raise
            self.parallel = False
            self.note = f"default raised {type(exc).__name__}; timed parallel=False"
            return self.sim.run(self.net, x, parallel=False)


def make_x(rng, T, batch, dtype):
    shape = (T, 1) if batch == 1 else (T, batch, 1)
    return rng.standard_normal(shape).astype(dtype)


def per_step(fn, x_for, min_seconds=0.03):
    """Seconds per step of fn(x), from a short run grown until it takes
    `min_seconds`."""
    T = 4
    while True:
        x = x_for(T)
        t0 = time.perf_counter()
        fn(x)
        dt = time.perf_counter() - t0
        if dt >= min_seconds or T >= 1 << 20:
            return dt / T
        T = int(T * max(2.0, min(16.0, 1.5 * min_seconds / max(dt, 1e-6))))


def kernel_choice(net, batch) -> str:
    """Which kernel the default run picks right now: "ser", or "par" and the
    number of threads."""
    from simulator import threads

    n = threads.plan((net.n_edges + net.n_neurons) * batch, None)
    return f"par{n}" if n > 1 else "ser"


def bench_case(sim, net, W, U, b, batch, args, rng):
    """Check, calibrate and time one (network, batch) case; return a row dict."""
    dtype = net.dtype
    N = net.n_neurons
    ours = Ours(sim, net)
    tol = 1e-10 if dtype == np.float64 else 1e-4

    # 1. correctness (also compiles / loads the kernels: the warm-up).
    x = make_x(rng, args.check_steps, batch, dtype)
    ref = scipy_loop(W, U, b, x)
    got = ours_as_baseline_layout(ours(x).states)
    err = float(np.max(np.abs(got - ref)))
    if not err <= tol:
        raise AssertionError(f"N={N} batch={batch} {dtype}: states differ from the SciPy loop by {err:.3g} > {tol}")
    ours(x)  # a second warm call

    # 2. choose T so the faster one takes ~target seconds (memory-capped).
    x_for = lambda T: make_x(rng, T, batch, dtype)  # noqa: E731
    s_ours = per_step(ours, x_for)
    s_base = per_step(lambda x: scipy_loop(W, U, b, x), x_for)
    T = max(args.min_steps, math.ceil(args.target / min(s_ours, s_base)))
    row_bytes = N * batch * dtype.itemsize
    T = max(2, min(T, int(args.max_history_bytes // row_bytes) - 1))
    repeats = args.repeats
    kernel = kernel_choice(net, batch)
    serial_too = kernel != "ser" and ours.parallel is None
    s_ours_all = s_ours * (2 if serial_too else 1)
    est = T * (s_ours_all + s_base) * repeats
    if est > args.case_budget:  # keep the run short when one side is very slow
        repeats = max(3, int(repeats * args.case_budget / est))
        est = T * (s_ours_all + s_base) * repeats
        if est > args.case_budget:
            T = max(2, int(T * args.case_budget / est))

    # 3. alternate the two (and the one-thread run where the default uses
    #    threads), `repeats` times each.
    x = make_x(rng, T, batch, dtype)
    t_ours, t_base, t_ser = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = ours(x)
        t_ours.append(time.perf_counter() - t0)
        del res
        t0 = time.perf_counter()
        H = scipy_loop(W, U, b, x)
        t_base.append(time.perf_counter() - t0)
        del H
        if serial_too:
            t0 = time.perf_counter()
            sim.run(net, x, parallel=False)
            t_ser.append(time.perf_counter() - t0)
    row = dict(
        N=N, k=int(W.indptr[1] - W.indptr[0]) if N else 0, batch=batch, dtype=dtype.name, T=T,
        repeats=repeats, ours=statistics.median(t_ours), base=statistics.median(t_base),
        ours_all=t_ours, base_all=t_base, err=err, kernel=kernel, note=ours.note,
        load=os.getloadavg()[0],
    )
    row["ratio"] = row["base"] / row["ours"]
    row["serial"] = statistics.median(t_ser) if t_ser else None
    return row


# ------------------------------------------------------------------- triad
def triad(n_elems: int, repeats: int) -> dict[str, tuple[float, float]]:
    """STREAM triad a = b + s * c on float64 arrays of `n_elems`: GB/s
    (median, best) counting 24 bytes per element, numba 2-thread and 1-thread."""
    from numba import njit, prange

    @njit(parallel=True)
    def triad_par(a, b, c, s):
        for i in prange(a.shape[0]):
            a[i] = b[i] + s * c[i]

    @njit
    def triad_ser(a, b, c, s):
        for i in range(a.shape[0]):
            a[i] = b[i] + s * c[i]

    a = np.zeros(n_elems)
    b = np.ones(n_elems)
    c = np.full(n_elems, 2.0)
    out = {}
    for name, fn in (("numba parallel triad", triad_par), ("numba serial triad", triad_ser)):
        fn(a, b, c, 3.0)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn(a, b, c, 3.0)
            times.append(time.perf_counter() - t0)
        gbs = [24 * n_elems / t / 1e9 for t in times]
        out[name] = (statistics.median(gbs), max(gbs))
    # numpy, one thread, as a user would write it (a temporary for s * c).
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a[:] = b + 3.0 * c
        times.append(time.perf_counter() - t0)
    gbs = [24 * n_elems / t / 1e9 for t in times]
    out["numpy a[:] = b + s*c"] = (statistics.median(gbs), max(gbs))
    assert a[0] == 7.0
    return out


# -------------------------------------------------------------------- main
def fmt_row(r) -> str:
    ratio, label = target_for(r["N"], r["batch"])
    verdict = "" if not label else ("ok" if r["ratio"] >= ratio else "MISS")
    if r["serial"] is None:
        extra = f" {'(same)':>9} {'':>8}"
    else:
        extra = f" {r['serial']:9.4f} {r['base'] / r['serial']:7.2f}x"
    return (
        f"{r['N']:>7,} {r['k']:>4} {r['batch']:>5} {r['dtype']:>7} {r['T']:>7} "
        f"{r['ours']:9.4f} {r['base']:9.4f} {r['ratio']:7.2f}x {label:>7} {verdict:>4} "
        f"{r['kernel']:>5}{extra} {r['load']:5.1f}  {r['note']}"
    ).rstrip()


def torch_sparse_table(quick: bool, thread_counts=(1, 2), sizes=(1000, 10_000), dtypes=("float32", "float64"),
                       rounds: int | None = None) -> None:
    """Print the batch-32 forward against the torch.sparse CSR loop (see the
    module's notes): a row for each of `thread_counts` x `sizes` x `dtypes`,
    medians of `rounds` alternating timings (default 7, 3 with `quick`)."""
    import numba
    import torch

    import simulator as sim
    from graphrnn.baselines import random_csr, torch_csr, torch_csr_loop

    clocks = {1: time.process_time, 2: time.perf_counter}
    print(f"# forward, batch 32, in-degree 10, every state recorded: sim.run vs torch.sparse.mm loop "
          f"(torch {torch.__version__}, MKL {torch.backends.mkl.is_available()}); medians of alternating runs; "
          f"1 thread: CPU time, 2 threads: wall time; load average {os.getloadavg()[0]:.2f}")
    print(f"{'threads':>7} {'N':>7} {'dtype':>8} {'T':>5} {'ours ms/step':>13} {'torch ms/step':>14} {'ratio':>7} "
          f"{'load':>5}")
    for threads in thread_counts:
        torch.set_num_threads(threads)
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        for n in sizes:
            for dtype in (np.dtype(d).type for d in dtypes):
                rng = np.random.default_rng(0)
                W = random_csr(n, 10, seed=0, dtype=dtype)
                U, b = rng.normal(size=(n, 1)).astype(dtype), (0.1 * rng.normal(size=n)).astype(dtype)
                net = sim.compile_arrays(W, U=U, bias=b, dtype=np.dtype(dtype).name)
                T = (50 if quick else 200) if n == 1000 else (10 if quick else 40)
                x = rng.normal(size=(T, 32, 1)).astype(dtype)
                Wt, Ut, bt, xt = torch_csr(W, torch), torch.as_tensor(U), torch.as_tensor(b), torch.as_tensor(x)
                ours = sim.run(net, x, parallel=threads > 1).states
                ref = torch_csr_loop(Wt, Ut, bt, xt, torch).numpy().transpose(0, 2, 1)
                tol = 1e-4 if dtype == np.float32 else 1e-10
                assert np.allclose(ours, ref, rtol=tol, atol=tol), "states differ from the torch.sparse loop"
                clock, t_ours, t_torch = clocks[threads], [], []
                for _ in range(rounds or (3 if quick else 7)):
                    t0 = clock()
                    sim.run(net, x, parallel=threads > 1)
                    t_ours.append(clock() - t0)
                    t0 = clock()
                    torch_csr_loop(Wt, Ut, bt, xt, torch)
                    t_torch.append(clock() - t0)
                a, c = np.median(t_ours), np.median(t_torch)
                print(f"{threads:>7} {n:>7} {np.dtype(dtype).name:>8} {T:>5} {a / T * 1e3:13.3f} {c / T * 1e3:14.3f} "
                      f"{c / a:7.2f} {os.getloadavg()[0]:5.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, shorter timings (under a minute)")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--target", type=float, default=None, help="seconds the faster side should take per timing")
    parser.add_argument("--torch-sparse", action="store_true",
                        help="only the batch-32 forward against a torch.sparse CSR loop (needs torch)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="--torch-sparse: thread counts")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000], help="--torch-sparse: N")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], help="--torch-sparse: precisions")
    args = parser.parse_args()
    if args.torch_sparse:
        torch_sparse_table(args.quick, args.threads, args.sizes, args.dtypes, args.repeats)
        return
    args.repeats = args.repeats or (3 if args.quick else 5)
    args.target = args.target or (0.04 if args.quick else 0.25)
    args.case_budget = 3.0 if args.quick else 20.0
    args.min_steps = 3
    args.check_steps = 30
    args.max_history_bytes = 1 << 30

    import numba

    import simulator as sim

    sizes = (100, 10_000, 100_000)
    degrees = (10, 100)
    batches = (1, 32)
    big = (100_000, 100)  # the memory-bound batch-1 case, also run in float32
    if args.quick:
        big = (100_000, 10)

    t_start = time.perf_counter()
    print(f"# bench_discrete{' --quick' if args.quick else ''}: simulator.run vs a scipy.sparse CSR loop (tanh, all states recorded)")
    print(f"# {datetime.datetime.now().isoformat(timespec='minutes')}; {machine()}")
    print(f"# numba threads {numba.get_num_threads()}; simulator sources {source_fingerprint()}; "
          f"load average {os.getloadavg()[0]:.2f} at start")
    print(f"# timings: median of {args.repeats} alternating runs each (fewer where one side is very slow); "
          f"ratio = scipy / ours (> 1: ours faster)")
    print("# krn: kernel the default run picks (ser = one thread, parN = N threads); "
          "load: 1-minute load average after the row (> 1 on 2 cores: something else is running)")
    head = (f"{'N':>7} {'k':>4} {'batch':>5} {'dtype':>7} {'T':>7} {'ours s':>9} {'scipy s':>9} {'ratio':>8} "
            f"{'target':>7} {'':>4} {'krn':>5} {'1-thr s':>9} {'1-thr':>8} {'load':>5}")
    print(head)

    rng = np.random.default_rng(0)
    rows = []
    for N in sizes:
        for k0 in degrees:
            k = min(k0, N)
            if args.quick and N == 100_000 and k != 10:
                continue
            src, dst, w = fixed_in_degree(N, k, seed=N + k)
            wrng = np.random.default_rng(N * 7 + k)
            u = wrng.standard_normal(N)
            bias = 0.1 * wrng.standard_normal(N)
            t0 = time.perf_counter()
            G = build_graph(N, src, dst, w, u=u, bias=bias)
            t_graph = time.perf_counter() - t0
            t0 = time.perf_counter()
            net = sim.compile(G)
            t_compile = time.perf_counter() - t0
            del G
            gc.collect()
            assert net.neurons == tuple(range(N)) and net.inputs == (INPUT,)
            W = sp.csr_matrix((w, (dst, src)), shape=(N, N))
            U = sp.csr_matrix(u[:, None])
            del src, dst
            dtypes = [np.float64]
            if (N, k0) == big:
                dtypes.append(np.float32)
            for dtype in dtypes:
                if dtype == np.float64:
                    n_, W_, U_, b_ = net, W, U, bias
                else:
                    n_, W_, U_, b_ = net.astype("float32"), W.astype(np.float32), U.astype(np.float32), bias.astype(np.float32)
                for batch in batches:
                    if dtype == np.float32 and batch != 1:
                        continue
                    row = bench_case(sim, n_, W_, U_, b_, batch, args, rng)
                    row["build"] = (t_graph, t_compile)
                    row["big"] = (N, k0) == big
                    rows.append(row)
                    print(fmt_row(row), flush=True)
            del net, W, U
            gc.collect()

    # Bandwidth of the memory-bound case, against a triad in the same process.
    n_triad = int(3e7 if args.quick else 1e8)
    tri = triad(n_triad, repeats=5)
    print()
    print(f"# STREAM-like triad a[:] = b + s*c on {n_triad:.0e} float64 (24 bytes/element counted): GB/s median (best)")
    for name, (med, best) in tri.items():
        print(f"  {name:24s} {med:7.2f} ({best:.2f})")
    ref_par = tri["numba parallel triad"][0]
    ref_ser = tri["numba serial triad"][0]
    print(f"# achieved bandwidth, batch 1, N={big[0]:,}, in-degree {big[1]}: bytes per step = edges x (4 index "
          f"+ weight + gathered state) + neurons x state, edges = N*k + N (the input edges)")
    for r in rows:
        if not (r["big"] and r["batch"] == 1):
            continue
        n_edges = r["N"] * r["k"] + r["N"]
        itemsize = np.dtype(r["dtype"]).itemsize
        nbytes = step_bytes(n_edges, r["N"], itemsize) * r["T"]
        runs = [("ours", r["ours"]), ("scipy", r["base"])]
        if r["serial"] is not None:
            runs.insert(1, ("ours 1-thread", r["serial"]))
        for who, t in runs:
            gbs = nbytes / t / 1e9
            print(f"  {r['dtype']:8s} {who:13s} {gbs:7.2f} GB/s = {gbs / ref_par:5.1%} of the 2-thread triad, "
                  f"{gbs / ref_ser:5.1%} of the 1-thread triad  ({nbytes / r['T'] / 1e6:.0f} MB/step, "
                  f"{t / r['T'] * 1e3:.2f} ms/step)")

    print()
    misses = [r for r in rows if target_for(r["N"], r["batch"])[1] and r["ratio"] < target_for(r["N"], r["batch"])[0]]
    print(f"# {len(rows)} rows; {len(misses)} below target; worst spread (max/min of a side's timings): "
          f"{max(max(r['ours_all']) / min(r['ours_all']) for r in rows):.2f} ours, "
          f"{max(max(r['base_all']) / min(r['base_all']) for r in rows):.2f} scipy")
    for r in rows:
        if r["note"]:
            print(f"# note N={r['N']} k={r['k']} batch={r['batch']}: {r['note']}")
    print(f"# load average {os.getloadavg()[0]:.2f} at end; total {time.perf_counter() - t_start:.0f} s; "
          f"peak RSS {peak_rss_mb():,.0f} MiB")


if __name__ == "__main__":
    main()
