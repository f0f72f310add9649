"""dask, xarray and pandas: optional extras, imported when a sweep runs."""

from __future__ import annotations

INSTALL = 'pip install "graphrnn[distributed]"'


def _require(module: str, what: str):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise ImportError(f"`sweep` needs {module} {what}: {INSTALL}") from None
