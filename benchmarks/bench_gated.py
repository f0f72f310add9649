"""Speed of gated (GRU / LSTM) neurons in discrete time.

    python benchmarks/bench_gated.py [--quick] [--only 1 2 3]

1. A sparse GRU network (fixed in-degree 10, one input, one linear output
   read from every neuron, T = 200): forward (`sim.run`) and BPTT
   (`sim.bptt`) against PyTorch autograd on the same sparse wiring (per step
   and gate a gather, a multiply and an ``index_add``; float64, one torch
   thread), N = 1,000 and 10,000, batch 1 and 32. The losses are checked
   equal first. Target: BPTT >= 5x torch.
2. What a GRU step costs against a plain tanh step of the same wiring
   (forward and BPTT). Target: <= 3.5x.
3. Fully connected GRU and LSTM networks (`tp.gru` / `tp.lstm`, N = 256,
   8 inputs, batch 32: the dense BLAS path) against ``torch.nn.GRU`` /
   ``nn.LSTM`` + a linear readout: the forward pass (no grad) and training
   (forward + backward of an MSE against autograd); states and losses
   checked equal first. Targets: forward >= 0.67x torch (issue 17),
   training >= 1.0x (issue 21). Run with ``OPENBLAS_NUM_THREADS=1
   NUMBA_NUM_THREADS=1`` for one thread each side.

Parts 1 and 2 run each side on ``--threads`` threads (default 1:
``torch.set_num_threads`` and ``numba.set_num_threads``; graphrnn's planner
may still choose fewer, by the work of a step and the free cores).

Each figure is the median of rounds that alternate the two ways; the
interquartile range of the per-round ratios and the load average are
printed beside it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import simulator as sim  # noqa: E402
import topologies as tp  # noqa: E402
from graphrnn.gated_baselines import torch_dense, torch_gru_loss, torch_gru_sparse  # noqa: E402

from _common import alternating_rounds  # noqa: E402


def sparse_network(n: int, k: int, unit: str | None, seed: int = 0):
    """Fixed in-degree `k` wiring, one input, one output averaging every
    neuron; GRU neurons when `unit` is "gru", plain tanh ones when None."""
    G = tp.fixed_indegree(n, k, n_inputs=1, n_outputs=0, seed=seed)
    G.add_node("y", role="output")
    G.add_edges_from((v, "y", {"weight": 1.0 / n}) for v in range(n))
    if unit is not None:
        tp.gate(G, unit=unit, seed=seed)
    return sim.compile(G)


def ratio_text(num: list[float], den: list[float]) -> str:
    """Median and interquartile range of the per-round ratios num / den."""
    r = np.asarray(num) / np.asarray(den)
    lo, hi = np.percentile(r, [25, 75])
    return f"{statistics.median(r):6.2f}x ({lo:.2f}-{hi:.2f})"


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def sparse_vs_torch(torch, n: int, batch: int, steps: int, repeats: int) -> None:
    net = sparse_network(n, 10, "gru")
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(steps, batch, 1)), rng.normal(size=(steps, batch, 1))
    loss, _ = sim.bptt(net, x, y)
    kinds, biases = torch_gru_sparse(net, torch)
    t_loss = torch_gru_loss(net, kinds, biases, x, y, torch).item()
    if abs(loss - t_loss) > 1e-10 * max(1.0, abs(loss)):
        raise AssertionError(f"GRU loss {loss} differs from torch's {t_loss}")

    def torch_forward():
        with torch.no_grad():
            torch_gru_loss(net, kinds, biases, x, y, torch)

    def torch_bptt():
        k_, b_ = torch_gru_sparse(net, torch)
        torch_gru_loss(net, k_, b_, x, y, torch).backward()

    ours_f, theirs_f, ours_b, theirs_b = alternating_rounds([lambda: sim.run(net, x), torch_forward,
                                                             lambda: sim.bptt(net, x, y), torch_bptt], repeats)
    print(f"  N={n:>6,} batch {batch:>2}: forward {1e3 * statistics.median(ours_f):8.1f} vs "
          f"{1e3 * statistics.median(theirs_f):8.1f} ms {ratio_text(theirs_f, ours_f)}   BPTT "
          f"{1e3 * statistics.median(ours_b):8.1f} vs {1e3 * statistics.median(theirs_b):8.1f} ms "
          f"{ratio_text(theirs_b, ours_b)}   {load()}", flush=True)


def gru_vs_plain(n: int, batch: int, steps: int, repeats: int) -> None:
    gru, plain = sparse_network(n, 10, "gru"), sparse_network(n, 10, None)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(steps, batch, 1)), rng.normal(size=(steps, batch, 1))
    for net in (gru, plain):
        sim.bptt(net, x[:2], y[:2])
    g_f, p_f, g_b, p_b = alternating_rounds([lambda: sim.run(gru, x), lambda: sim.run(plain, x),
                                             lambda: sim.bptt(gru, x, y), lambda: sim.bptt(plain, x, y)], repeats)
    print(f"  N={n:>6,} batch {batch:>2}: forward {1e3 * statistics.median(g_f) / steps:7.3f} vs "
          f"{1e3 * statistics.median(p_f) / steps:7.3f} ms/step {ratio_text(g_f, p_f)}   BPTT "
          f"{1e3 * statistics.median(g_b) / steps:7.3f} vs {1e3 * statistics.median(p_b) / steps:7.3f} ms/step "
          f"{ratio_text(g_b, p_b)}   {load()}", flush=True)


def dense_vs_torch(torch, unit: str, n: int, batch: int, steps: int, repeats: int) -> None:
    """A fully connected network of `unit` neurons (the dense BLAS path)
    against torch.nn.GRU / LSTM + a linear readout: the forward pass, and
    forward + backward of the MSE (training) against torch autograd."""
    build = tp.gru if unit == "gru" else tp.lstm
    net = sim.compile(build(8, n, 8, seed=0))
    rnn, V, c = torch_dense(unit, net, torch)
    readout, bias = torch.tensor(V.T, requires_grad=True), torch.tensor(c)
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(steps, batch, 8)), rng.normal(size=(steps, batch, 8))
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    with torch.no_grad():
        seq, _ = rnn(xt)
    res = sim.run(net, x)
    if not np.allclose(seq.numpy(), res.states[1:], rtol=0, atol=1e-12):
        raise AssertionError(f"dense {unit} states differ from torch.nn.{unit.upper()}")

    def torch_once():
        with torch.no_grad():
            rnn(xt)

    def torch_train():
        rnn.zero_grad()
        readout.grad = None
        loss = ((rnn(xt)[0] @ readout + bias - yt) ** 2).mean()
        loss.backward()
        return loss.item()

    if abs(sim.bptt(net, x, y)[0] - torch_train()) > 1e-10:
        raise AssertionError(f"dense {unit} loss differs from torch's")
    ours, theirs, ours_b, theirs_b = alternating_rounds([lambda: sim.run(net, x), torch_once,
                                                         lambda: sim.bptt(net, x, y), torch_train], repeats)
    print(f"  {unit.upper():<4} N={n} batch {batch}: forward {1e3 * statistics.median(ours):7.1f} vs "
          f"{1e3 * statistics.median(theirs):7.1f} ms {ratio_text(theirs, ours)}   training "
          f"{1e3 * statistics.median(ours_b):7.1f} vs {1e3 * statistics.median(theirs_b):7.1f} ms "
          f"{ratio_text(theirs_b, ours_b)}   {load()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", type=int, nargs="+", choices=(1, 2, 3), default=(1, 2, 3),
                        help="the parts to measure (default: all)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads of each side in parts 1 and 2 (default: 1)")
    args = parser.parse_args()
    steps, repeats = (50, 3) if args.quick else (200, 5)
    print(f"{load()} on {os.cpu_count()} cores; ratios: median (interquartile range) of {repeats} rounds")
    try:
        import torch
    except ImportError:
        torch = None
        print('(torch is not installed: the torch comparisons need it; pip install "graphrnn[bench]")')
    numba_threads = numba.get_num_threads()
    numba.set_num_threads(min(args.threads, numba_threads))
    if torch is not None:
        torch.set_num_threads(args.threads)
    if torch is not None and 1 in args.only:
        print(f"1. sparse GRU, in-degree 10, T = {steps}, float64: graphrnn vs torch autograd (>1: graphrnn faster), "
              f"threads: torch {torch.get_num_threads()}, graphrnn up to {numba.get_num_threads()}")
        for n in (1000, 10_000):
            for batch in (1, 32):
                sparse_vs_torch(torch, n, batch, steps, repeats)
    if 2 in args.only:
        print(f"2. GRU step vs plain tanh step of the same wiring, T = {steps} (<= 3.5x targeted)")
        for n in (1000, 10_000):
            for batch in (1, 32):
                gru_vs_plain(n, batch, steps, repeats)
    numba.set_num_threads(numba_threads)
    if torch is not None:
        torch.set_num_threads(1)
    if torch is not None and 3 in args.only:
        print(f"3. fully connected, N = 256, 8 inputs, batch 32, T = {steps}: graphrnn vs torch.nn, forward and "
              "forward + backward of an MSE (>1: graphrnn faster; BLAS threads: OPENBLAS_NUM_THREADS="
              f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')})")
        for unit in ("gru", "lstm"):
            dense_vs_torch(torch, unit, 256, 32, steps, repeats)
    print(load())


if __name__ == "__main__":
    main()
