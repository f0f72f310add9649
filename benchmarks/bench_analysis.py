"""Dynamics analysis: `sim.fixed_points` and `sim.lyapunov` against a dense
NumPy/SciPy version of the same algorithms.

    python benchmarks/bench_analysis.py [--quick] [--n 2000]

Cases (one process; ratio = dense time / ours, medians of repeats):

1. Fixed points of a random tanh network (in-degree 10, gain 0.8, random
   biases) from the same seeded starts: ours solves Newton's steps with the
   sparse Jacobian (GMRES) and takes the 20 leading eigenvalues from
   ``scipy.sparse.linalg.eigs``; the dense version takes the same Newton
   steps and line search with ``numpy.linalg.solve`` on the dense Jacobian
   and all eigenvalues from ``numpy.linalg.eigvals``, keeping the 20 largest.
2. The 10 largest Lyapunov exponents over 500 steps of a chaotic network
   (gain 2): ours pushes the tangents through sparse Jacobians in a jitted
   loop; the dense version forms ``diag(phi'(a)) W`` each step, multiplies the
   tangents and calls ``numpy.linalg.qr``.
3. The 10 largest exponents of N = 10,000, in-degree 10, over 1,000 steps
   (no dense version: the target is a minute on two cores).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simulator as sim  # noqa: E402
from _common import timed  # noqa: E402
import topologies as tp  # noqa: E402



def network(n: int, gain: float, bias: float, seed: int = 0):
    G = tp.fixed_indegree(n, 10, seed=seed, scale=gain)
    rng = np.random.default_rng(seed + 1)
    for i in range(n):
        G.nodes[i]["bias"] = float(bias * rng.standard_normal())
    return sim.compile(G)


def dense_parts(net):
    n = net.n_neurons
    W = np.zeros((n, n))
    sel = net.edge_kind == 0
    W[net.edge_dst[sel], net.edge_src[sel]] = net.weight[sel]
    return W, np.asarray(net.bias[:n], dtype=np.float64)


def dense_fixed_points(net, starts, tol=1e-10, m=20):
    """The same Newton iteration and line search with dense matrices."""
    W, b = dense_parts(net)
    n = W.shape[0]
    eye = np.eye(n)
    points = []
    for h in starts:
        h = h.copy()
        g = np.tanh(W @ h + b) - h
        r = np.linalg.norm(g)
        for _ in range(50):
            if r <= tol * 1e-3:
                break
            s = 1.0 - np.tanh(W @ h + b) ** 2
            dx = np.linalg.solve(s[:, None] * W - eye, -g)
            lam = 1.0
            for _ in range(30):
                h_new = h + lam * dx
                g_new = np.tanh(W @ h_new + b) - h_new
                r_new = np.linalg.norm(g_new)
                if r_new < (1 - 1e-4 * lam) * r:
                    break
                lam *= 0.5
            h, g, r = h_new, g_new, r_new
        if r <= tol and not any(np.abs(h - p).max() <= 1e-6 * (1 + np.abs(h).max()) for p in points):
            points.append(h)
    eig = []
    for h in points:
        lam = np.linalg.eigvals((1.0 - np.tanh(W @ h + b) ** 2)[:, None] * W)
        eig.append(lam[np.argsort(-np.abs(lam))][:m])
    return np.array(points), np.array(eig)


def dense_lyapunov(net, states, k, seed=0, warmup=100):
    """QR method with dense Jacobians along the same trajectory."""
    W, b = dense_parts(net)
    n = W.shape[0]
    rng = np.random.default_rng(seed)
    rng.random(n)  # the same draws as sim.lyapunov: h0 first, then the tangents
    Q = np.linalg.qr(rng.standard_normal((k, n)).T)[0]
    logs = []
    for h in states[:-1]:
        J = (1.0 - np.tanh(W @ h + b) ** 2)[:, None] * W
        Q, R = np.linalg.qr(J @ Q)
        logs.append(np.log(np.abs(np.diag(R))))
    return np.sort(np.mean(logs[warmup:], axis=0))[::-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 500, fewer starts and steps")
    parser.add_argument("--n", type=int, default=2000, help="network size of cases 1 and 2")
    args = parser.parse_args()
    n = 500 if args.quick else args.n
    n_starts = 4 if args.quick else 8
    repeats = 1 if args.quick else 3
    print(f"bench_analysis: N = {n}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")

    # 1. fixed points (Newton path beyond 500 neurons: N = 500 uses hybr, so --quick compares hybr)
    net = network(n, 0.8, 0.5)
    starts = np.random.default_rng(0).uniform(-1, 1, (n_starts, n))
    sim.fixed_points(net, starts=starts[:1])  # warm up (imports, eigs)
    t_ours, fp = timed(lambda: sim.fixed_points(net, starts=starts), repeats)
    t_dense, (pts, eig) = timed(lambda: dense_fixed_points(net, starts), 1)
    assert pts.shape == fp.states.shape, (pts.shape, fp.states.shape)
    err = np.abs(pts - fp.states).max()
    lead = np.abs(np.abs(eig[:, 0]) - np.abs(fp.eigenvalues[:, 0])).max()
    print(f"fixed points   N={n:>6} starts={n_starts:>3}: ours {t_ours:8.3f} s, dense {t_dense:8.3f} s, "
          f"{t_dense / t_ours:6.1f}x  ({len(fp)} point(s), |dh*| {err:.1e}, leading |lambda| differs by {lead:.1e})")

    # 2. Lyapunov spectra
    net = network(n, 2.0, 0.0)
    steps, k = (300, 10) if args.quick else (500, 10)
    sim.lyapunov(net, 110, n_exponents=k)  # warm up
    t_ours, ly = timed(lambda: sim.lyapunov(net, steps, n_exponents=k), repeats)
    h0 = np.random.default_rng(0).uniform(-1, 1, n)
    states = sim.run(net, steps, h0=h0, progress=False).states
    t_dense, lam = timed(lambda: dense_lyapunov(net, states, k), 1)
    print(f"lyapunov       N={n:>6} k={k:>3} steps={steps}: ours {t_ours:8.3f} s, dense {t_dense:8.3f} s, "
          f"{t_dense / t_ours:6.1f}x  (largest {ly.largest:.4f} vs {lam[0]:.4f})")

    # 3. the large case
    big_n, big_steps = (2000, 300) if args.quick else (10000, 1000)
    big = network(big_n, 2.0, 0.0)
    t_big, ly = timed(lambda: sim.lyapunov(big, big_steps, n_exponents=10), 1)
    print(f"lyapunov       N={big_n:>6} k= 10 steps={big_steps}: ours {t_big:8.3f} s "
          f"(target < 60 s on two cores; largest {ly.largest:.4f})")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
