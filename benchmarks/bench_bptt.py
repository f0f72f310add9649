"""BPTT: `sim.bptt` (forward + backward) against PyTorch autograd on the same
sparse graph, and against `torch.nn.RNN` on a dense Elman network.

    python benchmarks/bench_bptt.py [--quick] [--only sparse,dense,profile]
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_bptt.py --only dense --hidden 1024 --no-sparse --rounds 9
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_bptt.py   # BLAS on one thread, as torch


Needs torch (never a dependency of the project); without it the script says
so and stops. The PyTorch version of the sparse network is what a PyTorch
user would write for a graph: per step, gather the presynaptic states, scale
by the edge weights, ``index_add`` into the targets, ``tanh``; the loss is the
same MSE on a linear readout. Each case first checks that the two losses and
weight gradients agree (float64), then times forward + backward (medians of
repeats, alternating) and measures peak RSS of each side in a fresh process.

``profile``: where sparse BPTT's time goes (N = 1,000, in-degree 10, T = 200,
batch 1 and 32, float64 and float32, one thread each side): ``sim.run``, the
forward kernel alone, the backward kernel alone (`bptt_discrete` on a
recorded history), ``sim.bptt`` and torch autograd (float64), as medians of
CPU time (``time.process_time``: on a shared machine wall time counts the
waits for a core) over rounds that alternate them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import simulator as sim  # noqa: E402
import topologies as tp  # noqa: E402
from _common import median_time  # noqa: E402
from graphrnn.baselines import torch_loss, torch_sparse  # noqa: E402


def problem(n: int, k: int, steps: int, seed: int = 0):
    net = sim.compile(tp.fixed_indegree(n, k, n_inputs=1, n_outputs=1, seed=seed))
    rng = np.random.default_rng(seed)
    return net, rng.normal(size=(steps, 1)), rng.normal(size=(steps, 1))


def dense_elman(torch, n_hidden: int, batch: int, steps: int, reps: int, sparse: bool = True) -> dict[str, float]:
    """A fully connected Elman network: ours (compiled from
    `topologies.elman`) against `torch.nn.RNN` + `nn.Linear` with the same
    weights, float64, MSE on every step. Returns seconds of forward +
    backward (``ours``, ``torch``, and with `sparse` ``sparse``: ours with
    the dense BLAS pass switched off), of the forward alone (``ours_fwd``,
    ``torch_fwd``, no graph kept) and the losses' difference ``dloss``.

    The four timed calls alternate in each of `reps` rounds and each time
    is the median of its rounds in CPU time (``time.process_time``: on a
    shared machine wall time counts the waits for a core); ``sparse``
    (seconds a call at N = 1,024) runs after the rounds, once to compile,
    then ``reps // 2`` times in wall time."""
    n_in = n_out = 8
    net = sim.compile(tp.elman(n_in, n_hidden, n_out, seed=0))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps, batch, n_in))
    y = rng.normal(size=(steps, batch, n_out))
    rnn = torch.nn.RNN(n_in, n_hidden, nonlinearity="tanh", bias=True).double()
    readout = torch.nn.Linear(n_hidden, n_out).double()
    k, src, dst, w = net.edge_kind, net.edge_src, net.edge_dst, net.weight
    with torch.no_grad():
        for code, target in ((0, rnn.weight_hh_l0), (1, rnn.weight_ih_l0), (3, readout.weight)):
            m = np.zeros(tuple(target.shape))
            m[dst[k == code], src[k == code]] = w[k == code]
            target.copy_(torch.as_tensor(m))
        rnn.bias_ih_l0.copy_(torch.tensor(net.bias[:n_hidden]))
        rnn.bias_hh_l0.zero_()
        readout.bias.copy_(torch.tensor(net.bias[n_hidden:]))
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)

    def torch_once():
        rnn.zero_grad()
        readout.zero_grad()
        out, _ = rnn(xt)
        loss = ((readout(out) - yt) ** 2).mean()
        loss.backward()
        return loss.item()

    def torch_forward():
        with torch.no_grad():
            readout(rnn(xt)[0])

    ours_loss, _ = sim.bptt(net, x, y)
    out = {"dloss": abs(ours_loss - torch_once())}
    calls = {"ours": lambda: sim.bptt(net, x, y), "torch": torch_once,
             "ours_fwd": lambda: sim.run(net, x), "torch_fwd": torch_forward}
    times = {name: [] for name in calls}
    for fn in calls.values():
        fn()
    for _ in range(reps):
        for name, fn in calls.items():
            t0 = time.process_time()
            fn()
            times[name].append(time.process_time() - t0)
    out.update({name: statistics.median(t) for name, t in times.items()})
    out["sparse"] = float("nan")
    if sparse:
        passes = sys.modules["simulator.bptt"]  # the module (`sim.bptt` is the function)
        dense, passes.use_dense = passes.use_dense, lambda net: False
        try:
            sim.bptt(net, x, y)  # compiles the sparse pass
            out["sparse"] = median_time(lambda: sim.bptt(net, x, y), max(1, reps // 2))[0]
        finally:
            passes.use_dense = dense
    return out


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(side: str, n: int, k: int, steps: int) -> None:
    """Peak RSS growth of one forward + backward of one side, in a fresh
    process (Linux: the high-water mark is reset just before, via clear_refs)."""
    net, x, y = problem(n, k, steps)
    if side == "ours":
        sim.bptt(net, x[:3], y[:3])
        run = lambda: sim.bptt(net, x, y)  # noqa: E731
    else:
        import torch

        torch.set_num_threads(1)
        kinds, b, c = torch_sparse(net, torch)
        run = lambda: torch_loss(net, kinds, b, c, x, y, torch).backward()  # noqa: E731
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _status_kib("VmRSS")
    run()
    print(json.dumps({"extra_mib": (_status_kib("VmHWM") - base) / 1024}))


def memory(side, n, k, steps):
    out = subprocess.run([sys.executable, __file__, "--child", side, "--n", str(n), "--k", str(k),
                          "--steps", str(steps)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["extra_mib"]


def profile(torch, batch: int, dtype: str, reps: int) -> dict[str, float]:
    """Medians of CPU seconds, alternating: ``run`` (sim.run), ``fwd`` and
    ``bwd`` (the forward and backward kernels alone, one thread), ``bptt``
    (sim.bptt) and, in float64, ``torch`` (autograd on the same graph)."""
    import time

    from simulator._kernels.backward import bptt_discrete
    from simulator._kernels.forward import run_sync_serial

    n, k, steps = 1000, 10, 200
    net = sim.compile(tp.fixed_indegree(n, k, n_inputs=1, n_outputs=1, seed=0), dtype=dtype)
    rng = np.random.default_rng(0)
    shape = (steps, 1) if batch == 1 else (steps, batch, 1)
    x, y = rng.normal(size=shape), rng.normal(size=shape)
    w, wt, dt = net.wiring(), net.wiring_t(), net.dtype
    xk = np.ascontiguousarray((x[:, None, :] if batch == 1 else x.transpose(0, 2, 1)).astype(dt))
    states = np.zeros((steps + 1, n, batch), dtype=dt)
    outputs = np.empty((steps, 1, batch), dtype=dt)
    teacher, before = np.zeros((0, 1, batch), dtype=dt), np.zeros((1, batch), dtype=dt)
    gy = np.ascontiguousarray(rng.normal(size=(steps, 1, batch)).astype(dt))

    def fwd():
        run_sync_serial(w, xk, states, outputs, teacher, before)

    def bwd():
        bptt_discrete(w, wt, xk, states, outputs, teacher, before, gy, 0, 0, np.zeros((n, batch), dt),
                      np.zeros(net.n_edges, dt), np.zeros(wt.hidden.index.size, dt), np.zeros(n + 1, dt),
                      np.empty((n, batch), dt),
                      np.empty(steps + 1), np.zeros((0, net.n_edges), dt), None)

    fns = {"run": lambda: sim.run(net, x, parallel=False), "fwd": fwd, "bwd": bwd,
           "bptt": lambda: sim.bptt(net, x, y)}
    if dtype == "float64":
        def torch_once():
            kinds, b, c = torch_sparse(net, torch)
            torch_loss(net, kinds, b, c, x, y, torch).backward()

        fns["torch"] = torch_once
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(reps):
        for name, fn in fns.items():
            t0 = time.process_time()
            fn()
            times[name].append(time.process_time() - t0)
    return {name: float(np.median(t)) for name, t in times.items()}


def print_profile(torch, quick: bool) -> None:
    """The `profile` table (ms), with torch's time over ours in float64."""
    old = os.environ.get("NUMBA_NUM_THREADS")
    print(f"\n# where sparse BPTT goes: N = 1,000, k = 10, T = 200, CPU ms (medians), one thread "
          f"(bptt plans its own; set NUMBA_NUM_THREADS=1 to pin it; now {old or 'unset'}); "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"{'batch':>5} {'dtype':>8} {'sim.run':>8} {'fwd krn':>8} {'bwd krn':>8} {'sim.bptt':>9} {'torch':>8} "
          f"{'torch/bptt':>10} {'bwd/fwd':>8}")
    for batch in (1, 32):
        for dtype in ("float64", "float32"):
            t = profile(torch, batch, dtype, 3 if quick else 7)
            ratio = f"{t['torch'] / t['bptt']:10.2f}" if "torch" in t else f"{'':>10}"
            torch_ms = f"{t['torch'] * 1e3:8.1f}" if "torch" in t else f"{'':>8}"
            print(f"{batch:>5} {dtype:>8} {t['run'] * 1e3:8.2f} {t['fwd'] * 1e3:8.2f} {t['bwd'] * 1e3:8.2f} "
                  f"{t['bptt'] * 1e3:9.2f} {torch_ms} {ratio} {t['bwd'] / t['fwd']:8.2f}")
    print(f"# load {os.getloadavg()[0]:.2f} at the end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", choices=["ours", "torch"])
    parser.add_argument("--n", type=int)
    parser.add_argument("--k", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--only", default="sparse,dense,profile",
                        help="comma-separated parts: sparse (against autograd, with memory), dense, profile")
    parser.add_argument("--hidden", type=int, nargs="+", help="dense: the hidden sizes (default 256 1024)")
    parser.add_argument("--rounds", type=int, help="dense: alternating rounds (default 7, 3 with --quick)")
    parser.add_argument("--no-sparse", action="store_true",
                        help="dense: leave out the 'sparse' column (the dense pass switched off; slow)")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if args.child:
        child(args.child, args.n, args.k, args.steps)
        return
    try:
        import torch
    except ImportError:
        print("torch is not installed: pip install torch (CPU) to run this comparison")
        return
    torch.set_num_threads(1)
    if "profile" in parts:
        print_profile(torch, args.quick)
    if "sparse" in parts:
        print(f"# BPTT forward+backward, float64, batch 1, tanh, MSE on a linear readout; torch {torch.__version__} "
              f"(1 thread), numba threads {__import__('numba').get_num_threads()}")
        print(f"{'N':>7} {'k':>4} {'T':>5} {'ours s':>9} {'torch s':>9} {'ratio':>7} {'ours MiB':>9} {'torch MiB':>10}"
              f" {'max |dg|':>9}")
        cases = [(1000, 10, 200)] if args.quick else [(1000, 10, 200), (1000, 100, 200), (10000, 10, 200)]
        for n, k, steps in cases:
            net, x, y = problem(n, k, steps)
            loss, grads = sim.bptt(net, x, y)
            kinds, b, c = torch_sparse(net, torch)
            tl = torch_loss(net, kinds, b, c, x, y, torch)
            tl.backward()
            ours_w = grads.weight[net.edge_kind == 0]
            diff = float(np.abs(ours_w - kinds["W"][2].grad.numpy()).max())
            assert abs(loss - tl.item()) < 1e-10 * max(1.0, abs(loss)), (loss, tl.item())
            reps = 5 if args.quick else 7
            t_ours = median_time(lambda: sim.bptt(net, x, y), reps)[0]

            def torch_once():
                kinds_, b_, c_ = torch_sparse(net, torch)
                torch_loss(net, kinds_, b_, c_, x, y, torch).backward()

            t_torch = median_time(torch_once, reps)[0]
            m_ours, m_torch = memory("ours", n, k, steps), memory("torch", n, k, steps)
            print(f"{n:>7} {k:>4} {steps:>5} {t_ours:9.4f} {t_torch:9.4f} {t_torch / t_ours:7.1f} {m_ours:9.1f} "
                  f"{m_torch:10.1f} {diff:9.1e}")
    if "dense" not in parts:
        return
    print("\n# dense Elman, float64: ours (BLAS pass; 'sparse': with it switched off) vs torch.nn.RNN (+ Linear "
          f"readout), same weights; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; "
          f"CPU time, medians of alternating rounds; load {os.getloadavg()[0]:.2f}")
    print(f"{'hidden':>7} {'batch':>6} {'T':>5} {'fwd ours':>9} {'fwd torch':>10} {'ratio':>6} {'f+b ours':>9} "
          f"{'f+b torch':>10} {'ratio':>6} {'sparse':>8} {'|dloss|':>9}")
    sizes = args.hidden or ([128] if args.quick else [256, 1024])
    for n_hidden in sizes:
        batch, steps = 32, 50 if args.quick else 200
        t = dense_elman(torch, n_hidden, batch, steps, args.rounds or (3 if args.quick else 7), not args.no_sparse)
        print(f"{n_hidden:>7} {batch:>6} {steps:>5} {t['ours_fwd']:9.4f} {t['torch_fwd']:10.4f} "
              f"{t['torch_fwd'] / t['ours_fwd']:6.2f} {t['ours']:9.4f} {t['torch']:10.4f} {t['torch'] / t['ours']:6.2f} "
              f"{t['sparse']:8.3f} {t['dloss']:9.1e}")
    print(f"# load {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
