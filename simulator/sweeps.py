"""`sweep`: parameter sweeps and seed ensembles, in one process or on a Dask cluster.

Dask's ``distributed`` scheduler does the distributing: it places the points
on worker processes, reruns the ones whose worker died and restarts the
worker. This module lays the points out, guards the user's function, keeps
an optional checkpoint and assembles the results into an ``xarray.Dataset``
(or a ``pandas.DataFrame``).

dask, xarray and pandas are optional extras (``pip install
"graphrnn[distributed]"``), imported when a sweep runs, never by ``import
simulator``.

Checkpoint format (JSON lines, UTF-8). The first line identifies the sweep::

    {"format": "graphrnn.sweep/1", "fn": "module.qualname", "grid": ..., "seeds": ..., "token": "..."}

and every following line is one finished point::

    {"index": 5, "params": {"rho": 0.9}, "seed": 1, "values": {"err": 0.12,
     "trace": {"shape": [3], "data": [0.1, 0.2, 0.3]}}, "error": ""}

Values are float64, written with Python's shortest round-trip repr (NaN as
``NaN``), so a resumed sweep reads back exactly what was computed. A point
whose function raised is finished too (its ``error`` is the message); a point
lost to the cluster (its worker died more often than allowed) is not written,
so a rerun tries it again. Lines are appended and flushed one at a time.

A checkpoint is refused (`CheckpointError`, file untouched) when its header
names another sweep -- another function name, grid or seeds -- or when any
line is malformed or inconsistent with the sweep. The exception is a last line
without its newline: the writer died mid-line; that fragment is cut off with a
warning and its point runs again. The header identifies the function by module
and qualified name only: after changing what the function computes, start a
new checkpoint.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import math
import os
import re
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    import pandas
    import xarray
    from distributed import Client

__all__ = ["sweep", "CheckpointError", "OUTPUTS", "CHECKPOINT_FORMAT"]

#: Valid values of ``output=``.
OUTPUTS = ("dataset", "dataframe")
#: First-line tag of a checkpoint file.
CHECKPOINT_FORMAT = "graphrnn.sweep/1"
INSTALL = 'pip install "graphrnn[distributed]"'
#: Per-point status codes returned from a worker.
OK, RAISED, INVALID = "ok", "raised", "invalid"


class CheckpointError(ValueError):
    """A checkpoint file that does not belong to this sweep or is damaged.

    The file is left as it is; pass another path or delete it.
    """


# --------------------------------------------------------------------------- #
# The points of a sweep
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Plan:
    """The points of a sweep, in the order they are numbered.

    Point ``i`` is grid point ``i // n_seeds`` with seed ``seeds[i % n_seeds]``
    (seeds vary fastest); without seeds, point ``i`` is grid point ``i``.

    Attributes
    ----------
    names : tuple of str
        Swept parameters, in the order of the Dataset's dimensions.
    axes : tuple of tuple
        Coordinate values of each parameter (for a list of points: the
        distinct values, in order of first appearance).
    params : tuple of dict
        One dict of keyword arguments per grid point.
    where : tuple of tuple of int
        Position of each grid point on `axes`.
    seeds : tuple of int or None
    spec : dict
        JSON-able description of the grid (for the checkpoint header).
    """

    names: tuple[str, ...]
    axes: tuple[tuple, ...]
    params: tuple[dict, ...]
    where: tuple[tuple[int, ...], ...]
    seeds: tuple[int, ...] | None
    spec: dict = field(compare=False)

    @property
    def n_seeds(self) -> int:
        return len(self.seeds) if self.seeds is not None else 1

    @property
    def n_points(self) -> int:
        """Calls of the function: grid points times seeds."""
        return len(self.params) * self.n_seeds

    def point(self, i: int) -> tuple[dict, int | None]:
        """Keyword arguments and seed of point `i`."""
        p, s = divmod(i, self.n_seeds)
        return self.params[p], (None if self.seeds is None else self.seeds[s])

    def position(self, i: int) -> tuple[int, ...]:
        """Index of point `i` in the Dataset's parameter (and seed) dimensions."""
        p, s = divmod(i, self.n_seeds)
        return self.where[p] + (() if self.seeds is None else (s,))

    @property
    def dims(self) -> tuple[str, ...]:
        return self.names + (() if self.seeds is None else ("seed",))

    @property
    def taken(self) -> tuple[str, ...]:
        """Names a returned value may not have: the dimensions and ``error``."""
        return self.dims + ("error",)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.axes) + (() if self.seeds is None else (len(self.seeds),))

    def label(self, i: int) -> str:
        """``rho=0.9, leak=0.3, seed=1`` for point `i`."""
        params, seed = self.point(i)
        items = [f"{k}={v!r}" for k, v in params.items()] + ([] if seed is None else [f"seed={seed}"])
        return ", ".join(items)


