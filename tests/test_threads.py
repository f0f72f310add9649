"""Thread planning: when a run uses threads, how long runs are segmented, and
that segmented and threaded runs give the numbers of one single-threaded call."""

import os
import subprocess
import sys
import time

import networkx as nx
import numba
import numpy as np
import pytest
from hypothesis import given, strategies as st

import simulator as sim
from simulator import threads

from . import reference as ref
from .test_run import _all_kinds_graph, _inputs


def test_plan_follows_work_and_the_explicit_choice(monkeypatch):
    monkeypatch.setattr(threads, "others_running", lambda: 0)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(numba, "get_num_threads", lambda: 2)
    assert threads.plan(threads.PARALLEL_MIN_WORK - 1, None) == 1
    assert threads.plan(threads.PARALLEL_MIN_WORK, None) == 2
    assert threads.plan(1, True) == 2
    assert threads.plan(10**9, False) == 1


def test_plan_leaves_cores_that_others_use(monkeypatch):
    """Beside one busy process on 2 cores the run keeps to one thread; on 8
    cores with 3 busy it takes the 5 that are free."""
    monkeypatch.setattr(numba, "get_num_threads", lambda: 8)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "others_running", lambda: 1)
    assert threads.plan(10**9, None) == 1
    monkeypatch.setattr(threads, "usable_cores", lambda: 8)
    monkeypatch.setattr(threads, "others_running", lambda: 3)
    assert threads.plan(10**9, None) == 5
    assert threads.plan(10**9, True) == 8  # an explicit request is obeyed


def test_others_running_sees_a_busy_process():
    """A process spinning beside this one is counted (Linux reads /proc)."""
    if not os.path.exists("/proc/loadavg"):
        pytest.skip("counting runnable tasks needs Linux's /proc")
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert threads.others_running() >= 1
    finally:
        spinner.kill()
        spinner.wait()


@given(st.integers(0, 500), st.integers(1, 10**8), st.sampled_from([None, True, False]))
def test_segments_tile_the_run(n_steps, work, parallel):
    segs = threads.segments(n_steps, work, parallel)
    assert segs[0][0] == 0 and segs[-1][1] == n_steps
    assert all(a[1] == b[0] for a, b in zip(segs, segs[1:]))
    assert all(start < stop for start, stop in segs) or n_steps == 0
    if parallel is not None or work < threads.PARALLEL_MIN_WORK:
        assert segs == [(0, n_steps)]


def test_using_restores_the_thread_count():
    before = numba.get_num_threads()
    with threads.using(2, 100) as chunks:
        assert chunks == 4 * min(2, before)
    with threads.using(1, 100) as chunks:
        assert chunks == 0
    with threads.using(8, 3) as chunks:
        assert chunks <= 3
    assert numba.get_num_threads() == before


@pytest.mark.parametrize("batch", [None, 3])
@pytest.mark.parametrize("parallel", [None, True])
def test_segmented_run_equals_one_call(monkeypatch, batch, parallel):
    """A run cut into segments (feedback and teacher forcing carried across
    the cuts) gives bit for bit the numbers of one single-threaded call, and
    both follow the reference."""
    net = sim.compile(_all_kinds_graph())
    x = _inputs(net, 23, batch)
    targets = np.where(np.arange(23)[:, None] % 3 == 0, np.nan, np.full((23, net.n_outputs), 0.25))
    if batch is not None:
        targets = np.broadcast_to(targets[:, None, :], (23, batch, net.n_outputs))
    one_call = {"plain": sim.run(net, x, parallel=False),
                "forced": sim.run(net, x, parallel=False, targets=targets, teacher_forcing=True),
                "euler": sim.run(net, x, dt=0.3, method="euler", parallel=False),
                "rk4": sim.run(net, x, dt=0.3, method="rk4", parallel=False)}
    work = (net.n_edges + net.n_neurons) * (batch or 1)
    monkeypatch.setattr(threads, "PARALLEL_MIN_WORK", 1)
    monkeypatch.setattr(threads, "SEGMENT_WORK", 5 * work)
    if parallel is None:
        assert len(threads.segments(23, work, None)) == 5
    cut = {"plain": sim.run(net, x, parallel=parallel),
           "forced": sim.run(net, x, parallel=parallel, targets=targets, teacher_forcing=True),
           "euler": sim.run(net, x, dt=0.3, method="euler", parallel=parallel),
           "rk4": sim.run(net, x, dt=0.3, method="rk4", parallel=parallel)}
    for key, res in cut.items():
        np.testing.assert_array_equal(res.states, one_call[key].states)
        np.testing.assert_array_equal(res.outputs, one_call[key].outputs)
    states, outputs = ref.run_discrete(net.to_networkx(), x, teacher=targets)
    np.testing.assert_allclose(cut["forced"].states, states, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cut["forced"].outputs, outputs, rtol=1e-12, atol=1e-12)


