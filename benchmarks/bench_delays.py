"""Speed of edge delays (design section 9, issue point 7).

    python benchmarks/bench_delays.py [--quick] [--only run|bptt|kernels|backward|footprint] [--threads 1 2]

A fixed in-degree network (k = 10, one input, tanh neurons) run with every
delay at its default, and again with its hidden -> hidden edges given
delays drawn uniformly from 1..5: ``sim.run`` (batch 1 and 32) and
``sim.bptt`` (batch 1 and 32, MSE on one output reading every neuron),
with Numba limited to each thread count in turn (both ways the same; the
front doors then choose between one thread and that many as they always
do). Printed: the cost ratio delayed / default (target <= 1.3), the median
of rounds that alternate the two, with the spread of the rounds' ratios,
and the load average before and after.

``--only kernels`` times the forward kernels alone on one thread (CPU
time, T = 100, batch 1 and 32): the delayed kernel on the default-delay
network (its overhead alone) and on delays 1..5 (the reads of five steps'
states), each against the default kernel. Where the first is about 1x,
the second is the price of reading five steps' states instead of one's
on this machine's caches, the same work otherwise.

``--only backward`` does the same for the backward kernels (CPU time,
T = 50, batch 1 and 32, the calls `sim.bptt` makes): the delayed kernel
on a network with every delay at its default but one edge's of weight 0
(the delayed path, the default values), and on delays 1..5, each
against the default kernel. Unlike the forward's, the first is not
about 1x at batch 32 (`benchmarks/README.md`).

``--only footprint`` measures that price with the simplest Numba loop
that forms every neuron's sum of its k sources from the history a step
reads (`history_sums`: one step back for every edge, as the default
delays read, against 1..5 steps back, the same sources and weights), one
thread, batch 1 and 32. At batch 32 its sums go through memory, so it
runs several times slower than the library's kernels and its ratio
bounds less tightly than the kernels' (`benchmarks/README.md`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import simulator as sim  # noqa: E402
import topologies as tp  # noqa: E402
from simulator.scratch import aligned_empty  # noqa: E402

from _common import alternating_rounds  # noqa: E402


def networks(n: int, k: int, seed: int = 0):
    """The default-delay network and the same one with W delays 1..5."""
    G = tp.fixed_indegree(n, k, n_inputs=1, n_outputs=0, seed=seed, scale=0.9)
    G.add_node("y", role="output")
    G.add_edges_from((v, "y", {"weight": 1.0 / n}) for v in range(n))
    plain = sim.compile(G)
    rng = np.random.default_rng(seed)
    delay = plain.delay.copy()
    delay[plain.edge_kind == 0] = rng.integers(1, 6, size=int((plain.edge_kind == 0).sum()))
    return plain, plain.with_params(delay=delay)


def ratios(fns, repeats: int) -> tuple[list[float], list[float]]:
    """Seconds of each of the two calls, alternating, `repeats` rounds
    (after one warm-up call each); returns the medians and the per-round
    ratios second / first."""
    times = alternating_rounds(fns, repeats, warm_up=True)
    return [statistics.median(t) for t in times], [b / a for a, b in zip(*times)]


def measure(n: int, k: int, batch: int, steps: int, repeats: int, what: str) -> tuple[float, float, float, float]:
    """(median ratio delayed / default, lower and upper quartile, default us/step)."""
    plain, delayed = networks(n, k)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(steps, 1) if batch == 1 else (steps, batch, 1))
    targets = rng.normal(size=(steps, 1) if batch == 1 else (steps, batch, 1))
    if what == "run":
        fns = [lambda: sim.run(plain, x, progress=False), lambda: sim.run(delayed, x, progress=False)]
    else:
        fns = [lambda: sim.bptt(plain, x, targets), lambda: sim.bptt(delayed, x, targets)]
    (t_plain, _), r = ratios(fns, repeats)
    q = statistics.quantiles(r, n=4) if len(r) > 1 else [r[0]] * 3
    return statistics.median(r), q[0], q[2], t_plain / steps * 1e6


def cpu_medians(calls, repeats: int, steps: int) -> list[float]:
    """CPU microseconds per step of each call, the median of `repeats`
    alternating rounds (after one warm-up call each)."""
    times = alternating_rounds(calls, repeats, time.process_time, warm_up=True)
    return [statistics.median(t) / steps * 1e6 for t in times]


def kernel_ratios(n: int, k: int, repeats: int, steps: int = 100) -> None:
    """Print the forward kernels' CPU time per step, one thread, alternating
    rounds: the default kernel, the delayed kernel with every delay at its
    default, and with delays 1..5, the last two as ratios to the first."""
    from simulator._kernels import delayed, forward

    plain, delayed_net = networks(n, k)
    rng = np.random.default_rng(1)
    for batch in (1, 32):
        x = rng.normal(size=(steps, 1, batch))
        empty = np.empty((0, 1, batch))
        calls = []
        for net, kernel in ((plain, "default"), (plain, "delayed"), (delayed_net, "delayed")):
            states = aligned_empty((steps + 1, n, batch), np.float64)  # as `sim.run` lays it out
            states[:] = 0.0
            out = np.empty((steps, 1, batch))
            if kernel == "default":
                calls.append(lambda w=net.wiring(), s=states, o=out: forward.run_sync_serial(
                    w, x, s, o, empty, np.zeros((1, batch))))
            else:
                calls.append(lambda w=net.wiring(), sc=net.schedule(), r=net.run_delays(), s=states, o=out:
                             delayed.run_delayed_serial(w, sc, r, x, s, 0, o, o, empty, 0, steps))
        us = cpu_medians(calls, repeats, steps)
        print(f"kernels batch {batch:>2}, 1 thread, CPU time: default {us[0]:.0f} us/step; delayed kernel, "
              f"default delays {us[1] / us[0]:.2f}x, delays 1..5 {us[2] / us[0]:.2f}x")


def backward_ratios(n: int, k: int, repeats: int, steps: int = 50) -> None:
    """Print the backward kernels' CPU time per step, one thread, alternating
    rounds: the default kernel (`backward.bptt_discrete`), the delayed
    kernel (`delayed_backward.bptt_delayed`, its calls for the run's
    chunks) on a network whose delays are all at their defaults but one
    edge's of weight 0 (delay 2, which sends the network down the delayed
    path and changes no value), and on delays 1..5, the last two as
    ratios to the first. The calls are those `sim.bptt` makes, recorded
    once and repeated on the same arrays."""
    bptt_module = importlib.import_module("simulator.bptt")  # the module: `simulator.bptt` names the function
    delayed_bptt = importlib.import_module("simulator.delayed_bptt")

    plain, delayed_net = networks(n, k)
    delay, weight = plain.delay.copy(), plain.weight.copy()
    edge = int(np.flatnonzero(plain.edge_kind == 0)[0])
    delay[edge], weight[edge] = 2, 0.0
    nearly = plain.with_params(delay=delay, weight=weight)
    rng = np.random.default_rng(1)
    kernels = {bptt_module: "bptt_discrete", delayed_bptt: "bptt_delayed"}
    originals = {module: getattr(module, name) for module, name in kernels.items()}
    for batch in (1, 32):
        x, targets = rng.normal(size=(steps, batch, 1)), rng.normal(size=(steps, batch, 1))
        replays = []
        for net in (plain, nearly, delayed_net):
            calls = []
            for module, name in kernels.items():  # record the kernel calls of one sim.bptt
                setattr(module, name, lambda *a, f=originals[module]: (calls.append((f, a)), f(*a))[1])
            try:
                sim.bptt(net, x, targets)
            finally:
                for module, name in kernels.items():
                    setattr(module, name, originals[module])
            replays.append(lambda calls=calls: [f(*a) for f, a in calls])
        us = cpu_medians(replays, repeats, steps)
        print(f"backward batch {batch:>2}, 1 thread, CPU time: default {us[0]:.0f} us/step; delayed kernel, "
              f"default delays {us[1] / us[0]:.2f}x, delays 1..5 {us[2] / us[0]:.2f}x")


@njit(cache=False, error_model="numpy")
def history_sums(ptr, offset, weight, hist, depth, steps):
    """For t in 0..steps-1: ``hist[t + depth, i] = 0.1 * sum_k weight[k]
    hist[t + depth - d_k, index_k]`` for every row i, slot k reading
    ``offset[k] = index_k - d_k * n`` rows from its step's own (batch
    innermost; at a batch of 1 each sum in a register)."""
    n, nb = hist.shape[1], hist.shape[2]
    flat = hist.reshape(hist.size)
    acc = np.empty(nb)
    for t in range(steps):
        row = (t + depth) * n
        for i in range(n):
            if nb == 1:
                total = 0.0
                for q in range(ptr[i], ptr[i + 1]):
                    total += weight[q] * flat[row + offset[q]]
                flat[row + i] = 0.1 * total
                continue
            acc[:] = 0.0
            for q in range(ptr[i], ptr[i + 1]):
                at = (row + offset[q]) * nb
                c = weight[q]
                for b in range(nb):
                    acc[b] += c * flat[at + b]
            for b in range(nb):
                flat[(row + i) * nb + b] = 0.1 * acc[b]


def footprint_ratios(n: int, k: int, repeats: int) -> None:
    """Print `history_sums`'s CPU time per step reading one step back and
    1..5 steps back (alternating rounds, medians), batch 1 and 32."""
    rng = np.random.default_rng(0)
    index = rng.integers(0, n, n * k)
    delays = {"one step back": np.ones(n * k, dtype=np.int64), "1..5 steps back": rng.integers(1, 6, n * k)}
    ptr, weight = np.arange(0, n * k + 1, k), rng.normal(size=n * k)
    for batch in (1, 32):
        steps = 400 if batch == 1 else 20
        calls = []
        for d in delays.values():
            hist = aligned_empty((steps + 5, n, batch), np.float64)  # as the library lays out histories
            hist[:] = rng.normal(size=hist.shape) * 0.1
            calls.append(lambda o=index - d * n, h=hist: history_sums(ptr, o, weight, h, 5, steps))
        us = cpu_medians(calls, repeats, steps)  # one thread: CPU time is its wall time
        print(f"footprint batch {batch:>2}, 1 thread: {' / '.join(f'{name} {u:.0f}' for name, u in zip(delays, us))} "
              f"us/step, ratio {us[1] / us[0]:.2f}x ({n * batch * 8 * 5 / 1e6:.1f} MB of five steps' states "
              f"against {n * batch * 8 / 1e6:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1,000 and fewer rounds")
    parser.add_argument("--only", choices=("run", "bptt", "kernels", "backward", "footprint"),
                        help="time only sim.run, only sim.bptt, only the forward kernels alone, only the backward "
                             "kernels alone, or only the cost of reading five steps' states")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="Numba thread counts to time, each in turn (default: 1 2)")
    args = parser.parse_args()
    n, repeats = (1000, 3) if args.quick else (10_000, 7)
    print(f"# delays 1..5 on hidden -> hidden edges against default delays; N = {n:,}, in-degree 10; "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at the start")
    if args.only in ("kernels", "backward", "footprint"):
        numba.set_num_threads(1)
        alone = {"kernels": kernel_ratios, "backward": backward_ratios, "footprint": footprint_ratios}
        alone[args.only](n, 10, max(repeats, 5))
        print(f"# load {os.getloadavg()[0]:.2f} at the end")
        return
    for threads in args.threads:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        for what, steps in (("run", 200), ("bptt", 100)):
            if args.only not in (None, what):
                continue
            for batch in (1, 32):
                ratio, lo, hi, us = measure(n, 10, batch, steps, repeats, what)
                print(f"{what:<5} batch {batch:>2}, {numba.get_num_threads()} thread(s): delayed / default "
                      f"{ratio:.2f}x (spread {lo:.2f}-{hi:.2f}; default {us:.0f} us/step)  target <= 1.3")
    print(f"# load {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