def _grid_value(name: str, value: Any) -> bool | int | float | str:
    """A grid value as a plain Python scalar; TypeError for anything else."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            raise ValueError(f"`grid[{name!r}]` holds NaN: a coordinate must equal itself")
        return float(value)
    if isinstance(value, str):
        return str(value)
    raise TypeError(
        f"`grid[{name!r}]` holds {value!r} of type {type(value).__name__}: grid values must be numbers "
        "or strings (to sweep over objects, sweep their names and look them up inside `fn`)"
    )


def _check_name(name: Any, reserved: tuple[str, ...]) -> str:
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"parameter names must be identifiers (they are passed as keywords), got {name!r}")
    if name in reserved:
        raise ValueError(f"parameter name {name!r} is reserved in a sweep with these arguments; rename it")
    return name


def _check_seeds(seeds: Any) -> tuple[int, ...] | None:
    if seeds is None:
        return None
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, (bool, np.bool_)):
        if seeds < 1:
            raise ValueError(f"`seeds` must be a positive count or a list of ints, got {seeds!r}")
        return tuple(range(int(seeds)))
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, np.ndarray)):
        raise TypeError(f"`seeds` must be a count or a list of ints, got {type(seeds).__name__}")
    out = []
    for s in seeds:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"`seeds` must hold ints, got {s!r}")
        out.append(int(s))
    if not out:
        raise ValueError("`seeds` is empty: give a count or at least one seed")
    if len(set(out)) != len(out):
        raise ValueError(f"`seeds` repeats a seed: {out}")
    return tuple(out)


def make_plan(grid: Any, seeds: Any = None) -> Plan:
    """Validate `grid` and `seeds` and number the points.

    Parameters
    ----------
    grid : dict of list, or list of dict
        See `sweep`.
    seeds : int or list of int, optional
        See `sweep`.

    Returns
    -------
    Plan

    Raises
    ------
    TypeError
        A grid that is neither a dict of lists nor a list of dicts, a value
        that is not a list, a grid value that is not a number or string.
    ValueError
        An empty grid or value list, a repeated value or point, points with
        different parameters, a reserved parameter name.

    Examples
    --------
    >>> plan = make_plan({"rho": [0.8, 1.2], "leak": [0.1, 0.5, 1.0]}, seeds=2)
    >>> plan.n_points, plan.dims, plan.shape
    (12, ('rho', 'leak', 'seed'), (2, 3, 2))
    >>> plan.label(7)
    'rho=1.2, leak=0.1, seed=1'
    """
    seeds = _check_seeds(seeds)
    reserved = ("error",) if seeds is None else ("error", "seed")
    if isinstance(grid, Mapping):
        if not grid:
            raise ValueError("`grid` is empty: give at least one parameter with a list of values, "
                             "e.g. {'n': [200]} for an ensemble over seeds alone")
        names, axes = [], []
        for name, values in grid.items():
            _check_name(name, reserved)
            if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray, range)):
                raise TypeError(f"`grid[{name!r}]` must be a list of values, got {type(values).__name__} "
                                f"{values!r}; write [{values!r}] for a single value")
            if isinstance(values, np.ndarray) and values.ndim != 1:
                raise ValueError(f"`grid[{name!r}]` must be 1-dimensional, got shape {values.shape}")
            axis = [_grid_value(name, v) for v in values]
            if not axis:
                raise ValueError(f"`grid[{name!r}]` is empty: give at least one value")
            if len(set(axis)) != len(axis):
                raise ValueError(f"`grid[{name!r}]` repeats a value: {axis}")
            names.append(name)
            axes.append(tuple(axis))
        params = tuple(dict(zip(names, combo)) for combo in itertools.product(*axes))
        where = tuple(itertools.product(*(range(len(a)) for a in axes)))
        spec = {"product": [[n, list(a)] for n, a in zip(names, axes)]}
    elif isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)):
        if not grid:
            raise ValueError("`grid` is empty: give at least one point")
        points = []
        for k, point in enumerate(grid):
            if not isinstance(point, Mapping):
                raise TypeError(f"`grid` as a list must hold dicts of parameters, item {k} is "
                                f"{type(point).__name__} {point!r}")
            if k == 0:
                names = [_check_name(n, reserved) for n in point]
                if not names:
                    raise ValueError("`grid[0]` has no parameters: every point needs at least one")
            elif set(point) != set(names):
                raise ValueError(f"every point of `grid` must have the parameters {names}; "
                                 f"item {k} has {list(point)}")
            points.append(tuple(_grid_value(n, point[n]) for n in names))
        seen: dict[tuple, int] = {}
        for k, values in enumerate(points):
            if values in seen:
                raise ValueError(f"`grid` lists the point {dict(zip(names, values))} twice "
                                 f"(items {seen[values]} and {k})")
            seen[values] = k
        axes = [tuple(dict.fromkeys(col)) for col in zip(*points)]
        index = [{v: j for j, v in enumerate(a)} for a in axes]
        params = tuple(dict(zip(names, values)) for values in points)
        where = tuple(tuple(ix[v] for ix, v in zip(index, values)) for values in points)
        spec = {"names": names, "points": [list(v) for v in points]}
    else:
        raise TypeError("`grid` must be a dict of lists (every combination) or a list of dicts "
                        f"(these points), got {type(grid).__name__}")
    return Plan(tuple(names), tuple(axes), params, where, seeds, spec)


# --------------------------------------------------------------------------- #
# One point, on a worker
# --------------------------------------------------------------------------- #


def describe(exc: BaseException) -> str:
    """``"ValueError: message"``, the error text kept for a failed point."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def check_values(out: Any, taken: Sequence[str]) -> dict[str, np.ndarray]:
    """The function's return value as float64 arrays (0-d for scalars).

    Raises
    ------
    TypeError
        Not a dict, a key that is not a string, a value that is not a real
        number or numeric array.
    ValueError
        A key that names a swept parameter, ``seed`` or ``error``.

    Examples
    --------
    >>> check_values({"err": 1, "trace": [0.5, 2]}, taken=("rho",))
    {'err': array(1.), 'trace': array([0.5, 2. ])}
    """
    if not isinstance(out, Mapping):
        raise TypeError(f"`fn` must return a dict of numbers or numeric arrays, got {type(out).__name__}")
    values = {}
    for key, value in out.items():
        if not isinstance(key, str):
            raise TypeError(f"`fn` returned the key {key!r}: keys must be strings")
        if key in taken:
            raise ValueError(f"`fn` returned the key {key!r}, which names a dimension of the sweep; rename it")
        try:
            a = np.asarray(value)
        except Exception:  # ragged lists and the like
            a = np.asarray(None)
        if a.dtype.kind == "c":
            raise TypeError(f"`fn` returned a complex value for {key!r}: return its real and imaginary parts")
        if a.dtype.kind not in "biuf":
            raise TypeError(f"`fn` returned {type(value).__name__} for {key!r}: values must be real numbers "
                            "or numeric arrays")
        values[key] = np.array(a, dtype=np.float64)
    return values


