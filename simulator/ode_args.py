"""Validation of `simulator.solve`'s arguments, and their layout for SciPy."""

from __future__ import annotations

import inspect
import warnings

import numpy as np

__all__ = ["check_span", "check_tolerances", "check_options", "tolerance_layout"]

#: Keywords of SciPy's solvers that `solve` sets itself (``vectorized``: the
#: right-hand side takes one state at a time).
SET_BY_SOLVE = ("fun", "t0", "y0", "t_bound", "rtol", "atol", "jac", "vectorized")
#: Keywords that shape the Jacobian SciPy estimates by differences.
DIFFERENCED = ("jac_sparsity", "lband", "uband")


def check_span(t_span, t_eval, signal_end: float):
    """``(t0, t1, t_eval)`` as floats and a float array, checked against each
    other and against the end of the input samples."""
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise ValueError(f"`t_span` must be a pair (t0, t1) of numbers, got {t_span!r}") from None
    if not (np.isfinite(t0) and np.isfinite(t1)):
        raise ValueError(f"`t_span` must be finite, got {(t0, t1)}")
    if not t1 > t0:
        raise ValueError(f"`t_span` must run forward, t0 < t1; got {(t0, t1)}")
    if t1 > signal_end * (1 + 1e-12) + 1e-300:
        raise ValueError(f"the input samples cover t <= {signal_end:g} but `t_span` ends at {t1:g}")
    if t_eval is not None:
        t_eval = np.asarray(t_eval, dtype=np.float64)
        if t_eval.ndim != 1:
            raise ValueError("`t_eval` must be 1-dimensional.")
        if t_eval.size and (t_eval.min() < t0 or t_eval.max() > t1):
            raise ValueError(f"`t_eval` must lie within `t_span` {(t0, t1)}; got values from "
                             f"{t_eval.min():g} to {t_eval.max():g}")
        if np.any(np.diff(t_eval) <= 0):
            raise ValueError("`t_eval` must be strictly increasing.")
    return t0, t1, t_eval


def check_tolerances(rtol, atol):
    """Refuse tolerances that are not positive and finite, or an `rtol` SciPy would not take."""
    for name, value in (("rtol", rtol), ("atol", atol)):
        a = np.asarray(value, dtype=np.float64)
        if a.ndim > 1 or not np.all(np.isfinite(a)) or np.any(a <= 0):
            raise ValueError(f"`{name}` must be a positive finite number (or 1-D array), got {value!r}")
    if np.ndim(rtol) == 0 and rtol < 100 * np.finfo(np.float64).eps:
        raise ValueError(f"`rtol` must be at least {100 * np.finfo(np.float64).eps:.1e} (SciPy's floor), got {rtol}")
    if np.ndim(rtol) == 0 and rtol >= 1:
        raise ValueError(f"`rtol` must be < 1, got {rtol}")


def check_options(options: dict, method: str, jacobian: str) -> dict:
    """The options `solve` passes on to SciPy's `method`; each other one has
    no effect and says so in a warning (once, from `solve`).

    The accepted ones are read from the signature of SciPy's solver class
    (``max_step``, ``first_step``; ``min_step``, ``lband``, ``uband`` for
    LSODA; ``jac_sparsity`` for BDF and Radau), less those `solve` sets
    itself, so they follow the installed SciPy. Those that shape a Jacobian
    SciPy estimates by differences count only with ``jacobian="none"``.
    ``args`` is refused: the inputs come through `x`.
    """
    import scipy.integrate

    if "args" in options:
        raise TypeError("`solve` takes no `args`: the right-hand side is the network's own; "
                        "pass the inputs through `x` (a callable x(t) can close over any parameters)")
    accepted = [name for name, p in inspect.signature(getattr(scipy.integrate, method)).parameters.items()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in SET_BY_SOLVE]
    unknown = [name for name in options if name not in accepted]
    if unknown:
        warnings.warn(f"`solve` option(s) {', '.join(map(repr, unknown))} have no effect with method {method!r}: "
                      f"it passes on to SciPy only {', '.join(map(repr, accepted))}", stacklevel=3)
    differenced = [name for name in options if name in DIFFERENCED and name in accepted]
    if differenced and jacobian != "none":
        warnings.warn(f"{', '.join(map(repr, differenced))} shape the Jacobian SciPy estimates by differences and "
                      f"have no effect with the analytic one that `solve` gives {method}: pass jacobian='none' to "
                      "use them", stacklevel=3)
    return {name: value for name, value in options.items()
            if name in accepted and (name not in DIFFERENCED or jacobian == "none")}


def tolerance_layout(tol, n: int, batch: int, neuron_major: bool, name: str):
    """A tolerance for SciPy: a scalar as is; per neuron (n_neurons,) or per
    state entry (batch * n_neurons, batch-major) laid out as the solver's state."""
    if np.ndim(tol) == 0:
        return tol
    tol = np.asarray(tol, dtype=np.float64)
    if tol.size == n:
        return np.tile(tol, batch) if not neuron_major else np.repeat(tol, batch)
    if tol.size == n * batch:
        return np.ascontiguousarray(tol.reshape(batch, n).T).ravel() if neuron_major else tol
    raise ValueError(f"`{name}` must be a number, or an array of {n} (one per neuron) or {n * batch} "
                     f"(batch x neurons) values; got {tol.size}")
