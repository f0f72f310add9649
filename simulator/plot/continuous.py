"""Continuous time: `trajectories` of one neuron at several steps dt beside the
ODE, and the `phase_portrait` of two neurons with the vector field."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from ._common import (
    _axes,
    _check_batch,
    _check_network,
    _check_result,
    _label,
    _row_aligned,
    _take,
)

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    from matplotlib.axes import Axes

    from ..network import Network
    from ..results import Result


#: Field styles of `phase_portrait`.
FIELDS = ("stream", "quiver")
#: Colour of the nullclines of `phase_portrait`.
NULLCLINE = "#e07b00"


# ---------------------------------------------------------------- trajectories
def _run_label(res, key=None) -> str:
    info = getattr(res, "info", {}) or {}
    method = info.get("method")
    if key is not None and not isinstance(key, (int, float, np.integer, np.floating)):
        return _label(key)
    dt = key if key is not None else info.get("dt")
    if dt is None:
        return f"{method}" if method else "run"
    return f"{method} dt = {float(dt):g}" if method else f"dt = {float(dt):g}"


def trajectories(
    runs: Mapping[Any, Result] | Sequence[Result] | Result,
    reference: Result | None = None,
    *,
    neuron: Hashable | None = None,
    batch: int = 0,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """One neuron in continuous time: fixed-step runs at several dt beside
    the ODE solution.

    Parameters
    ----------
    runs : dict, sequence of Result, or Result
        ``{dt: Result}`` (keys that are not numbers are used as labels as
        they are), or Results labelled from their ``info`` (method and dt;
        a discrete run is labelled ``"run"``).
    reference : Result, optional
        An ODE solution (`simulator.solve`), drawn as a thick dashed black line.
    neuron : node name, optional
        Which node (default: the first hidden neuron). An output's values
        belong to ``times[1:]`` (the line has no point at ``times[0]``).
    batch : int
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        One Line2D per run, then one for the reference; labelled.

    Raises
    ------
    KeyError
        A `neuron` that is not a node of every run's network.
    ValueError
        No runs, a `batch` out of range, or no hidden neuron to default to.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np, simulator as sim, topologies as tp
    >>> from simulator import plot
    >>> net = sim.compile(tp.four_neuron())
    >>> x = lambda dt: np.ones((round(2 / dt), 2))
    >>> runs = {dt: sim.run(net, x(dt), dt=dt, method="euler") for dt in (0.5, 0.25)}
    >>> ode = sim.solve(net, np.ones((2, 2)), (0.0, 2.0), dt=1.0, method="RK45")
    >>> ax = plot.trajectories(runs, ode, neuron="B1")
    >>> [line.get_label() for line in ax.lines]
    ['euler dt = 0.5', 'euler dt = 0.25', 'ODE (RK45)']
    >>> plt.close("all")
    """
    if isinstance(runs, Mapping):
        items = list(runs.items())
    elif hasattr(runs, "states"):
        items = [(None, runs)]
    else:
        items = [(None, r) for r in runs]
    if not items:
        raise ValueError("`runs` is empty: give a dict dt -> Result or a list of Results")
    for key, r in items:
        _check_result(r, "runs" if key is None else f"runs[{key!r}]")
    if reference is not None:
        _check_result(reference, "reference")
    first = items[0][1]
    if neuron is None and not first.network.neurons:
        raise ValueError("nothing to show: the network has no hidden neurons; name an output in `neuron`")
    name = first.network.neurons[0] if neuron is None else neuron
    ax = _axes(ax, (6.0, 3.5))
    styles = ["-", "--", "-.", ":"]
    for k, (key, r) in enumerate(items):
        b = _check_batch(r, batch)
        values = _row_aligned(r, name, b)
        ax.plot(np.asarray(r.times, dtype=np.float64), values, styles[k % len(styles)], lw=1.3,
                marker="." if len(values) <= 60 else None, ms=4, label=_run_label(r, key))
    if reference is not None:
        b = _check_batch(reference, batch)
        method = (getattr(reference, "info", {}) or {}).get("method")
        ax.plot(np.asarray(reference.times, dtype=np.float64), _row_aligned(reference, name, b), color="black",
                ls=(0, (4, 2)), lw=2.2, alpha=0.7, label=f"ODE ({method})" if method else "reference")
    ax.set_xlabel("time")
    ax.set_ylabel(_label(name))
    ax.legend(fontsize=8)
    if title is not None:
        ax.set_title(title)
    return ax


# -------------------------------------------------------------- phase portrait
def _vector_field(net, ix: int, iy: int, base: np.ndarray, X: np.ndarray, Y: np.ndarray, drive) -> tuple:
    """dh/dt of neurons `ix`, `iy` on the grid (X, Y), the others held at `base`.

    One Euler step of ``simulator.run`` with dt = 1 gives
    ``h + (phi(a) - h) / tau``, the right-hand side plus h, for every grid
    point at once (as a batch).
    """
    from ..simulate import run

    h0 = np.repeat(base[None, :], X.size, axis=0)
    h0[:, ix] = X.ravel()
    h0[:, iy] = Y.ravel()
    x = np.zeros((1, net.n_inputs)) if drive is None else np.asarray(drive, dtype=np.float64).reshape(1, -1)
    if x.shape != (1, net.n_inputs):
        raise ValueError(f"`drive` must have shape ({net.n_inputs},) (one value per input), "
                         f"got {np.shape(drive)}")
    out = run(net, x, h0=h0, dt=1.0, method="euler", check_finite=False)
    rate = np.asarray(out.states[1] - out.states[0], dtype=np.float64)
    return rate[:, ix].reshape(X.shape), rate[:, iy].reshape(X.shape)


def _span(lo: float, hi: float) -> tuple[float, float]:
    width = hi - lo
    pad = 0.15 * width if width > 0 else 0.5
    return lo - pad, hi + pad


def phase_portrait(
    res: Result,
    x: Hashable,
    y: Hashable,
    *,
    batch: int = 0,
    ax: Axes | None = None,
    net: Network | None = None,
    field: Literal["stream", "quiver"] = "stream",
    grid: int = 21,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    drive: ArrayLike | None = None,
    nullclines: bool = True,
    density: float = 0.8,
    arrows: int = 6,
    title: str | None = None,
) -> Axes:
    """The trajectory of neuron `x` against neuron `y`, with the vector field
    of the continuous-time dynamics.

    Parameters
    ----------
    res : Result
    x, y : node names
        Two hidden neurons of ``res.network`` (horizontal, vertical axis).
    batch : int
    ax : matplotlib Axes, optional
    net : Network, optional
        When given (it must have neurons `x` and `y`), the vector field
        ``dh/dt = (-h + phi(a)) / tau`` of `x` and `y` is drawn over the
        plane, every other neuron held at its final state in `res` (matched
        by name; zero if `res` has no such neuron) and the inputs at `drive`.
        For a two-neuron network this is the exact phase portrait.
    field : {"stream", "quiver"}
        Stream lines or arrows.
    grid : int
        Grid points per axis of the field.
    xlim, ylim : (float, float), optional
        Extent of the field (default: the trajectory's, padded).
    drive : array_like, shape (n_inputs,), optional
        Constant inputs for the field (default zeros).
    nullclines : bool
        Draw the nullclines, where dx/dt = 0 (solid) and dy/dt = 0 (dashed).
    density : float
        Density of the stream lines (``matplotlib``'s ``streamplot``).
    arrows : int
        Arrows along the trajectory showing its direction.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        The trajectory is ``ax.lines[0]``, the start (circle) and end
        (square) markers the next two lines.

    Raises
    ------
    KeyError
        `x` or `y` not a node of the network (or of `net`).
    ValueError
        `x` or `y` not a hidden neuron, the same neuron twice, an unknown
        `field`, a `batch` out of range.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np, networkx as nx, simulator as sim
    >>> from simulator import plot
    >>> G = nx.DiGraph([("u", "v", {"weight": 1.5}), ("v", "u", {"weight": -1.5}), ("u", "u", {"weight": 0.5})])
    >>> net = sim.compile(G)
    >>> res = sim.run(net, 100, h0=[0.8, 0.0], dt=0.1, method="rk4")
    >>> ax = plot.phase_portrait(res, "u", "v", net=net)
    >>> [line.get_label() for line in ax.lines[:3]]
    ['trajectory', 'start', 'end']
    >>> plt.close("all")
    """
    _check_result(res)
    if field not in FIELDS:
        raise ValueError(f"`field` must be one of {', '.join(map(repr, FIELDS))}, got {field!r}")
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < 2:
        raise ValueError(f"`grid` must be an int >= 2, got {grid!r}")
    b = _check_batch(res, batch)
    for name in (x, y):
        group, _ = res.network.locate(name)
        if group != "neurons":
            raise ValueError(f"node {name!r} is {'an' if group[0] in 'aeiou' else 'a'} {group[:-1]}, "
                             "not a hidden neuron: a phase portrait needs two neurons")
    if x == y:
        raise ValueError(f"`x` and `y` are both {x!r}: choose two different neurons")
    states = _take(res.states, res.states.ndim == 3, b)
    _, i = res.network.locate(x)
    _, j = res.network.locate(y)
    hx, hy = np.asarray(states[:, i], dtype=np.float64), np.asarray(states[:, j], dtype=np.float64)

    ax = _axes(ax, (4.8, 4.5))
    ax.plot(hx, hy, color="black", lw=1.5, label="trajectory", zorder=3)
    ax.plot(hx[:1], hy[:1], "o", color="#2e7d32", ms=7, label="start", zorder=4)
    ax.plot(hx[-1:], hy[-1:], "s", color="#6a1b9a", ms=7, label="end", zorder=4)
    n = len(hx)
    if arrows and n > 2:
        for k in np.unique(np.linspace(0, n - 2, arrows + 2).round().astype(int)[1:-1]):
            if hx[k + 1] != hx[k] or hy[k + 1] != hy[k]:
                ax.annotate("", xy=(hx[k + 1], hy[k + 1]), xytext=(hx[k], hy[k]), zorder=4,
                            arrowprops=dict(arrowstyle="-|>", color="black", lw=1.2, mutation_scale=14))

    if net is not None:
        _check_network(net)
        ix = net.locate(x)
        iy = net.locate(y)
        for name, (group, _) in ((x, ix), (y, iy)):
            if group != "neurons":
                raise ValueError(f"node {name!r} is not a hidden neuron of `net`")
        final = states[-1]
        base = np.array([float(final[res.network.locate(n)[1]]) if _is_neuron(res.network, n) else 0.0
                         for n in net.neurons])
        x0, x1 = (tuple(xlim) if xlim is not None else _span(float(hx.min()), float(hx.max())))
        y0, y1 = (tuple(ylim) if ylim is not None else _span(float(hy.min()), float(hy.max())))
        X, Y = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
        U, V = _vector_field(net, ix[1], iy[1], base, X, Y, drive)
        speed = np.hypot(U, V)
        if field == "stream":
            ax.streamplot(X, Y, U, V, color="#8c8c8c", density=density, linewidth=0.7, arrowsize=0.8, zorder=1)
        else:
            ax.quiver(X, Y, U, V, speed, cmap="Greys", alpha=0.8, angles="xy", zorder=1)
        if nullclines:
            for Z, style, name in ((U, "-", x), (V, "--", y)):
                if np.nanmin(Z) < 0 < np.nanmax(Z):
                    ax.contour(X, Y, Z, levels=[0.0], colors=NULLCLINE, linestyles=style, linewidths=1.2,
                               zorder=2)
                    ax.plot([], [], color=NULLCLINE, ls=style, lw=1.2, label=f"d{_label(name)}/dt = 0")
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y))
    ax.locator_params(axis="x", nbins=5)  # a square panel: labels such as -0.75 would touch
    ax.legend(fontsize=8, loc="best")
    if title is not None:
        ax.set_title(title)
    return ax


def _is_neuron(network, name) -> bool:
    try:
        return network.locate(name)[0] == "neurons"
    except KeyError:
        return False
