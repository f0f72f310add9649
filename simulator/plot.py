"""Plots for exploring runs in Jupyter (matplotlib, imported on first use).

Every function draws into `ax` (a new figure when it is None) and returns the
matplotlib Axes, so a picture can be adjusted afterwards; `animate` returns an
animation that a notebook shows inline. Nodes are named as in the graph (the
names of ``res.network`` or `net`).

=====================  =======================================================
`activity`             heat map of the states: neurons x time
`traces`               line traces of chosen neurons (or outputs, inputs)
`graph`                the graph, nodes coloured by activity at one step
`animate`              `graph` over time, as an inline HTML/JavaScript player
`gradient_flow`        norm of dL/dh[t] against t (vanishing, exploding)
`training`             loss per epoch, gradient norm on a twin axis
`trajectories`         one neuron at several fixed steps dt beside the ODE
`phase_portrait`       two neurons against each other, with the vector field
=====================  =======================================================

Alignment in time: row ``s`` of ``res.states`` is at ``res.times[s]``;
``res.outputs[s - 1]`` reads ``states[s]`` and ``res.inputs[s - 1]`` is the
input that drove the step into it, so wherever a picture shows a node at row
``s`` (`activity`, `graph`), inputs and outputs show those values and have none
at row 0 (drawn neutral grey).

Colours: activity uses a diverging map centred on zero (``"RdBu_r"``: red
positive, blue negative, white zero); edges are red for positive weights and
blue for negative ones, wider for larger magnitudes. Inputs are drawn as
squares, hidden neurons as circles and outputs as diamonds.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    from matplotlib.animation import FuncAnimation
    from matplotlib.axes import Axes

    from .bptt import Gradients
    from .network import Network
    from .results import Result

__all__ = [
    "activity",
    "animate",
    "gradient_flow",
    "graph",
    "phase_portrait",
    "trajectories",
    "training",
    "traces",
]

#: Colour of a node without a value (no run, or an input/output at row 0).
NEUTRAL = "#d0d0d0"
#: Edge colours by the sign of the weight.
POSITIVE, NEGATIVE, ZERO = "#c62828", "#1f5fbf", "#9e9e9e"
#: Node shape (matplotlib marker) of each role group.
SHAPES = {"inputs": "s", "neurons": "o", "outputs": "D"}
#: Layouts `graph` accepts by name for `pos`.
LAYOUTS = ("spring", "kamada_kawai", "circular", "shell", "spectral")
#: Graphs with more nodes get a circular default layout (a spring layout
#: of 1,000 nodes takes seconds).
SPRING_MAX = 500
#: Field styles of `phase_portrait`.
FIELDS = ("stream", "quiver")
#: Colour of the nullclines of `phase_portrait`.
NULLCLINE = "#e07b00"
_GROUPS = ("inputs", "neurons", "outputs")
_MISSING = "simulator.plot needs matplotlib: pip install 'graphrnn[plot]'"


# --------------------------------------------------------------------- helpers
def _matplotlib():
    """Import matplotlib, or raise an ImportError that says how to get it."""
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - matplotlib is a test dependency
        raise ImportError(_MISSING) from err
    return matplotlib


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


# ----------------------------------------------------------------------- graph
def _positions(G, pos, seed) -> dict:
    """Node positions: the `pos` argument (dict or layout name), else the
    graph's ``pos`` node attributes, else a seeded spring layout."""
    import networkx as nx

    if isinstance(pos, str):
        if pos not in LAYOUTS:
            raise ValueError(f"`pos` must be a dict of positions or one of {', '.join(map(repr, LAYOUTS))}, "
                             f"got {pos!r}")
        if pos == "spring":
            return nx.spring_layout(G, seed=seed)
        return getattr(nx, f"{pos}_layout")(G)
    if pos is not None:
        if not isinstance(pos, Mapping):
            raise TypeError(f"`pos` must be a dict node -> (x, y) or a layout name, got {type(pos).__name__}")
        missing = [n for n in G if n not in pos]
        if missing:
            raise ValueError(f"`pos` has no position for node {missing[0]!r}")
        return {n: tuple(np.asarray(pos[n], dtype=np.float64)[:2]) for n in G}
    carried = {n: d["pos"] for n, d in G.nodes(data=True) if "pos" in d}
    if len(carried) == G.number_of_nodes():
        return {n: tuple(np.asarray(p, dtype=np.float64)[:2]) for n, p in carried.items()}
    if carried:  # some nodes placed: keep them, lay out the rest around them
        return nx.spring_layout(G, pos=carried, fixed=list(carried), seed=seed)
    if G.number_of_nodes() > SPRING_MAX:
        return nx.circular_layout(G)
    return nx.spring_layout(G, seed=seed)


