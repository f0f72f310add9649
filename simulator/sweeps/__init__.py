"""`sweep`: parameter sweeps and seed ensembles, in one process or on a Dask cluster.

Dask's ``distributed`` scheduler does the distributing: it places the points
on worker processes, reruns the ones whose worker died and restarts the
worker. This package lays the points out, guards the user's function, keeps
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

from ._checkpoint import CHECKPOINT_FORMAT, CheckpointError
from ._sweep import OUTPUTS, sweep

__all__ = ["sweep", "CheckpointError", "OUTPUTS", "CHECKPOINT_FORMAT"]
