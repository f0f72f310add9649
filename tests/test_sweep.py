"""`simulator.sweep`: a real two-worker LocalCluster on loopback against a serial
loop, failing points, a worker killed mid-sweep, checkpoints and bad input.

The cluster tests need dask.distributed and xarray and skip without them; the
input checks run everywhere. The functions swept are module-level, so the
workers import them from this module.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import simulator as sim
import topologies as tp
from simulator.sweeps import CheckpointError, sweep

HAVE_XARRAY = importlib.util.find_spec("xarray") is not None
HAVE_DASK = importlib.util.find_spec("distributed") is not None
needs_xarray = pytest.mark.skipif(not HAVE_XARRAY, reason="needs xarray")
needs_dask = pytest.mark.skipif(not (HAVE_DASK and HAVE_XARRAY), reason="needs dask.distributed and xarray")
#: Wall-clock bound on any test that waits on the cluster.
LIMIT_S = 60

GRID = {"rho": [0.5, 0.9, 1.2], "leak": [0.3, 1.0]}


# ----------------------------------------------------------------- swept functions


def reservoir(rho: float, leak: float, seed: int) -> dict:
    """A small leaky echo state network driven by a sine, run with Euler."""
    net = sim.compile(tp.echo_state(30, spectral_radius=rho, leak=leak, in_degree=5, seed=seed))
    x = np.sin(np.arange(60) / 4.0)[:, None]
    states = sim.run(net, x, dt=1.0, method="euler").states
    return {"activity": float(np.abs(states).mean()), "last": states[-1, :4]}


def fails_at_two(a: int, seed: int) -> dict:
    if a == 2:
        raise ValueError(f"a={a} is not allowed")
    return {"y": a + seed}


def log_call(a: int, log: str, stop_at: int | None = None) -> dict:
    """Appends one line per call to `log`; raises KeyboardInterrupt on call `stop_at`."""
    with open(log, "a") as f:
        f.write(f"{a}\n")
    if stop_at is not None and sum(1 for _ in open(log)) == stop_at:
        raise KeyboardInterrupt
    return {"y": a * a, "pair": [a, -a]}


def kill_once(a: int, flag: str) -> dict:
    """The first call with a == 3 kills its own worker process with SIGKILL."""
    time.sleep(0.05)
    if a == 3 and not os.path.exists(flag):
        Path(flag).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return {"y": a * a, "pid": os.getpid()}


def kill_always(a: int) -> dict:
    if a == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return {"y": float(a)}


def odd_shape(size: int) -> dict:
    """A length-2 array, except length 3 when size == 3."""
    return {"v": np.full(3 if size == 3 else 2, float(size))}


def not_a_dict(a: int) -> list:
    return [a]


def bad_at_one(a: int) -> object:
    return "nonsense" if a == 1 else {"y": a}


# ----------------------------------------------------------------- helpers


@contextlib.contextmanager
def time_limit(seconds: int):
    """Raise TimeoutError in this (main) thread when the block runs longer."""
    def expire(signum, frame):
        raise TimeoutError(f"the test ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def serial_loop(fn, grid, seeds):
    """The obvious nested loop, as arrays shaped like the sweep's Dataset."""
    out: dict[str, list] = {}
    for rho in grid["rho"]:
        for leak in grid["leak"]:
            for seed in seeds:
                for k, v in fn(rho=rho, leak=leak, seed=seed).items():
                    out.setdefault(k, []).append(np.asarray(v, dtype=float))
    shape = (len(grid["rho"]), len(grid["leak"]), len(seeds))
    return {k: np.array(v).reshape(shape + v[0].shape) for k, v in out.items()}


def quietly(fn, *args, **kwargs):
    """Call a sweep that is expected to warn about failed points."""
    with pytest.warns(UserWarning, match="points failed"):
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def client():
    """One LocalCluster with two single-threaded worker processes, for the module."""
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("xarray")
    for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.core"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    with time_limit(LIMIT_S):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=logging.CRITICAL)
        dask_client = distributed.Client(cluster)
    yield dask_client
    dask_client.close()
    cluster.close()