class _GraphDrawing:
    """The artists of one drawn graph, and how to recolour them for a row.

    Built once; `show` changes node face colours, label colours and the title
    in place, so an animation redraws nothing else.
    """

    def __init__(self, net, res, ax, *, batch, pos, cmap, vmin, vmax, node_size, labels, arrows, colorbar,
                 seed, edge_width):
        import networkx as nx

        mpl = _matplotlib()
        self.net, self.res, self.ax = net, res, ax
        G = net.to_networkx()
        self.pos = _positions(G, pos, seed)
        n_nodes = G.number_of_nodes()
        if node_size is None:
            node_size = float(np.clip(5000.0 / max(n_nodes, 1), 12.0, 700.0))
        if labels is None:
            labels = n_nodes <= 40
        if arrows is None:
            arrows = net.n_edges <= 300

        # Edges: colour by sign, width by magnitude.
        weight = np.asarray(net.weight, dtype=np.float64)
        edgelist = list(net.edges)
        biggest = float(np.abs(weight).max()) if weight.size else 0.0
        scale = np.abs(weight) / biggest if biggest > 0 else np.ones_like(weight)
        widths = edge_width[0] + (edge_width[1] - edge_width[0]) * scale
        colors = [POSITIVE if w > 0 else NEGATIVE if w < 0 else ZERO for w in weight]
        edge_kw = dict(edgelist=edgelist, edge_color=colors, width=widths, alpha=0.8, ax=ax,
                       node_size=node_size, arrows=arrows)
        if arrows:
            edge_kw.update(arrowsize=10, connectionstyle="arc3,rad=0.12")
        self.edges = nx.draw_networkx_edges(G, self.pos, **edge_kw) if edgelist else []

        # Nodes: one PathCollection per role group, in the network's order.
        self.batch = batch
        self.cmap = _colormap(cmap)
        self.groups: list[tuple[str, list, Any]] = []
        for group in _GROUPS:
            names = list(getattr(net, group))
            if not names:
                continue
            coll = nx.draw_networkx_nodes(G, self.pos, nodelist=names, node_shape=SHAPES[group],
                                          node_size=node_size, node_color=NEUTRAL, edgecolors="#404040",
                                          linewidths=0.8, ax=ax, label=group)
            self.groups.append((group, names, coll))
        self.texts = {}
        if labels:
            self.texts = nx.draw_networkx_labels(G, self.pos, labels={n: _label(n) for n in G}, font_size=8,
                                                 ax=ax)

        # Colour scale: one for the whole run, so steps compare.
        self.columns = None
        if res is not None:
            batched = res.states.ndim == 3
            self.arrays = [_take(res.states, batched, batch), _take(res.inputs, batched, batch),
                           _take(res.outputs, batched, batch)]
            lo, hi = _limits(_finite_abs_max(*self.arrays), vmin, vmax)
            self.norm = mpl.colors.Normalize(lo, hi)
            rnet = res.network
            self.columns = []
            for _, names, _ in self.groups:
                where = np.array([self._column(rnet, name) for name in names], dtype=np.int64).reshape(-1, 2)
                self.columns.append((where[:, 0], where[:, 1]))
            if colorbar:
                sm = mpl.cm.ScalarMappable(norm=self.norm, cmap=self.cmap)
                ax.figure.colorbar(sm, ax=ax, label="activity", shrink=0.8)
        ax.set_axis_off()
        ax.margins(0.08)
        self.title = ax.set_title("")

    @staticmethod
    def _column(rnet, name) -> tuple[int, int]:
        """(array, column) of node `name` in the run: 0 states, 1 inputs, 2 outputs; (-1, -1) if absent."""
        try:
            group, i = rnet.locate(name)
        except KeyError:
            return (-1, -1)
        return ({"neurons": 0, "inputs": 1, "outputs": 2}[group], i)

    def values(self, step: int) -> list[np.ndarray]:
        """Node values of every group at state row `step` (NaN where undefined)."""
        out = []
        for source, index in self.columns:
            v = np.full(len(source), np.nan)
            for a, array in enumerate(self.arrays):
                sel = source == a
                if sel.any() and (a == 0 or step > 0):
                    v[sel] = array[step if a == 0 else step - 1, index[sel]]
            out.append(v)
        return out

    def show(self, step: int | None) -> list:
        """Colour the nodes for state row `step` (None: no run); return the changed artists."""
        changed = []
        if step is None or self.columns is None:
            return changed
        for (_, names, coll), vals in zip(self.groups, self.values(step)):
            rgba = self.cmap(self.norm(vals))
            coll.set_facecolor(rgba)
            changed.append(coll)
            if self.texts:
                light = rgba[:, :3] @ np.array([0.299, 0.587, 0.114]) > 0.5
                for name, is_light in zip(names, light):
                    text = self.texts[name]
                    text.set_color("black" if is_light else "white")
                    changed.append(text)
        times = self.res.times
        what = f"step {step}" if _time_label(self.res) == "step" else f"t = {float(times[step]):.3g}"
        self.title.set_text(what)
        changed.append(self.title)
        return changed


