"""Continuous time: `sim.solve` and fixed-step RK4 against `solve_ivp` driven by
the right-hand side a user would write with scipy.sparse.

    python benchmarks/bench_ode.py [--quick]

Cases (one process, ratios = baseline time / ours, medians of repeats):

1. Non-stiff (tau in [0.5, 5], t in [0, 50], x(t) = sin t): ``sim.solve(RK45)``
   (and DOP853) against ``solve_ivp`` with the same method on
   ``(-h + tanh(W @ h + U @ x(t) + b)) / tau``; each total split into the
   right-hand sides (one evaluation timed alone, times nfev) and the rest
   (the solver's own work per evaluation).
2. Stiff (tau log-uniform on [1e-3, 1e2], t in [0, 100]), a small-world and a
   random graph: ``sim.solve(BDF)`` (analytic Jacobian, form chosen from the
   graph) against plain ``solve_ivp(BDF)`` (finite-difference dense Jacobian)
   and against ``solve_ivp(RK45)`` with the scipy.sparse right-hand side;
   ``sim.solve(RK45)`` beside them.
3. Fixed-step RK4 (``sim.run(dt=...)``) at the accuracy RK45 reaches, against
   both adaptive baselines.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.integrate
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simulator as sim  # noqa: E402
from _common import timed  # noqa: E402
import topologies as tp  # noqa: E402
from simulator.threads import using  # noqa: E402



def baseline_parts(net: sim.Network):
    """W, U, b, tau of the network as a user would hold them (scipy.sparse)."""
    n, n_in = net.n_neurons, net.n_inputs
    k = net.edge_kind
    W = sp.csr_matrix((net.weight[k == 0], (net.edge_dst[k == 0], net.edge_src[k == 0])), shape=(n, n))
    U = sp.csr_matrix((net.weight[k == 1], (net.edge_dst[k == 1], net.edge_src[k == 1])), shape=(n, n_in))
    return W, U, np.array(net.bias[:n]), np.array(net.tau)


def graph_with_taus(G, taus, n_in=1, seed=0):
    rng = np.random.default_rng(seed)
    hidden = [v for v in G if G.nodes[v].get("role") is None]
    for v, tau in zip(hidden, taus):
        G.nodes[v]["tau"] = float(tau)
    if n_in and not any(G.nodes[v].get("role") == "input" for v in G):
        G.add_node("x", role="input")
        for v in hidden:
            G.add_edge("x", v, weight=float(rng.normal()))
    return G


def sine(t):
    return np.array([np.sin(t)])


def user_rhs(net, x=sine):
    """``(-h + tanh(W @ h + U @ x(t) + b)) / tau`` with scipy.sparse W and U."""
    W, U, b, tau = baseline_parts(net)

    def rhs(t, h):
        return (-h + np.tanh(W @ h + U @ x(t) + b)) / tau

    return rhs


def nonstiff(n: int, k: int, repeats: int, method: str = "RK45") -> dict:
    rng = np.random.default_rng(1)
    G = graph_with_taus(tp.fixed_indegree(n, k, seed=1, scale=1.2), rng.uniform(0.5, 5.0, n))
    net = sim.compile(G)
    h0 = rng.normal(0, 0.5, n)
    rhs, x = user_rhs(net), sine
    sim.solve(net, x, (0, 1), h0=h0, method=method)  # compile
    t_ours, ours = timed(lambda: sim.solve(net, x, (0, 50), h0=h0, method=method, t_eval=[50.0]), repeats)
    threads = ours.info["threads"]  # as the last timed solve planned them
    t_base, base = timed(lambda: scipy.integrate.solve_ivp(rhs, (0, 50), h0, method=method, rtol=1e-6, atol=1e-8,
                                                           t_eval=[50.0]), repeats)
    diff = np.abs(ours.states[-1] - base.y[:, -1]).max()
    # one evaluation of each right-hand side on its own (ours on the threads
    # the solve used), to split each total into right-hand sides and the rest
    calls = 2000 if n <= 1000 else 200
    with using(threads, n) as chunks:
        fun_ours = _our_rhs(net, chunks)
        t_call_ours, _ = timed(lambda: [fun_ours() for _ in range(calls)], 3)
    t_call_base, _ = timed(lambda: [rhs(0.3, h0) for _ in range(calls)], 3)
    return {"case": f"{method} N={n} k={k}", "ours": t_ours, "base": t_base, "diff": diff, "threads": threads,
            "nfev": ours.info["nfev"], "nfev_base": base.nfev, "call_ours_us": t_call_ours / calls * 1e6,
            "call_base_us": t_call_base / calls * 1e6}


def _our_rhs(net, chunks: int):
    """One evaluation of the compiled right-hand side that the solve's steps
    call (`chunks` as `simulator.threads.using` yields)."""
    from simulator._kernels import continuous as kernels
    from simulator._kernels import entry_point

    w, n = net.wiring(), net.n_neurons
    inv_tau = np.ascontiguousarray(1.0 / net.tau)
    h = np.random.default_rng(0).normal(0, 0.5, (n, 1))
    ybuf, xt, out = np.empty((net.n_outputs, 1)), np.full((net.n_inputs, 1), 0.3), np.empty((n, 1))
    f = entry_point(kernels.rhs, w, inv_tau, h, xt, ybuf, out, chunks)
    return lambda: f(w, inv_tau, h, xt, ybuf, out, chunks)


def stiff(kind: str, n: int, repeats: int, with_plain: bool) -> dict:
    rng = np.random.default_rng(2)
    taus = 10 ** rng.uniform(-3, 2, n)
    if kind == "small-world":
        G = tp.small_world(n, 10, 0.05, seed=2, scale=1.2)
    else:
        G = tp.fixed_indegree(n, 10, seed=2, scale=1.2)
    net = sim.compile(graph_with_taus(G, taus))
    h0 = rng.normal(0, 0.5, n)
    rhs, x = user_rhs(net), sine
    sim.solve(net, x, (0, 0.01), h0=h0, method="BDF")
    t_ours, ours = timed(lambda: sim.solve(net, x, (0, 100), h0=h0, method="BDF", t_eval=[100.0]), repeats)
    row = {"case": f"stiff {kind} N={n}", "ours": t_ours, "jacobian": ours.info["jacobian"],
           "njev": ours.info["njev"], "nlu": ours.info["nlu"]}
    if with_plain:
        t_plain, plain = timed(lambda: scipy.integrate.solve_ivp(rhs, (0, 100), h0, method="BDF", rtol=1e-6,
                                                                 atol=1e-8, t_eval=[100.0]), 1)
        row["plain_bdf"] = t_plain
        row["diff_bdf"] = np.abs(ours.states[-1] - plain.y[:, -1]).max()
    t_rk, rk = timed(lambda: scipy.integrate.solve_ivp(rhs, (0, 100), h0, method="RK45", rtol=1e-6, atol=1e-8,
                                                       t_eval=[100.0]), 1)
    row["rk45"] = t_rk
    row["diff_rk45"] = np.abs(ours.states[-1] - rk.y[:, -1]).max()
    row["our_rk45"], _ = timed(lambda: sim.solve(net, x, (0, 100), h0=h0, method="RK45", t_eval=[100.0]), 1)
    return row


def rk4_matched(n: int, repeats: int) -> dict:
    """Fixed-step RK4 at the accuracy RK45 reaches at rtol=1e-6 (non-stiff net)."""
    rng = np.random.default_rng(3)
    G = graph_with_taus(tp.fixed_indegree(n, 10, seed=3, scale=1.2), rng.uniform(0.5, 5.0, n))
    net = sim.compile(G)
    h0 = rng.normal(0, 0.5, n)
    T = 50.0
    # A held sin(t) is not sin(t): a constant input makes the fixed-step and
    # adaptive runs solve the same ODE.
    const = np.array([0.5])
    rhs_c = user_rhs(net, lambda t: const)
    exact = scipy.integrate.solve_ivp(rhs_c, (0, T), h0, method="DOP853", rtol=1e-12, atol=1e-12).y[:, -1]
    t_rk45, rk45 = timed(lambda: scipy.integrate.solve_ivp(rhs_c, (0, T), h0, method="RK45", rtol=1e-6, atol=1e-8,
                                                           t_eval=[T]), repeats)
    err_rk45 = np.abs(rk45.y[:, -1] - exact).max()
    dt = 1.0
    while True:
        steps = int(round(T / dt))
        res = sim.run(net, np.tile(const, (steps, 1)), h0, dt=dt, method="rk4")
        err = np.abs(res.states[-1] - exact).max()
        if err <= err_rk45 or dt < 1e-3:
            break
        dt /= 2
    t_rk4, _ = timed(lambda: sim.run(net, np.tile(const, (steps, 1)), h0, dt=dt, method="rk4"), repeats)
    return {"case": f"RK4 dt={dt:g} vs RK45 N={n}", "ours": t_rk4, "base": t_rk45, "err_ours": err,
            "err_base": err_rk45}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller graphs, fewer repeats")
    args = parser.parse_args(argv)
    quick = args.quick
    reps = 1 if quick else 3
    print(f"# solve / RK4 vs solve_ivp with a scipy.sparse RHS; graphrnn {sim.__version__}, numba {__import__('numba').__version__}, "
          f"threads {__import__('numba').get_num_threads()}")
    print("\n## Non-stiff (ratio = solve_ivp with the scipy.sparse RHS / sim.solve, same method)")
    print("# per evaluation of the right-hand side: 'rhs' = one evaluation alone, 'rest' = the total / nfev - rhs")
    print(f"{'case':<24}{'thr':>4}{'ours s':>9}{'scipy s':>9}{'ratio':>7}{'nfev':>7}{'rhs us':>8}{'rest us':>9}"
          f"{'scipy rhs':>10}{'rest':>7}{'max diff':>10}")
    cases = [(1000, 10, "RK45")] if quick else [(1000, 10, "RK45"), (1000, 100, "RK45"), (10000, 10, "RK45"),
                                                (10000, 100, "RK45"), (10000, 10, "DOP853")]
    for n, k, method in cases:
        r = nonstiff(n, k, reps, method)
        rest_ours = r["ours"] / r["nfev"] * 1e6 - r["call_ours_us"]
        rest_base = r["base"] / r["nfev_base"] * 1e6 - r["call_base_us"]
        print(f"{r['case']:<24}{r['threads']:4d}{r['ours']:9.3f}{r['base']:9.3f}{r['base'] / r['ours']:7.2f}"
              f"{r['nfev']:7d}{r['call_ours_us']:8.1f}{rest_ours:9.1f}{r['call_base_us']:10.1f}{rest_base:7.1f}"
              f"{r['diff']:10.1e}")
    print("\n## Stiff, t in [0, 100], tau in [1e-3, 1e2]")
    print("# ratios: plain BDF / ours BDF, and scipy RK45 / ours BDF; 'our RK45' = sim.solve(method='RK45')")
    print(f"{'case':<26}{'ours BDF s':>11}{'J':>8}{'nlu':>6}{'plain BDF s':>12}{'ratio':>7}{'RK45 s':>9}{'ratio':>7}"
          f"{'our RK45 s':>11}{'diff':>9}")
    cases = [("small-world", 500), ("random", 300)] if quick else [("small-world", 2000), ("random", 1000)]
    for kind, n in cases:
        r = stiff(kind, n, reps, with_plain=True)
        print(f"{r['case']:<26}{r['ours']:11.2f}{r['jacobian']:>8}{r['nlu']:6d}{r['plain_bdf']:12.2f}"
              f"{r['plain_bdf'] / r['ours']:7.1f}{r['rk45']:9.2f}{r['rk45'] / r['ours']:7.1f}{r['our_rk45']:11.2f}"
              f"{r['diff_bdf']:9.1e}")
    print("\n## Fixed-step RK4 at RK45's accuracy (constant input)")
    r = rk4_matched(1000 if quick else 10000, reps)
    print(f"{r['case']:<32} ours {r['ours']:.3f} s (err {r['err_ours']:.1e}), solve_ivp RK45 {r['base']:.3f} s "
          f"(err {r['err_base']:.1e}): ratio {r['base'] / r['ours']:.1f}")


if __name__ == "__main__":
    main()
