"""One point, on a worker: the user's function called and its return value checked."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Per-point status codes returned from a worker.
OK, RAISED, INVALID = "ok", "raised", "invalid"


def fn_name(fn: Callable) -> str:
    """``module.qualname`` of `fn` (of the wrapped function for a partial)."""
    inner = getattr(fn, "func", fn)
    module = getattr(inner, "__module__", None) or type(inner).__module__
    qualname = getattr(inner, "__qualname__", None) or type(inner).__qualname__
    return f"{module}.{qualname}"


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


def call_chunk(fn: Callable[..., Any], chunk: Sequence[tuple[dict, int | None]],
               taken: Sequence[str]) -> list[tuple[str, dict[str, np.ndarray] | None, str]]:
    """`call_point` over several points, in one task."""
    return [call_point(fn, params, seed, taken) for params, seed in chunk]


@dataclass
class Outcome:
    """What became of one point."""

    values: dict[str, np.ndarray]
    error: str = ""
    #: Lost to the cluster rather than failed in `fn`: not checkpointed.
    lost: bool = False