def graph(
    net: Network,
    res: Result | None = None,
    *,
    step: int = -1,
    batch: int = 0,
    pos: Mapping[Hashable, Sequence[float]] | str | None = None,
    ax: Axes | None = None,
    cmap: Any = "RdBu_r",
    vmin: float | None = None,
    vmax: float | None = None,
    node_size: float | None = None,
    labels: bool | None = None,
    arrows: bool | None = None,
    colorbar: bool = True,
    seed: int = 0,
    edge_width: tuple[float, float] = (0.6, 3.0),
    title: str | None = None,
) -> Axes:
    """Draw the network's graph, nodes coloured by activity at one step.

    Parameters
    ----------
    net : Network
        The network to draw (``net.to_networkx()``).
    res : Result, optional
        A run of `net` (nodes are matched by name). Without it the nodes are
        neutral grey.
    step : int
        Row of ``res.states`` to show (negative counts from the end). Inputs
        and outputs show ``inputs[step - 1]`` and ``outputs[step - 1]``, and
        are grey at row 0.
    batch : int
        Which batch element of a batched run.
    pos : dict or str, optional
        Node -> (x, y); or a layout name, one of `LAYOUTS`. Default: the
        graph's ``pos`` node attributes when every node has one (the
        generators of `topologies` set them for the classic networks), else
        ``networkx.spring_layout`` seeded with `seed` (a circle for graphs of
        more than `SPRING_MAX` nodes).
    ax : matplotlib Axes, optional
    cmap : str or Colormap
        Colour map of the activity.
    vmin, vmax : float, optional
        Colour limits (default: symmetric about zero, from the largest
        magnitude over the whole run, so that steps compare).
    node_size : float, optional
        Marker area in points^2 (default: smaller for larger graphs).
    labels : bool, optional
        Write node names (default: graphs of at most 40 nodes).
    arrows : bool, optional
        Arrow heads, curved edges and self-loops (default: at most 300
        edges; more are drawn as one LineCollection of straight lines).
    colorbar : bool
        Add a colour bar for the activity (with `res` only).
    seed : int
        Seed of the spring layout.
    edge_width : (float, float)
        Line widths of the weakest and the strongest edge.
    title : str, optional
        Default: the step (discrete) or time (continuous) shown.

    Returns
    -------
    matplotlib.axes.Axes
        One PathCollection per role group present (labelled ``"inputs"``,
        ``"neurons"``, ``"outputs"``: squares, circles, diamonds), one
        FancyArrowPatch per edge (in ``net.edges`` order) with `arrows`, and
        the node labels as Text artists.

    Raises
    ------
    KeyError
        A name that is not a node of the network.
    ValueError
        A `step` or `batch` out of range, a `pos` that misses a node or an
        unknown layout name.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np, simulator as sim, topologies as tp
    >>> from simulator import plot
    >>> net = sim.compile(tp.four_neuron())
    >>> res = sim.run(net, np.eye(6, 2))
    >>> ax = plot.graph(net, res, step=2)
    >>> [c.get_label() for c in ax.collections]
    ['inputs', 'neurons', 'outputs']
    >>> len(ax.patches) == net.n_edges
    True
    >>> plt.close("all")
    """
    _check_network(net)
    step_row = None
    b = 0
    if res is not None:
        _check_result(res)
        b = _check_batch(res, batch)
        step_row = _check_step(res, step)
    ax = _axes(ax, (6.0, 4.5))
    drawing = _GraphDrawing(net, res, ax, batch=b, pos=pos, cmap=cmap, vmin=vmin, vmax=vmax,
                            node_size=node_size, labels=labels, arrows=arrows, colorbar=colorbar, seed=seed,
                            edge_width=edge_width)
    drawing.show(step_row)
    if title is not None:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------- animate
