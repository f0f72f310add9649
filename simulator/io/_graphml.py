"""Networks in GraphML files, through networkx."""

from __future__ import annotations

import io
from typing import IO

import networkx as nx

from ..network import Network
from ._encoding import _parse_json
from ._errors import _Problem
from ._format import NETWORK_FORMAT, _check_version_number
from ._text import (FORMAT_KEY, GRAPHML_SPECIAL, META_KEY, VERSION_KEY, _compile_plain, _network_from_text_graph,
                    _text_graph)


def _write_graphml(f: IO[bytes], net: Network) -> None:
    nx.write_graphml(_text_graph(net, graphml=True), f)


def _read_graphml(data: bytes) -> Network:
    try:
        G = nx.read_graphml(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - any failure to parse is a corrupt file
        raise _Problem(f"it is not a readable GraphML file ({type(exc).__name__}: {exc})") from None
    if FORMAT_KEY not in G.graph:
        for key in GRAPHML_SPECIAL:
            if G.graph.get(key) == {}:
                del G.graph[key]
        return _compile_plain(G)
    if G.graph[FORMAT_KEY] != NETWORK_FORMAT:
        raise _Problem(f"it holds {G.graph[FORMAT_KEY]!r}, not {NETWORK_FORMAT!r}")
    _check_version_number(G.graph.get(VERSION_KEY))
    meta = G.graph.get(META_KEY)
    if type(meta) is not str:
        raise _Problem(f"graph attribute {META_KEY!r} is missing")
    return _network_from_text_graph(G, _parse_json(meta, f"graph attribute {META_KEY!r}"), graphml=True)
