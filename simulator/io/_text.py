"""The graph that GraphML and node-link files hold: `Network.to_networkx` with
names and values encoded and the file's description as graph attributes, and
the way back to the network."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import networkx as nx
import numpy as np

from ..compiler import compile as compile_graph
from ..layout import KIND_ROLES
from ..network import DTYPES, Network
from ._encoding import _decode_name, _decode_names, _encode_attributes, _json, _parse_json, decode_value, encode_value
from ._errors import _Problem
from ._format import FORMAT_VERSION, NETWORK_FORMAT

#: Graph attributes that describe the file in GraphML and node-link JSON.
META_KEY, FORMAT_KEY, VERSION_KEY = "graphrnn", "graphrnn_format", "graphrnn_version"
RESERVED = frozenset({META_KEY, FORMAT_KEY, VERSION_KEY})
#: Graph attributes networkx's GraphML reader and writer treat specially.
GRAPHML_SPECIAL = frozenset({"node_default", "edge_default"})
INT64 = (-(2**63), 2**63)
#: Characters XML 1.0 cannot carry as they are (a carriage return is read back as a newline).
_XML_UNSAFE = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _graphml_native(value: Any) -> bool:
    t = type(value)
    return (t is bool or (t is str and not _XML_UNSAFE.search(value))
            or (t is int and INT64[0] <= value < INT64[1]) or (t is float and math.isfinite(value)))


def _json_native_name(name: Any) -> bool:
    """Whether node-link JSON carries `name` as it is: str, int, bool, or a
    flat tuple of those (networkx reads an id that is a JSON list back as a
    tuple, but nested lists only in the node list, not in the edge list)."""
    scalar = (str, int, bool)
    return type(name) in scalar or (type(name) is tuple and all(type(v) in scalar for v in name))


def _name_id(name: Any, graphml: bool) -> str:
    """Node id of `name` as typed JSON text, refusing a name that would not be
    equal to itself once read back (one holding a NaN)."""
    encoded = encode_value(name, f"node name {name!r}")
    if decode_value(encoded) != name:
        raise ValueError(f"node {name!r} cannot be saved to {'GraphML' if graphml else 'JSON'}: its name holds "
                         "a NaN, which never equals itself, so the loaded graph could not look the node up; "
                         "rename the node, or save to .npz")
    return _json(encoded, ensure_ascii=True)


def _encoded_keys(items: list[dict]) -> list:
    """Keys (of one GraphML scope) whose values must be written as typed JSON."""
    kinds: dict = {}
    for attrs in items:
        for k, v in attrs.items():
            kinds.setdefault(k, set()).add(type(v) if _graphml_native(v) else None)
    return [k for k, ts in kinds.items() if None in ts or len(ts) > 1]


def _check_keys(attrs: dict, where: str, graphml: bool) -> None:
    for k in attrs:
        if type(k) is not str or (graphml and _XML_UNSAFE.search(k)):
            raise ValueError(f"{where} has attribute name {k!r}; GraphML and JSON files need names that are "
                             "plain strings: save to .npz instead")


def _unique_field(wanted: str, taken: set) -> str:
    name = wanted
    while name in taken:
        name = "_" + name
    return name


def _text_graph(net: Network, graphml: bool) -> nx.DiGraph:
    """The graph written to a GraphML or node-link file: `net.to_networkx()`
    in the original node order, with names and values encoded, and the file's
    description (the column order among it) as graph attributes."""
    G = net._graph(columns_first=False)
    names = list(G)
    io_names = set(net.inputs) | set(net.outputs)
    meta: dict[str, Any] = {
        "dtype": net.dtype.name,
        "inputs": [encode_value(n, f"node name {n!r}") for n in net.inputs],
        "outputs": [encode_value(n, f"node name {n!r}") for n in net.outputs],
        "node_order": bool(net.attributes.node_order),
    }
    if tuple(n for n in names if n not in io_names) != net.neurons:
        meta["neurons"] = [encode_value(n, f"node name {n!r}") for n in net.neurons]
    if net.edges != list(G.edges()):
        position = {n: i for i, n in enumerate(names)}
        meta["edges"] = [[position[u], position[v]] for u, v in net.edges]

    if graphml:
        native_names = all(type(n) is str and not _XML_UNSAFE.search(n) for n in names)
    else:
        native_names = all(map(_json_native_name, names))
    meta["names"] = "native" if native_names else "json"
    ids = {n: n if native_names else _name_id(n, graphml) for n in names}

    node_items = [d for _, d in G.nodes(data=True)]
    edge_items = [d for _, _, d in G.edges(data=True)]
    for n, d in G.nodes(data=True):
        _check_keys(d, f"node {n!r}", graphml)
    for u, v, d in G.edges(data=True):
        _check_keys(d, f"edge {(u, v)!r}", graphml)
    graph_in_place = {k: v for k, v in G.graph.items()
                      if type(k) is str and k not in RESERVED and not (graphml and (k in GRAPHML_SPECIAL
                                                                                  or _XML_UNSAFE.search(k)))}
    aside = {k: v for k, v in G.graph.items() if k not in graph_in_place and k not in RESERVED}
    if aside:
        meta["graph"] = _encode_attributes(aside, "the graph")

    if graphml:
        encoded = {"graph": _encoded_keys([graph_in_place]), "node": _encoded_keys(node_items),
                   "edge": _encoded_keys(edge_items)}
        meta["encoded"] = encoded

        def coder(scope: str, where: str) -> Callable[[dict], dict]:
            keys = set(encoded[scope])
            return lambda d: {k: _json(encode_value(v, f"attribute {k!r} of {where}"), ensure_ascii=True)
                              if k in keys else v for k, v in d.items()}
    else:
        node_keys = {k for d in node_items for k in d}
        edge_keys = {k for d in edge_items for k in d}
        meta["fields"] = {"name": _unique_field("id", node_keys),
                          "source": _unique_field("source", edge_keys),
                          "target": _unique_field("target", edge_keys | {_unique_field("source", edge_keys)})}

        def coder(scope: str, where: str) -> Callable[[dict], dict]:
            return lambda d: {k: encode_value(v, f"attribute {k!r} of {where}") for k, v in d.items()}

    H = nx.DiGraph()
    H.graph.update(coder("graph", "the graph")(graph_in_place))
    H.graph[FORMAT_KEY] = NETWORK_FORMAT
    H.graph[VERSION_KEY] = FORMAT_VERSION
    H.graph[META_KEY] = _json(meta, ensure_ascii=True) if graphml else meta
    H.add_nodes_from((ids[n], coder("node", f"node {n!r}")(d)) for n, d in G.nodes(data=True))
    H.add_edges_from((ids[u], ids[v], coder("edge", f"edge {(u, v)!r}")(d)) for u, v, d in G.edges(data=True))
    return H


def _reorder(net: Network, neurons: tuple, edge_perm: np.ndarray | None) -> Network:
    """`net` with its neurons in the order `neurons` and new edge e = old edge ``edge_perm[e]``."""
    n = net.n_neurons
    if len(neurons) != n or set(neurons) != set(net.neurons):
        raise _Problem("the recorded neuron order does not list the graph's hidden nodes")
    old = np.array([net.locate(name)[1] for name in neurons], dtype=np.int64)
    new_of_old = np.empty(n, dtype=np.int64)
    new_of_old[old] = np.arange(n)
    kind = net.edge_kind
    src, dst = net.edge_src.astype(np.int64), net.edge_dst.astype(np.int64)
    hidden_src = np.array([r[0] == 1 for r in KIND_ROLES])[kind]
    hidden_dst = np.array([r[1] == 1 for r in KIND_ROLES])[kind]
    src[hidden_src] = new_of_old[src[hidden_src]]
    dst[hidden_dst] = new_of_old[dst[hidden_dst]]
    perm = np.arange(net.n_edges) if edge_perm is None else edge_perm
    new_edge = np.empty(net.n_edges, dtype=np.int64)
    new_edge[perm] = np.arange(net.n_edges)
    attrs = net.attributes
    return Network(
        neurons=neurons, inputs=net.inputs, outputs=net.outputs,
        edge_kind=kind[perm], edge_src=src[perm].astype(np.int32), edge_dst=dst[perm].astype(np.int32),
        weight=net.weight[perm],
        bias=np.concatenate([net.bias[:n][old], net.bias[n:]]),
        tau=net.tau[old],
        activation_codes=np.concatenate([net.activation_codes[:n][old], net.activation_codes[n:]]),
        attributes=replace(attrs, edges={int(new_edge[e]): d for e, d in attrs.edges.items()}),
        unit_codes=net.unit_codes[old],
        gate_codes=net.gate_codes[old],
        **{name: a[perm] if name.startswith("weight") else np.concatenate([a[:n][old], a[n:]])
           for name, a in net.gate_parameters().items()},
    )


def _network_from_text_graph(G: nx.Graph, meta: Any, graphml: bool) -> Network:
    """Decode a graph written by `_text_graph` and compile it to the network it came from."""
    if type(meta) is not dict:
        raise _Problem(f"graph attribute {META_KEY!r} is not a JSON object")
    for key in ("dtype", "inputs", "outputs", "node_order", "names"):
        if key not in meta:
            raise _Problem(f"graph attribute {META_KEY!r} lacks {key!r}")
    if type(meta["dtype"]) is not str or meta["dtype"] not in DTYPES:
        raise _Problem(f"dtype {meta['dtype']!r} is not 'float64' or 'float32'")
    if type(G) is not nx.DiGraph:
        raise _Problem(f"it holds a {type(G).__name__}, not the directed graph graphrnn writes")
    if meta["names"] == "native":
        names = {i: i for i in G}
    elif meta["names"] == "json":
        names = {}
        for i in G:
            if type(i) is not str:
                raise _Problem(f"node id {i!r} is not typed JSON text")
            names[i] = _decode_name(_parse_json(i, f"node id {i!r}"))
    else:
        raise _Problem(f"unknown name encoding {meta['names']!r}")

    if graphml:
        encoded = meta.get("encoded")
        if type(encoded) is not dict or not all(type(encoded.get(s)) is list for s in ("graph", "node", "edge")):
            raise _Problem(f"graph attribute {META_KEY!r} lacks the list of encoded keys")

        def decoder(scope: str) -> Callable[[dict], dict]:
            keys = set(encoded[scope])

            def decode(d: dict) -> dict:
                out = {}
                for k, v in d.items():
                    if k in keys:
                        if type(v) is not str:
                            raise _Problem(f"attribute {k!r} should hold typed JSON text, got {v!r}")
                        v = decode_value(_parse_json(v, f"attribute {k!r}"))
                    out[k] = v
                return out
            return decode
    else:
        def decoder(scope: str) -> Callable[[dict], dict]:
            return lambda d: {k: decode_value(v) for k, v in d.items()}

    H = nx.DiGraph()
    graph = {k: v for k, v in G.graph.items() if k not in RESERVED and not (graphml and k in GRAPHML_SPECIAL)}
    H.graph.update(decoder("graph")(graph))
    if "graph" in meta:
        aside = decode_value(meta["graph"])
        if type(aside) is not dict:
            raise _Problem("the graph attributes set aside are not a dict")
        H.graph.update(aside)
    H.add_nodes_from((names[i], decoder("node")(d)) for i, d in G.nodes(data=True))
    H.add_edges_from((names[u], names[v], decoder("edge")(d)) for u, v, d in G.edges(data=True))
    inputs = _decode_names(meta["inputs"], "inputs")
    outputs = _decode_names(meta["outputs"], "outputs")
    try:
        net = compile_graph(H, inputs=list(inputs), outputs=list(outputs), dtype=meta["dtype"])
    except (TypeError, ValueError) as exc:
        raise _Problem(f"the network it holds is not valid: {exc}") from None

    neurons = _decode_names(meta["neurons"], "neurons") if "neurons" in meta else net.neurons
    edge_perm = None
    if "edges" in meta:
        order = list(H)
        pairs = meta["edges"]
        try:
            wanted = [(order[i], order[j]) for i, j in pairs]
            edge_perm = np.array([net.edges.index(p) for p in wanted], dtype=np.int64)
        except (TypeError, ValueError, IndexError):
            raise _Problem("the recorded edge order does not match the graph's edges") from None
        if len(edge_perm) != net.n_edges or len(set(edge_perm.tolist())) != net.n_edges:
            raise _Problem("the recorded edge order does not match the graph's edges")
    if neurons != net.neurons or edge_perm is not None:
        net = _reorder(net, neurons, edge_perm)
    if not meta["node_order"]:
        net = replace(net, attributes=replace(net.attributes, node_order=()), layout=net.layout)
    return net


def _compile_plain(G: nx.Graph) -> Network:
    try:
        return compile_graph(G)
    except (TypeError, ValueError) as exc:
        raise _Problem(f"it holds a graph that does not compile: {exc}") from None
