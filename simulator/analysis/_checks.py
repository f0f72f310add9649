"""Argument checks shared by the analyses (errors name the argument)."""

from __future__ import annotations

import numpy as np


def check_int(value, name: str, minimum: int) -> int:
    """`value` as an int >= `minimum` (TypeError for another kind)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    return int(value)


def check_real(value, name: str, positive: bool = True) -> float:
    """`value` as a finite float (> 0 when `positive`)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"`{name}` must be finite{' and > 0' if positive else ''}, got {value}")
    return value


def real_array(value, name: str, shape: tuple, what: str) -> np.ndarray:
    """`value` as a finite float64 array of `shape` (None entries: any size);
    `what` describes the expected shape for the message."""
    try:
        a = np.asarray(value)
    except ValueError:
        raise ValueError(f"`{name}` must have shape {what}; got ragged rows") from None
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)) or a.dtype == bool:
        raise TypeError(f"`{name}` must hold real numbers, got dtype {a.dtype}")
    if a.ndim != len(shape) or any(s is not None and s != t for s, t in zip(shape, a.shape)):
        raise ValueError(f"`{name}` must have shape {what}; got {a.shape}")
    a = a.astype(np.float64)
    bad = np.argwhere(~np.isfinite(a))
    if bad.size:
        where = ", ".join(str(int(i)) for i in bad[0])
        raise ValueError(f"`{name}[{where}]` is {a[tuple(bad[0])]}: values must be finite")
    return a


def constant_input(x, n_in: int) -> np.ndarray:
    """The input held constant: zeros for None, else shape (n_in,)."""
    if x is None:
        return np.zeros(n_in)
    return real_array(x, "x", (n_in,), f"({n_in},), one value per input held constant")
