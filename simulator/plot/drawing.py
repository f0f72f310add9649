"""The network's graph coloured by activity: `graph` at one step, `animate`
over the run."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._common import (
    NEUTRAL,
    _axes,
    _check_batch,
    _check_network,
    _check_result,
    _check_step,
    _colormap,
    _finite_abs_max,
    _label,
    _limits,
    _matplotlib,
    _take,
    _time_label,
)

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    from matplotlib.animation import FuncAnimation
    from matplotlib.axes import Axes

    from ..network import Network
    from ..results import Result


#: Edge colours by the sign of the weight.
POSITIVE, NEGATIVE, ZERO = "#c62828", "#1f5fbf", "#9e9e9e"
#: Node shape (matplotlib marker) of each role group.
SHAPES = {"inputs": "s", "neurons": "o", "outputs": "D"}
#: Layouts `graph` accepts by name for `pos`.
LAYOUTS = ("spring", "kamada_kawai", "circular", "shell", "spectral")
#: Graphs with more nodes get a circular default layout (a spring layout
#: of 1,000 nodes takes seconds).
SPRING_MAX = 500
_GROUPS = ("inputs", "neurons", "outputs")


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


def _draw_delays(net, G, pos, ax, edgelist, arrows, delays) -> dict:
    """Label every edge whose delay differs from its default with its delay
    (``"0"`` for a same-step edge, ``"3"`` for three steps); return the
    labels' Text artists by edge. `delays` None: only when the network has
    such an edge."""
    import networkx as nx

    from ..delays import default_delays

    if delays is None:
        delays = bool(net.has_delays)
    if not delays or not edgelist:
        return {}
    delay = np.asarray(net.delay)
    shown = np.flatnonzero(delay != default_delays(net.edge_kind))
    if shown.size == 0:
        return {}
    labels = {edgelist[e]: str(int(delay[e])) for e in shown}
    texts = nx.draw_networkx_edge_labels(G, pos, edge_labels=labels, ax=ax, font_size=7, font_color="#5d4037",
                                        bbox=dict(boxstyle="round,pad=0.15", fc="#fff8e1", ec="#bcaaa4", lw=0.5),
                                        connectionstyle="arc3,rad=0.12" if arrows else "arc3")
    for text in texts.values():
        text.set_gid("delay")
    return texts


class _GraphDrawing:
    """The artists of one drawn graph, and how to recolour them for a row.

    Built once; `show` changes node face colours, label colours and the title
    in place, so an animation redraws nothing else.
    """

    def __init__(self, net, res, ax, *, batch, pos, cmap, vmin, vmax, node_size, labels, arrows, colorbar,
                 seed, edge_width, delays=None):
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
        self.delay_labels = _draw_delays(net, G, self.pos, ax, edgelist, arrows, delays)

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
            if net.n_neurons + net.n_inputs + net.n_outputs and all((c < 0).all() for c, _ in self.columns):
                raise ValueError("`res` is a run of another network: none of the nodes of `net` is in it")
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
    delays: bool | None = None,
) -> Axes:
    """Draw the network's graph, nodes coloured by activity at one step.

    Parameters
    ----------
    net : Network
        The network to draw (``net.to_networkx()``).
    res : Result, optional
        A run of `net` (nodes are matched by name; a node the run does not
        have is grey). Without it the nodes are neutral grey.
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
    delays : bool, optional
        Write each edge's delay (design section 9) on the edges whose delay
        differs from the default of their kind: ``0`` on a same-step edge
        between hidden neurons, ``3`` on an edge three steps long. Default:
        when the network has such an edge. Edges at their default delay are
        never labelled.

    Returns
    -------
    matplotlib.axes.Axes
        One PathCollection per role group present (labelled ``"inputs"``,
        ``"neurons"``, ``"outputs"``: squares, circles, diamonds), one
        FancyArrowPatch per edge (in ``net.edges`` order) with `arrows`, the
        node labels as Text artists, and with `delays` one Text artist per
        labelled edge, its ``get_gid()`` being ``"delay"``.

    Raises
    ------
    KeyError
        A name that is not a node of the network.
    ValueError
        A `step` or `batch` out of range, a `pos` that misses a node, an
        unknown layout name, or a `res` that shares no node with `net`.

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
                            edge_width=edge_width, delays=delays)
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
        ``colorbar``, ``seed``, ``edge_width``, ``delays``, as in `graph`.

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
                               "edge_width", "delays"}
    if unknown:
        raise TypeError(f"animate() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    _matplotlib()
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    options = dict(cmap="RdBu_r", vmin=None, vmax=None, node_size=None, labels=None, arrows=None, colorbar=True,
                   seed=0, edge_width=(0.6, 3.0), delays=None)
    options.update(graph_kw)
    drawing = _GraphDrawing(net, res, ax, batch=b, pos=pos, **options)
    drawing.show(frames[0])

    anim = _animation_class()(fig, drawing.show, frames=frames, interval=interval, repeat=repeat, blit=False)
    anim.steps = tuple(frames)
    anim.ax = ax
    return anim