def _runaway(n_hidden):
    """relu neurons, all-to-all with weight 1e200 and self-loops: the state
    is 1 after step 0, 1e200 n after step 1 and inf after step 2 (states[3])."""
    G = nx.DiGraph()
    G.add_node("x", role="input")
    hidden = [f"h{i}" for i in range(n_hidden)]
    for h in hidden:
        G.add_node(h, activation="relu", bias=0.0)
        G.add_edge("x", h, weight=1.0)
    G.add_edges_from(((a, b) for a in hidden for b in hidden), weight=1e200)
    return G


@pytest.mark.parametrize("path", ["serial", "threads", "segments", "async", "dense", "euler", "rk4"])
def test_every_kernel_reports_where_a_run_overflowed(monkeypatch, path):
    """Each kernel counts the non-finite states it writes; the error names the step."""
    from simulator.simulate import use_dense

    net = sim.compile(_runaway(70 if path == "dense" else 3))
    assert use_dense(net) == (path == "dense")
    x = np.concatenate([np.ones((1, 1)), np.zeros((5, 1))])
    kwargs = {"serial": {"parallel": False}, "threads": {"parallel": True}, "async": {"update": "async", "seed": 0},
              "euler": {"dt": 1.0, "method": "euler"}, "rk4": {"dt": 1.0, "method": "rk4"}}.get(path, {})
    if path == "segments":
        monkeypatch.setattr(threads, "PARALLEL_MIN_WORK", 1)
        monkeypatch.setattr(threads, "SEGMENT_WORK", 1)
    if path in ("euler", "rk4", "async"):  # how soon these overflow depends on the scheme
        with pytest.raises(sim.NonFiniteError, match=r"the state became non-finite at step \d+"):
            sim.run(net, x, **kwargs)
        return
    with pytest.raises(sim.NonFiniteError, match=r"non-finite at step 2 \(states\[3\], time 3\): first in neuron 'h0'"):
        sim.run(net, x, **kwargs)
    assert not np.isfinite(sim.run(net, x, check_finite=False, **kwargs).states[3]).any()


