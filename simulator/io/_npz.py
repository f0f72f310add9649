"""Networks and results in .npz files: the arrays as they are, the rest in a JSON header."""

from __future__ import annotations

import io
import warnings
from typing import IO, Any

import numpy as np

from ..activations import ACTIVATIONS, NAMES
from ..layout import KINDS
from ..network import DTYPES, GraphAttributes, Network
from ..results import Result
from ..units import GATE_PARAMETERS, UNITS
from ._encoding import (_array_dtype_ok, _decode_name, _decode_names, _encode_attributes, _json, _parse_json,
                        decode_value, encode_value)
from ._errors import _Problem
from ._format import FORMAT_VERSION, NETWORK_FORMAT, RESULT_FORMAT, _check_version_number

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
#: Arrays of a network with gated neurons (written only then): codes, then
#: the gate parameters it has (the network's dtype).
GATED_ARRAYS: dict[str, Any] = {"unit_codes": np.int8, "gate_codes": np.int8,
                                **{name: None for name in GATE_PARAMETERS}}
#: The edge delays (int64), written only for a network with a non-default one.
DELAY_ARRAY = "delay"
RESULT_ARRAYS = ("states", "outputs", "times", "inputs")


# ------------------------------------------------------------------------ networks
def _check_version(header: Any, formats: tuple[str, ...]) -> str:
    if type(header) is not dict or "format" not in header:
        raise _Problem("it is not a graphrnn file (no format name in its header)")
    fmt, version = header["format"], header.get("version")
    if fmt not in formats:
        raise _Problem(f"it holds {fmt!r}, not one of {', '.join(map(repr, formats))}")
    _check_version_number(version)
    return fmt



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
    if net.gated:
        header["units"] = list(UNITS)
        arrays.update((prefix + key, np.asarray(getattr(net, key)))
                      for key in GATED_ARRAYS if getattr(net, key) is not None)
    if net.has_delays:
        arrays[prefix + DELAY_ARRAY] = np.asarray(net.delay)
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
    if "units" in header:
        for key, dt in GATED_ARRAYS.items():
            if prefix + key not in arrays:
                continue
            a = arrays[prefix + key]
            want = dtype if dt is None else np.dtype(dt)
            if a.dtype != want or a.ndim != 1:
                raise _Problem(f"array {prefix + key!r} has dtype {a.dtype} and {a.ndim} dimensions, "
                               f"expected 1-dimensional {want}")
            values[key] = a
        if "unit_codes" not in values or "gate_codes" not in values:
            raise _Problem("the unit or gate activation codes are missing")
        values["unit_codes"] = _recode(values["unit_codes"], header["units"], UNITS, "unit")
        values["gate_codes"] = _recode(values["gate_codes"], header["activations"], ACTIVATIONS, "activation")
    if prefix + DELAY_ARRAY in arrays:
        a = arrays[prefix + DELAY_ARRAY]
        if a.dtype != np.int64 or a.ndim != 1:
            raise _Problem(f"array {prefix + DELAY_ARRAY!r} has dtype {a.dtype} and {a.ndim} dimensions, "
                           "expected 1-dimensional int64")
        values["delay"] = a.copy()
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


# ------------------------------------------------------------------------- results
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
    # A gated run's cells and gates, written only when the run has them (older
    # readers skip the extra members).
    if res.cells is not None:
        arrays["cells"] = np.asarray(res.cells)
    if res.gates is not None:
        header["gates"] = list(res.gates)
        for key, value in res.gates.items():
            arrays[f"gates/{key}"] = np.asarray(value)
    return header, arrays


def _gated_from_record(header: dict, arrays: dict[str, np.ndarray], net: Network,
                       states: np.ndarray) -> tuple[np.ndarray | None, dict[str, np.ndarray] | None]:
    """The cells and gates of a result record (None where it has none), checked against `states`."""
    cells = arrays.get("cells")
    if cells is not None:
        expected = states.shape[:-1] + (len(net.cell_neurons),)
        if cells.dtype.kind != "f" or cells.shape != expected:
            raise _Problem(f"array 'cells' has dtype {cells.dtype} and shape {cells.shape}; expected floats "
                           f"of shape {expected} ({len(net.cell_neurons)} LSTM neurons)")
    keys = header.get("gates")
    if keys is None:
        return cells, None
    if type(keys) is not list or not all(type(k) is str for k in keys) or len(set(keys)) != len(keys):
        raise _Problem("the gates entry is not a list of distinct gate names")
    gates, expected = {}, (states.shape[0] - 1,) + states.shape[1:]
    for key in keys:
        member = f"gates/{key}"
        if member not in arrays:
            raise _Problem(f"array {member!r} is missing")
        a = arrays[member]
        if a.dtype.kind != "f" or a.shape != expected:
            raise _Problem(f"array {member!r} has dtype {a.dtype} and shape {a.shape}; expected floats of "
                           f"shape {expected}")
        gates[key] = a
    return cells, gates


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
    cells, gates = _gated_from_record(header, arrays, net, states)
    return Result(states=states, outputs=outputs, times=times, inputs=inputs, network=net, info=info,
                  cells=cells, gates=gates)


def _write_npz(f: IO[bytes], header: dict, arrays: dict[str, np.ndarray]) -> None:
    for key, a in arrays.items():
        if not _array_dtype_ok(a.dtype):  # savez would pickle object arrays
            raise TypeError(f"array {key!r} has dtype {a.dtype}, which cannot be saved without pickling")
    text = _json(header, separators=(",", ":"))
    np.savez(f, header=np.frombuffer(text.encode("utf-8"), dtype=np.uint8), **arrays)


def _read_npz(data: bytes) -> Network | Result:
    if not data.startswith((b"PK", b"\x93NUMPY")):  # else np.load reads it as a pickle, and refuses
        raise _Problem("it is not a readable .npz archive (it does not start like a zip archive: "
                       "corrupt, or another kind of file)")
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