def call_point(fn: Callable[..., Any], params: dict, seed: int | None,
               taken: Sequence[str]) -> tuple[str, dict[str, np.ndarray] | None, str]:
    """Run ``fn(**params[, seed=seed])`` and say how it went.

    Returns
    -------
    status : {"ok", "raised", "invalid"}
    values : dict of ndarray or None
        float64 arrays, when the status is ``"ok"``.
    error : str
        The exception (``"raised"``) or what is wrong with the return value
        (``"invalid"``); ``""`` when fine.
    """
    kwargs = dict(params) if seed is None else {**params, "seed": seed}
    try:
        out = fn(**kwargs)
    except Exception as exc:
        return RAISED, None, describe(exc)
    try:
        return OK, check_values(out, taken), ""
    except (TypeError, ValueError) as exc:
        return INVALID, None, describe(exc)


@dataclass
class Outcome:
    """What became of one point."""

    values: dict[str, np.ndarray]
    error: str = ""
    #: Lost to the cluster rather than failed in `fn`: not checkpointed.
    lost: bool = False


# --------------------------------------------------------------------------- #
# Checkpoint
# --------------------------------------------------------------------------- #


def fn_name(fn: Callable) -> str:
    """``module.qualname`` of `fn` (of the wrapped function for a partial)."""
    inner = getattr(fn, "func", fn)
    module = getattr(inner, "__module__", None) or type(inner).__module__
    qualname = getattr(inner, "__qualname__", None) or type(inner).__qualname__
    return f"{module}.{qualname}"


def encode_values(values: dict[str, np.ndarray]) -> dict:
    """Values for a checkpoint line: a float, or ``{"shape": [...], "data": [...]}``."""
    return {k: float(v) if v.ndim == 0 else {"shape": list(v.shape), "data": v.ravel().tolist()}
            for k, v in values.items()}


