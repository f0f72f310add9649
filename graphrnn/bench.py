"""`graphrnn bench`: the performance table on the machine at hand.

Every figure is a ratio measured in this one process against the baseline a
user would otherwise write, the two timed alternately:

* discrete forward, every state recorded, against a ``scipy.sparse`` loop
  (`graphrnn.baselines.scipy_loop`); float32 against float64, forward and
  BPTT;
* the forward at batch 32 against a ``torch.sparse`` CSR loop
  (`graphrnn.baselines.torch_csr_loop`), float32 and float64, one thread
  each side and two (`torch_csr_row`);
* BPTT (forward + backward) against PyTorch autograd on the same sparse graph,
  and the backward pass against the forward pass;
* a dense Elman network against ``torch.nn.RNN`` (torch rows need torch:
  ``pip install "graphrnn[bench]"``);
* GRU neurons on a sparse wiring: BPTT against PyTorch autograd on the same
  wiring, and a GRU step against a plain tanh step; fully connected GRU
  and LSTM networks against ``torch.nn.GRU`` / ``nn.LSTM`` (`gated_rows`);
* cold and warm start of a fresh process (``import`` + first call);
* the first calls of fresh processes against one thread's steady state
  (the thread planner must not make them slower; `first_calls_rows`);
* the slowdown of a run while another process keeps a core busy.

How sure each figure is
-----------------------
Each round times graphrnn and its baseline back to back and gives one ratio;
a row's ratio is the median over its rounds, and its spread the interquartile
range of the rounds' ratios. A row whose spread is wider than `WIDE` of its
median gets two more rounds at a time, up to `MORE` times the rounds it
started with.

Other processes slow graphrnn and its baseline unequally (graphrnn's threads
wait for the slowest core at every step), so each row also records its
*load*: the cores that other processes kept busy, on average, while the row
was measured: CPU time spent on the cores this process may run on (from
``/proc/stat``) less this process's own and its children's (``os.times``).
Where ``/proc/stat`` is missing, the 1-minute load average less this
process's own use stands in (coarser: it lags by about a minute). A row whose
load exceeds `LOAD_LIMIT` (half a core, on any number of cores: a single
busy neighbour already stalls every threaded step) is marked
``(under load 0.9)``, and the summary counts such rows. The 1-minute load
average and the core count are printed at the start and at the end.

The scripts in ``benchmarks/`` measure the same things in more detail.
"""

from __future__ import annotations

import contextlib

import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import simulator as sim
import topologies as tp

from .baselines import random_csr, scipy_loop, torch_csr, torch_csr_loop, torch_loss, torch_sparse
from .gated_baselines import torch_dense, torch_gru_loss, torch_gru_sparse

__all__ = ["bench", "Row", "LOAD_LIMIT", "WIDE", "MORE"]

#: A row is "under load" when other processes kept more than this many cores
#: busy, on average, while it was measured.
LOAD_LIMIT = 0.5
#: A row whose ratios' interquartile range exceeds this fraction of their
#: median is repeated more.
WIDE = 0.10
#: Rounds are added until the spread is narrow or there are MORE times the first count.
MORE = 3


@dataclass
class Row:
    """One line of the table: a measured ratio against its target.

    `samples` holds the ratio of every round (the ratio is their median);
    `load` the cores other processes kept busy while the row was measured.
    """

    what: str
    ratio: float
    target: float | None
    detail: str
    higher_is_better: bool = True
    unit: str = "x"
    samples: tuple[float, ...] = ()
    load: float | None = None

    @property
    def met(self) -> bool | None:
        """Whether the target is met; None for a figure reported without one."""
        if self.target is None:
            return None
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    @property
    def under_load(self) -> bool:
        """Whether the row was measured while other processes kept the machine busy."""
        return under_load(self.load)

    def line(self) -> str:
        """The table line: ratio, spread of the rounds, load, target, verdict, detail, and the load mark."""
        value = f"{self.ratio:.2f}{self.unit}"
        if len(self.samples) > 1:
            lo, hi = spread(self.samples)
            spread_text = f"{lo:.2f}-{hi:.2f} of {len(self.samples)}"
        else:
            spread_text = "1 round"
        load = "" if self.load is None else f"{self.load:.2f}"
        mark = f"  (under load {self.load:.1f})" if self.under_load else ""
        head = f"{self.what:<48} {value:>9}  {spread_text:<17} {load:>5}  "
        if self.target is None:
            return f"{head}{'':<7} {'report':<7} {self.detail}{mark}"
        sign = ">=" if self.higher_is_better else "<="
        verdict = "met" if self.met else "MISSED"
        return f"{head}{sign}{self.target:<5.3g} {verdict:<7} {self.detail}{mark}"


