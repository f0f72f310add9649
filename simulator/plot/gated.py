"""A gated neuron over time: its gates, its state and (LSTM) its cell, `gates`."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import numpy as np

from ._common import _axes, _check_batch, _check_result, _label, _take, _time_label

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    from matplotlib.axes import Axes

    from ..results import Result

#: Each gated unit's gates, in the order `gates` draws them, with the legend's words.
GATES: dict[str, dict[str, str]] = {
    "gru": {"r": "reset", "z": "update", "n": "candidate"},
    "lstm": {"i": "input", "f": "forget", "g": "cell input", "o": "output"},
}


def _gated_neuron(res: Result, node: Hashable) -> tuple[str, int]:
    """The unit and state column of `node`, or an error that says what to pass."""
    net = res.network
    group, i = net.locate(node)  # KeyError naming an unknown node
    units = tuple(getattr(net, "units", ()) or ())
    gated = [n for n, u in zip(net.neurons, units) if u in GATES]
    listing = f"its gated neurons are {gated!r}" if gated else "the network has no gated neurons"
    if group != "neurons":
        role = group[:-1]  # "input" or "output"
        raise ValueError(f"node {node!r} is an {role}, not a hidden neuron: `node` must be a GRU or LSTM "
                         f"neuron ({listing})")
    unit = units[i] if units else "rnn"
    if unit not in GATES:
        raise ValueError(f"neuron {node!r} is a plain {unit!r} unit and has no gates: `node` must be a GRU or "
                         f"LSTM neuron ({listing})")
    if res.gates is None:
        raise ValueError("this run did not record its gates: run it with "
                         "`sim.run(net, x, record_gates=True)` and pass that result")
    return unit, i


def gates(
    res: Result,
    node: Hashable,
    *,
    batch: int = 0,
    ax: Axes | None = None,
    state: bool = True,
    legend: bool = True,
    title: str | None = None,
    **line_kw: Any,
) -> Axes:
    """A GRU or LSTM neuron's gates over time, with its state (and cell state).

    Parameters
    ----------
    res : Result
        From ``simulator.run(net, x, record_gates=True)``.
    node : node name
        A hidden neuron with ``unit="gru"`` or ``unit="lstm"``.
    batch : int
        Which batch element of a batched run.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    state : bool
        Also draw the neuron's state ``h`` (and an LSTM's cell state ``c``).
    legend : bool
        Show a legend.
    title : str, optional
        Default: the node's name and unit.
    **line_kw
        Passed to every ``ax.plot`` (``lw``, ``alpha``, ...).

    Returns
    -------
    matplotlib.axes.Axes
        One Line2D per gate in ``ax.lines``, in the order ``"r"``, ``"z"``,
        ``"n"`` (GRU) or ``"i"``, ``"f"``, ``"g"``, ``"o"`` (LSTM), labelled
        ``"z (update)"`` and so on; then with `state` the state, labelled
        ``"h (state)"``, and an LSTM's cell state, ``"c (cell)"``. Gate
        ``res.gates[q][t]`` is computed in the step from ``states[t]`` to
        ``states[t + 1]`` and drawn at ``times[t + 1]``, beside the state it
        produces; states and cells are drawn at every time of ``res.times``.

    Raises
    ------
    KeyError
        A name that is not a node of the network.
    ValueError
        A node that is an input, an output or a plain neuron (the message
        lists the gated neurons), a run without ``record_gates=True``, a
        `batch` out of range.
    TypeError
        `res` is not a Result, or `batch` not an int.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np, simulator as sim, topologies as tp
    >>> from simulator import plot
    >>> net = sim.compile(tp.gru(1, 3, 1, seed=0))
    >>> res = sim.run(net, np.ones((10, 1)), record_gates=True)
    >>> ax = plot.gates(res, net.neurons[0])
    >>> [line.get_label() for line in ax.lines]
    ['r (reset)', 'z (update)', 'n (candidate)', 'h (state)']
    >>> bool(np.array_equal(ax.lines[1].get_ydata(), res.gates["z"][:, 0]))
    True
    >>> plt.close("all")
    """
    _check_result(res)
    b = _check_batch(res, batch)
    unit, i = _gated_neuron(res, node)
    batched = res.states.ndim == 3
    times = np.asarray(res.times, dtype=np.float64)
    ax = _axes(ax, (7.0, 3.5))
    for key, word in GATES[unit].items():
        kw = {"label": f"{key} ({word})", **line_kw}
        ax.plot(times[1:], _take(res.gates[key], batched, b)[:, i], **kw)
    if state:
        kw = {"label": "h (state)", "color": "black", "lw": 2.0, **line_kw}
        ax.plot(times, _take(res.states, batched, b)[:, i], **kw)
        if unit == "lstm" and res.cells is not None:
            column = list(res.network.cell_neurons).index(res.network.neurons[i])
            kw = {"label": "c (cell)", "color": "grey", "lw": 2.0, "ls": "--", **line_kw}
            ax.plot(times, _take(res.cells, batched, b)[:, column], **kw)
    ax.set_xlabel(_time_label(res))
    ax.set_ylabel("value")
    if legend:
        ax.legend(fontsize=8, ncol=2)
    ax.set_title(title if title is not None else f"{_label(node)} ({unit.upper()})")
    return ax