_ANIMATION_CLASS = None


def _animation_class():
    """A FuncAnimation whose notebook display is always the JavaScript player."""
    global _ANIMATION_CLASS
    if _ANIMATION_CLASS is None:
        _matplotlib()
        from matplotlib.animation import FuncAnimation

        class GraphAnimation(FuncAnimation):
            """`FuncAnimation` of a graph over time; shows inline in Jupyter.

            Attributes
            ----------
            steps : tuple of int
                The rows of ``res.states`` shown, one per frame.
            ax : matplotlib Axes
                The axes drawn into.
            """

            def _repr_html_(self) -> str:
                return self.to_jshtml()

        _ANIMATION_CLASS = GraphAnimation
    return _ANIMATION_CLASS


def _frame_rows(res, steps, max_frames) -> list[int]:
    rows = res.states.shape[0]
    if steps is None:
        if isinstance(max_frames, bool) or not isinstance(max_frames, (int, np.integer)) or max_frames < 1:
            raise ValueError(f"`max_frames` must be a positive int, got {max_frames!r}")
        if rows <= max_frames:
            return list(range(rows))
        return sorted(set(np.linspace(0, rows - 1, max_frames).round().astype(int).tolist()))
    if isinstance(steps, slice):
        return list(range(rows))[steps]
    if isinstance(steps, (int, np.integer)) or not np.iterable(steps):
        raise TypeError(f"`steps` must be a sequence of rows of res.states or a slice, "
                        f"e.g. range(0, {rows}, 2); got {steps!r}")
    chosen = [_check_step(res, s) for s in steps]
    if not chosen:
        raise ValueError("`steps` is empty: the animation needs at least one frame")
    return chosen