def spread(samples: Sequence[float]) -> tuple[float, float]:
    """The interquartile range (25th and 75th percentiles, linear
    interpolation) of a row's per-round ratios.

    Examples
    --------
    >>> spread([1.0, 2.0, 3.0, 4.0, 5.0])
    (2.0, 4.0)
    """
    lo, hi = np.percentile(np.asarray(samples, dtype=float), [25, 75])
    return float(lo), float(hi)


def is_wide(samples: Sequence[float], wide: float = WIDE) -> bool:
    """Whether the ratios' interquartile range exceeds `wide` times their median.

    Examples
    --------
    >>> is_wide([1.0, 1.02, 0.99]), is_wide([1.0, 1.5, 0.7])
    (False, True)
    """
    if len(samples) < 2:
        return False
    lo, hi = spread(samples)
    return hi - lo > wide * abs(statistics.median(samples))


def _rounds(round_fn: Callable[[], Sequence[float]], repeats: int, most: int | None = None) -> list[list[float]]:
    """Figures of `round_fn` over its rounds, one list per figure.

    `repeats` rounds are run; then, while any figure is spread wider than
    `WIDE` of its median (`is_wide`), two more at a time, up to `most` rounds
    (default ``MORE * repeats``).
    """
    most = MORE * repeats if most is None else most
    figures = [list(f) for f in zip(*(round_fn() for _ in range(repeats)))]
    while len(figures[0]) < most and any(is_wide(f) for f in figures):
        for _ in range(min(2, most - len(figures[0]))):
            for bucket, value in zip(figures, round_fn()):
                bucket.append(value)
    return figures