# ----------------------------------------------------------------- on the cluster


@needs_dask
def test_cluster_equals_serial_loop(client):
    """The sweep on two worker processes equals a plain nested loop, bit for bit."""
    with time_limit(LIMIT_S):
        ds = sweep(reservoir, GRID, seeds=[0, 1], client=client, progress=False)
    expected = serial_loop(reservoir, GRID, [0, 1])
    assert ds["activity"].dims == ("rho", "leak", "seed")
    assert ds["last"].dims == ("rho", "leak", "seed", "last_dim0")
    assert ds["rho"].values.tolist() == GRID["rho"] and ds["seed"].values.tolist() == [0, 1]
    np.testing.assert_array_equal(ds["activity"].values, expected["activity"])
    np.testing.assert_array_equal(ds["last"].values, expected["last"])
    assert (ds["error"].values == "").all() and ds.attrs["n_failed"] == 0


@needs_dask
@pytest.mark.parametrize("chunksize", [1, 5])
def test_cluster_equals_serial_mode(client, chunksize):
    """client="serial" and the cluster, with one or several points per task, give identical Datasets."""
    with time_limit(LIMIT_S):
        on_cluster = sweep(reservoir, GRID, seeds=2, client=client, progress=False, chunksize=chunksize)
    in_process = sweep(reservoir, GRID, seeds=2, client="serial", progress=False)
    assert on_cluster.identical(in_process)


@needs_dask
def test_failing_point_is_recorded(client):
    """A point whose fn raises is NaN with its error text; the others complete."""
    with time_limit(LIMIT_S):
        ds = quietly(sweep, fails_at_two, {"a": [1, 2, 3]}, seeds=[0, 10], client=client, progress=False)
    np.testing.assert_array_equal(ds["y"].values, [[1, 11], [np.nan, np.nan], [3, 13]])
    assert ds["error"].sel(a=2, seed=10).item() == "ValueError: a=2 is not allowed"
    assert (ds["error"].sel(a=[1, 3]).values == "").all()
    assert ds.attrs["n_failed"] == 2


@needs_dask
@pytest.mark.parametrize("chunksize", [1, 3])
def test_killed_worker_is_retried(client, tmp_path, chunksize):
    """A worker process killed with SIGKILL mid-sweep: its points run again
    elsewhere and the sweep completes with every value."""
    flag = tmp_path / "killed"
    fn = functools.partial(kill_once, flag=str(flag))
    with time_limit(LIMIT_S):
        ds = sweep(fn, {"a": list(range(8))}, client=client, progress=False, chunksize=chunksize)
    assert flag.exists(), "the worker was never killed"
    np.testing.assert_array_equal(ds["y"].values, np.arange(8) ** 2)
    assert (ds["error"].values == "").all()
    with time_limit(LIMIT_S):  # the nanny brings a new worker process up
        while len(client.scheduler_info()["workers"]) < 2:
            time.sleep(0.1)


@needs_dask
def test_point_that_keeps_killing_workers_is_lost_not_checkpointed(tmp_path):
    """With retries=0 the cluster started by `sweep` gives a point up after one
    worker death (KilledWorker); the others complete, and the lost point is not
    written to the checkpoint, so a rerun would try it again."""
    path = tmp_path / "lost.jsonl"
    with time_limit(LIMIT_S):
        ds = quietly(sweep, kill_always, {"a": [0, 1, 2]}, retries=0, checkpoint=path, progress=False)
    assert ds["y"].values[0] == 0 and ds["y"].values[2] == 2 and np.isnan(ds["y"].values[1])
    assert ds["error"].values[1].startswith("KilledWorker")
    indices = [json.loads(line)["index"] for line in path.read_text().splitlines()[1:]]
    assert sorted(indices) == [0, 2]


