"""Labelled views of a `Result`: xarray (time, [batch,] neuron) and pandas.

xarray and pandas are optional extras (``pip install "graphrnn[xarray]"``),
imported only when a conversion is asked for.

Alignment in time: ``states[t]`` is the state at ``times[t]``; ``outputs[t]``
is read from ``states[t + 1]`` and so sits at ``times[t + 1]``; ``inputs[t]``
drives the step from ``times[t]`` to ``times[t + 1]`` and sits at ``times[t]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .optional import require

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    from .results import Result

__all__ = ["to_xarray", "to_pandas", "WHAT"]

#: What `to_xarray` can give.
WHAT = ("states", "outputs", "inputs", "all")


def _labels(names: Sequence) -> np.ndarray:
    """Node names as a 1-D object array (tuples stay tuples, not rows)."""
    out = np.empty(len(names), dtype=object)
    out[:] = list(names)
    if all(isinstance(n, str) for n in names):
        return out.astype(str) if len(names) else np.array([], dtype=str)
    return out


def _padded(res: Result, what: str) -> np.ndarray:
    """`outputs` or `inputs` on the full time axis, NaN where undefined."""
    a = getattr(res, what)
    full = np.full((res.times.shape[0],) + a.shape[1:], np.nan, dtype=a.dtype)
    if what == "outputs":
        full[1:] = a
    else:
        full[:-1] = a
    return full


def to_xarray(res: Result, what: str = "states") -> Any:
    """The history as labelled xarray data (see `Result.to_xarray`)."""
    xr = require("xarray", "Result.to_xarray", "xarray")
    if what not in WHAT:
        raise ValueError(f"`what` must be one of {WHAT}, got {what!r}")
    net = res.network
    batch = ("batch",) if res.batched else ()
    coords: dict[str, Any] = {"time": res.times}
    if res.batched:
        coords["batch"] = np.arange(res.states.shape[1])
    attrs = {k: v for k, v in res.info.items() if isinstance(v, (str, int, float, bool))}
    groups = {"states": ("neuron", net.neurons), "outputs": ("output", net.outputs),
              "inputs": ("input", net.inputs)}

    def array(name: str) -> Any:
        dim, names = groups[name]
        if name == "states":
            values, time = res.states, res.times
        elif what == "all":
            values, time = _padded(res, name), res.times
        else:
            values = getattr(res, name)
            time = res.times[1:] if name == "outputs" else res.times[:-1]
        return xr.DataArray(values, dims=("time", *batch, dim), name=name, attrs=attrs,
                            coords={**coords, "time": time, dim: _labels(names)})

    if what != "all":
        return array(what)
    return xr.Dataset({name: array(name) for name in groups}, attrs=attrs)


def to_pandas(res: Result, batch: int | None = None, inputs: bool = False) -> Any:
    """One batch element as a DataFrame (see `Result.to_pandas`)."""
    pd = require("pandas", "Result.to_pandas", "xarray")
    if res.batched:
        size = res.states.shape[1]
        if batch is None:
            raise ValueError(f"this result has a batch of {size}: pass `batch=` (0 .. {size - 1})")
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or not -size <= batch < size:
            raise ValueError(f"`batch` must be an int in 0 .. {size - 1}, got {batch!r}")
        pick = (slice(None), batch)
    else:
        if batch not in (None, 0):
            raise ValueError(f"this result is unbatched: `batch` must be None or 0, got {batch!r}")
        pick = (slice(None),)
    net = res.network
    parts = [(net.neurons, res.states[pick]), (net.outputs, _padded(res, "outputs")[pick])]
    if inputs:
        parts.append((net.inputs, _padded(res, "inputs")[pick]))
    columns = [name for names, _ in parts for name in names]
    values = np.concatenate([v for _, v in parts], axis=1)
    index = pd.Index(res.times, name="time")
    return pd.DataFrame(values, index=index, columns=pd.Index(_labels(columns), tupleize_cols=False))