def _seconds(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _alternate(fns: list[Callable[[], object]], repeats: int,
               *ratios: Callable[..., float]) -> tuple[list[float], list[list[float]]]:
    """Time each function in turn, round after round (see `_rounds`).

    Returns the median seconds of each function and, for each of `ratios`
    (called with one round's seconds, in the order of `fns`), its value in
    every round.
    """
    times: list[list[float]] = [[] for _ in fns]

    def one_round():
        took = [_seconds(fn) for fn in fns]
        for bucket, t in zip(times, took):
            bucket.append(t)
        return [r(*took) for r in ratios]

    samples = _rounds(one_round, repeats)
    return [statistics.median(t) for t in times], samples


def _row(what: str, samples: list[float], target: float | None, detail: str, **kw) -> Row:
    return Row(what, statistics.median(samples), target, detail, samples=tuple(samples), **kw)


@dataclass(frozen=True)
class LoadSample:
    """What `load_sample` reads at one instant.

    wall : float
        ``time.perf_counter()``, seconds.
    busy : float or None
        CPU seconds spent so far, by every process, on the cores this process
        may run on (``/proc/stat``); None where that file is missing.
    own : float
        CPU seconds of this process and of its finished children (``os.times``).
    loadavg : float or None
        The 1-minute load average; None where the system has none.
    """

    wall: float
    busy: float | None
    own: float
    loadavg: float | None


def _busy_seconds() -> float | None:
    try:
        cores = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        cores = None
    try:
        with open("/proc/stat") as f:
            lines = [line.split() for line in f if line.startswith("cpu") and line[3:4].isdigit()]
    except OSError:
        return None
    ticks = 0
    for fields in lines:
        if cores is None or int(fields[0][3:]) in cores:
            # user nice system idle iowait irq softirq steal: all but idle and iowait
            values = [int(v) for v in fields[1:9]]
            ticks += sum(values) - values[3] - values[4]
    return ticks / os.sysconf("SC_CLK_TCK") if lines else None


def loadavg() -> float | None:
    """The 1-minute load average, or None where the system keeps none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def load_sample() -> LoadSample:
    """Read the clocks `others_load` compares."""
    t = os.times()
    return LoadSample(time.perf_counter(), _busy_seconds(),
                      t.user + t.system + t.children_user + t.children_system, loadavg())


def others_load(before: LoadSample, after: LoadSample) -> float | None:
    """Cores that other processes kept busy, on average, between two samples.

    From the CPU time spent on this process's cores less its own (and its
    children's); without ``/proc/stat``, the 1-minute load average at the end
    less this process's own use. None when neither is known.

    Examples
    --------
    >>> a = LoadSample(wall=0.0, busy=10.0, own=1.0, loadavg=0.2)
    >>> round(others_load(a, LoadSample(wall=2.0, busy=13.8, own=3.0, loadavg=1.9)), 6)
    0.9
    >>> others_load(a, LoadSample(wall=2.0, busy=None, own=3.0, loadavg=1.5))
    0.5
    """
    wall = after.wall - before.wall
    if wall <= 0:
        return None
    own = (after.own - before.own) / wall
    if before.busy is not None and after.busy is not None:
        return max(0.0, (after.busy - before.busy) / wall - own)
    if after.loadavg is not None:
        return max(0.0, after.loadavg - own)
    return None


def under_load(load: float | None, limit: float = LOAD_LIMIT) -> bool:
    """Whether a row measured while others kept `load` cores busy is marked.

    Examples
    --------
    >>> under_load(0.9), under_load(0.1), under_load(None)
    (True, False, False)
    """
    return load is not None and load > limit


def summary(rows: Sequence[Row]) -> str:
    """The closing line: targets met, and how many rows were measured under load.

    Examples
    --------
    >>> rows = [Row("a", 2.0, 1.0, "", load=0.0), Row("b", 0.5, 1.0, "", load=1.2),
    ...         Row("c", 3.0, None, "", load=0.9)]
    >>> summary(rows)
    '# 1 of 2 targets met; 2 rows measured under load, among them 1 of the 1 misses: rerun on a quiet machine'
    >>> summary(rows[:1])
    '# 1 of 1 targets met; no row measured under load'
    """
    targets = [r for r in rows if r.target is not None]
    met = sum(bool(r.met) for r in targets)
    loaded = [r for r in rows if r.under_load]
    line = f"# {met} of {len(targets)} targets met"
    if not loaded:
        return line + "; no row measured under load"
    line += f"; {len(loaded)} {'row' if len(loaded) == 1 else 'rows'} measured under load"
    missed = [r for r in targets if not r.met]
    if missed:
        line += f", among them {sum(r.under_load for r in missed)} of the {len(missed)} misses"
    return line + ": rerun on a quiet machine"


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
    (t_ours, t_base), (ratios,) = _alternate([lambda: sim.run(net, x), lambda: scipy_loop(W, U, b, x)], repeats,
                                             lambda ours, base: base / ours)
    return _row(f"forward N={n:,} k={k} batch {batch}", ratios, target,
                f"{t_ours / steps * 1e6:.1f} vs {t_base / steps * 1e6:.1f} us/step")


@contextlib.contextmanager
def numba_threads(threads: int):
    """Numba limited to `threads` threads (at most its pool) inside the
    block, the previous count restored after: both sides of a ratio run at
    the same count, whatever the thread planner would pick for each."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        yield numba.get_num_threads()
    finally:
        numba.set_num_threads(before)


def float32_row(n: int, k: int, target: float, seconds: float, repeats: int, bptt_steps: int = 200) -> list[Row]:
    """float32 against float64 on the same wiring, on one thread each (the
    precision's cost, not the thread planner's choices): the forward run
    (batch 1, N = `n`, in-degree `k`), and BPTT (forward + backward) of a
    network of 1,000 neurons, in-degree 10, batch 32 over `bptt_steps`
    steps, with the loss on one linear readout (no target)."""
    runs = [_problem(n, k, dtype)[0] for dtype in (np.float64, np.float32)]
    rng = np.random.default_rng(5)
    W, U, V = random_csr(1000, 10), rng.normal(size=(1000, 1)), np.full((1, 1000), 1e-3)
    nets = [sim.compile_arrays(W.astype(dtype), U=U, V=V, dtype=np.dtype(dtype).name)
            for dtype in (np.float64, np.float32)]
    x, y = rng.normal(size=(bptt_steps, 32, 1)), rng.normal(size=(bptt_steps, 32, 1))
    h0 = np.full(n, 0.5)
    with numba_threads(1):
        steps = _steps_for(lambda s: sim.run(runs[0], s, h0=h0), seconds)
        (t64, t32), (ratios,) = _alternate([lambda: sim.run(runs[0], steps, h0=h0),
                                            lambda: sim.run(runs[1], steps, h0=h0.astype(np.float32))], repeats,
                                           lambda t64, t32: t64 / t32)
        rows = [_row(f"float32 vs float64 N={n:,} k={k} 1t", ratios, target,
                     f"{t32 / steps * 1e3:.2f} vs {t64 / steps * 1e3:.2f} ms/step")]
        (t64, t32), (ratios,) = _alternate([lambda: sim.bptt(nets[0], x, y), lambda: sim.bptt(nets[1], x, y)],
                                           repeats, lambda t64, t32: t64 / t32)
    rows.append(_row("  BPTT float32 vs float64 N=1,000 k=10 b=32 1t", ratios, target,
                     f"{t32 * 1e3:.1f} vs {t64 * 1e3:.1f} ms for {bptt_steps} steps"))
    return rows


def torch_csr_row(torch, n: int, k: int, batch: int, dtype, threads: int, seconds: float, repeats: int) -> Row:
    """``sim.run`` against the ``torch.sparse`` CSR loop (`torch_csr_loop`) on
    the same network and batch, both on `threads` threads (one: graphrnn
    with ``parallel=False``; more: ``parallel=True`` with Numba's and
    torch's thread counts set to `threads`), in `dtype`."""
    import numba

    name = np.dtype(dtype).name
    net, W, U, b = _problem(n, k, dtype)
    Wt, Ut, bt = torch_csr(W, torch), torch.as_tensor(U), torch.as_tensor(b)
    rng = np.random.default_rng(1)

    def x_of(steps):
        return rng.normal(size=(steps, batch, 1)).astype(dtype)

    torch_threads, numba_threads = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    parallel = threads > 1
    try:
        x = x_of(20)
        ours = sim.run(net, x, parallel=parallel).states
        ref = torch_csr_loop(Wt, Ut, bt, torch.as_tensor(x), torch).numpy().transpose(0, 2, 1)
        tol = 1e-4 if name == "float32" else 1e-10
        if not np.allclose(ours, ref, rtol=tol, atol=tol):
            raise AssertionError(f"N={n} batch={batch} {name}: states differ from the torch.sparse loop")
        steps = _steps_for(lambda s: torch_csr_loop(Wt, Ut, bt, torch.as_tensor(x_of(s)), torch), seconds)
        steps = min(steps, max(2, int(5e8 // (np.dtype(dtype).itemsize * n * batch))))
        x = x_of(steps)
        xt = torch.as_tensor(x)
        (t_ours, t_base), (ratios,) = _alternate(
            [lambda: sim.run(net, x, parallel=parallel), lambda: torch_csr_loop(Wt, Ut, bt, xt, torch)], repeats,
            lambda ours, base: base / ours)
    finally:
        torch.set_num_threads(torch_threads)
        numba.set_num_threads(numba_threads)
    return _row(f"fwd vs torch.sparse N={n:,} k={k} b={batch} {name} {threads}t", ratios, 1.0,
                f"{t_ours / steps * 1e3:.3f} vs {t_base / steps * 1e3:.3f} ms/step")


def bptt_rows(torch, n: int, k: int, steps: int, repeats: int, batches: tuple[int, ...] = (1, 32)) -> list[Row]:
    """BPTT against torch autograd at each batch size in `batches` (torch
    on one thread, graphrnn as it plans); at batch 1 also the backward
    pass against the forward pass."""
    rng = np.random.default_rng(2)
    net = sim.compile_arrays(random_csr(n, k), U=rng.normal(size=(n, 1)), V=np.full((1, n), 1.0 / n))
    rows = []
    for batch in batches:
        shape = (steps, 1) if batch == 1 else (steps, batch, 1)
        x, y = rng.normal(size=shape), rng.normal(size=shape)
        loss, _ = sim.bptt(net, x, y)
        kinds, b, c = torch_sparse(net, torch)
        t_loss = torch_loss(net, kinds, b, c, x, y, torch)
        if abs(loss - t_loss.item()) > 1e-10 * max(1.0, abs(loss)):
            raise AssertionError(f"BPTT loss {loss} differs from torch's {t_loss.item()} (batch {batch})")

        def torch_once():
            kinds_, b_, c_ = torch_sparse(net, torch)
            torch_loss(net, kinds_, b_, c_, x, y, torch).backward()

        (t_ours, t_torch, t_fwd), (vs_torch, backward) = _alternate(
            [lambda: sim.bptt(net, x, y), torch_once, lambda: sim.run(net, x)], repeats,
            lambda ours, torch_, fwd: torch_ / ours, lambda ours, torch_, fwd: (ours - fwd) / fwd)
        rows.append(_row(f"BPTT vs torch autograd N={n:,} k={k} b={batch} T={steps}", vs_torch, 10.0,
                         f"{t_ours * 1e3:.1f} vs {t_torch * 1e3:.1f} ms"))
        if batch == 1:
            rows.append(_row("  backward / forward time", backward, 3.0,
                             f"forward {t_fwd * 1e3:.1f} ms, forward+backward {t_ours * 1e3:.1f} ms",
                             higher_is_better=False))
    return rows


def dense_row(torch, n_hidden: int, batch: int, steps: int, repeats: int) -> list[Row]:
    """A fully connected Elman network against ``torch.nn.RNN`` with a linear
    readout: the forward pass, and forward + backward of the MSE against
    torch autograd (issue 21's target: 1.0x both)."""
    n_in = n_out = 8
    rng = np.random.default_rng(3)
    W = rng.normal(size=(n_hidden, n_hidden)) / np.sqrt(n_hidden)
    U = rng.normal(size=(n_hidden, n_in))
    V = rng.normal(size=(n_out, n_hidden)) / np.sqrt(n_hidden)
    net = sim.compile_arrays(W, U=U, V=V)
    rnn = torch.nn.RNN(n_in, n_hidden, nonlinearity="tanh", bias=False).double()
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(torch.as_tensor(W))
        rnn.weight_ih_l0.copy_(torch.as_tensor(U))
    readout = torch.as_tensor(V.T).clone().requires_grad_(True)
    x, y = rng.normal(size=(steps, batch, n_in)), rng.normal(size=(steps, batch, n_out))
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    with torch.no_grad():
        out, _ = rnn(xt)
    if not np.allclose(out.numpy(), sim.run(net, x).states[1:], atol=1e-10):
        raise AssertionError("dense Elman states differ from torch.nn.RNN")

    def torch_once():
        with torch.no_grad():
            rnn(xt)

    def torch_train():
        rnn.zero_grad()
        readout.grad = None
        loss = ((rnn(xt)[0] @ readout - yt) ** 2).mean()
        loss.backward()
        return loss.item()

    if abs(sim.bptt(net, x, y)[0] - torch_train()) > 1e-10:
        raise AssertionError("dense Elman loss differs from torch's")
    (t_ours, t_torch, t_bptt, t_train), (ratios, train) = _alternate(
        [lambda: sim.run(net, x), torch_once, lambda: sim.bptt(net, x, y), torch_train], repeats,
        lambda ours, torch_, bptt, train: torch_ / ours, lambda ours, torch_, bptt, train: train / bptt)
    return [_row(f"dense Elman N={n_hidden} batch {batch} vs nn.RNN", ratios, 1.0,
                 f"{t_ours * 1e3:.1f} vs {t_torch * 1e3:.1f} ms for {steps} steps"),
            _row("  forward+backward vs autograd", train, 1.0,
                 f"{t_bptt * 1e3:.1f} vs {t_train * 1e3:.1f} ms")]


def gated_rows(torch, steps: int, repeats: int) -> list[Row]:
    """GRU neurons (fixed in-degree 10, N = 1,000, batch 32): BPTT against
    torch autograd on the same sparse wiring, a GRU step against a plain
    tanh step of the same wiring (forward); fully connected GRU and LSTM
    networks (N = 256, batch 32) against ``torch.nn.GRU`` / ``nn.LSTM``."""
    n, k, batch = 1000, 10, 32
    rng = np.random.default_rng(4)

    def sparse(gated: bool):
        G = tp.fixed_indegree(n, k, n_inputs=1, n_outputs=0, seed=0)
        G.add_node("y", role="output")
        G.add_edges_from((v, "y", {"weight": 1.0 / n}) for v in range(n))
        return sim.compile(tp.gate(G, unit="gru", seed=0) if gated else G)

    gru, plain = sparse(True), sparse(False)
    x, y = rng.normal(size=(steps, batch, 1)), rng.normal(size=(steps, batch, 1))
    loss, _ = sim.bptt(gru, x, y)
    kinds, biases = torch_gru_sparse(gru, torch)
    if abs(loss - torch_gru_loss(gru, kinds, biases, x, y, torch).item()) > 1e-10 * max(1.0, abs(loss)):
        raise AssertionError("GRU BPTT loss differs from torch's")

    def torch_once():
        kinds_, biases_ = torch_gru_sparse(gru, torch)
        torch_gru_loss(gru, kinds_, biases_, x, y, torch).backward()

    (t_ours, t_torch), (vs_torch,) = _alternate([lambda: sim.bptt(gru, x, y), torch_once], repeats,
                                                lambda ours, torch_: torch_ / ours)
    rows = [_row(f"GRU BPTT vs torch autograd N={n:,} k={k} b={batch}", vs_torch, 5.0,
                 f"{t_ours * 1e3:.1f} vs {t_torch * 1e3:.1f} ms for {steps} steps")]
    sim.run(plain, x)
    (t_gru, t_plain), (step,) = _alternate([lambda: sim.run(gru, x), lambda: sim.run(plain, x)], repeats,
                                           lambda g, p: g / p)
    rows.append(_row(f"GRU step / tanh step N={n:,} k={k} b={batch}", step, 3.5,
                     f"{t_gru / steps * 1e3:.2f} vs {t_plain / steps * 1e3:.2f} ms/step", higher_is_better=False))
    for unit, build in (("GRU", tp.gru), ("LSTM", tp.lstm)):
        net = sim.compile(build(8, 256, 8, seed=0))
        rnn, V, c = torch_dense(unit.lower(), net, torch)
        readout = torch.as_tensor(V.T).clone().requires_grad_(True)
        xd, yd = rng.normal(size=(steps, batch, 8)), rng.normal(size=(steps, batch, 8))
        xt, yt = torch.as_tensor(xd), torch.as_tensor(yd)
        with torch.no_grad():
            if not np.allclose(rnn(xt)[0].numpy(), sim.run(net, xd).states[1:], rtol=0, atol=1e-12):
                raise AssertionError(f"dense {unit} states differ from torch.nn.{unit}")

        def torch_dense_once(rnn=rnn, xt=xt):
            with torch.no_grad():
                rnn(xt)

        def torch_dense_train(rnn=rnn, xt=xt, yt=yt, readout=readout, c=torch.tensor(c)):
            rnn.zero_grad()
            readout.grad = None
            loss = ((rnn(xt)[0] @ readout + c - yt) ** 2).mean()
            loss.backward()
            return loss.item()

        if abs(sim.bptt(net, xd, yd)[0] - torch_dense_train()) > 1e-10:
            raise AssertionError(f"dense {unit} loss differs from torch's")
        (t_ours, t_torch, t_bptt, t_train), (ratios, train) = _alternate(
            [lambda net=net, xd=xd: sim.run(net, xd), torch_dense_once,
             lambda net=net, xd=xd, yd=yd: sim.bptt(net, xd, yd), torch_dense_train], repeats,
            lambda ours, torch_, bptt, train: torch_ / ours, lambda ours, torch_, bptt, train: train / bptt)
        rows.append(_row(f"dense {unit} N=256 batch {batch} vs nn.{unit}", ratios, 0.67,
                         f"{t_ours * 1e3:.1f} vs {t_torch * 1e3:.1f} ms for {steps} steps"))
        rows.append(_row("  forward+backward vs autograd", train, 1.0,
                         f"{t_bptt * 1e3:.1f} vs {t_train * 1e3:.1f} ms"))
    return rows


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


def delay_rows(n: int, k: int, steps: int, repeats: int) -> list[Row]:
    """A run and BPTT with delays 1..5 on the hidden -> hidden edges against
    the same network with default delays (issue 18 point 7: at most 1.3x),
    with Numba limited to one thread and to two, both ways alike."""
    G = tp.fixed_indegree(n, k, n_inputs=1, n_outputs=1, seed=0, scale=0.9)
    plain = sim.compile(G)
    delay = plain.delay.copy()
    recurrent = plain.edge_kind == 0
    delay[recurrent] = np.random.default_rng(0).integers(1, 6, size=int(recurrent.sum()))
    delayed = plain.with_params(delay=delay)
    rng = np.random.default_rng(1)
    rows = []
    for threads in (1, 2):
        with numba_threads(threads) as used:
            for batch in (1, 32):
                x = rng.normal(size=(steps, 1) if batch == 1 else (steps, batch, 1))
                y = rng.normal(size=x.shape)
                for what, call in (("run", lambda net: sim.run(net, x, progress=False)),
                                   ("BPTT", lambda net: sim.bptt(net, x, y))):
                    (t_plain, t_delayed), (ratios,) = _alternate([lambda: call(plain), lambda: call(delayed)],
                                                                 repeats, lambda a, b: b / a)
                    rows.append(_row(f"{what} delays 1..5 / default N={n:,} k={k} b={batch} {used}t", ratios, 1.3,
                                     f"{t_delayed / steps * 1e6:.0f} vs {t_plain / steps * 1e6:.0f} us/step",
                                     higher_is_better=False))
    return rows


def _fresh(code: str, *args: str, cache_dir: str | None = None) -> float:
    env = dict(os.environ)
    env.pop("GRAPHRNN_CACHE", None)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def start_rows(repeats: int) -> list[Row]:
    """Cold (empty kernel cache) and warm start of fresh processes.

    A cold start is measured once (it compiles for seconds); the warm starts,
    less the median import time, over rounds as the other rows.
    """
    base = statistics.median(_fresh(_IMPORTS) for _ in range(repeats))
    rows = []
    for what in ("run", "rk4", "bptt"):
        with tempfile.TemporaryDirectory() as cache:
            cold = _fresh(_START, what, cache_dir=cache)
            (beyond,) = _rounds(lambda: [_fresh(_START, what, cache_dir=cache) - base], repeats, 2 * repeats)
        warm = base + statistics.median(beyond)
        # The target is for a first `run`; rk4 and bptt compile more kernels
        # and are reported beside it.
        rows.append(Row(f"cold start: import + first {what}", cold, 4.0 if what == "run" else None,
                        "empty kernel cache", higher_is_better=False, unit=" s", samples=(cold,)))
        rows.append(_row(f"warm start: import + first {what}, beyond imports", beyond, 0.3,
                         f"{warm:.2f} s vs {base:.2f} s for numpy+scipy+networkx+numba", higher_is_better=False,
                         unit=" s"))
    return rows


_FIRST_CALLS = """
import json, sys, time
import numba
import numpy as np
import simulator as sim
from graphrnn.baselines import random_csr
what, n, k, batch, steps, calls = sys.argv[1], *map(int, sys.argv[2:])
rng = np.random.default_rng(0)
net = sim.compile_arrays(random_csr(n, k, seed=0), U=rng.normal(size=(n, 1)), V=np.full((1, n), 1.0 / n))
x, y = rng.normal(size=(steps, batch, 1)), rng.normal(size=(steps, batch, 1))
call = (lambda: sim.run(net, x)) if what == "forward" else (lambda: sim.bptt(net, x, y))
call()  # loads the kernels (and the threads' pool when it is used)
def timed():
    t0 = time.perf_counter()
    call()
    return (time.perf_counter() - t0) / steps
first = [timed() for _ in range(calls)]
numba.set_num_threads(1)
call()
one = [timed() for _ in range(calls)]
print(json.dumps({"first": first, "one": one}))
"""


def _first_calls(what: str, n: int, k: int, batch: int, steps: int, calls: int) -> tuple[list[float], list[float]]:
    """One fresh process: seconds per step of its first `calls` calls after
    one warm-up call (threads as planned), then of as many on one thread."""
    out = subprocess.run([sys.executable, "-c", _FIRST_CALLS, what, *map(str, (n, k, batch, steps, calls))],
                         capture_output=True, text=True, check=True)
    record = json.loads(out.stdout.strip().splitlines()[-1])
    return record["first"], record["one"]


def first_call_ratios(firsts: Sequence[Sequence[float]], ones: Sequence[Sequence[float]]) -> list[float]:
    """Each first call's time per step over its process's one-thread steady
    state (the median of that process's one-thread calls).

    Examples
    --------
    >>> first_call_ratios([[2.0, 1.0], [3.0, 0.5]], [[1.0, 1.0, 3.0], [1.0, 1.0, 1.0]])
    [2.0, 1.0, 3.0, 0.5]
    """
    return [t / statistics.median(one) for first, one in zip(firsts, ones) for t in first]


def first_calls_rows(what: str, n: int, k: int, batch: int, steps: int, processes: int, calls: int = 5) -> list[Row]:
    """The first `calls` calls of `processes` fresh processes against one
    thread: the median and the worst ratio of a call's time per step to its
    process's one-thread steady state (targets 0.8 and 1.1: threads should
    gain from the first call on, and never cost more than 10%)."""
    runs = [_first_calls(what, n, k, batch, steps, calls) for _ in range(processes)]
    ratios = first_call_ratios([f for f, _ in runs], [o for _, o in runs])
    one = statistics.median(t for _, o in runs for t in o)
    first = statistics.median(t for f, _ in runs for t in f)
    label = f"{what} N={n:,} k={k} batch {batch} T={steps}"
    detail = f"{processes} processes x {calls} calls; {first * 1e6:.0f} vs {one * 1e6:.0f} us/step on one thread"
    worst = max(ratios)
    return [
        _row(f"first calls {label}: median vs 1 thread", ratios, 0.8, detail, higher_is_better=False),
        Row(f"  worst of the first {calls} calls vs 1 thread", worst, 1.1,
            f"per call: {' '.join(f'{r:.2f}' for r in ratios[:2 * calls])}{' ...' if len(ratios) > 2 * calls else ''}",
            higher_is_better=False, samples=tuple(ratios)),
    ]


class _Spinner:
    """Another process that keeps one core busy while switched on."""

    def __init__(self):
        self._proc = None
        self._pausable = hasattr(signal, "SIGSTOP")

    def on(self):
        if self._proc is None:
            self._proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(0.2)  # until it spins
        else:
            self._proc.send_signal(signal.SIGCONT)
            time.sleep(0.01)

    def off(self):
        if self._proc is not None and self._pausable:
            self._proc.send_signal(signal.SIGSTOP)
        elif self._proc is not None:
            self.close()

    def close(self):
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None


def busy_row(n: int, k: int, seconds: float, repeats: int) -> Row:
    """How much a run slows while another process keeps one core busy.

    Each round times a run with the other process paused (``SIGSTOP``; where
    there is none, it is stopped and started again) and one with it spinning.
    """
    net = _problem(n, k)[0]
    h0 = np.full(n, 0.5)
    steps = _steps_for(lambda s: sim.run(net, s, h0=h0), seconds)
    t_quiet: list[float] = []
    t_busy: list[float] = []
    spinner = _Spinner()

    def one_round():
        spinner.off()
        t_quiet.append(_seconds(lambda: sim.run(net, steps, h0=h0)))
        spinner.on()
        t_busy.append(_seconds(lambda: sim.run(net, steps, h0=h0)))
        return [t_busy[-1] / t_quiet[-1]]

    try:
        (ratios,) = _rounds(one_round, repeats)
    finally:
        spinner.close()
    busy, quiet = statistics.median(t_busy), statistics.median(t_quiet)
    return _row(f"slowdown beside a busy process N={n:,} k={k}", ratios, 2.0,
                f"{busy / steps * 1e3:.2f} vs {quiet / steps * 1e3:.2f} ms/step", higher_is_better=False)


def bench(quick: bool = False, say: Callable[[str], None] = print) -> list[Row]:
    """Measure and print the table; returns its rows.

    Parameters
    ----------
    quick : bool
        Smaller sizes and shorter timings (about half a minute on a quiet machine).
    say : callable
        Where each line goes.

    Notes
    -----
    Each ratio is the median of rounds, with its interquartile range ("spread");
    rows spread wide get more rounds. The "load" column gives the cores other
    processes kept busy while a row was measured; rows above `LOAD_LIMIT` are
    marked "(under load ...)" and counted in the summary (see the module's notes).
    """
    seconds, repeats = (0.1, 3) if quick else (0.3, 5)
    cores = os.cpu_count()
    start = loadavg()
    say(f"# graphrnn bench{' --quick' if quick else ''}: ratios measured in one process (>1: graphrnn faster), "
        f"each the median of rounds; {cores} cores, {_loadavg_text(start)} at the start")
    if start is not None and start > LOAD_LIMIT:
        say(f"# other processes are running (load average {start:.2f}): ratios may read low")
    say(f"# spread: interquartile range of the rounds' ratios; load: cores kept busy by other processes while "
        f"the row was measured, marked above {LOAD_LIMIT}")
    say(f"{'case':<48} {'ratio':>9}  {'spread':<17} {'load':>5}  {'target':<7}{'':<8}detail")
    rows: list[Row] = []

    def add(measure, *args):
        before = load_sample()
        new = measure(*args)
        load = others_load(before, load_sample())
        for row in new if isinstance(new, list) else [new]:
            row.load = load
            rows.append(row)
            say(row.line())

    cases = [(100, 10, 1, 10.0), (1000, 10, 1, 5.0), (10_000, 10, 1, 1.5), (1000, 10, 32, 6.0)]
    if not quick:
        cases += [(10_000, 100, 1, 1.5), (10_000, 10, 32, 6.0), (100_000, 100, 1, 1.5)]
    for n, k, batch, target in cases:
        add(forward_row, n, k, batch, target, seconds, repeats)
    add(float32_row, 10_000 if quick else 100_000, 100, 1.4, seconds, repeats, 50 if quick else 200)
    try:
        import torch
    except ImportError:
        say('(torch is not installed: the BPTT and dense rows need it; pip install "graphrnn[bench]")')
    else:
        torch.set_num_threads(1)
        add(bptt_rows, torch, 1000, 10, 50 if quick else 200, repeats)
        for threads in (1, 2):
            for n in (1000,) if quick else (1000, 10_000):
                for dtype in (np.float32, np.float64):
                    add(torch_csr_row, torch, n, 10, 32, dtype, threads, seconds, repeats)
        add(dense_row, torch, 512, 32, 20 if quick else 100, repeats)
        add(gated_rows, torch, 20 if quick else 100, repeats)
    add(delay_rows, 1000 if quick else 10_000, 10, 20 if quick else 50, repeats)
    add(start_rows, 2 if quick else 3)
    for what in ("forward", "bptt"):
        add(first_calls_rows, what, 1000, 10, 32, 200, 5 if quick else 8)
    add(busy_row, 10_000, 100, seconds, repeats)
    end = loadavg()
    say(f"# {cores} cores, {_loadavg_text(end)} at the end"
        + ("" if start is None else f" ({start:.2f} at the start)"))
    say(summary(rows))
    return rows


def _loadavg_text(value: float | None) -> str:
    return "load average unknown" if value is None else f"load average {value:.2f}"
