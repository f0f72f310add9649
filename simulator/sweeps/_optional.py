"""dask, xarray and pandas: optional extras, imported when a sweep runs."""

from __future__ import annotations

from types import ModuleType

from ..optional import require

#: What each optional module is for, in the message when it is missing.
WHY = {
    "xarray": "for its Dataset (or pass output='dataframe')",
    "pandas": "for its DataFrame",
    "distributed": 'to run on a cluster (client="serial" runs in this process)',
}


def need(module: str) -> ModuleType:
    """Import one of the modules in `WHY`, or say how to install it."""
    return require(module, "`sweep`", "distributed", WHY[module])
