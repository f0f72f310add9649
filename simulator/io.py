"""Files for networks and results: `save` and `load`.

The format follows the file's extension:

============  =================  =============================================
extension     holds              written through
============  =================  =============================================
``.npz``      Network or Result  NumPy ``savez`` (no pickles): the arrays as
                                 they are, names and attributes in a JSON header
``.graphml``  Network            ``networkx.write_graphml``
``.json``     Network            ``networkx.node_link_data`` (node-link JSON,
                                 one node or edge per line)
============  =================  =============================================

Every file records its format (``"graphrnn-network"`` or
``"graphrnn-result"``), the format version, the dtype and the order of the
inputs and outputs, and loads back to an identical object: the same names of
the same types (an int node ``3`` stays ``3``, a tuple stays a tuple), the same
order of neurons, inputs, outputs and edges, the same parameters bit for bit,
the same activations and the same graph, node and edge attributes.

Values travel as typed JSON where a format has no place for them: a tuple is
``{"$tuple": [...]}``, a non-finite float ``{"$float": "nan"}``, a NumPy array
``{"$ndarray": {"dtype": "<f8", "shape": [2], "data": [...]}}``; likewise
``$set``, ``$frozenset``, ``$dict`` (non-string keys), ``$complex``,
``$bytes`` and ``$scalar`` (NumPy scalars). In GraphML, attribute values that
GraphML cannot type exactly (anything but strings, bools, 64-bit ints and
finite floats, or a key whose values mix types) are written as such JSON
strings, and the graph attribute ``graphrnn`` lists those keys. In node-link
JSON every attribute value is typed JSON (plain JSON values are themselves).
Node names that the format cannot carry as they are (GraphML ids are strings;
node-link ids are strings, ints or flat lists of those, read back as tuples) are
all written as typed JSON text, e.g. ``"3"`` or ``'{"$tuple": [0, 1.5]}'``.

The graph attributes ``graphrnn_format``, ``graphrnn_version`` and
``graphrnn`` are reserved for the file's own description in GraphML and JSON.

A GraphML or node-link file that does not carry that description (a graph
written by networkx or another tool) is loaded through `simulator.compile`:
roles come from the ``role`` attributes, the dtype is float64, GraphML node
ids are strings, node-link ids keep their JSON types (lists become tuples), and
a node-link file that does not say otherwise holds a directed graph.
"""

from __future__ import annotations

import base64
import contextlib
import inspect
import io
import json
import math
import os
import re
import secrets
import stat
import warnings
from collections.abc import Callable, Hashable
from dataclasses import replace
from typing import IO, Any

import networkx as nx
import numpy as np

from .activations import ACTIVATIONS, NAMES
from .compiler import compile as compile_graph
from .layout import KIND_ROLES, KINDS
from .network import DTYPES, GraphAttributes, Network
from .results import Result

__all__ = ["FileFormatError", "save", "load", "encode_value", "decode_value", "EXTENSIONS", "FORMAT_VERSION"]

#: The version this module writes, and the newest it reads.
FORMAT_VERSION = 1
NETWORK_FORMAT = "graphrnn-network"
RESULT_FORMAT = "graphrnn-result"
#: Supported extensions and what each holds.
EXTENSIONS: dict[str, str] = {
    ".npz": "Network or Result",
    ".graphml": "Network",
    ".json": "Network",
}
#: Graph attributes that describe the file in GraphML and node-link JSON.
META_KEY, FORMAT_KEY, VERSION_KEY = "graphrnn", "graphrnn_format", "graphrnn_version"
RESERVED = frozenset({META_KEY, FORMAT_KEY, VERSION_KEY})
#: Graph attributes networkx's GraphML reader and writer treat specially.
GRAPHML_SPECIAL = frozenset({"node_default", "edge_default"})
#: The arrays of a network in an .npz file, with their dtype (None: the network's).
NETWORK_ARRAYS: dict[str, Any] = {
    "weight": None,
    "bias": None,
    "tau": None,
    "activation_codes": np.int8,
    "edge_kind": np.int8,
    "edge_src": np.int32,
    "edge_dst": np.int32,
}
RESULT_ARRAYS = ("states", "outputs", "times", "inputs")
INT64 = (-(2**63), 2**63)
#: Characters XML 1.0 cannot carry as they are (a carriage return is read back as a newline).
_XML_UNSAFE = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class FileFormatError(ValueError):
    """A file that cannot be loaded: corrupt, truncated, not a graphrnn file,
    or written by a newer version. The message names the file and the fault."""


