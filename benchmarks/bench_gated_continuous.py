"""GRU neurons in continuous time: what a fixed-step BPTT step costs against
the discrete gated one, and what the analytic GRU-ODE Jacobian buys the
implicit solvers.

    python benchmarks/bench_gated_continuous.py [--quick]

1. BPTT (forward + backward) of a sparse GRU network (fixed in-degree 10,
   one input, one output read from every neuron, batch 1): discrete, and
   the GRU-ODE with Euler and RK4 at dt = 0.1, per step of the run.
2. `sim.solve` of a stiff GRU network (taus spread over 1e-3 .. 1) with
   BDF: the analytic Jacobian (dense or sparse by the fill rule) against
   SciPy's finite differences (``jacobian="none"``) and against RK45.

Medians of repeats; the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import simulator as sim  # noqa: E402
import topologies as tp  # noqa: E402
from _common import median_time  # noqa: E402


def gru_network(n: int, k: int, seed: int = 0, taus: tuple[float, float] | None = None):
    G = tp.fixed_indegree(n, k, n_inputs=1, n_outputs=0, seed=seed)
    G.add_node("y", role="output")
    G.add_edges_from((v, "y", {"weight": 1.0 / n}) for v in range(n))
    tp.gate(G, unit="gru", seed=seed)
    if taus is not None:
        rng = np.random.default_rng(seed)
        for v in range(n):
            G.nodes[v]["tau"] = float(np.exp(rng.uniform(np.log(taus[0]), np.log(taus[1]))))
    return sim.compile(G)


def bptt_per_step(n: int, steps: int, reps: int) -> None:
    net = gru_network(n, 10)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(steps, 1)), rng.normal(size=(steps, 1))
    print(f"BPTT, N = {n:,}, in-degree 10, T = {steps}, batch 1 (ms per step, median of {reps})")
    base = None
    for label, kwargs in (("discrete", {}), ("euler dt=0.1", {"dt": 0.1, "method": "euler"}),
                          ("rk4 dt=0.1", {"dt": 0.1, "method": "rk4"})):
        sim.bptt(net, x[:2], y[:2], **kwargs)  # compile
        t, _ = median_time(lambda: sim.bptt(net, x, y, **kwargs), reps)
        base = base or t
        print(f"  {label:<14} {1e3 * t / steps:8.3f} ms   {t / base:5.2f}x discrete")


def stiff_solve(n: int, t_end: float, reps: int) -> None:
    net = gru_network(n, 10, taus=(1e-3, 1.0))
    x = np.ones((1, 1))
    print(f"solve, stiff GRU network N = {n:,} (tau 1e-3 .. 1), t in [0, {t_end}], rtol 1e-6 (s, median of {reps})")
    reference = sim.solve(net, x, (0.0, t_end), dt=t_end, method="BDF", t_eval=[t_end], rtol=1e-10, atol=1e-12,
                          progress=False).states[-1]
    for label, kwargs in (("BDF analytic", {"method": "BDF"}), ("BDF differenced", {"method": "BDF", "jacobian": "none"}),
                          ("RK45", {"method": "RK45"})):
        def call(kwargs=kwargs):
            return sim.solve(net, x, (0.0, t_end), dt=t_end, t_eval=[t_end], progress=False, **kwargs)

        t, res = median_time(call, reps), call()
        err = np.abs(res.states[-1] - reference).max()
        print(f"  {label:<16} {t[0]:8.3f} s   nfev {res.info['nfev']:>7,}  njev {res.info['njev']:>4}  "
              f"Jacobian {res.info['jacobian']:<6} max error {err:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    bptt_per_step(1000, 50 if args.quick else 200, 3 if args.quick else 7)
    stiff_solve(200 if args.quick else 1000, 2.0 if args.quick else 20.0, 1 if args.quick else 3)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