@needs_dask
def test_checkpoint_resume_is_identical(client, tmp_path):
    """A sweep whose checkpoint holds two of its five points, rerun on the
    cluster, runs only the other three and returns exactly the uninterrupted
    sweep's Dataset."""
    full_log, log = tmp_path / "full.log", tmp_path / "resumed.log"
    grid = {"a": [1, 2, 3, 4, 5]}
    with time_limit(LIMIT_S):
        full = sweep(functools.partial(log_call, log=str(full_log)), grid, client=client, progress=False,
                     checkpoint=tmp_path / "full.jsonl")
        lines = (tmp_path / "full.jsonl").read_text().splitlines(keepends=True)
        assert len(lines) == 1 + 5
        (tmp_path / "part.jsonl").write_text("".join(lines[:3]))  # header and two points
        resumed = sweep(functools.partial(log_call, log=str(log)), grid, client=client, progress=False,
                        checkpoint=tmp_path / "part.jsonl")
    assert resumed.identical(full)
    assert len(log.read_text().split()) == 3
    again = sweep(functools.partial(log_call, log=str(log)), grid, client="serial", progress=False,
                  checkpoint=tmp_path / "part.jsonl")
    assert again.identical(full) and len(log.read_text().split()) == 3


@needs_dask
def test_scheduler_address_and_embedded_cluster(client):
    """A scheduler address and `client=None` (a LocalCluster started and closed
    by the call) give the same Dataset as the running Client."""
    grid = {"rho": [0.9], "leak": [0.5, 1.0]}
    with time_limit(LIMIT_S):
        reference = sweep(reservoir, grid, seeds=[3], client=client, progress=False)
        by_address = sweep(reservoir, grid, seeds=[3], client=client.scheduler.address, progress=False)
        embedded = sweep(reservoir, grid, seeds=[3], progress=False)
    assert by_address.identical(reference) and embedded.identical(reference)


# ----------------------------------------------------------------- in one process


@needs_xarray
def test_interrupted_serial_sweep_resumes_from_checkpoint(tmp_path):
    """KeyboardInterrupt on the 4th call leaves 3 points in the checkpoint; the
    rerun makes the remaining calls only and matches an uninterrupted sweep."""
    path, log = tmp_path / "cp.jsonl", tmp_path / "calls.log"
    grid = {"a": [1, 2, 3, 4, 5, 6]}
    with pytest.raises(KeyboardInterrupt):
        sweep(functools.partial(log_call, log=str(log), stop_at=4), grid, client="serial", progress=False,
              checkpoint=path)
    assert len(path.read_text().splitlines()) == 1 + 3
    resumed = sweep(functools.partial(log_call, log=str(log)), grid, client="serial", progress=False,
                    checkpoint=path)
    fresh = sweep(functools.partial(log_call, log=str(tmp_path / "other.log")), grid, client="serial",
                  progress=False)
    assert resumed.identical(fresh)
    assert log.read_text().split() == ["1", "2", "3", "4", "4", "5", "6"]


@needs_xarray
def test_checkpoint_with_failures_and_arrays_round_trips(tmp_path):
    """Errors, NaN and array values read back from the checkpoint unchanged."""
    def run():
        return quietly(sweep, fails_at_two, {"a": [1, 2, 3]}, seeds=2, client="serial", progress=False,
                       checkpoint=tmp_path / "cp.jsonl")

    first, second = run(), run()
    assert first.identical(second)
    assert second["error"].sel(a=2, seed=0).item() == "ValueError: a=2 is not allowed"


def fixable(a: int, seed: int, flag: str) -> dict:
    """Fails at a == 2 until the file `flag` exists (the "fix")."""
    with open(flag + ".log", "a") as f:
        f.write(f"{a}\n")
    if a == 2 and not os.path.exists(flag):
        raise ValueError("not fixed yet")
    return {"y": a + seed}


