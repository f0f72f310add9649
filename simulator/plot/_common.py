"""Helpers shared by the plots of `simulator.plot`: importing matplotlib on
first use, new axes, checks of the arguments and reading node values from a
run."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..optional import require

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    from matplotlib.axes import Axes


#: Colour of a node without a value (no run, or an input/output at row 0).
NEUTRAL = "#d0d0d0"


def _matplotlib():
    """Import matplotlib, or raise an ImportError that says how to get it."""
    return require("matplotlib", "simulator.plot", "plot")


def _pyplot():
    _matplotlib()
    import matplotlib.pyplot as plt

    return plt


def _axes(ax, figsize: tuple[float, float]) -> Axes:
    """`ax`, or the axes of a new figure (constrained layout)."""
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def _colormap(cmap):
    """A copy of colormap `cmap` (name or Colormap) that draws NaN neutral grey."""
    mpl = _matplotlib()
    base = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    return base.with_extremes(bad=NEUTRAL)


def _check_result(res, what: str = "res") -> None:
    if not all(hasattr(res, a) for a in ("states", "outputs", "inputs", "times", "network")):
        raise TypeError(f"`{what}` must be a Result from simulator.run or simulator.solve, got {type(res).__name__}")


def _check_network(net, what: str = "net") -> None:
    if not all(hasattr(net, a) for a in ("neurons", "inputs", "outputs", "edges", "to_networkx")):
        raise TypeError(f"`{what}` must be a Network from simulator.compile, got {type(net).__name__}")


def _check_batch(res, batch) -> int:
    """Validate `batch` against the run; return it as a non-negative index."""
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)):
        raise TypeError(f"`batch` must be an int, got {batch!r}")
    batched = res.states.ndim == 3
    if not batched:
        if batch not in (0, -1):
            raise ValueError(f"`batch` is {batch} but the run is not batched: leave `batch` at 0")
        return 0
    size = res.states.shape[1]
    if not -size <= batch < size:
        raise ValueError(f"`batch` is {batch} but the run has a batch of {size} (0..{size - 1})")
    return int(batch) % size


def _check_step(res, step) -> int:
    """Validate a row index of ``res.states``; return it non-negative."""
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
        raise TypeError(f"`step` must be an int (a row of res.states), got {step!r}")
    rows = res.states.shape[0]
    if not -rows <= step < rows:
        raise ValueError(f"`step` is {step} but the run has {rows} rows of states (steps 0..{rows - 1})")
    return int(step) % rows


def _take(array: np.ndarray, batched: bool, batch: int) -> np.ndarray:
    """One batch element of a (time, [batch,] column) array."""
    return array[:, batch] if batched else array


def _names(net, names, default: Sequence) -> list:
    """The node names asked for: None -> `default`, one name -> [name], else the list.

    Unknown names raise the network's KeyError (which names the node).
    """
    if names is None:
        chosen = list(default)
    elif isinstance(names, (str, bytes)) or (isinstance(names, Hashable) and _known(net, names)):
        chosen = [names]
    else:
        try:
            chosen = list(names)
        except TypeError:
            chosen = [names]
    for name in chosen:
        net.locate(name)
    return chosen


def _known(net, name) -> bool:
    try:
        net.locate(name)
    except (KeyError, TypeError):
        return False
    return True


def _finite_abs_max(*arrays: np.ndarray) -> float:
    """Largest finite magnitude over `arrays` (0.0 if there is none)."""
    best = 0.0
    for a in arrays:
        a = np.asarray(a)
        fin = a[np.isfinite(a)]
        if fin.size:
            best = max(best, float(np.abs(fin).max()))
    return best


def _limits(values: float, vmin, vmax) -> tuple[float, float]:
    """Colour limits: symmetric about zero from the largest magnitude, unless given."""
    m = values if values > 0 else 1.0
    return (-m if vmin is None else float(vmin), m if vmax is None else float(vmax))


def _row_aligned(res, name, batch: int) -> np.ndarray:
    """The values of node `name` at every row of ``res.states`` (n_steps + 1,).

    Inputs and outputs have none at row 0 (NaN): ``outputs[s - 1]`` and
    ``inputs[s - 1]`` belong to row ``s``.
    """
    group, i = res.network.locate(name)
    array = {"neurons": res.states, "outputs": res.outputs, "inputs": res.inputs}[group]
    column = _take(array, res.states.ndim == 3, batch)[:, i]
    if group == "neurons":
        return np.asarray(column, dtype=np.float64)
    return np.concatenate([[np.nan], column.astype(np.float64)])


def _time_label(res) -> str:
    mode = getattr(res, "info", {}).get("mode")
    return "step" if mode == "discrete" else "time"


def _label(name) -> str:
    return name if isinstance(name, str) else str(name)