class _Problem(ValueError):
    """What is wrong with a file's content; `load` adds the path."""


# --------------------------------------------------------------------------- values
_VALUE_KINDS = ("None, bool, int, float, complex, str, bytes, list, tuple, set, frozenset, dict, "
                "or NumPy arrays and scalars of numbers or text")


def _array_dtype_ok(dt: np.dtype) -> bool:
    return (dt.kind in "biuU" or (dt.kind == "f" and dt.itemsize <= 8)
            or (dt.kind == "c" and dt.itemsize <= 16))


def encode_value(value: Any, where: str = "value") -> Any:
    """Return `value` as typed JSON: plain JSON values as they are, others tagged.

    Parameters
    ----------
    value : object
        None, bool, int, float, complex, str, bytes, list, tuple, set,
        frozenset, dict, or a NumPy array or scalar of numbers or text.
    where : str
        What `value` is (``"attribute 'pos' of node 'A1'"``), for the message.

    Returns
    -------
    object
        Built of dicts, lists, str, int, finite float, bool and None only;
        `decode_value` gives back an equal value of the same types.

    Raises
    ------
    TypeError
        For any other type; the message names `where`.

    Examples
    --------
    >>> import numpy as np
    >>> encode_value((1, "a", None))
    {'$tuple': [1, 'a', None]}
    >>> encode_value({"x": float("inf"), 2: np.float32(0.5)})
    {'$dict': [['x', {'$float': 'inf'}], [2, {'$scalar': ['<f4', 0.5]}]]}
    >>> value = decode_value(encode_value({"x": float("inf"), 2: np.float32(0.5)}))
    >>> value["x"], type(value[2]).__name__
    (inf, 'float32')
    """
    t = type(value)
    if value is None or t is bool or t is str or t is int:
        return value
    if t is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if t is list:
        return [encode_value(v, where) for v in value]
    if t is tuple:
        return {"$tuple": [encode_value(v, where) for v in value]}
    if t is dict:
        if all(type(k) is str and not k.startswith("$") for k in value):
            return {k: encode_value(v, where) for k, v in value.items()}
        return {"$dict": [[encode_value(k, where), encode_value(v, where)] for k, v in value.items()]}
    if t is set or t is frozenset:
        return {"$" + t.__name__: [encode_value(v, where) for v in value]}
    if t is complex:
        return {"$complex": [encode_value(value.real), encode_value(value.imag)]}
    if t is bytes:
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if t is np.ndarray and _array_dtype_ok(value.dtype):
        return {"$ndarray": {"dtype": value.dtype.str, "shape": list(value.shape),
                             "data": encode_value(value.ravel().tolist(), where)}}
    if isinstance(value, np.generic) and _array_dtype_ok(value.dtype):
        return {"$scalar": [value.dtype.str, encode_value(value.item(), where)]}
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    raise TypeError(f"{where} has type {t.__name__} ({text}), which cannot be saved: "
                    f"values must be {_VALUE_KINDS}")


def _encode_attributes(attrs: dict, where: str) -> Any:
    """`encode_value` of an attribute dict, with each attribute named in messages."""
    if all(type(k) is str and not k.startswith("$") for k in attrs):
        return {k: encode_value(v, f"attribute {k!r} of {where}") for k, v in attrs.items()}
    return {"$dict": [[encode_value(k, f"an attribute name of {where}"), encode_value(v, f"attribute {k!r} of {where}")]
                      for k, v in attrs.items()]}


def _dtype(text: Any) -> np.dtype:
    if not isinstance(text, str):
        raise _Problem(f"dtype {text!r} is not a string")
    try:
        dt = np.dtype(text)
    except TypeError:
        raise _Problem(f"unknown dtype {text!r}") from None
    if not _array_dtype_ok(dt):
        raise _Problem(f"dtype {text!r} is not one a file may hold")
    return dt


