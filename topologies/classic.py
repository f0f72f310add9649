"""Classic named architectures: the textbook four-neuron net, Elman, layered,
a tapped delay line.

Hidden nodes here have string names chosen by the architecture (``"A1"``,
``"h0"``, ``"L0_0"``); inputs are ``"in0", "in1", ...`` and outputs
``"out0", "out1", ...`` (except in :func:`four_neuron`, whose names are the
textbook's). Node order is inputs, hidden, outputs. The generators that take
an ``activation`` argument store it on every hidden node; output nodes never
get one (the simulator's default, identity, applies).
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np

from ._util import (
    add_weighted_edges,
    as_rng,
    bernoulli_pairs,
    check_activation,
    check_int,
    check_real,
    fan_in_weights,
    io_names,
    lexsort_pairs,
    new_graph,
)
from .weights import _wire_io

__all__ = ["four_neuron", "elman", "layered", "delay_line"]

Seed = int | np.random.Generator | None

#: The four-neuron network's edges, in insertion order (self-loop last).
FOUR_NEURON_EDGES = (
    ("Input1", "A1"),
    ("A1", "B1"),
    ("B1", "Output"),
    ("Input2", "A2"),
    ("A2", "B2"),
    ("A2", "A1"),
    ("B2", "B1"),
    ("B1", "B1"),
)

_FOUR_NEURON_POS = {
    "Input1": (0.0, 1.0),
    "Input2": (0.0, 0.0),
    "A1": (1.0, 1.0),
    "A2": (1.0, 0.0),
    "B1": (2.0, 1.0),
    "B2": (2.0, 0.0),
    "Output": (3.0, 1.0),
}


def four_neuron(
    weight: float = 1.0, self_weight: float = 0.5, seed: Seed = None
) -> nx.DiGraph:
    """The textbook four-neuron network: two inputs, four neurons, one output.

    Parameters
    ----------
    weight : float, default 1.0
        Weight of every edge except the self-loop.
    self_weight : float, default 0.5
        Weight of the self-loop ``B1 -> B1``.
    seed : int, numpy.random.Generator or None, default None
        ``None`` (the default) gives the deterministic weights above. Any other
        value draws all eight weights from ``N(0, 1)`` with
        ``numpy.random.default_rng(seed)``, in the edge order of Notes, and
        ``weight`` / ``self_weight`` are ignored.

    Returns
    -------
    networkx.DiGraph
        Nodes, in order, ``"Input1", "Input2"`` (``role="input"``), ``"A1",
        "A2", "B1", "B2"`` (hidden, no attributes besides ``pos``) and
        ``"Output"`` (``role="output"``). Every node has a ``pos`` = (x, y)
        for drawing: inputs at x = 0, the A column at 1, the B column at 2,
        the output at 3; the "1" chain at y = 1, the "2" chain at y = 0.

    Raises
    ------
    TypeError
        If a weight is not a real number or ``seed`` has the wrong type.
    ValueError
        If a weight is not finite.

    Notes
    -----
    Edges, in insertion order: ``Input1 -> A1``, ``A1 -> B1``,
    ``B1 -> Output``, ``Input2 -> A2``, ``A2 -> B2``, ``A2 -> A1``,
    ``B2 -> B1`` and the self-loop ``B1 -> B1``. In discrete time
    (``h[t+1] = tanh(W h[t] + U x[t])``, ``y[t] = V h[t+1]``) a pulse on
    ``Input1`` at step 0 reaches ``A1`` in ``h[1]``, ``B1`` in ``h[2]`` and
    the output in ``y[1]``, while ``Input2`` also travels
    ``A2 -> A1 -> B1`` and ``A2 -> B2 -> B1``, and ``B1`` keeps a decaying
    memory through its self-loop.

    Examples
    --------
    >>> from topologies import four_neuron
    >>> G = four_neuron()
    >>> list(G)
    ['Input1', 'Input2', 'A1', 'A2', 'B1', 'B2', 'Output']
    >>> G["B1"]["B1"]["weight"], G["A2"]["A1"]["weight"], G.nodes["A1"]["pos"]
    (0.5, 1.0, (1.0, 1.0))
    >>> w = four_neuron(seed=0)["A1"]["B1"]["weight"]
    >>> w == four_neuron(seed=0)["A1"]["B1"]["weight"] != 1.0
    True
    """
    weight = check_real("weight", weight)
    self_weight = check_real("self_weight", self_weight)
    if seed is None:
        weights = [weight] * (len(FOUR_NEURON_EDGES) - 1) + [self_weight]
    else:
        weights = as_rng(seed).standard_normal(len(FOUR_NEURON_EDGES)).tolist()
    G = new_graph(
        ["Input1", "Input2"],
        ["A1", "A2", "B1", "B2"],
        ["Output"],
        hidden_attrs=[{"pos": _FOUR_NEURON_POS[v]} for v in ("A1", "A2", "B1", "B2")],
        input_attrs=[{"pos": _FOUR_NEURON_POS[v]} for v in ("Input1", "Input2")],
        output_attrs=[{"pos": _FOUR_NEURON_POS["Output"]}],
    )
    G.add_weighted_edges_from((u, v, w) for (u, v), w in zip(FOUR_NEURON_EDGES, weights))
    return G


def elman(
    n_in: int,
    n_hidden: int,
    n_out: int,
    seed: Seed = None,
    activation: str = "tanh",
    scale: float = 1.0,
    *,
    input_scale: float = 1.0,
) -> nx.DiGraph:
    """Fully connected Elman (simple recurrent) network.

    Parameters
    ----------
    n_in : int
        Number of inputs ``"in0" ..``, ``>= 0``.
    n_hidden : int
        Number of hidden neurons ``"h0" ..``, ``>= 1``.
    n_out : int
        Number of outputs ``"out0" ..``, ``>= 0``.
    seed : int, numpy.random.Generator or None
        Seed for :func:`numpy.random.default_rng`.
    activation : str, default "tanh"
        Stored as ``activation`` on every hidden node; one of ``tanh``,
        ``sigmoid``, ``hard_sigmoid``, ``relu``, ``elu``, ``softplus``,
        ``identity``, ``sign``.
    scale : float, default 1.0
        Recurrent weight scale: ``W ~ N(0, scale**2 / n_hidden)``.
    input_scale : float, default 1.0
        Input weight scale (keyword only): ``U ~ N(0, input_scale**2 / n_in)``.

    Returns
    -------
    networkx.DiGraph
        ``n_in * n_hidden + n_hidden**2 + n_hidden * n_out`` edges.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If a size is out of range, ``activation`` is unknown or a scale is
        negative.

    Notes
    -----
    Every input feeds every hidden neuron (U), every hidden neuron feeds every
    hidden neuron including itself (W, dense ``n_hidden**2`` edges: meant for
    small networks) and every output (V):
    ``h[t+1] = phi(W h[t] + U x[t])``, ``y[t] = V h[t+1]``. Weights are fan-in
    scaled per kind; output weights are ``N(0, 1 / n_hidden)``. Drawn in the
    order W, U, V.

    Examples
    --------
    >>> from topologies import elman
    >>> G = elman(2, 3, 1, seed=0)
    >>> list(G)
    ['in0', 'in1', 'h0', 'h1', 'h2', 'out0']
    >>> G.number_of_edges(), G.has_edge("h1", "h1"), G.nodes["h0"]["activation"]
    (18, True, 'tanh')
    """
    n_in = check_int("n_in", n_in, minimum=0)
    n_hidden = check_int("n_hidden", n_hidden, minimum=1)
    n_out = check_int("n_out", n_out, minimum=0)
    activation = check_activation(activation)
    scale = check_real("scale", scale, low=0.0)
    input_scale = check_real("input_scale", input_scale, low=0.0)
    rng = as_rng(seed)
    hidden = [f"h{i}" for i in range(n_hidden)]
    inputs, outputs = io_names(n_in, n_out)
    G = new_graph(inputs, hidden, outputs, hidden_attrs=[{"activation": activation}] * n_hidden)
    src = np.repeat(np.arange(n_hidden), n_hidden)
    dst = np.tile(np.arange(n_hidden), n_hidden)
    add_weighted_edges(G, hidden, hidden, src, dst, fan_in_weights(rng, dst, n_hidden, scale))
    _wire_io(G, rng, inputs, hidden, outputs, hidden, 1.0, input_scale)
    return G


def _check_layer_sizes(layer_sizes) -> list[int]:
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(
        layer_sizes, (Sequence, np.ndarray)
    ):
        raise TypeError(
            "`layer_sizes` must be a sequence of ints, "
            f"got {type(layer_sizes).__name__} {layer_sizes!r}"
        )
    sizes = list(layer_sizes)
    if not sizes:
        raise ValueError("`layer_sizes` must name at least one layer, got []")
    for i, size in enumerate(sizes):
        sizes[i] = check_int(f"layer_sizes[{i}]", size, minimum=1)
    return sizes


def layered(
    layer_sizes: Sequence[int],
    n_in: int = 1,
    n_out: int = 1,
    lateral: bool = False,
    self_loops: bool = False,
    backward: bool = False,
    density: float = 1.0,
    seed: Seed = None,
    activation: str = "tanh",
    *,
    scale: float = 1.0,
    input_scale: float = 1.0,
) -> nx.DiGraph:
    """Stack of hidden layers with optional lateral, self and backward loops.

    Parameters
    ----------
    layer_sizes : sequence of int
        Size of each hidden layer (at least one layer, each ``>= 1``). Neuron
        ``k`` of layer ``l`` is named ``"L{l}_{k}"`` and carries ``layer = l``.
    n_in, n_out : int, default 1
        Number of inputs ``"in{k}"`` (feeding every neuron of layer 0) and
        outputs ``"out{k}"`` (reading every neuron of the last layer).
    lateral : bool, default False
        Add edges between distinct neurons of the same layer.
    self_loops : bool, default False
        Add the self-loop ``v -> v`` on every hidden neuron.
    backward : bool, default False
        Add edges from layer ``l + 1`` back to layer ``l``.
    density : float, default 1.0
        Probability in ``[0, 1]`` of keeping each candidate feed-forward,
        lateral or backward edge. Input, output and self-loop edges are always
        present.
    seed : int, numpy.random.Generator or None
        Seed for :func:`numpy.random.default_rng`.
    activation : str, default "tanh"
        Stored as ``activation`` on every hidden node.
    scale, input_scale : float, default 1.0
        Recurrent and input weight scales (keyword only), fan-in scaled.

    Returns
    -------
    networkx.DiGraph
        Every node has ``pos`` = (x, y) for drawing: inputs at x = 0, layer
        ``l`` at x = ``l + 1``, outputs at x = ``len(layer_sizes) + 1``; each
        column centred on y = 0, first node on top.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``layer_sizes`` is empty or has a size ``< 1``, ``density`` is
        outside ``[0, 1]``, a count is negative or ``activation`` is unknown.

    Notes
    -----
    All edges between hidden neurons -- feed-forward ``l -> l + 1``, lateral
    and backward ``l + 1 -> l`` (each kept with probability ``density``) and
    self-loops -- are hidden -> hidden (W) edges, so each adds one step of
    delay in discrete time; a neuron's recurrent weights are
    ``N(0, scale**2 / k)`` with ``k`` its number of hidden presynaptic
    neurons. Randomness is drawn per layer ``l`` in the order lateral(l),
    forward(l -> l+1), backward(l+1 -> l), then W, U and V weights.

    Examples
    --------
    >>> from topologies import layered
    >>> G = layered([3, 2], n_in=1, n_out=1, self_loops=True, seed=0)
    >>> list(G)
    ['in0', 'L0_0', 'L0_1', 'L0_2', 'L1_0', 'L1_1', 'out0']
    >>> G.number_of_edges()  # 3 input + 6 forward + 5 self + 2 output
    16
    >>> G.nodes["L1_1"]["layer"], G.nodes["L1_1"]["pos"]
    (1, (2.0, -0.5))
    """
    sizes = _check_layer_sizes(layer_sizes)
    n_in = check_int("n_in", n_in, minimum=0)
    n_out = check_int("n_out", n_out, minimum=0)
    for name, flag in (("lateral", lateral), ("self_loops", self_loops), ("backward", backward)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"`{name}` must be a bool, got {type(flag).__name__} {flag!r}")
    density = check_real("density", density, low=0.0, high=1.0)
    activation = check_activation(activation)
    scale = check_real("scale", scale, low=0.0)
    input_scale = check_real("input_scale", input_scale, low=0.0)
    rng = as_rng(seed)

    offsets = np.concatenate(([0], np.cumsum(sizes)))
    n_hidden = int(offsets[-1])
    hidden = [f"L{l}_{k}" for l, size in enumerate(sizes) for k in range(size)]

    def column(x, size):
        return [(float(x), (size - 1) / 2 - k) for k in range(size)]

    hidden_attrs = [
        {"layer": l, "activation": activation, "pos": xy}
        for l, size in enumerate(sizes)
        for xy in column(l + 1, size)
    ]
    inputs, outputs = io_names(n_in, n_out)
    G = new_graph(
        inputs,
        hidden,
        outputs,
        hidden_attrs=hidden_attrs,
        input_attrs=[{"pos": xy} for xy in column(0, n_in)],
        output_attrs=[{"pos": xy} for xy in column(len(sizes) + 1, n_out)],
    )

    src, dst = [np.empty(0, np.int64)], [np.empty(0, np.int64)]

    def block(a, b, exclude_diagonal=False):
        r, c = bernoulli_pairs(rng, sizes[a], sizes[b], density, exclude_diagonal)
        src.append(r + offsets[a])
        dst.append(c + offsets[b])

    for l in range(len(sizes)):
        if lateral:
            block(l, l, exclude_diagonal=True)
        if l + 1 < len(sizes):
            block(l, l + 1)
            if backward:
                block(l + 1, l)
    if self_loops:
        src.append(np.arange(n_hidden))
        dst.append(np.arange(n_hidden))
    src, dst = lexsort_pairs(np.concatenate(src).astype(np.int64),
                             np.concatenate(dst).astype(np.int64))
    add_weighted_edges(G, hidden, hidden, src, dst, fan_in_weights(rng, dst, n_hidden, scale))
    first = hidden[: sizes[0]]
    last = hidden[n_hidden - sizes[-1]:]
    _wire_io(G, rng, inputs, first, outputs, last, 1.0, input_scale)
    return G


def delay_line(length: int, n_outputs: int = 1, seed: Seed = None, *, link_delay: int = 1) -> nx.DiGraph:
    """A tapped delay line: one input passed along a chain of identity neurons.

    Parameters
    ----------
    length : int
        Number of taps ``"d0" .. "d{length-1}"``, ``>= 1``.
    n_outputs : int, default 1
        Outputs ``"out0" ..`` reading every tap (``>= 0``).
    seed : int, numpy.random.Generator or None
        Seed for the readout weights, ``N(0, 1 / length)``.
    link_delay : int, default 1
        Keyword only: the steps each link of the chain takes (``>= 1``);
        written as the links' ``delay`` attribute when not 1.

    Returns
    -------
    networkx.DiGraph
        ``"in0" -> "d0"`` (weight 1, the same step) and ``"d{k}" ->
        "d{k+1}"`` (weight 1, `link_delay` steps); taps have the
        ``identity`` activation; every tap feeds every output.

    Notes
    -----
    Tap ``k`` holds the input ``k * link_delay`` steps back:
    ``h_k[t+1] = x[t - k * link_delay]`` (zero before the start), so a
    linear readout of the taps is an FIR filter of the input.

    Examples
    --------
    >>> from topologies import delay_line
    >>> G = delay_line(3, seed=0)
    >>> list(G), G.nodes["d1"]["activation"]
    (['in0', 'd0', 'd1', 'd2', 'out0'], 'identity')
    >>> "delay" in G.edges["d0", "d1"], delay_line(3, link_delay=2).edges["d0", "d1"]["delay"]
    (False, 2)
    """
    length = check_int("length", length, minimum=1)
    n_outputs = check_int("n_outputs", n_outputs, minimum=0)
    link_delay = check_int("link_delay", link_delay, minimum=1)
    rng = as_rng(seed)
    taps = [f"d{k}" for k in range(length)]
    inputs, outputs = io_names(1, n_outputs)
    G = new_graph(inputs, taps, outputs, hidden_attrs=[{"activation": "identity"}] * length)
    G.add_edge("in0", "d0", weight=1.0)
    link = {} if link_delay == 1 else {"delay": link_delay}
    G.add_edges_from((a, b, {"weight": 1.0, **link}) for a, b in zip(taps, taps[1:]))
    _wire_io(G, rng, [], taps, outputs, taps)
    return G