def decode_values(raw: Any) -> dict[str, np.ndarray]:
    """Inverse of `encode_values`; ValueError on anything malformed."""
    if not isinstance(raw, dict):
        raise ValueError("`values` is not an object")
    out = {}
    for k, v in raw.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = np.array(v, dtype=np.float64)
        elif isinstance(v, dict) and set(v) == {"shape", "data"} and isinstance(v["data"], list) \
                and isinstance(v["shape"], list) and all(isinstance(d, int) and d >= 0 for d in v["shape"]) \
                and math.prod(v["shape"]) == len(v["data"]) \
                and all(isinstance(d, (int, float)) and not isinstance(d, bool) for d in v["data"]):
            out[k] = np.array(v["data"], dtype=np.float64).reshape(v["shape"])
        else:
            raise ValueError(f"value {k!r} is neither a number nor a {{shape, data}} array")
    return out


class Checkpoint:
    """An append-only JSON-lines record of finished points (see the module notes).

    Opening an existing file validates all of it: a header from another sweep,
    a line that is not valid JSON, a point that does not match this sweep's
    numbering, a point listed twice -- each raises `CheckpointError` and the
    file is left untouched. The one tolerated damage is a last line without
    its newline (the writer stopped mid-line): it is cut off, with a warning,
    and its point runs again.
    """

    def __init__(self, path: str | os.PathLike, plan: Plan, fn: Callable):
        self.path = Path(path)
        self.plan = plan
        self.header = {"format": CHECKPOINT_FORMAT, "fn": fn_name(fn), "grid": plan.spec,
                       "seeds": None if plan.seeds is None else list(plan.seeds)}
        body = json.dumps([self.header["fn"], plan.spec, self.header["seeds"]], sort_keys=True)
        self.header["token"] = hashlib.sha256(body.encode()).hexdigest()[:16]
        self.done: dict[int, Outcome] = {}
        if self.path.exists() and self.path.stat().st_size > 0:
            self._read()
            self._file = open(self.path, "a", encoding="utf-8")
        else:
            self._file = open(self.path, "w", encoding="utf-8")
            self._write(self.header)

    def _refuse(self, why: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {str(self.path)!r} {why}; it was left untouched: "
                               "pass another `checkpoint` path or delete the file")

    def _read(self) -> None:
        data = self.path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise self._refuse("is not UTF-8 text, so not a sweep checkpoint") from None
        *lines, torn = text.split("\n")
        if not lines:
            raise self._refuse("has no complete first line (no sweep header)")
        try:
            header = json.loads(lines[0])
        except json.JSONDecodeError:
            header = None
        if not isinstance(header, dict) or header.get("format") != CHECKPOINT_FORMAT:
            raise self._refuse(f"does not start with a {CHECKPOINT_FORMAT!r} header, so it is not a sweep checkpoint")
        if header.get("token") != self.header["token"]:
            differ = [k for k in ("fn", "grid", "seeds") if header.get(k) != self.header[k]]
            shown = "; ".join(f"{k} there {header.get(k)!r}, here {self.header[k]!r}" for k in differ)
            raise self._refuse(f"belongs to a different sweep ({shown or 'token differs'})")
        where: dict[int, int] = {}
        for n, line in enumerate(lines[1:], start=2):
            try:
                index, outcome = self._parse(line)
            except (ValueError, TypeError, KeyError) as exc:
                raise self._refuse(f"is damaged at line {n}: {exc}") from None
            if index in where:
                raise self._refuse(f"lists point {index} twice (lines {where[index]} and {n})")
            where[index] = n
            self.done[index] = outcome
        if torn:
            warnings.warn(f"checkpoint {str(self.path)!r}: its last line was cut off mid-write "
                          f"({len(torn)} characters); dropping it and running that point again", stacklevel=4)
            os.truncate(self.path, len(data) - len(torn.encode("utf-8")))

    def _parse(self, line: str) -> tuple[int, Outcome]:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc})") from None
        if not isinstance(rec, dict) or set(rec) != {"index", "params", "seed", "values", "error"}:
            raise ValueError("expected an object with index, params, seed, values, error")
        index = rec["index"]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.plan.n_points:
            raise ValueError(f"point index {index!r} is not in 0..{self.plan.n_points - 1}")
        params, seed = self.plan.point(index)
        if rec["params"] != params or rec["seed"] != seed:
            raise ValueError(f"point {index} should be ({self.plan.label(index)}), "
                             f"the line has params {rec['params']} and seed {rec['seed']}")
        if not isinstance(rec["error"], str):
            raise ValueError("`error` is not a string")
        return index, Outcome(decode_values(rec["values"]), rec["error"])

    def _write(self, record: dict) -> None:
        self._file.write(json.dumps(record, allow_nan=True) + "\n")
        self._file.flush()

    def append(self, index: int, outcome: Outcome) -> None:
        """Record one finished point (flushed at once)."""
        params, seed = self.plan.point(index)
        self._write({"index": index, "params": params, "seed": seed,
                     "values": encode_values(outcome.values), "error": outcome.error})

    def close(self) -> None:
        self._file.close()


