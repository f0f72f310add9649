"""`sweep`, the front door: arguments checked, points run, results assembled."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ._assemble import consolidate, to_dataframe, to_dataset
from ._checkpoint import Checkpoint
from ._optional import need
from ._plan import make_plan
from ._point import INVALID, OK, Outcome, fn_name
from ._progress import sweep_bar
from ._run import check_client, connect, run_dask, run_serial

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    import pandas
    import xarray
    from distributed import Client

#: Valid values of ``output=``.
OUTPUTS = ("dataset", "dataframe")


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
        the points it holds that went well and runs the failed ones again
        (after a fix to `fn`, say), and gives the same result as an
        uninterrupted sweep. A file from another sweep, or damaged, raises
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
        need("xarray")
    else:
        need("pandas")
    if not (isinstance(client, str) and client == "serial"):
        need("distributed")

    book = Checkpoint(checkpoint, plan, fn) if checkpoint is not None else None
    # a resumed sweep keeps the points that went well and runs the failed ones again
    outcomes: dict[int, Outcome] = {i: o for i, o in book.done.items() if not o.error} if book else {}
    todo = [i for i in range(plan.n_points) if i not in outcomes]
    state = {"returned": any(not o.error for o in outcomes.values())}
    bar = sweep_bar(progress, len(todo), len(outcomes))

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
