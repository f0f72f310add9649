"""`graphrnn bench`'s account of how sure it is: spreads, repeats, load marks.

Nothing here depends on timing: loads, clocks and measurements are faked.
"""

import sys
from itertools import count

import numpy as np
import pytest

from graphrnn import bench as B
from graphrnn.bench import LOAD_LIMIT, LoadSample, Row


def test_under_load_marks_rows_above_the_limit_only():
    """A row is marked when others kept more than LOAD_LIMIT cores busy; unknown load marks nothing."""
    assert B.under_load(LOAD_LIMIT + 0.01) and B.under_load(1.9)
    assert not B.under_load(LOAD_LIMIT) and not B.under_load(0.0) and not B.under_load(None)
    assert B.under_load(0.3, limit=0.2) and not B.under_load(0.3, limit=0.4)


def test_others_load_subtracts_the_bench_itself():
    """CPU time on our cores less our own (children included), per second of wall time."""
    before = LoadSample(wall=10.0, busy=100.0, own=5.0, loadavg=0.0)
    # 4 s of wall time: 6 core-seconds spent in all, 2 of them by this process.
    after = LoadSample(wall=14.0, busy=106.0, own=7.0, loadavg=3.0)
    assert B.others_load(before, after) == pytest.approx(1.0)
    # The bench alone: nothing left for others, never negative (clock ticks are coarse).
    assert B.others_load(before, LoadSample(14.0, 101.9, 7.0, 3.0)) == 0.0


def test_others_load_falls_back_to_the_load_average():
    """Without /proc/stat the 1-minute load average less our own use stands in; else unknown."""
    before = LoadSample(wall=0.0, busy=None, own=0.0, loadavg=None)
    assert B.others_load(before, LoadSample(2.0, None, 2.0, 1.9)) == pytest.approx(0.9)
    assert B.others_load(before, LoadSample(2.0, None, 2.0, 0.4)) == 0.0
    assert B.others_load(before, LoadSample(2.0, None, 2.0, None)) is None
    assert B.others_load(before, LoadSample(0.0, None, 0.0, 1.0)) is None  # no time passed


def test_load_sample_reads_this_machine():
    """The clocks are read without error; CPU time spent never decreases."""
    a = B.load_sample()
    b = B.load_sample()
    assert b.wall >= a.wall and b.own >= a.own >= 0
    if a.busy is not None:
        assert b.busy >= a.busy >= 0


def test_spread_is_the_interquartile_range():
    """25th-75th percentiles with linear interpolation; wide when beyond WIDE of the median."""
    assert B.spread([5.0, 1.0, 3.0, 2.0, 4.0]) == (2.0, 4.0)
    assert B.spread([2.0, 4.0]) == (2.5, 3.5)
    assert B.spread([7.0]) == (7.0, 7.0)
    assert not B.is_wide([10.0, 10.2, 9.9, 10.1, 10.0])
    assert B.is_wide([10.0, 14.0, 7.0, 12.0, 9.0])
    assert not B.is_wide([10.0])  # one round says nothing of its spread
    assert B.is_wide([1.0, 1.1, 1.2], wide=0.05) and not B.is_wide([1.0, 1.1, 1.2], wide=0.5)


def test_rounds_repeat_a_wide_row_up_to_the_bound():
    """A narrow figure keeps its first rounds; a wide one gets two more at a time, at most MORE times."""
    steady = iter([1.0, 1.01, 0.99])
    assert B._rounds(lambda: [next(steady)], 3) == [[1.0, 1.01, 0.99]]

    noisy = count()
    figures = B._rounds(lambda: [1.0, 1.0 + next(noisy) % 2], 3)  # the second figure never settles
    assert len(figures) == 2 and len(figures[0]) == len(figures[1]) == B.MORE * 3
    assert len(B._rounds(lambda: [1.0 + next(noisy) % 2], 3, most=4)[0]) == 4

    # Wide at first, settling once the later rounds agree: stops before the bound.
    settling = iter([1.0, 2.0, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5])
    assert B._rounds(lambda: [next(settling)], 3) == [[1.0, 2.0, 1.5, 1.5, 1.5]]


