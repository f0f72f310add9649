"""Peak memory of BPTT with and without checkpointing.

    python benchmarks/bptt_memory.py [--neurons 10000] [--steps 10000] [--method rk4 --dt 0.1]

Each variant runs in a fresh process (peak RSS is per process): a random
graph with fixed in-degree 10, one input, one output reading every neuron,
an MSE target at every step; discrete, or continuous with a fixed-step
`--method` ("euler", "exp_euler", "rk4"). Prints the peak RSS above the same process's
baseline after building the network, the time, and checks the gradients of
both variants are the same.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(n: int, steps: int, checkpoint: str, method: str | None, dt: float) -> None:
    sys.path.insert(0, str(ROOT))
    import numpy as np

    import simulator as sim
    import topologies as tp

    net = sim.compile(tp.fixed_indegree(n, 10, n_inputs=1, n_outputs=1, seed=0))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps, 1))
    y = rng.normal(size=(steps, 1))
    step = {} if method is None else {"dt": dt, "method": method}
    sim.bptt(net, x[:5], y[:5], checkpoint=None if checkpoint == "none" else True, **step)  # compile
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    loss, grads = sim.bptt(net, x, y, checkpoint=None if checkpoint == "none" else True, **step)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"checkpoint": checkpoint, "seconds": seconds, "base_mib": base / 1024,
                      "peak_mib": peak / 1024, "extra_mib": (peak - base) / 1024, "loss": loss,
                      "gsum": float(np.abs(grads.weight).sum())}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--method", choices=["euler", "exp_euler", "rk4"], help="continuous time (default: discrete)")
    parser.add_argument("--dt", type=float, default=0.1)
    parser.add_argument("--child", choices=["none", "sqrt"])
    args = parser.parse_args()
    if args.child:
        child(args.neurons, args.steps, args.child, args.method, args.dt)
        return
    states_mib = (args.steps + 1) * args.neurons * 8 / 2**20
    mode = "discrete" if args.method is None else f"{args.method} dt={args.dt:g}"
    print(f"# BPTT memory: N={args.neurons:,}, T={args.steps:,}, batch 1, float64, {mode}; "
          f"one state history = {states_mib:,.0f} MiB")
    rows = []
    for variant in ("none", "sqrt"):
        method = [] if args.method is None else ["--method", args.method, "--dt", str(args.dt)]
        out = subprocess.run([sys.executable, __file__, "--neurons", str(args.neurons), "--steps", str(args.steps),
                              "--child", variant, *method], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    for r in rows:
        print(f"checkpoint={r['checkpoint']:<5} time {r['seconds']:7.2f} s   peak RSS {r['peak_mib']:8.0f} MiB "
              f"({r['extra_mib']:7.0f} MiB above the network alone)")
    same = rows[0]["loss"] == rows[1]["loss"] and rows[0]["gsum"] == rows[1]["gsum"]
    print(f"same loss and gradients: {same}; time ratio {rows[1]['seconds'] / rows[0]['seconds']:.2f}")


if __name__ == "__main__":
    main()