def animate(
    net: Network,
    res: Result,
    *,
    batch: int = 0,
    pos: Mapping[Hashable, Sequence[float]] | str | None = None,
    interval: float = 200,
    steps: Sequence[int] | slice | None = None,
    max_frames: int = 100,
    figsize: tuple[float, float] = (6.0, 4.5),
    dpi: float = 80,
    repeat: bool = True,
    **graph_kw: Any,
) -> FuncAnimation:
    """Animate the graph coloured by activity over the run.

    The graph is drawn once; each frame only recolours the nodes (and their
    labels) and updates the title.

    Parameters
    ----------
    net : Network
    res : Result
        A run of `net`.
    batch : int
        Which batch element of a batched run.
    pos : dict or str, optional
        As in `graph`.
    interval : float
        Milliseconds between frames.
    steps : sequence of int or slice, optional
        Rows of ``res.states`` to show, one per frame (e.g. ``range(0, 100, 5)``).
        Default: every row, thinned evenly to at most `max_frames`.
    max_frames : int
        Frame limit of the default `steps`.
    figsize : (float, float)
        Size of the animation's figure (inches).
    dpi : float
        Resolution of the frames (each frame is one PNG in the HTML player).
    repeat : bool
        Loop the player.
    **graph_kw
        ``cmap``, ``vmin``, ``vmax``, ``node_size``, ``labels``, ``arrows``,
        ``colorbar``, ``seed``, ``edge_width``, as in `graph`.

    Returns
    -------
    matplotlib.animation.FuncAnimation
        Shows as an HTML/JavaScript player when it is the last expression of
        a notebook cell (whatever ``rcParams["animation.html"]`` says);
        ``anim.to_jshtml()`` gives the HTML, ``anim.save("run.gif")`` a file.
        ``anim.steps`` lists the rows shown. Its figure is not registered
        with pyplot, so no static copy appears beside it.

    Raises
    ------
    KeyError, ValueError
        As in `graph`; also empty `steps`.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, simulator as sim, topologies as tp
    >>> from simulator import plot
    >>> net = sim.compile(tp.four_neuron())
    >>> res = sim.run(net, np.eye(4, 2))
    >>> anim = plot.animate(net, res, steps=[0, 2, 4])
    >>> anim.steps
    (0, 2, 4)
    >>> "<script" in anim._repr_html_()
    True
    """
    _check_network(net)
    _check_result(res)
    b = _check_batch(res, batch)
    frames = _frame_rows(res, steps, max_frames)
    unknown = set(graph_kw) - {"cmap", "vmin", "vmax", "node_size", "labels", "arrows", "colorbar", "seed",
                               "edge_width"}
    if unknown:
        raise TypeError(f"animate() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    _matplotlib()
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    options = dict(cmap="RdBu_r", vmin=None, vmax=None, node_size=None, labels=None, arrows=None, colorbar=True,
                   seed=0, edge_width=(0.6, 3.0))
    options.update(graph_kw)
    drawing = _GraphDrawing(net, res, ax, batch=b, pos=pos, **options)
    drawing.show(frames[0])

    anim = _animation_class()(fig, drawing.show, frames=frames, interval=interval, repeat=repeat, blit=False)
    anim.steps = tuple(frames)
    anim.ax = ax
    return anim


# --------------------------------------------------------------- gradient flow
def _dh_norm(value, what: str) -> np.ndarray:
    """The dL/dh norms of a Gradients (its diagnostics) or a 1-D array."""
    if hasattr(value, "diagnostics") and hasattr(value, "weight"):
        diag = value.diagnostics or {}
        if "dh_norm" not in diag:
            raise ValueError(f"{what} has no diagnostics: pass return_diagnostics=True to simulator.bptt")
        arr = np.asarray(diag["dh_norm"], dtype=np.float64)
    else:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{what} must be a Gradients (from simulator.bptt with return_diagnostics=True) "
                            f"or a 1-D array of norms, got {type(value).__name__}") from None
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D (one norm per step t = 0 .. n_steps), got shape {arr.shape}")
    return arr


def gradient_flow(
    grads: Gradients | ArrayLike | Mapping[Any, Gradients | ArrayLike],
    *,
    ax: Axes | None = None,
    label: str | None = None,
    title: str | None = None,
    **line_kw: Any,
) -> Axes:
    """The norm of dL/dh[t] against t, on a log scale: how far back in time
    the loss reaches (vanishing gradients fall, exploding ones rise).

    Parameters
    ----------
    grads : Gradients, array_like or dict
        A `simulator.Gradients` from ``simulator.bptt(...,
        return_diagnostics=True)`` (its ``diagnostics["dh_norm"]``), a 1-D
        array of norms for t = 0 .. n_steps, or a dict label -> either of
        these to overlay several curves.
    ax : matplotlib Axes, optional
    label : str, optional
        Legend label of a single curve; with a dict, the legend's title.
    title : str, optional
    **line_kw
        Passed to every ``ax.plot``.

    Returns
    -------
    matplotlib.axes.Axes
        Log y scale, one Line2D per curve. Zero norms (no gradient reaches
        that step) leave a gap.

    Raises
    ------
    ValueError
        A Gradients without diagnostics (pass ``return_diagnostics=True``),
        an array that is not 1-D, an empty dict.
    TypeError
        Anything else.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np, simulator as sim, topologies as tp
    >>> from simulator import plot
    >>> net = sim.compile(tp.four_neuron())
    >>> x, y = np.ones((8, 2)), np.full((8, 1), np.nan)
    >>> y[-1] = 0.5                                     # a target at the last step only
    >>> loss, grads = sim.bptt(net, x, y, return_diagnostics=True)
    >>> ax = plot.gradient_flow({"four-neuron": grads, "flat": np.ones(9)})
    >>> ax.get_yscale(), len(ax.lines)
    ('log', 2)
    >>> plt.close("all")
    """
    if isinstance(grads, Mapping):
        if not grads:
            raise ValueError("`grads` is an empty dict: give label -> Gradients or array")
        curves = [(_label(k), _dh_norm(v, f"`grads[{k!r}]`")) for k, v in grads.items()]
        legend_title = label
    else:
        curves = [(label, _dh_norm(grads, "`grads`"))]
        legend_title = None
    ax = _axes(ax, (6.0, 3.5))
    for name, norms in curves:
        shown = np.where(np.isfinite(norms) & (norms > 0), norms, np.nan)
        kw = dict(line_kw)
        if name is not None:
            kw.setdefault("label", name)
        ax.plot(np.arange(len(norms)), shown, **kw)
    ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel("‖∂L/∂h[t]‖")
    if any(name is not None for name, _ in curves):
        ax.legend(title=legend_title, fontsize=8)
    if title is not None:
        ax.set_title(title)
    return ax


