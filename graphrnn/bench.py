"""`graphrnn bench`: the performance table on the machine at hand.

Every figure is a ratio measured in this one process against the baseline a
user would otherwise write, the two timed alternately (medians of repeats):

* discrete forward, every state recorded, against a ``scipy.sparse`` loop
  (`graphrnn.baselines.scipy_loop`), float32 against float64;
* BPTT (forward + backward) against PyTorch autograd on the same sparse graph,
  and the backward pass against the forward pass;
* a dense Elman network against ``torch.nn.RNN`` (torch rows need torch);
* cold and warm start of a fresh process (``import`` + first call);
* the slowdown of a run while another process keeps a core busy.

The scripts in ``benchmarks/`` measure the same things in more detail.
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import simulator as sim

from .baselines import random_csr, scipy_loop, torch_loss, torch_sparse

__all__ = ["bench", "Row"]


@dataclass
class Row:
    """One line of the table: a measured ratio against its target."""

    what: str
    ratio: float
    target: float | None
    detail: str
    higher_is_better: bool = True
    unit: str = "x"

    @property
    def met(self) -> bool | None:
        """Whether the target is met; None for a figure reported without one."""
        if self.target is None:
            return None
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    def line(self) -> str:
        value = f"{self.ratio:.2f}{self.unit}"
        if self.target is None:
            return f"{self.what:<48} {value:>9}  {'':<7} {'report':<7} {self.detail}"
        sign = ">=" if self.higher_is_better else "<="
        verdict = "met" if self.met else "MISSED"
        return f"{self.what:<48} {value:>9}  {sign}{self.target:<5.3g} {verdict:<7} {self.detail}"


def _alternate(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median seconds of each function, called in turn `repeats` times."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, bucket in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def _steps_for(fn: Callable[[int], object], seconds: float) -> int:
    """Steps that make `fn(steps)` take about `seconds`."""
    steps = 8
    while True:
        t0 = time.perf_counter()
        fn(steps)
        took = time.perf_counter() - t0
        if took >= seconds / 4 or steps >= 1 << 22:
            return max(2, math.ceil(steps * seconds / max(took, 1e-9)))
        steps *= 4


def _problem(n: int, k: int, dtype=np.float64, seed: int = 0):
    rng = np.random.default_rng(seed)
    W = random_csr(n, k, seed=seed, dtype=dtype)
    U = rng.normal(size=(n, 1)).astype(dtype)
    b = (0.1 * rng.normal(size=n)).astype(dtype)
    net = sim.compile_arrays(W, U=U, bias=b, dtype=np.dtype(dtype).name)
    return net, W, U, b


def forward_row(n: int, k: int, batch: int, target: float, seconds: float, repeats: int) -> Row:
    """``sim.run`` against the scipy.sparse loop on the same network."""
    net, W, U, b = _problem(n, k)
    rng = np.random.default_rng(1)

    def x_of(steps):
        return rng.normal(size=(steps, 1) if batch == 1 else (steps, batch, 1))

    x = x_of(20)
    ours = sim.run(net, x).states
    ref = scipy_loop(W, U, b, x)
    ref = ref if batch == 1 else ref.transpose(0, 2, 1)
    if not np.allclose(ours, ref, rtol=1e-10, atol=1e-10):
        raise AssertionError(f"N={n} batch={batch}: states differ from the scipy.sparse loop")
    steps = _steps_for(lambda s: scipy_loop(W, U, b, x_of(s)), seconds)
    steps = min(steps, max(2, int(5e8 // (8 * n * batch))))
    x = x_of(steps)
    t_ours, t_base = _alternate([lambda: sim.run(net, x), lambda: scipy_loop(W, U, b, x)], repeats)
    return Row(f"forward N={n:,} k={k} batch {batch}", t_base / t_ours, target,
               f"{t_ours / steps * 1e6:.1f} vs {t_base / steps * 1e6:.1f} us/step")


def float32_row(n: int, k: int, target: float, seconds: float, repeats: int) -> Row:
    """float32 against float64 on the same wiring."""
    runs = [_problem(n, k, dtype)[0] for dtype in (np.float64, np.float32)]
    steps = _steps_for(lambda s: sim.run(runs[0], s, h0=np.full(n, 0.5)), seconds)
    h0 = np.full(n, 0.5)
    t64, t32 = _alternate([lambda: sim.run(runs[0], steps, h0=h0),
                           lambda: sim.run(runs[1], steps, h0=h0.astype(np.float32))], repeats)
    return Row(f"float32 vs float64 N={n:,} k={k}", t64 / t32, target,
               f"{t32 / steps * 1e3:.2f} vs {t64 / steps * 1e3:.2f} ms/step")


def bptt_rows(torch, n: int, k: int, steps: int, repeats: int) -> list[Row]:
    """BPTT against torch autograd; the backward pass against the forward pass."""
    rng = np.random.default_rng(2)
    net = sim.compile_arrays(random_csr(n, k), U=rng.normal(size=(n, 1)), V=np.full((1, n), 1.0 / n))
    x, y = rng.normal(size=(steps, 1)), rng.normal(size=(steps, 1))
    loss, _ = sim.bptt(net, x, y)
    kinds, b, c = torch_sparse(net, torch)
    t_loss = torch_loss(net, kinds, b, c, x, y, torch)
    if abs(loss - t_loss.item()) > 1e-10 * max(1.0, abs(loss)):
        raise AssertionError(f"BPTT loss {loss} differs from torch's {t_loss.item()}")

    def torch_once():
        kinds_, b_, c_ = torch_sparse(net, torch)
        torch_loss(net, kinds_, b_, c_, x, y, torch).backward()

    t_ours, t_torch, t_fwd = _alternate([lambda: sim.bptt(net, x, y), torch_once, lambda: sim.run(net, x)], repeats)
    return [
        Row(f"BPTT vs torch autograd N={n:,} k={k} T={steps}", t_torch / t_ours, 10.0,
            f"{t_ours * 1e3:.1f} vs {t_torch * 1e3:.1f} ms"),
        Row("  backward / forward time", (t_ours - t_fwd) / t_fwd, 3.0,
            f"forward {t_fwd * 1e3:.1f} ms, forward+backward {t_ours * 1e3:.1f} ms", higher_is_better=False),
    ]


def dense_row(torch, n_hidden: int, batch: int, steps: int, repeats: int) -> Row:
    """A fully connected Elman network against ``torch.nn.RNN`` (forward)."""
    n_in = n_out = 8
    rng = np.random.default_rng(3)
    W = rng.normal(size=(n_hidden, n_hidden)) / np.sqrt(n_hidden)
    U = rng.normal(size=(n_hidden, n_in))
    net = sim.compile_arrays(W, U=U, V=rng.normal(size=(n_out, n_hidden)) / np.sqrt(n_hidden))
    rnn = torch.nn.RNN(n_in, n_hidden, nonlinearity="tanh", bias=False).double()
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(torch.as_tensor(W))
        rnn.weight_ih_l0.copy_(torch.as_tensor(U))
    x = rng.normal(size=(steps, batch, n_in))
    xt = torch.as_tensor(x)
    with torch.no_grad():
        out, _ = rnn(xt)
    if not np.allclose(out.numpy(), sim.run(net, x).states[1:], atol=1e-10):
        raise AssertionError("dense Elman states differ from torch.nn.RNN")

    def torch_once():
        with torch.no_grad():
            rnn(xt)

    t_ours, t_torch = _alternate([lambda: sim.run(net, x), torch_once], repeats)
    return Row(f"dense Elman N={n_hidden} batch {batch} vs nn.RNN", t_torch / t_ours, 1 / 1.5,
               f"{t_ours * 1e3:.1f} vs {t_torch * 1e3:.1f} ms for {steps} steps")


_START = """
import sys, time
t0 = time.perf_counter()
import numpy as np
import simulator as sim
net = sim.compile_arrays(np.array([[0.0, 0.5], [-0.5, 0.0]]), U=np.ones((2, 1)), V=np.ones((1, 2)))
x = np.ones((10, 1))
what = sys.argv[1]
if what == "run":
    sim.run(net, x)
