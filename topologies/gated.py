"""Gated units: fully connected GRU and LSTM networks with PyTorch's
initialisation, and :func:`gate`, which turns hidden neurons of any graph
into gated units.

A gated hidden node carries ``unit="gru"`` or ``unit="lstm"``. Each edge into
it carries one weight per gate, and the node one bias per gate (the
README's "Gated units"; a missing gate weight or bias is 0.0):

=========  ===========================================  ==========================================
unit       edge attributes                              node attributes
=========  ===========================================  ==========================================
``gru``    ``weight`` (candidate n), ``weight_r``,      ``bias`` (b_in), ``bias_hn``, ``bias_r``,
           ``weight_z``                                 ``bias_z``
``lstm``   ``weight`` (cell input g), ``weight_i``,     ``bias`` (g), ``bias_i``, ``bias_f``,
           ``weight_f``, ``weight_o``                   ``bias_o``
=========  ===========================================  ==========================================

Node names follow :func:`topologies.elman`: inputs ``"in0" ..``, hidden
``"h0" ..``, outputs ``"out0" ..``, in that order.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import networkx as nx
import numpy as np

from ._util import as_rng, check_choice, check_digraph, check_int, io_names, new_graph

__all__ = ["gru", "lstm", "stacked", "gate", "GATES", "UNITS"]

Seed = int | np.random.Generator | None

#: Each gated unit's gates, in the order their weights are drawn; the first
#: is the one whose weight is the edge's plain ``weight``.
GATES: dict[str, tuple[str, ...]] = {"gru": ("n", "r", "z"), "lstm": ("g", "i", "f", "o")}
#: The values of the node attribute ``unit``.
UNITS = ("rnn", "gru", "lstm")

#: Each gated unit's node bias attributes, in the order they are drawn.
_BIASES: dict[str, tuple[str, ...]] = {"gru": ("bias", "bias_hn", "bias_r", "bias_z"),
                                       "lstm": ("bias", "bias_i", "bias_f", "bias_o")}


#: Every unit's gates, a plain neuron's one "gate" being its drive.
_UNIT_GATES: dict[str, tuple[str, ...]] = {"rnn": ("a",), **GATES}


def _weight_key(gate: str, unit: str) -> str:
    """The edge attribute of `gate`: ``weight`` for the drive, the candidate
    or the cell input."""
    return "weight" if gate == _UNIT_GATES[unit][0] else f"weight_{gate}"


def _wire_unit(G: nx.DiGraph, rng: np.random.Generator, unit: str, groups: list[tuple[list, dict]],
               targets: list, k: float) -> None:
    """Wire every node of each group's sources into every one of `targets`
    (``unit`` neurons), each edge with one weight per gate drawn U(-k, k)
    and the group's extra edge attributes (``{"delay": 0}``), then give the
    targets their biases: a bias that PyTorch splits in two (``b_iq + b_hq``)
    is the sum of two such draws; the GRU's candidate keeps ``b_in`` and
    ``b_hn`` apart (``b_hn`` sits inside ``r * (...)``). Draws in PyTorch's
    order: each group's weights (gate, target, source), then the input and
    the recurrent biases (gate, target)."""
    gates = _UNIT_GATES[unit]
    for sources, extra in groups:
        w = rng.uniform(-k, k, size=(len(gates), len(targets), len(sources)))
        G.add_edges_from((s, t, {**{_weight_key(q, unit): float(w[g, i, j]) for g, q in enumerate(gates)}, **extra})
                         for i, t in enumerate(targets) for j, s in enumerate(sources))
    b_ih, b_hh = rng.uniform(-k, k, size=(2, len(gates), len(targets)))
    for i, t in enumerate(targets):
        node = G.nodes[t]
        for g, q in enumerate(gates):
            if unit == "gru" and q == "n":
                node["bias"], node["bias_hn"] = float(b_ih[g, i]), float(b_hh[g, i])
            else:
                node["bias" if g == 0 else f"bias_{q}"] = float(b_ih[g, i] + b_hh[g, i])


def _linear_readout(G: nx.DiGraph, rng: np.random.Generator, readers: list, outputs: list) -> None:
    """Every reader feeds every output, weights and biases as ``torch.nn.Linear``
    draws them: U(-k, k), ``k = 1 / sqrt(len(readers))``."""
    if not outputs:
        return
    k = 1.0 / np.sqrt(len(readers))
    V = rng.uniform(-k, k, size=(len(outputs), len(readers)))
    c = rng.uniform(-k, k, size=len(outputs))
    G.add_weighted_edges_from((h, o, float(V[a, j])) for a, o in enumerate(outputs) for j, h in enumerate(readers))
    for a, o in enumerate(outputs):
        G.nodes[o]["bias"] = float(c[a])


def stacked(n_in: int, layers: Sequence[int], n_out: int, unit: str = "rnn", seed: Seed = 0) -> nx.DiGraph:
    """Fully connected stacked recurrent layers, each reading the one below
    within the same step (delay-0 edges), as ``torch.nn.RNN`` / ``GRU`` /
    ``LSTM`` with ``num_layers=len(layers)`` (``batch_first=False``, one
    direction), with a linear readout of the top layer.

    Parameters
    ----------
    n_in, n_out : int
        Inputs ``"in0" ..`` and outputs ``"out0" ..`` (``>= 0``).
    layers : sequence of int
        Neurons per layer (each ``>= 1``), bottom first; layer ``l``'s
        neurons are ``"L{l}_0", "L{l}_1", ...``.
    unit : {"rnn", "gru", "lstm"}, default "rnn"
        The layers' unit (``"rnn"``: ``tanh`` neurons, no ``unit``
        attribute).
    seed : int, numpy.random.Generator or None, default 0
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    networkx.DiGraph
        Inputs feed every neuron of layer 0; every neuron of layer ``l - 1``
        feeds every neuron of layer ``l`` with ``delay=0`` (the same step);
        every neuron of a layer feeds every neuron of its own layer (one
        step, the default delay); the top layer feeds every output.

    Notes
    -----
    Layer ``l`` of ``H`` neurons draws its weights and biases as PyTorch
    draws layer ``l``'s, U(-k, k) with ``k = 1 / sqrt(H)`` (for
    ``torch.nn.RNN``, whose layers all have one size, pass equal sizes),
    layer by layer: the edges from below, the recurrent edges, the input
    and recurrent biases; the readout last, as ``torch.nn.Linear``.

    Examples
    --------
    >>> from topologies import stacked
    >>> G = stacked(1, [3, 2], 1, seed=0)
    >>> G.edges["L0_1", "L1_0"]["delay"], "delay" in G.edges["L1_0", "L1_1"]
    (0, False)
    >>> G.number_of_edges()  # 3 + 9 + 6 + 4 + 2
    24
    """
    n_in = check_int("n_in", n_in, minimum=0)
    n_out = check_int("n_out", n_out, minimum=0)
    unit = check_choice("unit", unit, UNITS)
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or not layers:
        raise TypeError(f"`layers` must be a non-empty list of layer sizes, got {layers!r}")
    sizes = [check_int(f"layers[{l}]", h, minimum=1) for l, h in enumerate(layers)]
    rng = as_rng(seed)
    names = [[f"L{l}_{i}" for i in range(h)] for l, h in enumerate(sizes)]
    inputs, outputs = io_names(n_in, n_out)
    attrs = {} if unit == "rnn" else {"unit": unit}
    G = new_graph(inputs, [n for layer in names for n in layer], outputs,
                  hidden_attrs=[dict(attrs) for layer in names for _ in layer])
    below: tuple[list, dict] = (inputs, {})
    for layer in names:
        _wire_unit(G, rng, unit, [below, (layer, {})], layer, 1.0 / np.sqrt(len(layer)))
        below = (layer, {"delay": 0})
    _linear_readout(G, rng, names[-1], outputs)
    return G


def _fully_connected(unit: str, n_in: int, n_hidden: int, n_out: int, seed: Seed) -> nx.DiGraph:
    """A one-layer `unit` network: `stacked` with one layer, named like
    :func:`topologies.elman` (hidden ``"h0" ..``)."""
    n_hidden = check_int("n_hidden", n_hidden, minimum=1)
    G = stacked(n_in, [n_hidden], n_out, unit=unit, seed=seed)
    return nx.relabel_nodes(G, {f"L0_{i}": f"h{i}" for i in range(n_hidden)}, copy=True)


def gru(n_in: int, n_hidden: int, n_out: int, seed: Seed = 0) -> nx.DiGraph:
    """A fully connected one-layer GRU network with a linear readout.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        Inputs ``"in0" ..`` (``>= 0``), GRU neurons ``"h0" ..`` (``>= 1``)
        and outputs ``"out0" ..`` (``>= 0``).
    seed : int, numpy.random.Generator or None, default 0
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    networkx.DiGraph
        Every input and hidden neuron feeds every hidden neuron (self-loops
        included) with ``weight``, ``weight_r`` and ``weight_z``; every hidden
        neuron feeds every output with ``weight``.

    Notes
    -----
    A GRU neuron i steps as (the recurrent part ``R_q`` sums its hidden
    in-edges, the input part ``A_q - R_q`` its input edges) ::

        r = sigmoid(A_r + b_r)        z = sigmoid(A_z + b_z)
        n = tanh((A_n - R_n) + b + r (R_n + b_hn))
        h_i[t+1] = (1 - z) n + z h_i[t]

    which is ``torch.nn.GRU`` with ``b_r = b_ir + b_hr``, ``b_z = b_iz + b_hz``,
    ``b = b_in`` and ``bias_hn = b_hn``. Weights and biases are drawn as
    PyTorch draws them, U(-k, k) with ``k = 1 / sqrt(n_hidden)``, in the order
    input weights, recurrent weights (each gate by gate: n, r, z), input
    biases, recurrent biases, readout weights, readout biases.

    Examples
    --------
    >>> from topologies import gru
    >>> G = gru(2, 3, 1, seed=0)
    >>> G.nodes["h0"]["unit"], G.number_of_edges()
    ('gru', 18)
    >>> sorted(G.edges["in0", "h1"])
    ['weight', 'weight_r', 'weight_z']
    """
    return _fully_connected("gru", n_in, n_hidden, n_out, seed)


def lstm(n_in: int, n_hidden: int, n_out: int, seed: Seed = 0) -> nx.DiGraph:
    """A fully connected one-layer LSTM network with a linear readout.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        Inputs ``"in0" ..`` (``>= 0``), LSTM neurons ``"h0" ..`` (``>= 1``)
        and outputs ``"out0" ..`` (``>= 0``).
    seed : int, numpy.random.Generator or None, default 0
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    networkx.DiGraph
        Every input and hidden neuron feeds every hidden neuron (self-loops
        included) with ``weight``, ``weight_i``, ``weight_f`` and
        ``weight_o``; every hidden neuron feeds every output with ``weight``.

    Notes
    -----
    An LSTM neuron i with cell state c steps as ::

        i = sigmoid(A_i + b_i)   f = sigmoid(A_f + b_f)   o = sigmoid(A_o + b_o)
        g = tanh(A_g + b)
        c_i[t+1] = f c_i[t] + i g
        h_i[t+1] = o tanh(c_i[t+1])

    which is ``torch.nn.LSTM`` with ``b_q = b_iq + b_hq``. Weights and biases
    are drawn as PyTorch draws them, U(-k, k) with ``k = 1 / sqrt(n_hidden)``,
    in the order input weights, recurrent weights (each gate by gate: g, i,
    f, o), input biases, recurrent biases, readout weights, readout biases.

    Examples
    --------
    >>> from topologies import lstm
    >>> G = lstm(1, 2, 1, seed=0)
    >>> G.nodes["h1"]["unit"], sorted(G.edges["h0", "h1"])
    ('lstm', ['weight', 'weight_f', 'weight_i', 'weight_o'])
    """
    return _fully_connected("lstm", n_in, n_hidden, n_out, seed)


def gate(G: nx.DiGraph, unit: str = "gru", nodes: Iterable[Hashable] | None = None, seed: Seed = 0) -> nx.DiGraph:
    """Turn hidden neurons of `G` into gated units, drawing gate weights for
    their existing in-edges.

    Parameters
    ----------
    G : networkx.DiGraph
        Any graph following the graph conventions; changed in place.
    unit : {"gru", "lstm"}, default "gru"
        The unit the neurons become.
    nodes : iterable of hidden node names, optional
        Which neurons to gate; default every hidden neuron.
    seed : int, numpy.random.Generator or None, default 0
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    networkx.DiGraph
        `G` itself.

    Raises
    ------
    TypeError
        If `G` is not a DiGraph or `unit` not a str.
    ValueError
        If `unit` is not ``"gru"`` or ``"lstm"``, or a node of `nodes` is
        missing from `G` or is an input or output node (those are never
        gated).

    Notes
    -----
    Each in-edge of a gated neuron i keeps its ``weight`` (the candidate's,
    or the LSTM's cell input's) and gets one weight per gate, drawn
    U(-k_i, k_i) with ``k_i = 1 / sqrt(in-degree of i)``, edge by edge in the
    graph's edge order. Gate biases start at 0.0, except an LSTM's forget
    gate: ``bias_f = 1.0``, the customary start that keeps the cell's memory
    at first. A neuron without in-edges gets only its unit and biases.

    Examples
    --------
    >>> import topologies as tp
    >>> G = tp.gate(tp.ring(4, n_inputs=1, n_outputs=1, seed=0), unit="lstm", nodes=[0, 1], seed=0)
    >>> G.nodes[0]["unit"], G.nodes[0]["bias_f"], "unit" in G.nodes[2]
    ('lstm', 1.0, False)
    >>> sorted(G.edges["in0", 0])
    ['weight', 'weight_f', 'weight_i', 'weight_o']
    """
    G = check_digraph(G)
    unit = check_choice("unit", unit, ("gru", "lstm"))
    rng = as_rng(seed)
    roles = nx.get_node_attributes(G, "role")
    if nodes is None:
        chosen = [n for n in G if roles.get(n) not in ("input", "output")]
    else:
        chosen = list(nodes)
        for n in chosen:
            if n not in G:
                raise ValueError(f"node {n!r} of `nodes` is not in the graph")
            if roles.get(n) in ("input", "output"):
                raise ValueError(f"node {n!r} is an {roles[n]} node: only hidden neurons can be gated")
    gates = GATES[unit][1:]
    for n in chosen:
        attrs = G.nodes[n]
        attrs["unit"] = unit
        for b in _BIASES[unit][1:]:
            attrs[b] = 1.0 if b == "bias_f" else 0.0
        in_edges = list(G.in_edges(n, data=True))
        if not in_edges:
            continue
        k = 1.0 / np.sqrt(len(in_edges))
        w = rng.uniform(-k, k, size=(len(in_edges), len(gates)))
        for e, (_, _, data) in enumerate(in_edges):
            data.update({f"weight_{q}": float(w[e, g]) for g, q in enumerate(gates)})
    return G
