"""Speed of edge delays (design section 9, issue point 7).

    python benchmarks/bench_delays.py [--quick] [--only run|bptt|kernels] [--threads 1 2]

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
states), each against the default kernel.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import simulator as sim  # noqa: E402
import topologies as tp  # noqa: E402


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
    for fn in fns:
        fn()
    times = [[], []]
    for _ in range(repeats):
        for bucket, fn in zip(times, fns):
            t = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - t)
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
            states = np.zeros((steps + 1, n, batch))
            out = np.empty((steps, 1, batch))
            if kernel == "default":
                calls.append(lambda w=net.wiring(), s=states, o=out: forward.run_sync_serial(
                    w, x, s, o, empty, np.zeros((1, batch))))
            else:
                calls.append(lambda w=net.wiring(), sc=net.schedule(), r=net.run_delays(), s=states, o=out:
                             delayed.run_delayed_serial(w, sc, r, x, s, 0, o, o, empty, 0, steps))
        for call in calls:
            call()
        times = [[] for _ in calls]
        for _ in range(repeats):
            for bucket, call in zip(times, calls):
                t = time.process_time()
                call()
                bucket.append(time.process_time() - t)
        us = [statistics.median(t) / steps * 1e6 for t in times]
        print(f"kernels batch {batch:>2}, 1 thread, CPU time: default {us[0]:.0f} us/step; delayed kernel, "
              f"default delays {us[1] / us[0]:.2f}x, delays 1..5 {us[2] / us[0]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1,000 and fewer rounds")
    parser.add_argument("--only", choices=("run", "bptt", "kernels"),
                        help="time only sim.run, only sim.bptt, or only the forward kernels alone")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="Numba thread counts to time, each in turn (default: 1 2)")
    args = parser.parse_args()
    n, repeats = (1000, 3) if args.quick else (10_000, 7)
    print(f"# delays 1..5 on hidden -> hidden edges against default delays; N = {n:,}, in-degree 10; "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at the start")
    if args.only == "kernels":
        numba.set_num_threads(1)
        kernel_ratios(n, 10, max(repeats, 5))
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
