"""Progress bars: a run shows one over its steps (segment by segment) when
asked or when it is long, a solve one over simulated time (by default once
it has taken a few seconds), training one over its epochs; the numbers are
those without a bar, and a missing tqdm is silent."""

import sys
import types

import networkx as nx
import numpy as np
import pytest

import simulator as sim
from simulator import progress, simulate, threads

from . import reference as ref
from .test_run import _all_kinds_graph, _inputs


class FakeBar:
    """Records what a `tqdm.auto.tqdm` bar would be told."""

    made: list = []

    def __init__(self, total, desc, unit, delay=0.0):
        self.total, self.desc, self.unit, self.delay = total, desc, unit, delay
        self.counts, self.postfix, self.closed = [], "", False
        FakeBar.made.append(self)

    def update(self, n=1):
        self.counts.append(n)

    def set_postfix_str(self, note):
        self.postfix = note

    def close(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture
def bars(monkeypatch):
    """A stand-in tqdm package; yields the list of the bars made."""
    package, auto = types.ModuleType("tqdm"), types.ModuleType("tqdm.auto")
    auto.tqdm = FakeBar
    package.auto = auto
    monkeypatch.setitem(sys.modules, "tqdm", package)
    monkeypatch.setitem(sys.modules, "tqdm.auto", auto)
    FakeBar.made = []
    return FakeBar.made


def _dense_graph(n=70, seed=0):
    """All-to-all tanh neurons, one input and one output (a dense W)."""
    rng = np.random.default_rng(seed)
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("y", role="output")
    for i in range(n):
        G.add_edge("x", i, weight=rng.normal())
        G.add_edge(i, "y", weight=rng.normal() / n)
    G.add_weighted_edges_from((i, j, rng.normal() / np.sqrt(n)) for i in range(n) for j in range(n))
    return G


CASES = {
    "plain": ({}, _all_kinds_graph),
    "forced": ({"teacher_forcing": True}, _all_kinds_graph),
    "async": ({"update": "async", "seed": 3}, _all_kinds_graph),
    "dense": ({}, _dense_graph),
    "euler": ({"dt": 0.3, "method": "euler"}, _all_kinds_graph),
    "rk4": ({"dt": 0.3, "method": "rk4"}, _all_kinds_graph),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("batch", [None, 2])
def test_a_run_with_a_bar_counts_every_step_and_changes_no_number(monkeypatch, bars, case, batch):
    """With ``progress=True`` every kind of run goes in segments (output
    feedback, teacher forcing and sweep orders carried across the cuts); the
    bar counts the steps segment by segment and is closed; the numbers are,
    bit for bit, those of one call without a bar, which follow the reference."""
    kwargs, graph = CASES[case]
    net = sim.compile(graph())
    assert simulate.use_dense(net) == (case == "dense")
    T = 23
    x = _inputs(net, T, batch)
    if case == "forced":
        targets = np.where(np.arange(T)[:, None] % 3 == 0, np.nan, np.full((T, net.n_outputs), 0.25))
        if batch is not None:
            targets = np.broadcast_to(targets[:, None, :], (T, batch, net.n_outputs))
        kwargs = {**kwargs, "targets": targets}
    whole = sim.run(net, x, progress=False, **kwargs)
    assert bars == []
    work = (net.n_edges + net.n_neurons) * (batch or 1)
    if case == "dense":  # a dense step counts its matrix's entries, scaled by simulate.DENSE_SPEEDUP
        work = (batch or 1) * net.n_neurons * (net.n_neurons + net.n_inputs + net.n_outputs + 1) \
            // simulate.DENSE_SPEEDUP
    monkeypatch.setattr(threads, "SEGMENT_WORK", 4 * work)
    cut = sim.run(net, x, progress=True, **kwargs)
    (bar,) = bars
    assert (bar.total, bar.desc, bar.unit, bar.closed) == (T, "run", "steps", True)
    assert bar.counts == [4] * 5 + [3]
    np.testing.assert_array_equal(cut.states, whole.states)
    np.testing.assert_array_equal(cut.outputs, whole.outputs)
    if case == "async":
        np.testing.assert_array_equal(cut.info["order"], whole.info["order"])
        states, outputs = ref.run_async(net.to_networkx(), x, np.zeros(cut.states.shape[1:]), cut.info["order"])
    elif case in ("euler", "rk4"):
        states, outputs = ref.run_fixed_step(net.to_networkx(), x, 0.3, case)
    else:
        states, outputs = ref.run_discrete(net.to_networkx(), x, teacher=kwargs.get("targets"))
    np.testing.assert_allclose(cut.states, states, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cut.outputs, outputs, rtol=1e-12, atol=1e-12)


def test_a_long_run_shows_a_bar_by_default(monkeypatch, bars):
    """By default the bar appears from `AUTO_MIN_WORK` units of work (RK4
    counts its four stages), and never for a short run; tqdm draws it only
    once the run has lasted `AUTO_DELAY` seconds (the work estimate counts
    edge updates, far cheaper through BLAS), while an asked-for bar draws at
    once."""
    net = sim.compile(_all_kinds_graph())
    x = _inputs(net, 10, None)
    work = (net.n_edges + net.n_neurons) * 10
    monkeypatch.setattr(simulate, "AUTO_MIN_WORK", work + 1)
    sim.run(net, x)
    sim.run(net, x, dt=0.5, method="euler")
    assert bars == []
    sim.run(net, x, dt=0.5, method="rk4")
    monkeypatch.setattr(simulate, "AUTO_MIN_WORK", work)
    sim.run(net, x)
    assert [(b.total, b.delay) for b in bars] == [(10, progress.AUTO_DELAY), (10, progress.AUTO_DELAY)]
    sim.run(net, x, progress=False)
    assert len(bars) == 2
    sim.run(net, x, progress=True)
    assert bars[-1].delay == 0.0


def test_a_bar_closes_when_the_run_fails(bars):
    """An overflow raises, and the bar is closed on the way out."""
    G = nx.DiGraph([("x", "h"), ("h", "h")])
    G.nodes["x"]["role"] = "input"
    G.nodes["h"]["activation"] = "relu"
    G.edges["h", "h"]["weight"] = 1e200
    with pytest.raises(sim.NonFiniteError):
        sim.run(sim.compile(G), np.ones((5, 1)), progress=True)
    (bar,) = bars
    assert bar.closed


def no_tqdm(monkeypatch):
    """Make ``from tqdm.auto import tqdm`` raise ImportError, whether or not
    an earlier test imported the real package (a loaded ``tqdm.auto`` is
    found in `sys.modules` without its parent being looked at)."""
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)


def test_without_tqdm_an_asked_for_bar_is_a_line_of_text(monkeypatch, capsys):
    """Without tqdm, ``progress=True`` draws a text bar on stderr (the
    numbers unchanged; pytest's stderr is no terminal, so one line at the
    close); the automatic bars stay silent."""
    no_tqdm(monkeypatch)
    net = sim.compile(_all_kinds_graph())
    x = _inputs(net, 5, None)
    np.testing.assert_array_equal(sim.run(net, x, progress=True).states, sim.run(net, x, progress=False).states)
    assert capsys.readouterr().err.split("\r")[-1].startswith("run [" + "#" * 30 + "] 5/5 steps | ")
    monkeypatch.setattr(simulate, "AUTO_MIN_WORK", 1)
    sim.run(net, x)
    sim.solve(net, x, (0.0, 2.0), dt=0.5, method="RK45")
    assert capsys.readouterr() == ("", "")
    sim.solve(net, x, (0.0, 2.0), dt=0.5, method="RK45", progress=True)
    assert capsys.readouterr().err.split("\r")[-1].startswith("solve [" + "#" * 30 + "] 2/2 time | ")
    sim.train(net, x, np.zeros((5, net.n_outputs)), epochs=3)
    assert "train [" + "#" * 30 + "] 3/3 epochs | loss " in capsys.readouterr().err


class FakeStream:
    """A stderr that says whether it is a terminal and records each write."""

    def __init__(self, tty):
        self.tty, self.writes = tty, []

    def isatty(self):
        return self.tty

    def write(self, text):
        self.writes.append(text)

    def flush(self):
        pass

    @property
    def text(self):
        return "".join(self.writes)


@pytest.mark.parametrize("tty", [True, False])
def test_without_tqdm_a_bar_is_redrawn_in_a_terminal_and_one_line_elsewhere(monkeypatch, tty):
    """In a terminal the text bar is drawn at once and redrawn in place
    (``\\r``) as the work goes; on any other stream (a notebook's stderr, a
    pipe) nothing is written until the close, which writes one line, the
    final state, in one piece. A bar nobody asked for writes nothing on
    either."""
    no_tqdm(monkeypatch)
    stream = FakeStream(tty)
    with monkeypatch.context() as patch:
        clock = iter(range(100))
        patch.setattr(progress.time, "perf_counter", lambda: float(next(clock)))  # 1 s per reading
        bar = progress.TextBar(3, "sweep", "points", stream=stream, width=6)
        assert bar.live is tty and len(stream.writes) == tty
        for _ in range(3):
            bar.update(1)
        bar.set_postfix_str("1 failed")
        assert len(stream.writes) == (4 if tty else 0)
        bar.close()
        bar.close()  # once only
    final = "sweep [######] 3/3 points | 1 failed | "
    if tty:
        assert stream.writes[0].startswith("\rsweep [      ] 0/3 points | ")
        assert stream.writes[3].startswith("\rsweep [######] 3/3 points | ")
        assert stream.writes[4].startswith("\r" + final) and stream.writes[5:] == ["\n"]
    else:
        (line,) = stream.writes
        assert line.startswith(final) and line.endswith("s\n") and "\r" not in line

    net = sim.compile(_all_kinds_graph())
    x = _inputs(net, 5, None)
    stderr = FakeStream(tty)
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(simulate, "AUTO_MIN_WORK", 1)
    sim.run(net, x)
    sim.solve(net, x, (0.0, 2.0), dt=0.5, method="RK45")
    assert stderr.writes == []
    sim.run(net, x, progress=True)
    sim.train(net, x, np.zeros((5, net.n_outputs)), epochs=3)
    lines = stderr.text.split("\n")
    assert len(lines) == 3 and lines[2] == ""
    assert lines[0].split("\r")[-1].startswith("run [" + "#" * 30 + "] 5/5 steps | ")
    assert lines[1].split("\r")[-1].startswith("train [" + "#" * 30 + "] 3/3 epochs | loss ")
    if not tty:
        assert len(stderr.writes) == 2 and "\r" not in stderr.text


def test_a_text_bar_on_a_stream_that_cannot_say_is_one_line():
    """A stream without ``isatty`` (or a closed one) is taken for no terminal."""

    class Bare:
        def __init__(self):
            self.writes = []

        def write(self, text):
            self.writes.append(text)

        def flush(self):
            pass

    class Closed(FakeStream):
        def isatty(self):
            raise ValueError("I/O operation on closed file")

    for stream in (Bare(), Closed(True)):
        with progress.TextBar(2, "run", "steps", stream=stream) as bar:
            bar.update(2)
        (line,) = stream.writes
        assert line.startswith("run [") and line.endswith("\n")


def test_training_counts_epochs_with_the_loss(bars):
    net = sim.compile(_all_kinds_graph())
    x = _inputs(net, 6, None)
    y = np.full((6, net.n_outputs), 0.1)
    _, history = sim.train(net, x, y, epochs=3, lr=0.01)
    (bar,) = bars
    assert (bar.total, bar.desc, bar.unit, bar.counts, bar.closed) == (3, "train", "epochs", [1, 1, 1], True)
    assert float(bar.postfix.removeprefix("loss ")) == pytest.approx(history["loss"][-1], rel=1e-3)


@pytest.mark.parametrize("method", ["RK45", "BDF", "LSODA"])
def test_a_solve_with_a_bar_counts_simulated_time(bars, method):
    """The bar runs over ``t1 - t0`` in forward steps of at least 1% and ends
    full and closed; by default it waits `AUTO_DELAY` seconds before it is
    drawn; the solution is that without a bar."""
    net = sim.compile(_all_kinds_graph())
    samples = _inputs(net, 4, None)
    plain = sim.solve(net, samples, (0.0, 2.0), dt=0.5, method=method, progress=False)
    assert bars == []
    shown = sim.solve(net, samples, (0.0, 2.0), dt=0.5, method=method, progress=True)
    sim.solve(net, samples, (0.0, 2.0), dt=0.5, method=method)
    assert [(b.total, b.desc, b.unit, b.delay, b.closed) for b in bars] == [
        (2.0, "solve", "time", 0.0, True), (2.0, "solve", "time", progress.AUTO_DELAY, True)]
    counts = np.array(bars[0].counts)
    assert len(counts) > 5 and (counts[:-1] >= 0.02 - 1e-12).all() and counts[-1] > 0
    assert counts.sum() == pytest.approx(2.0, rel=1e-12)
    np.testing.assert_array_equal(shown.states, plain.states)
    np.testing.assert_array_equal(shown.times, plain.times)
