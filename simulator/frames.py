"""Labelled views of a `Result`: xarray (time, [batch,] neuron) and pandas.

xarray and pandas are optional extras (``pip install "graphrnn[xarray]"``),
imported only when a conversion is asked for.

Alignment in time: ``states[t]`` is the state at ``times[t]``; ``outputs[t]``
is read from ``states[t + 1]`` and so sits at ``times[t + 1]``; ``inputs[t]``
drives the step from ``times[t]`` to ``times[t + 1]`` and sits at ``times[t]``.
A gated run's ``cells[t]`` (LSTM cell states) sit at ``times[t]`` like the
states; ``gates[q][t]`` is computed in the step into ``states[t + 1]`` and sits
at ``times[t + 1]`` like the outputs.
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
WHAT = ("states", "outputs", "inputs", "cells", "gates", "all")


def _labels(names: Sequence) -> np.ndarray:
    """Node names as a 1-D object array (tuples stay tuples, not rows)."""
    out = np.empty(len(names), dtype=object)
    out[:] = list(names)
    if all(isinstance(n, str) for n in names):
        return out.astype(str) if len(names) else np.array([], dtype=str)
    return out


def _stacked_gates(res: Result) -> np.ndarray:
    """``res.gates`` as one array, shape (n_gates, n_steps, [batch,] n_neurons)."""
    return np.stack([res.gates[key] for key in res.gates])


def _padded(res: Result, what: str) -> np.ndarray:
    """`outputs`, `inputs` or the stacked gates on the full time axis, NaN where undefined."""
    if what == "gates":
        a = _stacked_gates(res)
        full = np.full((a.shape[0], res.times.shape[0]) + a.shape[2:], np.nan, dtype=a.dtype)
        full[:, 1:] = a
        return full
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
    if res.cells is not None:
        groups["cells"] = ("cell", net.cell_neurons)
    if res.gates is not None:
        groups["gates"] = ("neuron", net.neurons)
    if what != "all" and what not in groups:
        raise ValueError("this run recorded no gates: run it with `sim.run(net, x, record_gates=True)`"
                         if what == "gates" else
                         "this run has no cell states: only a network with LSTM neurons has them")

    def array(name: str) -> Any:
        dim, names = groups[name]
        if name in ("states", "cells"):
            values, time = getattr(res, name), res.times
        elif what == "all":
            values, time = _padded(res, name), res.times
        elif name == "gates":
            values, time = _stacked_gates(res), res.times[1:]
        else:
            values = getattr(res, name)
            time = res.times[1:] if name == "outputs" else res.times[:-1]
        lead, extra = (("gate",), {"gate": list(res.gates)}) if name == "gates" else ((), {})
        return xr.DataArray(values, dims=(*lead, "time", *batch, dim), name=name, attrs=attrs,
                            coords={**coords, **extra, "time": time, dim: _labels(names)})

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