def _decode_tag(tag: str, body: Any) -> Any:
    if tag in ("$tuple", "$set", "$frozenset", "$dict", "$complex") and type(body) is not list:
        raise _Problem(f"{tag} holds {type(body).__name__}, not a list")
    if tag == "$tuple":
        return tuple(decode_value(v) for v in body)
    if tag in ("$set", "$frozenset"):
        items = [decode_value(v) for v in body]
        return set(items) if tag == "$set" else frozenset(items)
    if tag == "$dict":
        if not all(type(p) is list and len(p) == 2 for p in body):
            raise _Problem("$dict must hold [key, value] pairs")
        return {decode_value(k): decode_value(v) for k, v in body}
    if tag == "$float":
        if body not in ("nan", "inf", "-inf"):
            raise _Problem(f"$float must be 'nan', 'inf' or '-inf', got {body!r}")
        return float(body)
    if tag == "$complex":
        re_, im = (decode_value(v) for v in body) if len(body) == 2 else (None, None)
        if type(re_) is not float or type(im) is not float:
            raise _Problem("$complex must hold two floats")
        return complex(re_, im)
    if tag == "$bytes":
        if type(body) is not str:
            raise _Problem("$bytes must hold base64 text")
        return base64.b64decode(body.encode("ascii"), validate=True)
    if tag == "$ndarray":
        if type(body) is not dict or set(body) != {"dtype", "shape", "data"}:
            raise _Problem("$ndarray must hold 'dtype', 'shape' and 'data'")
        dt = _dtype(body["dtype"])
        shape = body["shape"]
        if type(shape) is not list or not all(type(s) is int and s >= 0 for s in shape):
            raise _Problem(f"$ndarray shape {shape!r} is not a list of sizes")
        data = decode_value(body["data"])
        if type(data) is not list or len(data) != math.prod(shape):
            raise _Problem(f"$ndarray data does not fill shape {tuple(shape)}")
        return np.array(data, dtype=dt).reshape(shape)
    if tag == "$scalar":
        if type(body) is not list or len(body) != 2:
            raise _Problem("$scalar must hold [dtype, value]")
        return _dtype(body[0]).type(decode_value(body[1]))
    raise _Problem(f"unknown value tag {tag!r}")


def decode_value(obj: Any) -> Any:
    """Return the value that `encode_value` turned into `obj`.

    Raises
    ------
    ValueError
        If `obj` is not typed JSON (an unknown tag, a malformed body).
    """
    t = type(obj)
    if obj is None or t in (bool, int, float, str):
        return obj
    if t is list:
        return [decode_value(v) for v in obj]
    if t is dict:
        tags = [k for k in obj if k.startswith("$")]
        if not tags:
            return {k: decode_value(v) for k, v in obj.items()}
        if len(obj) != 1:
            raise _Problem(f"a tagged value has other keys beside {tags[0]!r}")
        try:
            return _decode_tag(tags[0], obj[tags[0]])
        except (TypeError, ValueError, OverflowError) as exc:
            if isinstance(exc, _Problem):
                raise
            raise _Problem(f"malformed {tags[0]} value: {exc}") from None
    raise _Problem(f"a {t.__name__} is not typed JSON")


def _decode_name(obj: Any) -> Hashable:
    name = decode_value(obj)
    try:
        hash(name)
    except TypeError:
        raise _Problem(f"node name {name!r} is not hashable") from None
    return name


def _decode_names(obj: Any, what: str) -> tuple:
    if type(obj) is not list:
        raise _Problem(f"`{what}` is not a list of names")
    return tuple(_decode_name(v) for v in obj)


def _json(obj: Any, **kwargs: Any) -> str:
    return json.dumps(obj, allow_nan=False, **kwargs)


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _Problem(f"{what} is not valid JSON ({exc})") from None


# ------------------------------------------------------------------ npz: networks
def _check_version(header: Any, formats: tuple[str, ...]) -> str:
    if type(header) is not dict or "format" not in header:
        raise _Problem("it is not a graphrnn file (no format name in its header)")
    fmt, version = header["format"], header.get("version")
    if fmt not in formats:
        raise _Problem(f"it holds {fmt!r}, not one of {', '.join(map(repr, formats))}")
    _check_version_number(version)
    return fmt


def _check_version_number(version: Any) -> None:
    if type(version) is not int or version < 1:
        raise _Problem(f"format version {version!r} is not a positive integer")
    if version > FORMAT_VERSION:
        raise _Problem(f"it was written in format version {version}, newer than this graphrnn reads "
                       f"(up to {FORMAT_VERSION}); upgrade graphrnn to load it")