def test_row_line_shows_spread_load_and_mark():
    """The table row gives the rounds' spread, the load, and marks a row measured under load."""
    row = Row("forward N=100", 3.3, 10.0, "2.0 vs 6.5 us/step", samples=(3.0, 3.2, 3.3, 3.4, 3.6), load=1.93)
    line = row.line()
    assert "3.30x" in line and "3.20-3.40 of 5" in line and "1.93" in line and "MISSED" in line
    assert line.endswith("2.0 vs 6.5 us/step  (under load 1.9)") and row.under_load
    quiet = Row("forward N=100", 11.0, 10.0, "detail", samples=(11.0,), load=0.05)
    assert "under load" not in quiet.line() and "1 round" in quiet.line() and "met" in quiet.line()
    assert "under load" not in Row("t", 1.0, None, "").line()  # load unknown: no mark


def test_summary_counts_rows_under_load():
    """The closing line counts targets met and rows measured under load, and says what to do."""
    rows = [Row("a", 2.0, 1.0, "", load=0.1), Row("b", 0.5, 1.0, "", load=1.2),
            Row("c", 0.5, 1.0, "", load=0.2), Row("d", 3.0, None, "", load=0.9)]
    assert B.summary(rows) == ("# 1 of 3 targets met; 2 rows measured under load, among them 1 of the 2 misses: "
                               "rerun on a quiet machine")
    assert B.summary(rows[:1]) == "# 1 of 1 targets met; no row measured under load"
    assert B.summary([rows[3]]) == ("# 0 of 0 targets met; 1 row measured under load: rerun on a quiet machine")