@needs_xarray
def test_a_resumed_sweep_runs_the_failed_points_again(tmp_path):
    """After a fix, the same sweep reruns only its failed points and then
    equals a clean sweep; a third call runs nothing, and the checkpoint
    (with the failed point listed twice) still reads."""
    flag, path = str(tmp_path / "fixed"), tmp_path / "cp.jsonl"
    grid = {"a": [1, 2, 3]}
    fn = functools.partial(fixable, flag=flag)
    failed = quietly(sweep, fn, grid, seeds=[0], client="serial", progress=False, checkpoint=path)
    assert failed["error"].sel(a=2, seed=0).item() == "ValueError: not fixed yet"
    Path(flag).touch()
    Path(flag + ".log").unlink()
    fixed = sweep(fn, grid, seeds=[0], client="serial", progress=False, checkpoint=path)
    assert Path(flag + ".log").read_text().split() == ["2"]
    clean = sweep(fn, grid, seeds=[0], client="serial", progress=False)
    assert fixed.identical(clean) and (fixed["error"] == "").all()
    Path(flag + ".log").unlink()
    again = sweep(fn, grid, seeds=[0], client="serial", progress=False, checkpoint=path)
    assert again.identical(clean) and not Path(flag + ".log").exists()


@needs_xarray
def test_torn_last_line_is_dropped_with_a_warning(tmp_path):
    """A last line cut off mid-write is dropped (warned) and its point rerun."""
    path = tmp_path / "cp.jsonl"
    grid = {"a": [1, 2, 3]}
    full = sweep(functools.partial(log_call, log=str(tmp_path / "a.log")), grid, client="serial",
                 progress=False, checkpoint=path)
    text = path.read_text()
    path.write_text(text[: len(text) - 10])
    log = tmp_path / "b.log"
    with pytest.warns(UserWarning, match="cut off mid-write"):
        resumed = sweep(functools.partial(log_call, log=str(log)), grid, client="serial", progress=False,
                        checkpoint=path)
    assert resumed.identical(full) and log.read_text().split() == ["3"]
    assert path.read_text() == text


@needs_xarray
@pytest.mark.parametrize("damage, match", [
    (lambda lines: ["not json at all\n"] + lines[1:], "does not start with"),
    (lambda lines: lines[:2] + ['{"index": 1, "oops"\n'] + lines[3:], "damaged at line 3"),
    (lambda lines: lines[:2] + [lines[1]] + lines[2:], "lists point 0 twice"),
    (lambda lines: lines[:1] + [lines[1].replace('"a": 1', '"a": 7')] + lines[2:], "damaged at line 2"),
    (lambda lines: lines[:1] + [lines[1].replace('"index": 0', '"index": 99')] + lines[2:], "not in 0..2"),
])
def test_damaged_checkpoint_is_refused_untouched(tmp_path, damage, match):
    """A damaged checkpoint raises CheckpointError naming the fault; the file is not modified."""
    path = tmp_path / "cp.jsonl"
    grid = {"a": [1, 2, 3]}
    calls = tmp_path / "calls.log"
    fn = functools.partial(log_call, log=str(calls))
    sweep(fn, grid, client="serial", progress=False, checkpoint=path)
    path.write_text("".join(damage(path.read_text().splitlines(keepends=True))))
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match=match):
        sweep(fn, grid, client="serial", progress=False, checkpoint=path)
    assert path.read_bytes() == before
    assert len(calls.read_text().split()) == 3


@needs_xarray
@pytest.mark.parametrize("other", [
    dict(grid={"a": [1, 2, 4]}),
    dict(seeds=2),
    dict(fn=functools.partial(fails_at_two, seed=0)),
])
def test_checkpoint_of_another_sweep_is_refused(tmp_path, other):
    """Another grid, other seeds or another function: refused, naming what differs."""
    path = tmp_path / "cp.jsonl"
    fn = functools.partial(log_call, log=str(tmp_path / "calls.log"))
    sweep(fn, {"a": [1, 2, 3]}, client="serial", progress=False, checkpoint=path)
    before = path.read_bytes()
    kwargs = {"fn": fn, "grid": {"a": [1, 2, 3]}, **other}
    with pytest.raises(CheckpointError, match="different sweep"):
        sweep(kwargs.pop("fn"), kwargs.pop("grid"), client="serial", progress=False, checkpoint=path, **kwargs)
    assert path.read_bytes() == before