elif what == "rk4":
    sim.run(net, x, dt=0.1, method="rk4")
elif what == "bptt":
    sim.bptt(net, x, np.zeros((10, 1)))
print(time.perf_counter() - t0)
"""
_IMPORTS = """
import time
t0 = time.perf_counter()
import numpy, scipy, scipy.sparse, networkx, numba
print(time.perf_counter() - t0)
"""


def _fresh(code: str, *args: str, cache_dir: str | None = None) -> float:
    env = dict(os.environ)
    env.pop("GRAPHRNN_CACHE", None)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def start_rows(repeats: int) -> list[Row]:
    """Cold (empty kernel cache) and warm start of fresh processes."""
    base = statistics.median(_fresh(_IMPORTS) for _ in range(repeats))
    rows = []
    for what in ("run", "rk4", "bptt"):
        with tempfile.TemporaryDirectory() as cache:
            cold = _fresh(_START, what, cache_dir=cache)
            warm = statistics.median(_fresh(_START, what, cache_dir=cache) for _ in range(repeats))
        # The target is for a first `run`; rk4 and bptt compile more kernels
        # and are reported beside it.
        rows.append(Row(f"cold start: import + first {what}", cold, 4.0 if what == "run" else None,
                        "empty kernel cache", higher_is_better=False, unit=" s"))
        rows.append(Row(f"warm start: import + first {what}, beyond imports", warm - base, 0.3,
                        f"{warm:.2f} s vs {base:.2f} s for numpy+scipy+networkx+numba", higher_is_better=False,
                        unit=" s"))
    return rows


def busy_row(n: int, k: int, seconds: float, repeats: int) -> Row:
    """How much a run slows while another process keeps one core busy."""
    net = _problem(n, k)[0]
    h0 = np.full(n, 0.5)
    steps = _steps_for(lambda s: sim.run(net, s, h0=h0), seconds)
    quiet = _alternate([lambda: sim.run(net, steps, h0=h0)], repeats)[0]
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        busy = _alternate([lambda: sim.run(net, steps, h0=h0)], repeats)[0]
    finally:
        spinner.kill()
        spinner.wait()
    return Row(f"slowdown beside a busy process N={n:,} k={k}", busy / quiet, 2.0,
               f"{busy / steps * 1e3:.2f} vs {quiet / steps * 1e3:.2f} ms/step", higher_is_better=False)


def bench(quick: bool = False, say: Callable[[str], None] = print) -> list[Row]:
    """Measure and print the table; returns its rows.

    Parameters
    ----------
    quick : bool
        Smaller sizes and shorter timings (about half a minute).
    say : callable
        Where each line goes.
    """
    seconds, repeats = (0.1, 3) if quick else (0.3, 5)
    say(f"# graphrnn bench{' --quick' if quick else ''}: ratios measured in one process (>1: graphrnn faster); "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    say(f"{'case':<48} {'ratio':>9}  {'target':<7}{'':<8}detail")
    rows: list[Row] = []

    def add(new):
        for row in new if isinstance(new, list) else [new]:
            rows.append(row)
            say(row.line())

    cases = [(100, 10, 1, 10.0), (1000, 10, 1, 5.0), (10_000, 10, 1, 1.5), (1000, 10, 32, 6.0)]
    if not quick:
        cases += [(10_000, 100, 1, 1.5), (10_000, 10, 32, 6.0), (100_000, 100, 1, 1.5)]
    for n, k, batch, target in cases:
        add(forward_row(n, k, batch, target, seconds, repeats))
    add(float32_row(10_000 if quick else 100_000, 100, 1.4, seconds, repeats))
    try:
        import torch
    except ImportError:
        say("(torch is not installed: the BPTT and dense rows need it)")
    else:
        torch.set_num_threads(1)
        add(bptt_rows(torch, 1000, 10, 50 if quick else 200, repeats))
        add(dense_row(torch, 512, 32, 20 if quick else 100, repeats))
    add(start_rows(1 if quick else 3))
    add(busy_row(10_000, 100, seconds, repeats))
    targets = [r for r in rows if r.target is not None]
    say(f"# {sum(bool(r.met) for r in targets)} of {len(targets)} targets met")
    return rows
