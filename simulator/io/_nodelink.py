"""Networks in node-link JSON files, one node or edge per line."""

from __future__ import annotations

import inspect
from typing import IO

import networkx as nx

from ..network import Network
from ._encoding import _json, _parse_json
from ._errors import _Problem
from ._format import NETWORK_FORMAT, _check_version_number
from ._text import FORMAT_KEY, META_KEY, VERSION_KEY, _compile_plain, _network_from_text_graph, _text_graph


def _node_link_kwargs(edges_key: str) -> dict[str, str]:
    # networkx >= 3.4 names the edge list `edges=`; earlier versions `link=`.
    params = inspect.signature(nx.node_link_data).parameters
    return {"edges": edges_key} if "edges" in params else {"link": edges_key}


def _write_node_link(f: IO[bytes], net: Network) -> None:
    H = _text_graph(net, graphml=False)
    fields = H.graph[META_KEY]["fields"]
    data = nx.node_link_data(H, **fields, **_node_link_kwargs("edges"))
    parts = []
    for key, value in data.items():
        if type(value) is list and value:
            items = ",\n  ".join(_json(v, ensure_ascii=False) for v in value)
            parts.append(f" {_json(key)}: [\n  {items}\n ]")
        else:
            parts.append(f" {_json(key)}: {_json(value, ensure_ascii=False)}")
    f.write(("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8"))


def _read_node_link(data: bytes) -> Network:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Problem("it is not UTF-8 text") from None
    raw = _parse_json(text, "its content")
    edges_key = "edges" if type(raw) is dict and "edges" in raw else "links"
    if type(raw) is not dict or type(raw.get("nodes")) is not list or type(raw.get(edges_key)) is not list:
        raise _Problem("it is not a node-link graph (no 'nodes' and 'edges' lists)")
    graph = raw.get("graph", {})
    ours = type(graph) is dict and FORMAT_KEY in graph
    fields = {}
    if ours:
        if graph[FORMAT_KEY] != NETWORK_FORMAT:
            raise _Problem(f"it holds {graph[FORMAT_KEY]!r}, not {NETWORK_FORMAT!r}")
        _check_version_number(graph.get(VERSION_KEY))
        meta = graph.get(META_KEY)
        fields = meta.get("fields") if type(meta) is dict else None
        if type(fields) is not dict or set(fields) != {"name", "source", "target"}:
            raise _Problem(f"graph attribute {META_KEY!r} lacks the node-link field names")
    try:
        # A file that does not say otherwise holds a directed graph (design section 2).
        G = nx.node_link_graph(raw, directed=True, multigraph=False, **fields, **_node_link_kwargs(edges_key))
    except Exception as exc:  # noqa: BLE001 - any failure to build is a malformed file
        raise _Problem(f"it is not a readable node-link graph ({type(exc).__name__}: {exc})") from None
    if not ours:
        return _compile_plain(G)
    return _network_from_text_graph(G, G.graph[META_KEY], graphml=False)
