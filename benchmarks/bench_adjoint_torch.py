"""The adaptive-method gradient against torchdiffeq (benchmark only; needs
torch and torchdiffeq, neither required by the package).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_adjoint_torch.py [--n 500 5000] [--t-end 20]
        [--quick] [--only sim odeint] [--before DIR]

The same continuous-time RNN on a sparse graph (fixed in-degree 10, tanh,
tau in [0.5, 5], one input held for dt = 1 per sample, one output reading
every neuron, mse against a target at every sample time), integrated piece
by piece between the samples with Dormand-Prince 5(4) at rtol 1e-6 /
atol 1e-8: ``sim.bptt(method="RK45")`` (the adjoint on the dense output)
against torchdiffeq's ``odeint_adjoint`` and direct backpropagation through
``odeint`` (``dopri5``), the right-hand side a gather / ``index_add`` over
the edge list. Each route runs in its own process; its time (wall and CPU,
with the threads it ran on: torch is set to one, sim's adjoint runs on one
below `simulator.adjoint.PARALLEL_MIN_WORK`) is the median of repeats after a warm-up, its memory the process's peak resident size
beyond what the import and setup held. The weight gradients are compared
with sim's. ``--before DIR`` adds a row for the package in another
checkout (``DIR/simulator``, e.g. ``git worktree add DIR <commit>``), run
in the same way, and the ratio of the two; ``--quick`` takes one repeat,
``--only`` the routes named.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("BENCH_SIM_ROOT", str(ROOT)))
ROUTES = ("sim", "odeint", "odeint_adjoint")

RTOL, ATOL = 1e-6, 1e-8


def problem(n: int, t_end: float):
    import simulator as sim
    import topologies as tp

    rng = np.random.default_rng(3)
    G = tp.fixed_indegree(n, 10, seed=3, scale=1.2)
    for v in G:
        G.nodes[v]["tau"] = float(rng.uniform(0.5, 5.0))
    G.add_node("x", role="input")
    G.add_node("y", role="output")
    for v in range(n):
        G.add_edge("x", v, weight=float(rng.normal()))
        G.add_edge(v, "y", weight=float(rng.normal() / np.sqrt(n)))
    net = sim.compile(G)
    T = round(t_end)
    x = np.sin(np.arange(T))[:, None]
    y = 0.3 * np.cos(np.arange(T))[:, None]
    h0 = rng.normal(0, 0.5, n)
    return net, x, y, h0


def peak_rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB on Linux


def run_route(route: str, n: int, t_end: float, repeats: int) -> dict:
    net, x, y, h0 = problem(n, t_end)
    T = len(x)
    if route == "sim":
        import simulator as sim

        def call():
            grads = sim.bptt(net, x, y, dt=1.0, h0=h0, method="RK45", rtol=RTOL, atol=ATOL)[1]
            threads[0] = grads.info["threads"]
            return grads.weight
        threads = [1]
        call_small = lambda: sim.bptt(net, x[:1], y[:1], dt=1.0, h0=h0, method="RK45")  # noqa: E731
    else:
        import torch
        import torchdiffeq

        torch.set_num_threads(1)
        threads = [torch.get_num_threads()]
        kind, src, dst = net.edge_kind, net.edge_src.astype(np.int64), net.edge_dst.astype(np.int64)
        w_sel, u_sel, v_sel = kind == 0, kind == 1, kind == 3
        t64 = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
        W_src, W_dst = torch.tensor(src[w_sel]), torch.tensor(dst[w_sel])
        U_dst, V_src = torch.tensor(dst[u_sel]), torch.tensor(src[v_sel])

        class Rhs(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.w = torch.nn.Parameter(t64(net.weight[w_sel]))
                self.u = torch.nn.Parameter(t64(net.weight[u_sel]))
                self.b = torch.nn.Parameter(t64(net.bias[:n]))
                self.tau = torch.nn.Parameter(t64(net.tau))

            def rate(self, h, xk):
                a = self.b.index_add(0, W_dst, self.w * h[W_src]).index_add(0, U_dst, self.u * xk)
                return (torch.tanh(a) - h) / self.tau

        class Piece(torch.nn.Module):
            """The right-hand side over one sample's piece: its input fixed
            (the adjoint's backward pass calls it again later)."""

            def __init__(self, f, xk):
                super().__init__()
                self.f, self.xk = f, xk

            def forward(self, t, h):
                return self.f.rate(h, self.xk)

        f = Rhs()
        v = torch.nn.Parameter(t64(net.weight[v_sel]))
        c = torch.nn.Parameter(t64(net.bias[n:]))
        solve = torchdiffeq.odeint_adjoint if route == "odeint_adjoint" else torchdiffeq.odeint
        extra = {"adjoint_params": tuple(f.parameters())} if route == "odeint_adjoint" else {}

        def forward_backward(steps):
            f.zero_grad()
            h = t64(h0)
            loss = 0.0
            for k in range(steps):
                h = solve(Piece(f, float(x[k, 0])), h, t64([k, k + 1.0]), rtol=RTOL, atol=ATOL, method="dopri5", **extra)[-1]
                out = (v * h[V_src]).sum() + c[0]
                loss = loss + (out - y[k, 0]) ** 2
            loss = loss / steps
            loss.backward()
            g = np.zeros(net.n_edges)
            g[w_sel] = f.w.grad.numpy()
            return g

        call, call_small = (lambda: forward_backward(T)), (lambda: forward_backward(1))
    call_small()
    base = peak_rss()
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        g = call()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    w = np.asarray(g)[net.edge_kind == 0]
    return {"route": route, "n": n, "seconds": float(np.median(times)), "cpu": float(np.median(cpu)),
            "threads": threads[0], "peak_mib": peak_rss() - base, "grad_w": w.tolist(), "load": os.getloadavg()[0]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--t-end", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat per route")
    parser.add_argument("--only", nargs="+", choices=ROUTES, default=ROUTES)
    parser.add_argument("--before", help="another checkout's root: its sim route as a row of its own")
    parser.add_argument("--route")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    if args.route:
        print(json.dumps(run_route(args.route, args.n[0], args.t_end, repeats)))
        return
    print(f"# load average {os.getloadavg()[0]:.2f} at start")
    runs = [(route, route, None) for route in args.only]
    if args.before:
        runs.insert(1, ("sim before", "sim", str(Path(args.before).resolve())))
    for n in args.n:
        rows = {}
        for name, route, root in runs:
            env = dict(os.environ, **({"BENCH_SIM_ROOT": root} if root else {}))
            out = subprocess.run([sys.executable, __file__, "--route", route, "--n", str(n), "--t-end",
                                  str(args.t_end), "--repeats", str(repeats)], capture_output=True, text=True,
                                 env=env)
            if out.returncode:
                print(f"{name} N={n} failed: {out.stderr[-500:]}")
                continue
            rows[name] = json.loads(out.stdout.strip().splitlines()[-1])
        ref = np.array(rows["sim"]["grad_w"]) if "sim" in rows else None
        print(f"\n## N={n}, t in [0, {args.t_end:g}], rtol {RTOL:g} / atol {ATOL:g}")
        for route, r in rows.items():
            diff = "" if ref is None or route == "sim" else (
                f", W gradient vs sim: max rel. diff {np.max(np.abs(np.array(r['grad_w']) - ref)) / np.max(np.abs(ref)):.1e}")
            print(f"{route:15s} {r['seconds']:8.2f} s (CPU {r['cpu']:6.2f} s, {r['threads']} thread(s), load "
                  f"{r['load']:.1f})   peak +{r['peak_mib']:7.1f} MiB{diff}")
        torch_rows = [r for k, r in rows.items() if not k.startswith("sim")]
        for key, label in (("seconds", "wall"), ("cpu", "CPU")):
            for name in ("sim before", "sim"):
                if name in rows and torch_rows:
                    best = min(r[key] for r in torch_rows)
                    print(f"-> {label} time: {name}: sim.bptt(RK45) is {best / rows[name][key]:.1f}x faster than "
                          "the faster torchdiffeq route")
            if "sim before" in rows and "sim" in rows:
                print(f"-> {label} time: sim.bptt(RK45) {rows['sim before'][key] / rows['sim'][key]:.2f}x its time "
                      "before")


if __name__ == "__main__":
    main()
