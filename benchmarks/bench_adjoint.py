"""Gradients through the adaptive ODE mode: the adjoint (`sim.bptt` with a
`solve_ivp` method) against fixed-step RK4 BPTT of the same gradient accuracy.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_adjoint.py [--quick] [--t-end T] [--only stiff] [--repeats R]

1. Memory and time, non-stiff (N = 2,000, in-degree 10, tau in [0.5, 5],
   t in [0, t_end], samples every 1): ``method="RK45"`` at rtol 1e-6 /
   atol 1e-8 against RK4 BPTT with the step halved until its gradient is as
   accurate (both against a DOP853 adjoint at rtol 1e-10); peak memory by
   tracemalloc (NumPy's and SciPy's arrays).
2. Stiff (the small-world network of bench_ode.py: N = 2,000, tau
   log-uniform on [1e-3, 1e2]): ``method="BDF"`` against RK4 BPTT at the
   largest step it is stable with, both against RK4 BPTT with a small step;
   then the BDF adjoint, its forward pass alone (`sim.solve`, the floor of
   any adjoint here) and that RK4 BPTT in `--repeats` alternating rounds,
   medians.

A shared machine's BLAS threads can stall SciPy's solvers (vector norms on
a 28,000-equation system took 2.7 ms each on 2 busy cores, 10 us with one
thread): run it with ``OPENBLAS_NUM_THREADS=1``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import simulator as sim  # noqa: E402
import topologies as tp  # noqa: E402
from bench_ode import graph_with_taus  # noqa: E402


def measured(fn, trace: bool = True):
    """``(seconds, peak bytes traced, result)`` of one call (`trace`: under
    tracemalloc, which slows Python-heavy code; else the peak is 0)."""
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    return seconds, peak, result


def error(g, ref) -> float:
    """Largest relative error over the trained gradients (weight, bias, tau; each by its own largest entry).
    h0's is left out: after tens of time units it is below the adjoint's `atol`."""
    return max(float(np.max(np.abs(getattr(g, k) - getattr(ref, k))) / np.max(np.abs(getattr(ref, k))))
               for k in ("weight", "bias", "tau"))


def refined(x, y, r):
    """Samples and targets for a fixed step of dt / r: each sample held r steps, targets on the original times."""
    yr = np.full((len(y) * r, y.shape[1]), np.nan)
    yr[r - 1::r] = y
    return np.repeat(x, r, axis=0), yr


def problem(kind: str, n: int, t_end: float):
    rng = np.random.default_rng(2)
    if kind == "stiff":
        G = graph_with_taus(tp.small_world(n, 10, 0.05, seed=2, scale=1.2), 10 ** rng.uniform(-3, 2, n))
    else:
        G = graph_with_taus(tp.fixed_indegree(n, 10, seed=3, scale=1.2), rng.uniform(0.5, 5.0, n))
    G = tp.attach_io(G, n_outputs=1, seed=0)
    net = sim.compile(G)
    net = net.with_params(weight=np.where(net.edge_kind == 3, net.weight / np.sqrt(n), net.weight))
    T = round(t_end)
    x = np.sin(np.arange(T))[:, None]
    y = 0.3 * np.cos(np.arange(T))[:, None]
    return net, x, y, rng.normal(0, 0.5, n)


def memory(n: int, t_end: float) -> None:
    net, x, y, h0 = problem("nonstiff", n, t_end)
    sim.bptt(net, x[:1], y[:1], dt=1.0, h0=h0, method="RK45")
    sim.bptt(net, x[:1], y[:1], dt=1.0, h0=h0, method="rk4")
    _, ref = sim.bptt(net, x, y, dt=1.0, h0=h0, method="DOP853", rtol=1e-10, atol=1e-12)
    t_adj, m_adj, (_, g) = measured(lambda: sim.bptt(net, x, y, dt=1.0, h0=h0, method="RK45"))
    e_adj = error(g, ref)
    print(f"RK45 adjoint (rtol 1e-6): {t_adj:.2f} s, peak {m_adj / 2**20:.1f} MiB, error {e_adj:.1e}; "
          f"dense output {g.info['dense_output_bytes'] / 2**20:.1f} MiB over {g.info['forward_steps']} steps; "
          f"nfev forward {g.info['forward']['nfev']}, backward {g.info['backward']['nfev']}")
    for r in (1, 2, 4, 8, 16, 32):
        xr, yr = refined(x, y, r)
        t_rk, m_rk, (_, g) = measured(lambda: sim.bptt(net, xr, yr, dt=1.0 / r, h0=h0, method="rk4"))
        e_rk = error(g, ref)
        print(f"RK4 BPTT step 1/{r}: {t_rk:.2f} s, peak {m_rk / 2**20:.1f} MiB, error {e_rk:.1e}")
        if e_rk <= e_adj:
            print(f"-> same accuracy: RK4 BPTT takes {m_rk / m_adj:.1f}x the adjoint's memory and "
                  f"{t_rk / t_adj:.2f}x its time")
            break


def stiff(n: int, t_end: float, repeats: int) -> None:
    net, x, y, h0 = problem("stiff", n, t_end)
    tau_min = float(net.tau.min())
    sim.bptt(net, x[:1], y[:1], dt=1.0, h0=h0, method="BDF")
    sim.bptt(net, x[:1], y[:1], dt=1.0, h0=h0, method="rk4")
    r_ref = int(np.ceil(1.0 / (0.5 * tau_min)))  # RK4 with a step of half the smallest tau
    xr, yr = refined(x, y, r_ref)
    t_ref, _, (_, ref) = measured(lambda: sim.bptt(net, xr, yr, dt=1.0 / r_ref, h0=h0, method="rk4", checkpoint=True))
    print(f"reference: RK4 BPTT step {1 / r_ref:.2e} (tau_min {tau_min:.2e}), {t_ref:.1f} s")
    bdf = {}
    for rtol, atol in ((1e-6, 1e-8), (1e-8, 1e-10)):
        t_bdf, _, (_, g) = measured(lambda: sim.bptt(net, x, y, dt=1.0, h0=h0, method="BDF", rtol=rtol,
                                                     atol=atol), trace=False)
        print(f"BDF adjoint rtol {rtol:g}: {t_bdf:.2f} s, error {error(g, ref):.1e}, "
              f"forward nfev/njev/nlu {tuple(g.info['forward'].values())}, backward {tuple(g.info['backward'].values())}")
        bdf[rtol] = error(g, ref)
    for factor in (2.5, 2.0, 1.5, 1.0):  # RK4 is stable for dt |lambda| < 2.79; the coupling moves lambda
        r = int(np.ceil(1.0 / (factor * tau_min)))
        xr, yr = refined(x, y, r)
        t_rk, _, (_, g) = measured(lambda: sim.bptt(net, xr, yr, dt=1.0 / r, h0=h0, method="rk4", checkpoint=True),
                                   trace=False)
        e_rk = error(g, ref)
        print(f"RK4 BPTT step {1 / r:.2e} ({factor} tau_min): {t_rk:.2f} s, error {e_rk:.1e}")
        if e_rk < 1:
            break
    # The three timed in alternating rounds, medians: the BDF adjoint, its forward pass alone (`sim.solve`
    # at the target times, the floor of any adjoint on this network), and the cheapest stable RK4 BPTT.
    times = np.arange(1, len(x) + 1) * 1.0
    ways = {"BDF adjoint": lambda: sim.bptt(net, x, y, dt=1.0, h0=h0, method="BDF"),
            "BDF forward alone (sim.solve)": lambda: sim.solve(net, x, (0.0, times[-1]), dt=1.0, method="BDF",
                                                              t_eval=times, h0=h0, progress=False),
            f"RK4 BPTT step {1 / r:.2e}": lambda: sim.bptt(net, xr, yr, dt=1.0 / r, h0=h0, method="rk4",
                                                           checkpoint=True)}
    seconds = {name: [] for name in ways}
    cpu = {name: [] for name in ways}
    for _ in range(repeats):
        for name, way in ways.items():
            start = time.process_time()
            seconds[name].append(measured(way, trace=False)[0])
            cpu[name].append(time.process_time() - start)
    med = {name: float(np.median(v)) for name, v in seconds.items()}
    med_cpu = {name: float(np.median(v)) for name, v in cpu.items()}
    for name, v in seconds.items():
        print(f"{name}: median {med[name]:.2f} s of {repeats} ({', '.join(f'{t:.2f}' for t in v)}), "
              f"CPU {med_cpu[name]:.2f} s")
    rk4 = f"RK4 BPTT step {1 / r:.2e}"
    for label, m in (("wall", med), ("CPU", med_cpu)):
        print(f"-> {label} time: BDF (rtol 1e-6, error {bdf[1e-6]:.1e}) is {m[rk4] / m['BDF adjoint']:.1f}x faster "
              f"than the cheapest stable RK4 BPTT (error {e_rk:.1e}); its forward pass alone would be "
              f"{m[rk4] / m['BDF forward alone (sim.solve)']:.1f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="t in [0, 10]")
    parser.add_argument("--t-end", type=float, default=100.0)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--only", choices=("memory", "stiff"))
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds of the stiff timings")
    args = parser.parse_args(argv)
    t_end = 10.0 if args.quick else args.t_end
    if args.only != "stiff":
        print(f"\n## Memory and time, non-stiff N={args.n}, t in [0, {t_end:g}]")
        memory(args.n, t_end)
    if args.only != "memory":
        print(f"\n## Stiff small-world N={args.n}, t in [0, {t_end:g}], load average {os.getloadavg()[0]:.1f}")
        stiff(args.n, t_end, args.repeats)


if __name__ == "__main__":
    main()