def _node_order_positions(net: Network) -> np.ndarray | None:
    order = net.attributes.node_order
    if not order:
        return None
    everything = net.inputs + net.neurons + net.outputs
    position = {name: i for i, name in enumerate(everything)}
    if len(order) != len(everything) or set(order) != set(everything):
        raise ValueError("`attributes.node_order` must list every node of the network once")
    return np.array([position[name] for name in order], dtype=np.int64)


def _attributes_record(attrs: GraphAttributes) -> dict:
    return {
        "graph": _encode_attributes(dict(attrs.graph), "the graph"),
        "nodes": [[encode_value(n, f"node name {n!r}"), _encode_attributes(dict(d), f"node {n!r}")]
                  for n, d in attrs.nodes.items()],
        "edges": [[int(e), _encode_attributes(dict(d), f"edge {e}")] for e, d in attrs.edges.items()],
        "node_order": bool(attrs.node_order),
    }


def _network_record(net: Network, prefix: str = "") -> tuple[dict, dict[str, np.ndarray]]:
    """The JSON header and the arrays that describe `net` in an .npz file."""
    names = {group: [encode_value(n, f"node name {n!r}") for n in getattr(net, group)]
             for group in ("inputs", "neurons", "outputs")}
    header = {
        "format": NETWORK_FORMAT,
        "version": FORMAT_VERSION,
        "dtype": net.dtype.name,
        **names,
        "activations": list(NAMES),
        "edge_kinds": list(KINDS),
        "attributes": _attributes_record(net.attributes),
    }
    arrays = {prefix + key: np.asarray(getattr(net, key)) for key in NETWORK_ARRAYS}
    order = _node_order_positions(net)
    if order is not None:
        arrays[prefix + "node_order"] = order
    return header, arrays


def _recode(codes: np.ndarray, table: Any, known: dict[str, int], what: str) -> np.ndarray:
    """Map codes written against `table` (names) to this version's codes."""
    if type(table) is not list or not all(type(t) is str for t in table):
        raise _Problem(f"the {what} table is not a list of names")
    unknown = [t for t in table if t not in known]
    mapping = np.array([known.get(t, -1) for t in table], dtype=np.int64)
    if codes.size and (codes.min() < 0 or codes.max() >= len(table)):
        raise _Problem(f"a {what} code is outside 0..{len(table) - 1}")
    new = mapping[codes.astype(np.int64)] if codes.size else codes.astype(np.int64)
    if (new < 0).any():
        raise _Problem(f"unknown {what} {unknown[0]!r} (this graphrnn knows {', '.join(map(repr, known))})")
    return new.astype(codes.dtype)


def _attributes_from_record(rec: Any, everything: tuple, order: np.ndarray | None) -> GraphAttributes:
    if type(rec) is not dict or not {"graph", "nodes", "edges", "node_order"} <= set(rec):
        raise _Problem("the attributes record is incomplete")
    graph = decode_value(rec["graph"])
    if type(graph) is not dict:
        raise _Problem("graph attributes are not a dict")
    nodes = {}
    for pair in rec["nodes"] if type(rec["nodes"]) is list else [None]:
        if type(pair) is not list or len(pair) != 2:
            raise _Problem("node attributes are not [name, attributes] pairs")
        attrs = decode_value(pair[1])
        if type(attrs) is not dict:
            raise _Problem("node attributes are not dicts")
        nodes[_decode_name(pair[0])] = attrs
    edges = {}
    for pair in rec["edges"] if type(rec["edges"]) is list else [None]:
        if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not int:
            raise _Problem("edge attributes are not [position, attributes] pairs")
        attrs = decode_value(pair[1])
        if type(attrs) is not dict:
            raise _Problem("edge attributes are not dicts")
        edges[pair[0]] = attrs
    node_order: tuple = ()
    if rec["node_order"]:
        if order is None:
            raise _Problem("the node order is missing")
        if order.ndim != 1 or not np.array_equal(np.sort(order), np.arange(len(everything))):
            raise _Problem("the node order is not a permutation of the nodes")
        node_order = tuple(everything[i] for i in order.tolist())
    return GraphAttributes(graph=graph, nodes=nodes, edges=edges, node_order=node_order)


