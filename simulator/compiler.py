"""`compile`: read a NetworkX graph into a `Network`, validating as it goes.

The graph is read in bulk: node attributes once per node, edges once per
source node through C-level iterators (``map`` over the adjacency dicts),
moved into arrays chunk by chunk, and everything after that is NumPy on
whole arrays.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from itertools import repeat
from operator import contains, methodcaller
from typing import Any

import networkx as nx
import numpy as np

from .activations import ACTIVATIONS, activation_code
from .delays import check_delays, default_delays
from .kinds import KindError
from .layout import build_layout
from .network import GraphAttributes, Network, as_dtype, detached
from .units import GATE_ACTIVATIONS, GATE_BIASES, GATE_WEIGHTS, UNITS

__all__ = ["compile"]

INPUT, HIDDEN, OUTPUT = 0, 1, 2
ROLE_NAMES = ("input", "hidden", "output")
#: Model-owned node attributes per role (the rest travel as extra attributes).
OWNED = (frozenset({"role"}), frozenset({"bias", "activation", "tau"}), frozenset({"role", "bias", "activation"}))
#: The node attributes the model reads (on the roles that own them).
MODEL_ATTRIBUTES = frozenset({"bias", "activation", "tau", "gate_activation",
                              *GATE_BIASES["gru"], *GATE_BIASES["lstm"]})
#: Model-owned node attributes of a gated neuron, by unit.
OWNED_GATED = {unit: OWNED[1] | {"unit", "gate_activation", *GATE_BIASES[unit]} for unit in GATE_BIASES}
#: Every gate weight's edge attribute.
GATE_WEIGHT_KEYS = frozenset(GATE_WEIGHTS["gru"] + GATE_WEIGHTS["lstm"])
DEFAULT_ACTIVATION = ("identity", "tanh", "identity")
#: Edge kind code by (source role, target role); -1 into an input, -2 output->output.
KIND_TABLE = np.array([[-1, 1, 4], [-1, 0, 3], [-1, 2, -2]], dtype=np.int8)


def _check_graph(G: Any) -> None:
    if isinstance(G, (nx.MultiGraph, nx.MultiDiGraph)):
        raise TypeError(
            f"{type(G).__name__} is not supported: a connection has one weight. Merge "
            "parallel edges first: nx.DiGraph(G) keeps the last of each, or sum them with "
            "H = nx.DiGraph(); for u, v, w in G.edges(data='weight', default=1.0): "
            "H.add_edge(u, v, weight=H.get_edge_data(u, v, {'weight': 0.0})['weight'] + w)"
        )
    if not isinstance(G, (nx.Graph, nx.DiGraph)):
        raise TypeError(f"`G` must be a networkx.DiGraph or Graph, got {type(G).__name__}")
    if G.number_of_nodes() == 0:
        raise ValueError("`G` has no nodes")


def _read_delays(G: nx.Graph, nodes: list, src: np.ndarray, dst: np.ndarray, kind: np.ndarray,
                 extra: np.ndarray) -> np.ndarray | None:
    """The ``delay`` of every edge (its kind's default where the attribute
    is absent), checked (`simulator.delays.check_delays`, naming the edge);
    None when no edge carries one."""
    given = {}
    for e in np.flatnonzero(extra).tolist():
        data = G.edges[_edge_name(nodes, src, dst, e)]
        if "delay" in data:
            given[e] = data["delay"]
    if not given:
        return None
    values = default_delays(kind).astype(object)
    for e, delay in given.items():
        values[e] = delay
    delay = check_delays(values, len(kind), lambda e: _edge_name(nodes, src, dst, e)).copy()
    return delay


def _resolve_roles(
    nodes: list, G: nx.Graph, inputs: Sequence | None, outputs: Sequence | None
) -> tuple[np.ndarray, list, list]:
    """Role code per node, and the input and output names in column order."""
    position = {n: i for i, n in enumerate(nodes)}
    roles = np.full(len(nodes), HIDDEN, dtype=np.int8)
    attr_role: dict[int, list] = {INPUT: [], OUTPUT: []}
    for n, role in G.nodes(data="role"):
        if role == "input":
            attr_role[INPUT].append(n)
        elif role == "output":
            attr_role[OUTPUT].append(n)
        elif isinstance(role, str) and role.lower() in ("input", "output"):
            warnings.warn(
                f"node {n!r} has role {role!r}, which is not 'input' or 'output' "
                "(roles are case-sensitive), so it is a hidden neuron",
                stacklevel=3,
            )
    groups = []
    for code, arg, argname in ((INPUT, inputs, "inputs"), (OUTPUT, outputs, "outputs")):
        if arg is None:
            names = attr_role[code]
        else:
            if isinstance(arg, (str, bytes)) or not isinstance(arg, Sequence):
                raise TypeError(f"`{argname}` must be a list of node names, got {arg!r}")
            names = list(arg)
            for n in names:
                if n not in position:
                    raise ValueError(f"`{argname}` names node {n!r}, which is not in the graph")
            if len(set(names)) != len(names):
                dup = next(n for n in names if names.count(n) > 1)
                raise ValueError(f"`{argname}` names node {dup!r} more than once")
            listed = set(names)
            for n in attr_role[code]:
                if n not in listed:
                    raise ValueError(
                        f"node {n!r} has role {ROLE_NAMES[code]!r} but is not in `{argname}`: "
                        f"list it, or remove its role attribute"
                    )
        for n in names:
            if roles[position[n]] != HIDDEN:
                raise ValueError(f"node {n!r} is both an input and an output")
            roles[position[n]] = code
        groups.append(names)
    return roles, groups[0], groups[1]


#: Edges read into Python lists before they move into the arrays (bounds
#: the lists' memory: a list holds 8 bytes a value on top of the arrays).
_EDGES_PER_CHUNK = 1 << 18


def _read_edges(G: nx.Graph, position: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple | None]:
    """Source and target positions, float64 weights and an extra-attribute
    flag per edge, read chunk by chunk into arrays made once; and the first
    weight that is not a real number, as ``(edge, value)`` (None if none;
    the weights from there on are not filled)."""
    counts = np.fromiter((len(nbrs) for _, nbrs in G.adjacency()), dtype=np.int64, count=len(position))
    n_edges = int(counts.sum())
    index = np.int32 if len(position) < 2**31 else np.int64
    dst = np.empty(n_edges, dtype=index)
    weight = np.zeros(n_edges, dtype=np.float64)
    extra = np.empty(n_edges, dtype=bool)
    chunk_dst, chunk_w, n_attrs, has_weight = [], [], [], []
    get_weight = methodcaller("get", "weight", 1.0)
    done, bad = 0, None

    def flush() -> None:
        nonlocal done, bad
        stop = done + len(chunk_dst)
        dst[done:stop] = chunk_dst
        if bad is None:
            values, first_bad = _real_numbers(chunk_w)
            if first_bad < 0:
                weight[done:stop] = values
            else:
                bad = (done + first_bad, chunk_w[first_bad])
        extra[done:stop] = np.array(n_attrs, dtype=np.int64) > np.array(has_weight, dtype=np.int64)
        done = stop
        for chunk in (chunk_dst, chunk_w, n_attrs, has_weight):
            chunk.clear()

    for _, nbrs in G.adjacency():
        chunk_dst.extend(map(position.__getitem__, nbrs))
        datas = nbrs.values()
        chunk_w.extend(map(get_weight, datas))
        n_attrs.extend(map(len, datas))
        has_weight.extend(map(contains, datas, repeat("weight")))
        if len(chunk_dst) >= _EDGES_PER_CHUNK:
            flush()
    flush()
    src = np.repeat(np.arange(len(counts), dtype=index), counts)
    return src, dst, weight, extra, bad


def _edge_name(nodes: list, src: np.ndarray, dst: np.ndarray, e: int) -> tuple:
    return (nodes[src[e]], nodes[dst[e]])


def _real_numbers(values: list) -> tuple[np.ndarray | None, int]:
    """`values` as float64 in one conversion (the common case), or the
    position of the first that is not a real number (strings, None, arrays)."""
    try:
        w = np.asarray(values)
        if w.ndim == 1 and w.dtype.kind in "biuf":
            return w.astype(np.float64, copy=False), -1
    except (TypeError, ValueError):
        pass
    for e, value in enumerate(values):
        try:
            ok = np.ndim(value) == 0 and np.isreal(value) and not isinstance(value, (str, bytes))
            float(value)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            return None, e
    return np.array(values, dtype=np.float64), -1


def _weights_array(w: np.ndarray, bad: tuple | None, nodes: list, src: np.ndarray, dst: np.ndarray,
                   dtype) -> np.ndarray:
    """The float64 weights `w` checked (real, finite, within `dtype`'s range;
    the message names the edge) and in `dtype`."""
    if bad is not None:
        e, value = bad
        raise ValueError(f"edge {_edge_name(nodes, src, dst, e)!r} has weight {value!r}: weights must be real numbers")
    bad_at = np.flatnonzero(~np.isfinite(w))
    if bad_at.size:
        e = bad_at[0]
        raise ValueError(f"edge {_edge_name(nodes, src, dst, e)!r} has non-finite weight {w[e]}")
    with np.errstate(over="ignore"):
        cast = w.astype(dtype, copy=False)
    bad_at = np.flatnonzero(np.isinf(cast))
    if bad_at.size:
        e = bad_at[0]
        raise ValueError(f"edge {_edge_name(nodes, src, dst, e)!r} has weight {w[e]:g}, "
                         f"beyond the range of {np.dtype(dtype).name}")
    return cast


def _number(value: Any, what: str, node: Hashable) -> float:
    if isinstance(value, (bool, str, bytes)) or np.ndim(value) != 0:
        raise KindError(f"node {node!r} has {what} {value!r}: {what} must be a real number")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise KindError(f"node {node!r} has {what} {value!r}: {what} must be a real number") from None
    if not np.isfinite(x):
        raise ValueError(f"node {node!r} has non-finite {what} {x}")
    return x


def _check_range(values: list, names: list, what: str, dtype: np.dtype) -> None:
    """Refuse a finite value that overflows `dtype` (float32), naming its node."""
    with np.errstate(over="ignore"):
        bad = np.flatnonzero(np.isinf(np.array(values, dtype=np.float64).astype(dtype)))
    if bad.size:
        i = bad[0]
        raise ValueError(f"node {names[i]!r} has {what} {values[i]:g}, beyond the range of {dtype.name}")


def compile(
    G: nx.Graph,
    inputs: Sequence[Hashable] | None = None,
    outputs: Sequence[Hashable] | None = None,
    dtype: str | np.dtype = "float64",
) -> Network:
    """Compile a NetworkX graph into a `Network`.

    Parameters
    ----------
    G : networkx.DiGraph or networkx.Graph
        The wiring. An undirected graph means both directions. Node attributes
        ``role`` (``"input"``, ``"output"``, else hidden), ``bias``,
        ``activation`` and ``tau``; edge attributes ``weight`` (default 1.0)
        and ``delay`` (steps, an integer >= 0; default 1 on hidden->hidden
        and output->hidden edges, 0 on the others: design section 9).
    inputs, outputs : sequence of node names, optional
        The input and output nodes, in column order. Default: the nodes whose
        ``role`` attribute says so, in graph order.
    dtype : {"float64", "float32"}
        Floating-point type of the parameters and of every result.

    Returns
    -------
    Network
        ``neurons`` are the hidden nodes in graph order; ``edges`` and
        ``weight`` follow the graph's edge order (``G.edges()``).

    Raises
    ------
    TypeError
        If `G` is not a graph, or is a multigraph (the message shows how to
        merge parallel edges).
    ValueError
        For an edge into an input node, an output->output edge, a weight, bias
        or tau that is not a finite real (tau must be > 0), a delay that is
        not a whole number in 0..`simulator.delays.MAX_DELAY`, edges of delay
        0 that form a directed cycle (the message lists its nodes), an unknown
        activation, or `inputs`/`outputs` that name unknown nodes or
        contradict the ``role`` attributes. The message names the node or edge.

    Examples
    --------
    >>> import networkx as nx
    >>> import simulator as sim
    >>> G = nx.DiGraph()
    >>> G.add_edge("in", "h", weight=0.5)
    >>> G.add_edge("h", "h", weight=0.9)
    >>> G.add_edge("h", "out", weight=2.0)
    >>> net = sim.compile(G, inputs=["in"], outputs=["out"], dtype="float32")
    >>> net
    Network(1 input, 1 neuron, 1 output; 3 edges: W 1, U 1, F 0, V 1, D 0; float32)
    >>> net.weight
    array([0.5, 0.9, 2. ], dtype=float32)
    """
    _check_graph(G)
    dt = as_dtype(dtype)
    nodes = list(G)
    position = {n: i for i, n in enumerate(nodes)}
    roles, input_names, output_names = _resolve_roles(nodes, G, inputs, outputs)

    # Position of each node within its role group, in graph order.
    local = np.empty(len(nodes), dtype=np.int32)
    for code in (INPUT, HIDDEN, OUTPUT):
        members = np.flatnonzero(roles == code)
        local[members] = np.arange(members.size)
    for code, names in ((INPUT, input_names), (OUTPUT, output_names)):
        local[[position[n] for n in names]] = np.arange(len(names))

    src, dst, weight, extra, bad_weight = _read_edges(G, position)
    kind = KIND_TABLE[roles[src], roles[dst]]
    bad = np.flatnonzero(kind < 0)
    if bad.size:
        e = bad[0]
        u, v = _edge_name(nodes, src, dst, e)
        hint = ("" if G.is_directed() else
                "; an undirected Graph runs every edge both ways, so draw the edges at input "
                "and output nodes in a DiGraph (nx.DiGraph(G) doubles them; remove those that point back)")
        if kind[e] == -1:
            raise ValueError(f"edge {(u, v)!r} points into input node {v!r}: inputs take no edges{hint}")
        raise ValueError(
            f"edge {(u, v)!r} joins two output nodes: outputs are read out, "
            f"and feed back only to hidden neurons{hint}"
        )
    weight = _weights_array(weight, bad_weight, nodes, src, dst, dt)

    neurons = [n for n, r in zip(nodes, roles) if r == HIDDEN]
    delay = _read_delays(G, nodes, src, dst, kind, extra)
    units = _units(G, nodes, roles, neurons)
    bias, codes, tau, node_extra = [], [], [], {}
    for name, code in [(n, HIDDEN) for n in neurons] + [(n, OUTPUT) for n in output_names]:
        attrs = G.nodes[name]
        bias.append(_number(attrs.get("bias", 0.0), "bias", name))
        codes.append(activation_code(attrs.get("activation", DEFAULT_ACTIVATION[code]), f"node {name!r}"))
        if code == HIDDEN:
            t = _number(attrs.get("tau", 1.0), "tau", name)
            if t <= 0:
                raise ValueError(f"node {name!r} has tau {t}: tau must be > 0")
            with np.errstate(over="ignore", under="ignore"):
                held = dt.type(t)
            if not 0 < held < np.inf:
                raise ValueError(f"node {name!r} has tau {t:g}, which {dt.name} cannot hold (it becomes "
                                 f"{held}); use dtype='float64'")
            tau.append(t)
    unit_names = tuple(UNITS)
    gate_codes = np.full(len(neurons), ACTIVATIONS["sigmoid"], dtype=np.int8)
    gate_bias = {b: np.zeros(len(neurons) + len(output_names)) for u in GATE_BIASES for b in GATE_BIASES[u]}
    for i in np.flatnonzero(units).tolist():
        name, unit = neurons[i], unit_names[units[i]]
        attrs = G.nodes[name]
        gate = attrs.get("gate_activation", "sigmoid")
        if not isinstance(gate, str) or gate not in GATE_ACTIVATIONS:
            raise (ValueError if isinstance(gate, str) else KindError)(
                f"node {name!r} has gate_activation {gate!r}: choose one of {', '.join(map(repr, GATE_ACTIVATIONS))}")
        gate_codes[i] = ACTIVATIONS[gate]
        for b in GATE_BIASES[unit]:
            gate_bias[b][i] = _number(attrs.get(b, 0.0), b, name)
    unused = []  # model attributes on a node whose role has no use for them
    for name, attrs in G.nodes(data=True):
        owned = OWNED[roles[position[name]]]
        if roles[position[name]] == HIDDEN and units[local[position[name]]]:
            owned = OWNED_GATED[unit_names[units[local[position[name]]]]]
        rest = {k: v for k, v in attrs.items() if k not in owned}
        if rest:
            node_extra[name] = detached(rest)
            unused += [(name, k) for k in sorted(MODEL_ATTRIBUTES & rest.keys())]
    if unused:
        name, key = unused[0]
        more = f" ({len(unused) - 1} more like it)" if len(unused) > 1 else ""
        role = roles[position[name]]
        what = f"an {ROLE_NAMES[role]} node"
        if role == HIDDEN:
            unit = unit_names[units[local[position[name]]]]
            what = "a plain neuron (unit 'rnn')" if unit == "rnn" else f"a {unit.upper()} neuron"
        warnings.warn(f"node {name!r} is {what}, which has no {key}: its "
                      f"{key!r} attribute is not used (it stays on the graph){more}", stacklevel=2)

    edge_extra = {}
    gate_weight = {k: np.zeros(len(weight)) for k in GATE_WEIGHT_KEYS} if units.any() else {}
    into_hidden = roles[dst] == HIDDEN
    edge_unit = np.zeros(len(weight), dtype=np.int8)
    edge_unit[into_hidden] = units[local[dst[into_hidden]]]
    unused_edge = []  # gate weights on an edge whose target has no such gate
    for e in np.flatnonzero(extra).tolist():
        u, v = _edge_name(nodes, src, dst, e)
        data = G.edges[u, v]
        owned = GATE_WEIGHTS.get(unit_names[edge_unit[e]], ())
        for k in owned:
            if k in data:
                gate_weight[k][e] = _edge_number(data[k], k, (u, v))
        unused_edge += [((u, v), k) for k in sorted(GATE_WEIGHT_KEYS.intersection(data).difference(owned))]
        rest = {k: val for k, val in data.items() if k not in ("weight", "delay") and k not in owned}
        if rest:
            edge_extra[e] = detached(rest)
    if unused_edge:
        (u, v), key = unused_edge[0]
        unit = unit_names[units[local[nodes.index(v)]]] if roles[nodes.index(v)] == HIDDEN else None
        target = "an output node" if unit is None else "a plain neuron" if unit == "rnn" else f"a {unit.upper()} neuron"
        more = f" ({len(unused_edge) - 1} more like it)" if len(unused_edge) > 1 else ""
        warnings.warn(f"edge {(u, v)!r} points into {target} {v!r}, which has no {key[len('weight_'):]!r} gate: its "
                      f"{key!r} attribute is not used (it stays on the graph){more}", stacklevel=2)

    _check_range(bias, neurons + list(output_names), "bias", dt)
    gated = {}
    for unit, code in UNITS.items():
        if code and (units == code).any():
            for k in GATE_WEIGHTS[unit]:
                gated[k] = _weights_array(gate_weight[k], None, nodes, src, dst, dt)
            for k in GATE_BIASES[unit]:
                _check_range(gate_bias[k].tolist(), neurons + list(output_names), k, dt)
                gated[k] = gate_bias[k].astype(dt)
    edge_src = local[src]
    del src  # the layout needs room too
    edge_dst = local[dst]
    del dst, position
    # The network keeps these arrays as they are (read-only, not copied), and
    # takes the layout ready-made: a graph holds one edge per ordered pair of
    # nodes, so the network's check for repeated edges (a sort of them all)
    # has nothing to find.
    for a in (kind, edge_src, edge_dst, weight):
        a.flags.writeable = False
    layout = build_layout(kind, edge_src, edge_dst, (len(input_names), len(neurons), len(output_names)))
    return Network(
        neurons=tuple(neurons),
        inputs=tuple(input_names),
        outputs=tuple(output_names),
        edge_kind=kind,
        edge_src=edge_src,
        edge_dst=edge_dst,
        weight=weight,
        bias=np.array(bias, dtype=dt),
        tau=np.array(tau, dtype=dt),
        activation_codes=np.array(codes, dtype=np.int8),
        attributes=GraphAttributes(graph=detached(G.graph), nodes=node_extra, edges=edge_extra, node_order=tuple(nodes)),
        layout=layout,
        unit_codes=units,
        gate_codes=gate_codes,
        delay=delay,
        **gated,
    )


def _units(G: nx.Graph, nodes: list, roles: np.ndarray, neurons: list) -> np.ndarray:
    """The unit code of every neuron (`simulator.units.UNITS`), refusing an
    unknown unit or a gated input or output node by name."""
    for name, role in zip(nodes, roles):
        unit = G.nodes[name].get("unit", "rnn")
        if not isinstance(unit, str) or unit not in UNITS:
            raise (ValueError if isinstance(unit, str) else KindError)(
                f"node {name!r} has unit {unit!r}: choose one of {', '.join(map(repr, UNITS))}")
        if role != HIDDEN and unit != "rnn":
            raise ValueError(f"node {name!r} is an {ROLE_NAMES[role]} node and has unit {unit!r}: input and output "
                             "nodes are never gated; only hidden neurons may be GRU or LSTM units")
    return np.array([UNITS[G.nodes[name].get("unit", "rnn")] for name in neurons], dtype=np.int8)


def _edge_number(value: Any, what: str, edge: tuple) -> float:
    """A gate weight as a finite float; the message names the edge."""
    if isinstance(value, (bool, str, bytes)) or np.ndim(value) != 0:
        raise KindError(f"edge {edge!r} has {what} {value!r}: {what} must be a real number")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise KindError(f"edge {edge!r} has {what} {value!r}: {what} must be a real number") from None
    if not np.isfinite(x):
        raise ValueError(f"edge {edge!r} has non-finite {what} {x}")
    return x