def test_bench_prints_load_at_start_and_end_and_marks_rows(monkeypatch):
    """The table's frame with faked measurements and loads: load averages, marks and summary."""
    def fake(name, ratio, target):
        return lambda *args: Row(name, ratio, target, "detail", samples=(ratio, ratio))

    monkeypatch.setattr(B, "forward_row", lambda n, k, batch, target, *a: Row(f"forward N={n}", 2.0, target, ""))
    monkeypatch.setattr(B, "float32_row", fake("float32", 1.5, 1.4))
    monkeypatch.setattr(B, "start_rows", lambda repeats: [fake("cold start", 3.0, 4.0)(), fake("warm", 1.0, None)()])
    monkeypatch.setattr(B, "busy_row", fake("busy", 1.1, 2.0))
    monkeypatch.setattr(B, "delay_rows", lambda *a: [])
    monkeypatch.setattr(B, "first_calls_rows", lambda what, *a: [
        Row(f"first {what}", 0.7, 0.8, "", higher_is_better=False),
        Row("worst", 1.05, 1.1, "", higher_is_better=False)])
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` fails
    averages = iter([1.7, 2.9])
    monkeypatch.setattr(B, "loadavg", lambda: next(averages))
    # Ten measurements (the delay rows' yields none), each 1 s of wall time and
    # 1 CPU second of the bench's own, while other processes keep these cores busy:
    others = [0.1, 0.1, 1.9, 0.1, 0.1, 0.0, 1.9, 0.2, 0.2, 0.8]
    samples = []
    for i, load in enumerate(others):
        busy = samples[-1].busy if samples else 0.0
        samples += [LoadSample(2.0 * i, busy, i, None), LoadSample(2.0 * i + 1, busy + 1 + load, i + 1, None)]
    monkeypatch.setattr(B, "load_sample", iter(samples).__next__)
    lines = []
    rows = B.bench(quick=True, say=lines.append)
    text = "\n".join(lines)
    assert "load average 1.70 at the start" in lines[0] and "other processes are running" in lines[1]
    assert "load average 2.90 at the end (1.70 at the start)" in lines[-2]
    assert 'pip install "graphrnn[bench]"' in text
    assert [r.what for r in rows if r.under_load] == ["forward N=10000", "cold start", "warm", "busy"]
    assert [r.load for r in rows] == pytest.approx([0.1, 0.1, 1.9, 0.1, 0.1, 1.9, 1.9] + [0.2] * 4 + [0.8])
    assert [r.what for r in rows if r.what.startswith("first")] == ["first forward", "first bptt"]
    assert [line.split()[0] for line in lines if "(under load 1.9)" in line] == ["forward", "cold", "warm"]
    assert lines[-3].endswith("(under load 0.8)")
    assert lines[-1] == ("# 6 of 11 targets met; 4 rows measured under load, among them 2 of the 5 misses: "
                         "rerun on a quiet machine")


def test_first_calls_rows_compare_each_call_with_its_process_one_thread(monkeypatch):
    """The rows take every first call over its own process's one-thread
    median: the median against 0.8, the worst against 1.1 (faked processes)."""
    processes = iter([([1.0, 1.2, 0.7], [1.0, 1.0, 1.0]), ([1.6, 1.8, 1.7], [2.0, 2.0, 2.2])])
    monkeypatch.setattr(B, "_first_calls", lambda *args: next(processes))
    median, worst = B.first_calls_rows("forward", 1000, 10, 32, 200, 2, calls=3)
    assert median.samples == pytest.approx((1.0, 1.2, 0.7, 0.8, 0.9, 0.85))
    assert median.ratio == pytest.approx(0.875) and median.target == 0.8 and not median.met
    assert worst.ratio == pytest.approx(1.2) and worst.target == 1.1 and not worst.met
    assert not median.higher_is_better and not worst.higher_is_better
    assert "2 processes x 3 calls" in median.detail


def test_torch_csr_loop_is_the_scipy_loop():
    """The torch.sparse baseline computes the scipy.sparse loop's states (batched, float64 and float32)."""
    torch = pytest.importorskip("torch")
    from graphrnn.baselines import random_csr, scipy_loop, torch_csr, torch_csr_loop

    rng = np.random.default_rng(0)
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        W = random_csr(40, 4, seed=1, dtype=dtype)
        U, b = rng.normal(size=(40, 2)).astype(dtype), rng.normal(size=40).astype(dtype)
        x = rng.normal(size=(6, 3, 2)).astype(dtype)
        H = torch_csr_loop(torch_csr(W, torch), torch.as_tensor(U), torch.as_tensor(b), torch.as_tensor(x), torch)
        assert H.dtype == torch.as_tensor(U).dtype and tuple(H.shape) == (7, 40, 3)
        np.testing.assert_allclose(H.numpy(), scipy_loop(W, U, b, x), rtol=tol, atol=tol)


@pytest.mark.parametrize("threads", [1, 2])
def test_torch_csr_row_checks_states_then_times(threads):
    """The torch.sparse row checks graphrnn's states against the torch loop,
    then reports a ratio against the target 1.0, and restores both thread counts."""
    torch = pytest.importorskip("torch")
    import numba

    before = torch.get_num_threads(), numba.get_num_threads()
    for dtype in (np.float32, np.float64):
        row = B.torch_csr_row(torch, 60, 5, 4, dtype, threads, 0.002, 1)
        assert row.target == 1.0 and row.ratio > 0 and f"{np.dtype(dtype).name} {threads}t" in row.what
    assert (torch.get_num_threads(), numba.get_num_threads()) == before


def test_batched_torch_loss_is_the_mean_of_its_sequences():
    """The autograd baseline at batch B: the mean of the B unbatched losses, and its gradients their mean."""
    torch = pytest.importorskip("torch")
    import simulator as sim
    from graphrnn.baselines import random_csr, torch_loss, torch_sparse

    rng = np.random.default_rng(3)
    net = sim.compile_arrays(random_csr(30, 3), U=rng.normal(size=(30, 1)), V=np.full((1, 30), 1 / 30))
    x, y = rng.normal(size=(8, 3, 1)), rng.normal(size=(8, 3, 1))
    kinds, b, c = torch_sparse(net, torch)
    torch_loss(net, kinds, b, c, x, y, torch).backward()
    singles, grads = [], []
    for i in range(3):
        kinds_i, b_i, c_i = torch_sparse(net, torch)
        loss = torch_loss(net, kinds_i, b_i, c_i, x[:, i], y[:, i], torch)
        loss.backward()
        singles.append(loss.item())
        grads.append(kinds_i["W"][2].grad.numpy())
    full = torch_loss(net, *torch_sparse(net, torch), x, y, torch).item()
    assert full == pytest.approx(np.mean(singles), rel=1e-12)
    np.testing.assert_allclose(kinds["W"][2].grad.numpy(), np.mean(grads, axis=0), rtol=1e-10, atol=1e-15)