def _network_from_record(header: Any, arrays: dict[str, np.ndarray], prefix: str = "") -> Network:
    if type(header) is not dict:
        raise _Problem("the network record is not a dict")
    missing = [k for k in ("dtype", "inputs", "neurons", "outputs", "activations", "edge_kinds", "attributes")
               if k not in header]
    if missing:
        raise _Problem(f"the network record lacks {', '.join(map(repr, missing))}")
    if type(header["dtype"]) is not str or header["dtype"] not in DTYPES:
        raise _Problem(f"dtype {header['dtype']!r} is not 'float64' or 'float32'")
    dtype = np.dtype(header["dtype"])
    values = {}
    for key, dt in NETWORK_ARRAYS.items():
        if prefix + key not in arrays:
            raise _Problem(f"array {prefix + key!r} is missing")
        a = arrays[prefix + key]
        want = dtype if dt is None else np.dtype(dt)
        if a.dtype != want or a.ndim != 1:
            raise _Problem(f"array {prefix + key!r} has dtype {a.dtype} and {a.ndim} dimensions, "
                           f"expected 1-dimensional {want}")
        values[key] = a
    values["activation_codes"] = _recode(values["activation_codes"], header["activations"], ACTIVATIONS,
                                         "activation")
    values["edge_kind"] = _recode(values["edge_kind"], header["edge_kinds"],
                                  {k: i for i, k in enumerate(KINDS)}, "edge kind")
    names = {group: _decode_names(header[group], group) for group in ("inputs", "neurons", "outputs")}
    everything = names["inputs"] + names["neurons"] + names["outputs"]
    attributes = _attributes_from_record(header["attributes"], everything, arrays.get(prefix + "node_order"))
    try:
        return Network(**names, **values, attributes=attributes)
    except (TypeError, ValueError) as exc:
        raise _Problem(f"the network it holds is not valid: {exc}") from None


# ------------------------------------------------------------------- npz: results
def _result_record(res: Result) -> tuple[dict, dict[str, np.ndarray]]:
    net_header, arrays = _network_record(res.network, prefix="network/")
    for key in RESULT_ARRAYS:
        arrays[key] = np.asarray(getattr(res, key))
    info, dropped = [], []
    for key, value in res.info.items():
        try:
            enc_key = encode_value(key, "an info key")
            if type(value) is np.ndarray and _array_dtype_ok(value.dtype):
                member = f"info/{len(arrays)}"
                arrays[member] = value
                info.append([enc_key, {"array": member}])
            else:
                info.append([enc_key, {"value": encode_value(value, f"info[{key!r}]")}])
        except TypeError:
            dropped.append(key)
    if dropped:
        warnings.warn(f"info entries {dropped!r} cannot be saved and are left out", UserWarning, stacklevel=3)
    header = {"format": RESULT_FORMAT, "version": FORMAT_VERSION, "network": net_header, "info": info}
    return header, arrays


def _result_from_record(header: dict, arrays: dict[str, np.ndarray]) -> Result:
    if "network" not in header or "info" not in header:
        raise _Problem("the result record lacks its network or info")
    net = _network_from_record(header["network"], arrays, prefix="network/")
    values = {}
    for key in RESULT_ARRAYS:
        if key not in arrays:
            raise _Problem(f"array {key!r} is missing")
        a = arrays[key]
        if a.dtype.kind != "f":
            raise _Problem(f"array {key!r} has dtype {a.dtype}, not a float type")
        values[key] = a
    states, outputs, times, inputs = (values[k] for k in RESULT_ARRAYS)
    if (states.ndim not in (2, 3) or outputs.ndim != states.ndim or times.ndim != 1
            or inputs.ndim not in (2, 3)
            or states.shape[-1] != net.n_neurons or outputs.shape[-1] != net.n_outputs
            or inputs.shape[-1] != net.n_inputs
            or times.shape[0] != states.shape[0] or outputs.shape[0] + 1 != states.shape[0]):
        raise _Problem(f"the arrays do not fit together or the network: states {states.shape}, "
                       f"outputs {outputs.shape}, times {times.shape}, inputs {inputs.shape} for "
                       f"{net.n_neurons} neurons, {net.n_outputs} outputs, {net.n_inputs} inputs")
    info = {}
    if type(header["info"]) is not list:
        raise _Problem("info is not a list of entries")
    for entry in header["info"]:
        if type(entry) is not list or len(entry) != 2 or type(entry[1]) is not dict or len(entry[1]) != 1:
            raise _Problem("info entries are not [key, {'value' | 'array': ...}] pairs")
        key, spec = _decode_name(entry[0]), entry[1]
        if "array" in spec:
            if spec["array"] not in arrays:
                raise _Problem(f"array {spec['array']!r} for info[{key!r}] is missing")
            info[key] = arrays[spec["array"]]
        elif "value" in spec:
            info[key] = decode_value(spec["value"])
        else:
            raise _Problem("info entries are not [key, {'value' | 'array': ...}] pairs")
    return Result(states=states, outputs=outputs, times=times, inputs=inputs, network=net, info=info)