def test_threaded_kernels_are_right_on_any_machine(monkeypatch):
    """The threaded kernels split each step's rows into chunks; with the plan
    forced to two threads they run (on however many cores there are, one
    included) and every path follows its reference: discrete with feedback
    and teacher forcing, batched; Euler and RK4; an adaptive RK45 solve; the
    forward pass of BPTT."""
    from .test_continuous import _net_graph

    monkeypatch.setattr(threads, "plan", lambda work, parallel: 2)
    monkeypatch.setattr(numba, "get_num_threads", lambda: 2)
    monkeypatch.setattr(threads.Planner, "choose", lambda self, kind, work, n, *_: (n, False))
    G = _all_kinds_graph()
    net = sim.compile(G)
    x = _inputs(net, 7, 3)
    targets = np.where(np.arange(7)[:, None, None] % 2 == 0, np.nan, np.full((7, 3, net.n_outputs), 0.3))
    for kwargs, teacher in (({}, None), ({"targets": targets, "teacher_forcing": True}, targets)):
        res = sim.run(net, x, **kwargs)
        states, outputs = ref.run_discrete(G, x, teacher=teacher)
        np.testing.assert_allclose(res.states, states, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(res.outputs, outputs, rtol=1e-12, atol=1e-12)
    for method in ("euler", "rk4"):
        states, outputs = ref.run_fixed_step(G, x, 0.3, method)
        np.testing.assert_allclose(sim.run(net, x, dt=0.3, method=method).states, states, rtol=1e-12, atol=1e-12)
    H = _net_graph(feedback=True)
    cnet = sim.compile(H)
    h0 = np.random.default_rng(8).normal(0, 0.5, cnet.n_neurons)
    x_of_t = lambda t: np.array([np.sin(t), np.cos(2 * t)])  # noqa: E731
    t_eval = np.linspace(0, 3, 7)
    res = sim.solve(cnet, x_of_t, (0, 3), method="RK45", h0=h0, t_eval=t_eval, rtol=1e-10, atol=1e-12)
    assert res.info["threads"] == 2
    np.testing.assert_allclose(res.states, ref.solve_dense(H, x_of_t, (0, 3), h0, t_eval), rtol=0, atol=1e-8)
    y = np.random.default_rng(9).normal(size=(7, 3, net.n_outputs))
    loss, _ = sim.bptt(net, x, y)
    assert loss == pytest.approx(ref.mse(ref.run_discrete(G, x)[1], y), rel=1e-12)


class FakeClock:
    """A clock the test moves: each segment "takes" what the test says."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def two_free_cores(monkeypatch):
    """Two cores, both free, and a fresh planner on a fake clock."""
    monkeypatch.setattr(threads, "others_running", lambda: 0)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(numba, "get_num_threads", lambda: 2)
    clock = FakeClock()
    monkeypatch.setattr(threads, "PLANNER", threads.Planner(clock=clock))
    return clock


def _one_call(clock, n_steps, work, per_step, parallel=None, kind="run"):
    """Run `schedule` as a front door does, each segment taking
    ``per_step[threads]`` seconds a step on the fake clock; returns the
    segments ``(start, stop, threads)``."""
    segs = []
    for start, stop, n in threads.schedule(n_steps, work, parallel, kind):
        clock.now += (stop - start) * per_step[n]
        segs.append((start, stop, n))
    assert segs[0][0] == 0 and segs[-1][1] == n_steps
    assert all(a[1] == b[0] for a, b in zip(segs, segs[1:]))
    return segs


def test_planner_starts_on_one_thread_then_probes_and_keeps_the_faster(two_free_cores):
    """One thread until it is timed; then a short probe on threads; the faster
    is kept, and the measured figures are the fake clock's."""
    work, n_steps = 352_000, 200
    probe = threads.PROBE_WORK // work
    segs = _one_call(two_free_cores, n_steps, work, {1: 190e-6, 2: 130e-6})
    size = threads.SEGMENT_WORK // work
    assert segs[0] == (0, size, 1)
    assert segs[1] == (size, size + probe, 2)
    assert all(n == 2 for _, _, n in segs[2:])
    rates = threads.PLANNER.rates("run", work)
    assert rates[1] == pytest.approx(190e-6 / work) and rates[2] == pytest.approx(130e-6 / work)


def test_planner_keeps_one_thread_while_threads_measure_slower(two_free_cores):
    """Threads 3.4x slower (a fresh process's first half second): after one
    probe each call stays on one thread, and probes again at most once a
    call, only once the threads' figure is older than RECHECK; the probes
    cost under 10% of a call."""
    work, n_steps = 352_000, 200
    slow = {1: 190e-6, 2: 650e-6}
    for call in range(20):
        before = two_free_cores.now
        segs = _one_call(two_free_cores, n_steps, work, slow)
        threaded = [s for s in segs if s[2] == 2]
        assert len(threaded) <= 1
        assert all(stop - start <= max(1, threads.PROBE_WORK // work) for start, stop, _ in threaded)
        assert two_free_cores.now - before <= 1.1 * n_steps * slow[1]
    # Then threads become fast: the next probe finds it and the planner switches.
    fast = {1: 190e-6, 2: 130e-6}
    two_free_cores.now += threads.RECHECK
    segs = _one_call(two_free_cores, n_steps, work, fast)
    assert segs[-1][2] == 2
    assert all(n == 2 for _, _, n in _one_call(two_free_cores, n_steps, work, fast)[-3:])


def test_planner_rechecks_one_thread_while_on_threads(two_free_cores):
    """On threads, one thread is timed again by a probe once its figure is
    older than RECHECK, at most once a call; when threads then measure
    slower, the planner goes back to one thread."""
    work, fast = 352_000, {1: 190e-6, 2: 130e-6}
    probe = threads.PROBE_WORK // work
    _one_call(two_free_cores, 200, work, fast)
    probes = 0
    for _ in range(round(4 * threads.RECHECK / (200 * fast[2])) + 1):
        ones = [(start, stop) for start, stop, n in _one_call(two_free_cores, 200, work, fast) if n == 1]
        assert len(ones) <= 1 and all(stop - start == probe for start, stop in ones)
        probes += len(ones)
    assert 2 <= probes <= 5
    segs = _one_call(two_free_cores, 200, work, {1: 190e-6, 2: 900e-6})
    assert segs[0][2] == 2 and all(n == 1 for _, _, n in segs[1:])


def test_planner_keeps_figures_per_kind_and_size(two_free_cores):
    """What one kernel measured does not decide for another, nor for a step
    of another size."""
    work = 352_000
    _one_call(two_free_cores, 200, work, {1: 190e-6, 2: 130e-6}, kind="a")
    assert threads.PLANNER.choose("b", work, 2, True) == (1, False)
    assert threads.PLANNER.choose("a", 4 * work, 2, True) == (1, False)
    assert threads.PLANNER.choose("a", work, 2, False) == (2, False)


def test_forced_and_small_runs_are_not_measured(two_free_cores):
    """parallel=True/False force as before, in one segment, and leave no
    figure; a step below PARALLEL_MIN_WORK runs on one thread unmeasured."""
    work = 352_000
    assert _one_call(two_free_cores, 200, work, {1: 1.0, 2: 1.0}, parallel=True) == [(0, 200, 2)]
    assert _one_call(two_free_cores, 200, work, {1: 1.0, 2: 1.0}, parallel=False) == [(0, 200, 1)]
    assert _one_call(two_free_cores, 200, 100, {1: 1.0, 2: 1.0}) == [(0, 200, 1)]
    assert threads.PLANNER.figures == {}


def test_runs_too_short_to_probe_within_are_timed_whole(two_free_cores):
    """A run shorter than ten probes is one segment, timed whole as
    `timed_call` times a call: one thread first, then threads twice, then
    the faster; the way not taken is retaken once its figure is older than
    CALL_RECHECK, not RECHECK."""
    work = 352_000
    short = 10 * (threads.PROBE_WORK // work) - 1

    def call(per_step):
        segs = _one_call(two_free_cores, short, work, per_step)
        assert len(segs) == 1
        return segs[0][2]

    fast, slow = {1: 190e-6, 2: 130e-6}, {1: 190e-6, 2: 650e-6}
    assert [call(fast) for _ in range(5)] == [1, 2, 2, 2, 2]
    assert threads.PLANNER.rates("run", work)[2] == pytest.approx(130e-6 / work)
    two_free_cores.now += threads.RECHECK  # a long run's recheck age: not yet a short run's
    assert [call(slow), call(slow)] == [2, 1]  # measured slow: one thread from the next call
    two_free_cores.now += threads.CALL_RECHECK
    assert [call(slow) for _ in range(4)] == [2, 1, 1, 1]  # both stale: threads retaken (slow), then one thread


def test_planner_yields_to_a_busy_neighbour_without_measuring(two_free_cores, monkeypatch):
    """With another process on the second core the run keeps to one thread
    whatever the figures say, and records nothing."""
    work = 352_000
    _one_call(two_free_cores, 200, work, {1: 190e-6, 2: 130e-6})
    monkeypatch.setattr(threads, "others_running", lambda: 1)
    figures = {k: dict(v) for k, v in threads.PLANNER.figures.items()}
    assert all(n == 1 for _, _, n in _one_call(two_free_cores, 200, work, {1: 190e-6, 2: 130e-6}))
    assert threads.PLANNER.figures == figures


def test_timed_call_measures_whole_calls(two_free_cores):
    """BPTT's calls: one thread first, then threads, then the faster; each
    call's time is what the clock says between the choice and `done`."""
    work = 352_000

    def call(per_step):
        n, done = threads.timed_call("bptt", work, 200)
        two_free_cores.now += 200 * per_step[n]
        done()
        return n

    speeds, slow = {1: 800e-6, 2: 450e-6}, {1: 800e-6, 2: 4000e-6}
    assert [call(speeds) for _ in range(3)] == [1, 2, 2]
    assert call(slow) == 2  # threads turn slow: measured on this call ...
    assert [call(slow) for _ in range(3)] == [1, 1, 1]  # ... so one thread, not probed again soon
    two_free_cores.now += threads.CALL_RECHECK
    assert call(speeds) == 2  # the stale threads' figure is retaken ...
    assert call(speeds) == 1  # ... and so is one thread's, also stale by now
    assert [call(speeds) for _ in range(3)] == [2, 2, 2]


def test_threads_first_slow_call_is_timed_again_before_it_counts(two_free_cores):
    """The first threaded call of a process also loads its kernels: a
    figure from one probe is retaken at the next call, so a slow first
    probe does not keep one thread for CALL_RECHECK seconds."""
    work = 352_000
    first, steady = {1: 800e-6, 2: 4000e-6}, {1: 800e-6, 2: 450e-6}

    def call(per_step):
        n, done = threads.timed_call("bptt", work, 200)
        two_free_cores.now += 200 * per_step[n]
        done()
        return n

    assert [call(steady), call(first)] == [1, 2]  # one thread first, then a probe that loaded the kernels
    assert [call(steady) for _ in range(3)] == [2, 2, 2]  # probed again at once: threads, faster
    slow = {1: 800e-6, 2: 4000e-6}
    assert [call(slow) for _ in range(3)] == [2, 1, 1]  # measured slow twice now: one thread, not probed soon