# -------------------------------------------------------------------- training
def training(
    history: Mapping[str, ArrayLike] | ArrayLike,
    *,
    ax: Axes | None = None,
    grad_norm: bool = True,
    title: str | None = None,
) -> Axes:
    """Training curve: loss per epoch on a log scale, and the gradient norm
    on a twin axis.

    Parameters
    ----------
    history : dict or array_like
        The history of `simulator.train` (``"loss"``, optionally
        ``"grad_norm"``), or an array of losses.
    ax : matplotlib Axes, optional
    grad_norm : bool
        Draw ``history["grad_norm"]`` on a twin axis when present.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        The loss axes (log y); the twin, if drawn, is the figure's next axes
        and shares x.

    Raises
    ------
    KeyError
        A dict without ``"loss"``.
    ValueError
        Losses that are not 1-D or empty.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from simulator import plot
    >>> ax = plot.training({"loss": [1.0, 0.5, 0.2, 0.1], "grad_norm": [2.0, 1.5, 1.0, 0.6]})
    >>> ax.get_yscale(), len(ax.figure.axes)
    ('log', 2)
    >>> plt.close("all")
    """
    if isinstance(history, Mapping):
        if "loss" not in history:
            raise KeyError(f"`history` has no 'loss' (keys: {', '.join(map(repr, history))}); "
                           "pass the history dict of simulator.train")
        loss = np.asarray(history["loss"], dtype=np.float64)
        norms = history.get("grad_norm") if grad_norm else None
    else:
        loss, norms = np.asarray(history, dtype=np.float64), None
    if loss.ndim != 1 or loss.size == 0:
        raise ValueError(f"the loss must be a non-empty 1-D array (one value per epoch), got shape {loss.shape}")
    ax = _axes(ax, (6.0, 3.5))
    epochs = np.arange(1, loss.size + 1)
    line = ax.plot(epochs, np.where(loss > 0, loss, np.nan), color="C0", label="loss")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    handles = list(line)
    if norms is not None:
        norms = np.asarray(norms, dtype=np.float64)
        if norms.shape != loss.shape:
            raise ValueError(f"`history['grad_norm']` must have the shape of the loss {loss.shape}, "
                             f"got {norms.shape}")
        twin = ax.twinx()
        handles += twin.plot(epochs, np.where(norms > 0, norms, np.nan), color="C1", lw=1, alpha=0.8,
                             label="gradient norm")
        twin.set_yscale("log")
        twin.set_ylabel("gradient norm", color="C1")
        twin.tick_params(axis="y", colors="C1")
    ax.legend(handles=handles, fontsize=8, loc="upper right")
    if title is not None:
        ax.set_title(title)
    return ax


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
        they are), or Results labelled from their ``info`` (method and dt).
    reference : Result, optional
        An ODE solution (`simulator.solve`), drawn as a thick dashed black line.
    neuron : node name, optional
        Which node (default: the first hidden neuron). Outputs are drawn at
        ``times[1:]``.
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
        No runs, or a `batch` out of range.

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
    from .simulate import run

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
    ax.legend(fontsize=8, loc="best")
    if title is not None:
        ax.set_title(title)
    return ax


def _is_neuron(network, name) -> bool:
    try:
        return network.locate(name)[0] == "neurons"
    except KeyError:
        return False
