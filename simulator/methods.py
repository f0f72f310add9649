"""Integration methods by name: the fixed-step ones that `run`, `bptt` and
`train` take with a ``dt`` (`METHODS`), the adaptive ones of `solve`
(`ODE_METHODS`), and the one check of a fixed-step request
(`check_fixed_step`) they share."""

from __future__ import annotations

import numpy as np

from ._kernels.continuous import EULER, EXP_EULER, RK4

__all__ = ["METHODS", "DEFAULT_METHOD", "ODE_METHODS", "check_fixed_step", "check_ode_method"]

#: Fixed-step methods of continuous time, name -> kernel code.
METHODS: dict[str, int] = {"euler": EULER, "exp_euler": EXP_EULER, "rk4": RK4}
#: The fixed-step method used when only ``dt`` is given.
DEFAULT_METHOD = "rk4"
#: SciPy's `solve_ivp` methods, those `solve` takes.
ODE_METHODS: tuple[str, ...] = ("RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA")


def check_fixed_step(dt, method) -> int:
    """Validate `dt` and `method` of a fixed-step run; return the method's
    kernel code (`DEFAULT_METHOD`'s when `method` is None).

    Raises
    ------
    TypeError
        If `dt` is not a real number.
    ValueError
        If `dt` is missing, not finite or not positive, or `method` is not a
        key of `METHODS` (the message lists them, and points an adaptive
        method to ``sim.solve``).
    """
    if dt is None:
        raise ValueError(f"`method={method!r}` needs a time step `dt`")
    if isinstance(dt, bool) or not isinstance(dt, (int, float, np.integer, np.floating)):
        raise TypeError(f"`dt` must be a real number, got {dt!r}")
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"`dt` must be finite and > 0, got {dt}")
    method = DEFAULT_METHOD if method is None else method
    if method not in METHODS:
        valid = ", ".join(repr(m) for m in METHODS)
        hint = " (adaptive ODE methods go through sim.solve)" if method in ODE_METHODS else ""
        raise ValueError(f"`method` must be one of {valid}, got {method!r}{hint}")
    return METHODS[method]


def check_ode_method(method) -> None:
    """Raise a `ValueError` listing `ODE_METHODS` unless `method` is one."""
    if method not in ODE_METHODS:
        raise ValueError(f"`method` must be one of {', '.join(repr(m) for m in ODE_METHODS)}, got {method!r}")