@needs_xarray
def test_list_of_points_and_dataframe(tmp_path):
    """A list of points gives one dimension per parameter, NaN off the list;
    output="dataframe" gives one row per point."""
    fn = functools.partial(log_call, log=str(tmp_path / "calls.log"))
    points = [{"a": 1}, {"a": 3}]
    ds = sweep(fn, points, client="serial", progress=False)
    assert ds["y"].values.tolist() == [1.0, 9.0]
    pd = pytest.importorskip("pandas")
    df = sweep(reservoir, [{"rho": 0.9, "leak": 0.5}, {"rho": 1.1, "leak": 1.0}], seeds=[4], client="serial",
               progress=False, output="dataframe")
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["rho", "leak", "seed", "activity", "last", "error"]
    assert df.shape == (2, 6) and df["last"][1].shape == (4,)
    ds = sweep(reservoir, [{"rho": 0.9, "leak": 0.5}, {"rho": 1.1, "leak": 1.0}], seeds=[4], client="serial",
               progress=False)
    assert ds["activity"].shape == (2, 2, 1)
    assert np.isnan(ds["activity"].sel(rho=0.9, leak=1.0)).all()
    assert ds["activity"].sel(rho=1.1, leak=1.0, seed=4).item() == df["activity"][1]
    assert (ds["error"].values == "").all()


@needs_xarray
def test_text_progress_bar(capsys, monkeypatch):
    """progress=True without tqdm draws a text bar on stderr."""
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    quietly(sweep, fails_at_two, {"a": [1, 2]}, seeds=1, client="serial", progress=True)
    err = capsys.readouterr().err
    assert "2/2 points" in err and "1 failed" in err


@needs_xarray
def test_wrong_return_type_stops_at_first_result():
    """If the first point to return gives a non-dict, the sweep stops with a TypeError."""
    with pytest.raises(TypeError, match=r"`fn` must return a dict .* got list \(at a=1\)"):
        sweep(not_a_dict, {"a": [1, 2, 3]}, client="serial", progress=False)


@needs_xarray
def test_wrong_return_type_after_a_good_one_is_that_points_error():
    """A later point that returns a non-dict is recorded as failed, with the reason."""
    ds = quietly(sweep, bad_at_one, {"a": [0, 1, 2]}, client="serial", progress=False)
    assert ds["error"].values.tolist() == ["", "TypeError: `fn` must return a dict of numbers or numeric "
                                                "arrays, got str", ""]
    assert np.isnan(ds["y"].values[1])


@needs_xarray
def test_array_whose_shape_changes_is_that_points_error():
    """An array value takes its shape from the first point that returns it;
    a point that returns another shape is NaN there, with the reason."""
    ds = quietly(sweep, odd_shape, {"size": [2, 3, 4]}, client="serial", progress=False)
    assert ds["v"].dims == ("size", "v_dim0") and ds["v"].shape == (3, 2)
    np.testing.assert_array_equal(ds["v"].values, [[2, 2], [np.nan, np.nan], [4, 4]])
    assert ds["error"].values.tolist() == [
        "", "`fn` returned 'v' with shape (3,) here, (2,) at the first point that gave it", ""]


@needs_xarray
@pytest.mark.parametrize("returned, match", [
    ({"a": 1.0}, "names a dimension"),
    ({"error": 1.0}, "names a dimension"),
    ({"y": "text"}, "real numbers or numeric arrays"),
    ({"y": 1j}, "complex"),
    ({1: 1.0}, "keys must be strings"),
])
def test_bad_return_values(returned, match):
    """Keys and values that cannot go into the Dataset are named."""
    with pytest.raises((TypeError, ValueError), match=match):
        sweep(lambda a: returned, {"a": [1]}, client="serial", progress=False)