def _write_npz(f: IO[bytes], header: dict, arrays: dict[str, np.ndarray]) -> None:
    for key, a in arrays.items():
        if not _array_dtype_ok(a.dtype):  # savez would pickle object arrays
            raise TypeError(f"array {key!r} has dtype {a.dtype}, which cannot be saved without pickling")
    text = _json(header, separators=(",", ":"))
    np.savez(f, header=np.frombuffer(text.encode("utf-8"), dtype=np.uint8), **arrays)


def _read_npz(data: bytes) -> Network | Result:
    try:
        z = np.load(io.BytesIO(data), allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise _Problem("it holds a single NumPy array, not an .npz archive")
        with z:
            arrays = {key: z[key] for key in z.files}
        for key, value in arrays.items():
            if not isinstance(value, np.ndarray):
                raise _Problem(f"it is not a readable .npz archive (member {key!r} is not a NumPy array)")
    except _Problem:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to parse is a corrupt file
        raise _Problem(f"it is not a readable .npz archive (corrupt or truncated: {exc})") from None
    head = arrays.pop("header", None)
    if head is None or head.dtype != np.uint8 or head.ndim != 1:
        raise _Problem("it is not a graphrnn file (no header)")
    try:
        text = head.tobytes().decode("utf-8")
    except UnicodeDecodeError:
        raise _Problem("its header is not UTF-8 text") from None
    header = _parse_json(text, "its header")
    fmt = _check_version(header, (NETWORK_FORMAT, RESULT_FORMAT))
    if fmt == NETWORK_FORMAT:
        return _network_from_record(header, arrays)
    return _result_from_record(header, arrays)


# ------------------------------------------------------- GraphML and node-link JSON
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
    with names and values encoded, and the file's description as graph attributes."""
    G = net.to_networkx()
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
    ids = {n: n if native_names else _json(encode_value(n, f"node name {n!r}"), ensure_ascii=True)
           for n in names}

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


def _node_link_kwargs(edges_key: str) -> dict[str, str]:
    # networkx >= 3.4 names the edge list `edges=`; earlier versions `link=`.
    params = inspect.signature(nx.node_link_data).parameters
    return {"edges": edges_key} if "edges" in params else {"link": edges_key}


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


# ------------------------------------------------------------------- front doors
def _path_and_extension(path: str | os.PathLike) -> tuple[str, str]:
    path = os.fsdecode(os.fspath(path))
    ext = os.path.splitext(path)[1].lower()
    if ext not in EXTENSIONS:
        valid = ", ".join(f"{e} ({what})" for e, what in EXTENSIONS.items())
        raise ValueError(f"`path` must end in one of {valid}; got {path!r}")
    return path, ext


def _write_atomic(path: str, write: Callable[[IO[bytes]], None]) -> None:
    """Write through `write` into a new file beside `path`, then move it over `path`.

    A failure at any point leaves `path` as it was and removes the new file.
    """
    target = os.path.realpath(path)
    directory, base = os.path.split(target)
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save(obj: Network | Result, path: str | os.PathLike) -> None:
    """Save a network or a result to `path`, in the format its extension names.

    Parameters
    ----------
    obj : Network or Result
        What to save. A `Result` goes to ``.npz`` only; its network is saved
        with it.
    path : str or os.PathLike
        Ends in ``.npz``, ``.graphml`` or ``.json`` (node-link). The file is
        written beside `path` under a temporary name and then moved over it,
        so a failed save never leaves a half-written file in its place.

    Raises
    ------
    TypeError
        If `obj` is not a Network or Result, or carries an attribute value of
        a type no file can hold (the message names it).
    ValueError
        For an unknown extension (the message lists the supported ones), a
        Result to GraphML or JSON, or an attribute name that is not a string
        in GraphML or JSON.

    See Also
    --------
    load

    Examples
    --------
    >>> import os, tempfile
    >>> import networkx as nx
    >>> import simulator as sim
    >>> from simulator.io import save, load
    >>> G = nx.DiGraph([("x", "h"), ("h", "h"), ("h", "y")])
    >>> G.nodes["h"]["pos"] = (0.5, 1.0)
    >>> net = sim.compile(G, inputs=["x"], outputs=["y"], dtype="float32")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("net.npz", "net.graphml", "net.json"):
    ...         save(net, os.path.join(tmp, name))
    ...     sorted(os.listdir(tmp))
    ['net.graphml', 'net.json', 'net.npz']
    """
    if not isinstance(obj, (Network, Result)):
        raise TypeError(f"`obj` must be a Network or Result, got {type(obj).__name__}")
    path, ext = _path_and_extension(path)
    if isinstance(obj, Result):
        if ext != ".npz":
            raise ValueError(f"a Result is saved to .npz only, got {path!r}; "
                             f"save `result.network` to {ext} for its graph alone")
        header, arrays = _result_record(obj)
        write = lambda f: _write_npz(f, header, arrays)  # noqa: E731
    elif ext == ".npz":
        header, arrays = _network_record(obj)
        write = lambda f: _write_npz(f, header, arrays)  # noqa: E731
    else:
        # Encode in memory first: an unsavable value fails before any file is touched.
        buffer = io.BytesIO()
        (_write_graphml if ext == ".graphml" else _write_node_link)(buffer, obj)
        content = buffer.getvalue()
        write = lambda f: f.write(content)  # noqa: E731
    _write_atomic(path, write)


def load(path: str | os.PathLike) -> Network | Result:
    """Load a network or a result saved by `save`.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.npz``, ``.graphml`` or node-link ``.json`` file. A GraphML or
        JSON graph written by other tools (without graphrnn's description) is
        compiled with `simulator.compile`: roles from ``role`` attributes,
        float64.

    Returns
    -------
    Network or Result
        Whatever the file holds, identical to what was saved: names of the
        same types, the same order of neurons, inputs, outputs and edges,
        parameters bit for bit, activations and attributes.

    Raises
    ------
    FileFormatError
        (a ValueError) If the file is corrupt, truncated, not a graphrnn
        file, or written in a newer format version; the message names the
        file and the fault.
    ValueError
        For an unknown extension.
    FileNotFoundError
        If there is no such file.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, networkx as nx
    >>> import simulator as sim
    >>> from simulator.io import save, load
    >>> G = nx.DiGraph([(0, 1), (1, 1), (1, 2)])
    >>> net = sim.compile(G, inputs=[0], outputs=[2])
    >>> res = sim.run(net, np.ones((3, 1)))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save(net, os.path.join(tmp, "net.graphml"))
    ...     save(res, os.path.join(tmp, "run.npz"))
    ...     again = load(os.path.join(tmp, "net.graphml"))
    ...     res2 = load(os.path.join(tmp, "run.npz"))
    >>> again.neurons, again.inputs, list(again.edges)
    ((1,), (0,), [(0, 1), (1, 1), (1, 2)])
    >>> np.array_equal(res2.states, res.states), res2.network.outputs
    (True, (2,))
    """
    path, ext = _path_and_extension(path)
    with open(path, "rb") as f:
        data = f.read()
    reader = {".npz": _read_npz, ".graphml": _read_graphml, ".json": _read_node_link}[ext]
    try:
        return reader(data)
    except _Problem as exc:
        raise FileFormatError(f"cannot load {path!r}: {exc}") from None
    except (TypeError, KeyError, IndexError, AttributeError) as exc:
        # A description whose parts have the wrong JSON types.
        raise FileFormatError(f"cannot load {path!r}: its content is malformed "
                              f"({type(exc).__name__}: {exc})") from exc
