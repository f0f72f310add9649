"""Optional extras (matplotlib, xarray, pandas, dask), imported on first use."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, user: str, extra: str, why: str = "") -> ModuleType:
    """Import `module`, or raise an ImportError that says who needs it and how
    to install it.

    Parameters
    ----------
    module : str
        Module to import (``"xarray"``, ``"distributed"``, ...).
    user : str
        What needs it, for the message (``"simulator.plot"``).
    extra : str
        The graphrnn extra that installs it (``"plot"``).
    why : str, optional
        What it is needed for, appended after the module name.

    Examples
    --------
    >>> require("json", "this example", "none").__name__
    'json'
    >>> require("no_such_module", "this example", "plot")
    Traceback (most recent call last):
    ...
    ImportError: this example needs no_such_module: pip install "graphrnn[plot]"
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        reason = f" {why}" if why else ""
        raise ImportError(f'{user} needs {module}{reason}: pip install "graphrnn[{extra}]"') from None