# ----------------------------------------------------------------- bad input, before anything runs


def never_called(**kwargs):
    raise AssertionError("fn must not be called on bad input")


@pytest.mark.parametrize("grid, error, match", [
    ({}, ValueError, "`grid` is empty"),
    ([], ValueError, "`grid` is empty"),
    ({"a": 0.5}, TypeError, r"`grid\['a'\]` must be a list of values, got float 0.5; write \[0.5\]"),
    ({"a": "abc"}, TypeError, r"must be a list of values, got str"),
    ({"a": []}, ValueError, r"`grid\['a'\]` is empty"),
    ({"a": [1, 1]}, ValueError, "repeats a value"),
    ({"a": [None]}, TypeError, "grid values must be numbers or strings"),
    ({"a": [[1, 2]]}, TypeError, "grid values must be numbers or strings"),
    ({"a": [float("nan")]}, ValueError, "NaN"),
    ({"error": [1]}, ValueError, "reserved"),
    ({"not valid": [1]}, TypeError, "identifiers"),
    ([{"a": 1}, {"b": 2}], ValueError, "every point of `grid` must have the parameters"),
    ([{"a": 1}, {"a": 1}], ValueError, "twice"),
    ([{"a": 1}, 3], TypeError, "item 1 is int"),
    ([{}], ValueError, "no parameters"),
    (np.arange(3), TypeError, "must be a dict of lists"),
    ("a", TypeError, "must be a dict of lists"),
])
def test_bad_grid(grid, error, match):
    """An empty or malformed grid: a clear error, and fn never runs."""
    with pytest.raises(error, match=match):
        sweep(never_called, grid, client="serial", progress=False)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(seeds=0), ValueError, "positive count"),
    (dict(seeds=[]), ValueError, "`seeds` is empty"),
    (dict(seeds=[1, 1]), ValueError, "repeats a seed"),
    (dict(seeds=[0.5]), TypeError, "must hold ints"),
    (dict(seeds="3"), TypeError, "count or a list"),
    (dict(seeds=2, grid={"seed": [1]}), ValueError, "reserved"),
    (dict(retries=-1), ValueError, "`retries` must be an int >= 0"),
    (dict(chunksize=0), ValueError, "`chunksize` must be a positive int"),
    (dict(output="csv"), ValueError, "`output` must be one of 'dataset', 'dataframe'"),
    (dict(progress="yes"), TypeError, "`progress` must be True or False"),
    (dict(client="localhost"), ValueError, "scheduler address"),
    (dict(fn=3), TypeError, "`fn` must be callable"),
])
def test_bad_arguments(kwargs, error, match):
    """Bad seeds, retries, output, progress, client or fn are refused up front."""
    kwargs = {"fn": never_called, "grid": {"a": [1]}, "client": "serial", "progress": False, **kwargs}
    with pytest.raises(error, match=match):
        sweep(kwargs.pop("fn"), kwargs.pop("grid"), **kwargs)


@needs_dask
def test_bad_client_object():
    """A client that is neither a Client, a cluster nor an address is a TypeError."""
    with pytest.raises(TypeError, match="`client` must be None"):
        sweep(never_called, {"a": [1]}, client=3, progress=False)


def test_missing_dask_names_the_extra(monkeypatch):
    """Without dask.distributed the error says which extra to install."""
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r'pip install "graphrnn\[distributed\]"'):
        sweep(never_called, {"a": [1]}, progress=False)


def test_import_simulator_does_not_import_dask():
    """`import simulator` leaves dask, distributed, xarray and pandas unimported."""
    code = ("import sys, simulator, simulator.sweeps; "
            "print(sorted(m for m in ('dask', 'distributed', 'xarray', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