# --------------------------------------------------------------------------- #
# Progress
# --------------------------------------------------------------------------- #


class TextBar:
    """A one-line text progress bar on stderr, for when tqdm is not installed."""

    def __init__(self, total: int, skipped: int, stream=None, width: int = 30):
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.note = f" (+{skipped} from the checkpoint)" if skipped else ""
        self.start = self.last = time.perf_counter()
        self.shown = None
        self._draw()

    def _draw(self) -> None:
        frac = self.done / self.total if self.total else 1.0
        failed = f" | {self.failed} failed" if self.failed else ""
        elapsed = time.perf_counter() - self.start
        self.stream.write(f"\rsweep [{'#' * int(self.width * frac):<{self.width}}] {self.done}/{self.total} "
                          f"points{self.note}{failed} | {elapsed:.1f}s")
        self.stream.flush()
        self.shown = (self.done, self.failed)

    def update(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        now = time.perf_counter()
        if now - self.last > 0.1 or self.done == self.total:
            self.last = now
            self._draw()

    def close(self) -> None:
        if self.stream is None:
            return
        if self.shown != (self.done, self.failed):
            self._draw()
        self.stream.write("\n")
        self.stream.flush()
        self.stream = None


class TqdmBar:
    """The same interface over `tqdm.auto` (a widget in Jupyter)."""

    def __init__(self, tqdm, total: int, skipped: int):
        self.bar = tqdm(total=total, desc="sweep", unit="point")
        if skipped:
            self.bar.set_postfix(checkpoint=skipped)
        self.failed = 0

    def update(self, failed: bool) -> None:
        if failed:
            self.failed += 1
            self.bar.set_postfix(failed=self.failed)
        self.bar.update()

    def close(self) -> None:
        self.bar.close()  # tqdm closes once


class NoBar:
    def update(self, failed: bool) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(show: bool, total: int, skipped: int):
    """tqdm when installed, else `TextBar`; `NoBar` when not shown or nothing to do."""
    if not show or total == 0:
        return NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return TextBar(total, skipped)
    return TqdmBar(tqdm, total, skipped)


# --------------------------------------------------------------------------- #
# Running
# --------------------------------------------------------------------------- #


def _require(module: str, what: str):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise ImportError(f"`sweep` needs {module} {what}: {INSTALL}") from None


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def check_client(client: Any) -> None:
    """TypeError/ValueError for a `client` that `connect` could not use."""
    if client is None:
        return
    if isinstance(client, str):
        if client != "serial" and not re.fullmatch(r"[a-z0-9+]+://\S+|[\w.\-]+:\d+", client):
            raise ValueError(f"`client` must be 'serial' or a scheduler address such as "
                             f"'tcp://10.0.0.1:8786', got {client!r}")
        return
    distributed = _require("distributed", 'to run on a cluster (client="serial" runs in this process)')
    if not (isinstance(client, distributed.Client) or hasattr(client, "scheduler_address")):
        raise TypeError("`client` must be None (a local cluster), a dask.distributed.Client, a cluster, "
                        f"a scheduler address such as 'tcp://10.0.0.1:8786', or 'serial'; got {client!r}")


@contextlib.contextmanager
def connect(client: Any, n_tasks: int, retries: int) -> Iterator[Client | None]:
    """The Dask client to run on (None: in this process), closed afterwards
    when it was opened here."""
    if isinstance(client, str) and client == "serial":
        yield None
        return
    distributed = _require("distributed", 'to run on a cluster (client="serial" runs in this process)')
    if client is None:
        # One worker process per core, each running one point at a time (the
        # kernels of `run` stay on one thread for small networks anyway).
        # `allowed_failures` is how often a point may take its worker down
        # with it before the scheduler gives up on it.
        cluster = distributed.LocalCluster(
            n_workers=max(1, min(_cores(), n_tasks)), threads_per_worker=1, processes=True,
            dashboard_address=":0", silence_logs=logging.ERROR, scheduler_kwargs={"allowed_failures": retries},
        )
        try:
            with distributed.Client(cluster) as own:
                yield own
        finally:
            cluster.close()
    elif isinstance(client, distributed.Client):
        yield client
    else:  # an address or a cluster object, as `check_client` let through
        with distributed.Client(client) as own:
            yield own


def run_serial(fn: Callable, plan: Plan, todo: Sequence[int], record: Callable[[int, str, Any, str], None]) -> None:
    for i in todo:
        params, seed = plan.point(i)
        record(i, *call_point(fn, params, seed, plan.taken))


def call_chunk(fn: Callable[..., Any], chunk: Sequence[tuple[dict, int | None]],
               taken: Sequence[str]) -> list[tuple[str, dict[str, np.ndarray] | None, str]]:
    """`call_point` over several points, in one task."""
    return [call_point(fn, params, seed, taken) for params, seed in chunk]


def run_dask(client: Client, fn: Callable, plan: Plan, todo: Sequence[int], retries: int, chunksize: int,
             record: Callable[[int, str, Any, str], None]) -> None:
    from distributed import as_completed

    tag = f"{re.sub(r'[^0-9a-zA-Z_]', '_', fn_name(fn).rsplit('.', 1)[-1])}-{uuid.uuid4().hex[:8]}"
    pending: dict[Any, tuple[Any, list[int]]] = {}
    try:
        for start in range(0, len(todo), chunksize):
            indices = list(todo[start:start + chunksize])
            if chunksize == 1:
                params, seed = plan.point(indices[0])
                future = client.submit(call_point, fn, params, seed, plan.taken, key=f"{tag}-{indices[0]}",
                                       retries=retries)
            else:
                future = client.submit(call_chunk, fn, [plan.point(i) for i in indices], plan.taken,
                                       key=f"{tag}-{indices[0]}", retries=retries)
            pending[future.key] = future, indices
        for future, result in as_completed([f for f, _ in pending.values()], with_results=True,
                                           raise_errors=False):
            _, indices = pending.pop(future.key)
            if future.status == "finished":
                for i, outcome in zip(indices, [result] if chunksize == 1 else result):
                    record(i, *outcome)
            else:  # the worker kept dying, the task failed outside `fn`, or it was cancelled
                error = describe(future.exception()) if future.status == "error" else f"the task was {future.status}"
                for i in indices:
                    record(i, None, None, error)
            future.release()
    finally:
        if pending:
            client.cancel([f for f, _ in pending.values()])


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #


def consolidate(plan: Plan, outcomes: dict[int, Outcome]) -> tuple[dict[str, tuple[int, ...]], list[str]]:
    """The shape of each returned value (from the first point, in numbering
    order, that returned it) and the error of every point, with a note added
    where a value's shape differs from that."""
    shapes: dict[str, tuple[int, ...]] = {}
    errors = []
    for i in range(plan.n_points):
        out = outcomes[i]
        error = out.error
        for k, v in out.values.items():
            shape = shapes.setdefault(k, v.shape)
            if v.shape != shape:
                note = f"`fn` returned {k!r} with shape {v.shape} here, {shape} at the first point that gave it"
                error = f"{error}; {note}" if error else note
        errors.append(error)
    return shapes, errors


def to_dataset(plan: Plan, outcomes: dict[int, Outcome], shapes: dict[str, tuple[int, ...]], errors: list[str],
               name: str) -> xarray.Dataset:
    """The Dataset `sweep` returns (see there), from `consolidate`'s shapes and errors."""
    xr = _require("xarray", "for its Dataset (or pass output='dataframe')")
    data = {k: np.full(plan.shape + shape, np.nan) for k, shape in shapes.items()}
    error = np.full(plan.shape, "", dtype=object)
    for i in range(plan.n_points):
        at = plan.position(i)
        error[at] = errors[i]
        for k, v in outcomes[i].values.items():
            if v.shape == shapes[k]:
                data[k][at] = v
    coords = {n: (n, np.asarray(a)) for n, a in zip(plan.names, plan.axes)}
    if plan.seeds is not None:
        coords["seed"] = ("seed", np.asarray(plan.seeds))
    variables = {k: (plan.dims + tuple(f"{k}_dim{j}" for j in range(len(shapes[k]))), a) for k, a in data.items()}
    variables["error"] = (plan.dims, error.astype(str))
    attrs = {"fn": name, "n_points": plan.n_points, "n_failed": sum(bool(e) for e in errors)}
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def to_dataframe(plan: Plan, outcomes: dict[int, Outcome], shapes: dict[str, tuple[int, ...]],
                 errors: list[str]) -> pandas.DataFrame:
    """One row per point: parameters, seed, values (floats or arrays), error."""
    pd = _require("pandas", "for its DataFrame")
    rows = []
    for i in range(plan.n_points):
        params, seed = plan.point(i)
        row: dict[str, Any] = dict(params)
        if seed is not None:
            row["seed"] = seed
        values = outcomes[i].values
        for k in shapes:
            v = values.get(k)
            row[k] = np.nan if v is None else (float(v) if v.ndim == 0 else v)
        row["error"] = errors[i]
        rows.append(row)
    return pd.DataFrame(rows, columns=[*plan.dims, *shapes, "error"])


# --------------------------------------------------------------------------- #
# The front door
# --------------------------------------------------------------------------- #


def sweep(
    fn: Callable[..., Mapping[str, Any]],
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    *,
    client: Client | str | Any | None = None,
    seeds: int | Sequence[int] | None = None,
    retries: int = 2,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    output: Literal["dataset", "dataframe"] = "dataset",
    chunksize: int = 1,
) -> xarray.Dataset | pandas.DataFrame:
    """Call `fn` at every point of a parameter grid, on a Dask cluster, and
    gather what it returns into one labelled Dataset.

    Parameters
    ----------
    fn : callable
        ``fn(**params)`` (``fn(**params, seed=s)`` with `seeds`) builds, runs
        or trains whatever it likes and returns a dict of real numbers or
        small numeric arrays, e.g. ``{"nrmse": 0.03, "loss": history}``. It
        runs in worker processes: it must be picklable (a module-level
        function, or one defined in a notebook or ``__main__``, which is
        pickled by value) and should load large data itself rather than
        close over it.
    grid : dict of list, or list of dict
        A dict of lists sweeps their Cartesian product (the first key varies
        slowest); a list of dicts sweeps exactly those points. Values are
        numbers or strings (they become coordinates).
    client : None, dask.distributed.Client, cluster, str, or "serial"
        None: start a ``LocalCluster`` for this call (one single-threaded
        worker process per core, at most one per task) and close it after.
        A ``Client``, a cluster object (``LocalCluster``, ``SLURMCluster``,
        ...) or a scheduler address (``"tcp://10.0.0.1:8786"``): run there.
        ``"serial"``: run in this process, in order, without Dask (for
        debugging; `retries` and `chunksize` have no effect).
    seeds : int or list of int, optional
        Repeat every point for each seed (``seeds=5``: seeds 0..4), passing
        ``seed=`` to `fn`; adds the dimension ``seed``.
    retries : int
        How often a point is run again when it fails outside `fn`: passed to
        Dask as the task's ``retries`` and, for the cluster started here, as
        the scheduler's ``allowed_failures`` (how many of its workers may die
        while running a point before it is given up as lost). With your own
        cluster the latter is its ``distributed.scheduler.allowed-failures``
        setting (default 3). An exception raised by `fn` is not retried.
    checkpoint : str or path-like, optional
        A JSON-lines file that records each finished point as it arrives.
        Calling the same sweep again (same `fn` name, grid and seeds) skips
        the points it holds, and gives the same result as an uninterrupted
        sweep. A file from another sweep, or damaged, raises
        `CheckpointError` and is left untouched (a last line cut off
        mid-write excepted: it is dropped with a warning).
    progress : bool
        A progress bar (tqdm when installed, else a line of text on stderr).
    output : {"dataset", "dataframe"}
        ``"dataframe"``: a pandas DataFrame, one row per point.
    chunksize : int
        Points per Dask task. Each task costs the scheduler, the network and
        the worker about a millisecond or more, which matters for points that
        take only milliseconds themselves: chunks of 10-100 of them amortise
        it. The points of a chunk arrive (and are checkpointed) together, and
        a chunk whose worker dies is run again whole.

    Returns
    -------
    xarray.Dataset
        One dimension per swept parameter (coordinates: its values) and
        ``seed``; one float64 variable per key `fn` returned, with extra
        dimensions ``<key>_dim0, <key>_dim1, ...`` for arrays; and
        ``error``, a string per point, ``""`` where the point went well.
        A point that failed is NaN in every variable. For a list of points,
        combinations not in the list are NaN with an empty ``error``.
        ``attrs``: ``fn``, ``n_points``, ``n_failed``.
    pandas.DataFrame
        With ``output="dataframe"``: columns for the parameters, ``seed``,
        each returned key (floats, or arrays for array values) and
        ``error``.

    Raises
    ------
    TypeError, ValueError
        Bad `grid`, `seeds`, `retries`, `output`, `chunksize` or `client`,
        before anything runs. A TypeError also when the first point to
        return gives something other than a dict of numbers or arrays; the
        remaining points are then cancelled. (Later points that do are
        recorded as failed.)
    CheckpointError
        A checkpoint from another sweep, or a damaged one.
    ImportError
        dask.distributed (not needed with ``client="serial"``), xarray or
        pandas are missing.

    Warns
    -----
    UserWarning
        When some points failed: how many, and the first one's error.

    Notes
    -----
    Each point is one Dask task. The Numba kernels compile (or load from
    the on-disk cache) once per worker process, on its first point; workers
    on one filesystem share the cache, so later clusters load them. A
    script that calls `sweep` without a `client` must keep the call under
    ``if __name__ == "__main__":``, as for any multiprocessing code, since
    the worker processes are spawned and import the script's module.

    Values are stored as float64 (ints beyond 2**53 lose precision), so that
    NaN can mark the failed points.

    Examples
    --------
    ``client="serial"`` runs in this process; without it, the same call
    runs on a local cluster, and with ``client="tcp://host:8786"`` on a
    remote one.

    >>> def power(base, exponent, seed):
    ...     return {"value": base ** exponent + seed, "digits": [seed, exponent]}
    >>> ds = sweep(power, {"base": [2, 3], "exponent": [1, 2, 3]}, seeds=[0, 10],
    ...            client="serial", progress=False)
    >>> dict(ds.sizes)
    {'base': 2, 'exponent': 3, 'seed': 2, 'digits_dim0': 2}
    >>> ds["value"].sel(seed=0).values
    array([[ 2.,  4.,  8.],
           [ 3.,  9., 27.]])
    >>> ds["digits"].sel(base=3, exponent=2, seed=10).values
    array([10.,  2.])

    A point that raises is NaN, with its error beside it (and a warning):

    >>> import warnings
    >>> def inverse(x):
    ...     return {"y": 1 / x}
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     ds = sweep(inverse, {"x": [2, 0]}, client="serial", progress=False)
    >>> ds["y"].values, [str(e) for e in ds["error"].values]
    (array([0.5, nan]), ['', 'ZeroDivisionError: division by zero'])
    """
    if not callable(fn):
        raise TypeError(f"`fn` must be callable, got {type(fn).__name__}")
    plan = make_plan(grid, seeds)
    if isinstance(retries, bool) or not isinstance(retries, (int, np.integer)) or retries < 0:
        raise ValueError(f"`retries` must be an int >= 0, got {retries!r}")
    if isinstance(chunksize, bool) or not isinstance(chunksize, (int, np.integer)) or chunksize < 1:
        raise ValueError(f"`chunksize` must be a positive int, got {chunksize!r}")
    if output not in OUTPUTS:
        raise ValueError(f"`output` must be one of {', '.join(repr(o) for o in OUTPUTS)}, got {output!r}")
    if not isinstance(progress, bool):
        raise TypeError(f"`progress` must be True or False, got {progress!r}")
    check_client(client)
    if output == "dataset":
        _require("xarray", "for its Dataset (or pass output='dataframe')")
    else:
        _require("pandas", "for its DataFrame")
    if not (isinstance(client, str) and client == "serial"):
        _require("distributed", 'to run on a cluster (client="serial" runs in this process)')

    book = Checkpoint(checkpoint, plan, fn) if checkpoint is not None else None
    outcomes: dict[int, Outcome] = dict(book.done) if book else {}
    todo = [i for i in range(plan.n_points) if i not in outcomes]
    state = {"returned": any(not o.error for o in outcomes.values())}
    bar = progress_bar(progress, len(todo), len(outcomes))

    def record(i: int, status: str | None, values: dict | None, error: str) -> None:
        if status == INVALID and not state["returned"]:
            kind, _, message = error.partition(": ")
            raise (ValueError if kind == "ValueError" else TypeError)(
                f"{message} (at {plan.label(i)}); the sweep was stopped")
        state["returned"] |= status == OK
        outcome = Outcome(values or {}, error, lost=status is None)
        outcomes[i] = outcome
        if book is not None and not outcome.lost:
            book.append(i, outcome)
        bar.update(bool(error))

    try:
        if todo:
            with connect(client, -(-len(todo) // int(chunksize)), int(retries)) as dask_client:
                try:
                    if dask_client is None:
                        run_serial(fn, plan, todo, record)
                    else:
                        run_dask(dask_client, fn, plan, todo, int(retries), int(chunksize), record)
                finally:
                    bar.close()  # before the cluster shuts down
    finally:
        bar.close()
        if book is not None:
            book.close()

    shapes, errors = consolidate(plan, outcomes)
    failed = [i for i, error in enumerate(errors) if error]
    if failed:
        first = failed[0]
        warnings.warn(f"{len(failed)} of {plan.n_points} points failed; their values are NaN and `error` "
                      f"says why. First: {plan.label(first)}: {errors[first]}", stacklevel=2)
    if output == "dataframe":
        return to_dataframe(plan, outcomes, shapes, errors)
    return to_dataset(plan, outcomes, shapes, errors, fn_name(fn))
