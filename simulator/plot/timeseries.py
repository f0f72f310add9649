"""Activity over time: the heat map `activity` and the line traces `traces`."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._common import (
    _axes,
    _check_batch,
    _check_result,
    _colormap,
    _finite_abs_max,
    _label,
    _limits,
    _names,
    _row_aligned,
    _take,
    _time_label,
)

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    from matplotlib.axes import Axes

    from ..results import Result


# -------------------------------------------------------------------- activity
def activity(
    res: Result,
    *,
    batch: int = 0,
    neurons: Sequence[Hashable] | Hashable | None = None,
    ax: Axes | None = None,
    cmap: Any = "RdBu_r",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar: bool = True,
    max_labels: int = 40,
    title: str | None = None,
) -> Axes:
    """Heat map of the activity: one row per neuron, one column per time.

    Parameters
    ----------
    res : Result
        From `simulator.run` or `simulator.solve`.
    batch : int
        Which batch element of a batched run.
    neurons : sequence of node names, optional
        Rows to show, top to bottom (default: every hidden neuron, in state
        order). Outputs and inputs may be named too; they have no value at
        row 0 (drawn grey; see the module notes on alignment).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    cmap : str or Colormap
        Colour map; NaN is drawn neutral grey.
    vmin, vmax : float, optional
        Colour limits (default: symmetric about zero, from the largest
        magnitude shown).
    colorbar : bool
        Add a colour bar.
    max_labels : int
        At most this many row labels; with more rows only every k-th is
        labelled.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        The heat map is ``ax.images[0]`` (an AxesImage with array shape
        (n_rows, n_steps + 1)) when ``res.times`` is evenly spaced; a
        QuadMesh in ``ax.collections`` for uneven times (ODE results).

    Raises
    ------
    KeyError
        A name that is not a node of the network.
    ValueError
        A `batch` out of range, or nothing to show.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np, simulator as sim, topologies as tp
    >>> from simulator import plot
    >>> net = sim.compile(tp.four_neuron())
    >>> res = sim.run(net, np.eye(6, 2))
    >>> ax = plot.activity(res)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['A1', 'A2', 'B1', 'B2']
    >>> ax.images[0].get_array().shape
    (4, 7)
    >>> plt.close("all")
    """
    _check_result(res)
    b = _check_batch(res, batch)
    names = _names(res.network, neurons, res.network.neurons)
    if not names:
        raise ValueError("nothing to show: `neurons` is empty" if neurons is not None
                         else "nothing to show: the network has no hidden neurons; name outputs in `neurons`")
    if isinstance(max_labels, bool) or not isinstance(max_labels, (int, np.integer)) or max_labels < 1:
        raise ValueError(f"`max_labels` must be a positive int, got {max_labels!r}")
    data = np.stack([_row_aligned(res, name, b) for name in names])
    n_rows, n_cols = data.shape
    lo, hi = _limits(_finite_abs_max(data), vmin, vmax)
    ax = _axes(ax, (7.0, min(8.0, max(2.5, 0.25 * n_rows + 1.5))))
    cm = _colormap(cmap)
    times = np.asarray(res.times, dtype=np.float64)
    steps = np.diff(times)
    if steps.size == 0 or np.allclose(steps, steps[0], rtol=1e-6, atol=0.0):
        half = 0.5 * (float(steps[0]) if steps.size else 1.0)
        mappable = ax.imshow(data, aspect="auto", cmap=cm, vmin=lo, vmax=hi, interpolation="nearest",
                             extent=(times[0] - half, times[-1] + half, n_rows - 0.5, -0.5))
    else:
        mid = 0.5 * (times[1:] + times[:-1])
        edges = np.concatenate([[times[0] - 0.5 * steps[0]], mid, [times[-1] + 0.5 * steps[-1]]])
        mappable = ax.pcolormesh(edges, np.arange(n_rows + 1) - 0.5, data, cmap=cm, vmin=lo, vmax=hi)
        ax.set_ylim(n_rows - 0.5, -0.5)
    every = math.ceil(n_rows / max_labels)
    ticks = np.arange(0, n_rows, every)
    ax.set_yticks(ticks, [_label(names[i]) for i in ticks], fontsize=8 if n_rows > 12 else None)
    ax.set_xlabel(_time_label(res))
    ax.set_ylabel("neuron")
    if colorbar:
        ax.figure.colorbar(mappable, ax=ax, label="activity", shrink=0.9)
    if title is not None:
        ax.set_title(title)
    return ax


# ---------------------------------------------------------------------- traces
def traces(
    res: Result,
    neurons: Sequence[Hashable] | Hashable | None = None,
    *,
    batch: int = 0,
    ax: Axes | None = None,
    max_neurons: int = 8,
    legend: bool | None = None,
    title: str | None = None,
    **line_kw: Any,
) -> Axes:
    """Line traces of chosen nodes against ``res.times``.

    Parameters
    ----------
    res : Result
    neurons : node name or sequence of names, optional
        Hidden neurons (``states``, n_steps + 1 points), outputs
        (``outputs[t]`` drawn at ``times[t + 1]``) or inputs (held over each
        step, drawn as steps). Default: the first `max_neurons` hidden neurons.
    batch : int
        Which batch element of a batched run.
    ax : matplotlib Axes, optional
    max_neurons : int
        How many neurons the default shows.
    legend : bool, optional
        Show a legend with the names (default: when there are at most 12 lines).
    title : str, optional
    **line_kw
        Passed to every ``ax.plot`` (``lw``, ``alpha``, ...).

    Returns
    -------
    matplotlib.axes.Axes
        One Line2D per node in ``ax.lines``, labelled with its name.

    Raises
    ------
    KeyError
        A name that is not a node of the network.
    ValueError
        A `batch` out of range.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np, simulator as sim, topologies as tp
    >>> from simulator import plot
    >>> res = sim.run(sim.compile(tp.four_neuron()), np.eye(6, 2))
    >>> ax = plot.traces(res, ["A1", "B1", "Output"])
    >>> [line.get_label() for line in ax.lines]
    ['A1', 'B1', 'Output']
    >>> plt.close("all")
    """
    _check_result(res)
    b = _check_batch(res, batch)
    if isinstance(max_neurons, bool) or not isinstance(max_neurons, (int, np.integer)) or max_neurons < 1:
        raise ValueError(f"`max_neurons` must be a positive int, got {max_neurons!r}")
    names = _names(res.network, neurons, res.network.neurons[:max_neurons])
    ax = _axes(ax, (7.0, 3.5))
    times = np.asarray(res.times, dtype=np.float64)
    batched = res.states.ndim == 3
    discrete = getattr(res, "info", {}).get("mode") == "discrete"
    for name in names:
        group, i = res.network.locate(name)
        kw = dict(line_kw)
        kw.setdefault("label", _label(name))
        if group == "neurons":
            values = _take(res.states, batched, b)[:, i]
            if discrete and len(times) <= 200:
                kw.setdefault("marker", ".")
            ax.plot(times, values, **kw)
        elif group == "outputs":
            values = _take(res.outputs, batched, b)[:, i]
            kw.setdefault("ls", "--")
            ax.plot(times[1:], values, **kw)
        else:
            values = _take(res.inputs, batched, b)[:, i]
            held = np.concatenate([values, values[-1:]])
            kw.setdefault("drawstyle", "steps-post")
            kw.setdefault("ls", ":")
            ax.plot(times[: len(held)], held, **kw)
    ax.set_xlabel(_time_label(res))
    ax.set_ylabel("activity")
    if legend or (legend is None and 0 < len(names) <= 12):
        ax.legend(fontsize=8, ncol=1 if len(names) <= 6 else 2)
    if title is not None:
        ax.set_title(title)
    return ax
