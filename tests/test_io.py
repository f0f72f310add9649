"""`simulator.io`: networks and results saved to .npz, GraphML and node-link
JSON load back identical; bad files are refused clearly; saves are atomic."""

import json
import math
import os
import pathlib
import re
import zipfile

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator as sim
from simulator import io as sio
from simulator.io import FileFormatError, load, save

from .strategies import graphs

FORMATS = ["npz", "graphml", "json"]
DTYPES = ["float64", "float32"]


# ------------------------------------------------------------------ helpers
def same(a, b) -> bool:
    """Equal values of the same types all the way down (NaN equals NaN,
    arrays by dtype, shape and content)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and (a == b or (a != a and b != b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(k, k2) for k, k2 in zip(a, b)) and all(same(a[k], b[k]) for k in a)
    return a == b


def same_unordered_dict(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(same(a[k], b[k]) for k in a)


def assert_same_network(a: sim.Network, b: sim.Network) -> None:
    """Names (with their types), arrays (bit for bit, dtype) and attributes agree."""
    for group in ("inputs", "neurons", "outputs"):
        assert same(getattr(a, group), getattr(b, group)), group
    assert same(list(a.edges), list(b.edges))
    for name in ("weight", "bias", "tau", "activation_codes", "edge_kind", "edge_src", "edge_dst"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
        assert x.tobytes() == y.tobytes(), name
    assert a.activations == b.activations
    A, B = a.attributes, b.attributes
    assert same_unordered_dict(A.graph, B.graph), (A.graph, B.graph)
    assert set(A.nodes) == set(B.nodes) and all(same_unordered_dict(A.nodes[n], B.nodes[n]) for n in A.nodes)
    assert set(A.edges) == set(B.edges) and all(same_unordered_dict(A.edges[e], B.edges[e]) for e in A.edges)
    assert same(A.node_order, B.node_order)


def assert_same_runs(a: sim.Network, b: sim.Network, seed: int = 0) -> None:
    """Both networks give the same discrete and continuous histories, bit for bit."""
    x = np.random.default_rng(seed).normal(size=(6, a.n_inputs)).astype(a.dtype)
    h0 = np.random.default_rng(seed + 1).normal(size=a.n_neurons).astype(a.dtype)
    for kwargs in ({}, {"dt": 0.5, "method": "rk4"}):
        r1, r2 = sim.run(a, x, h0, **kwargs), sim.run(b, x, h0, **kwargs)
        assert r1.states.dtype == r2.states.dtype == a.dtype
        assert np.array_equal(r1.states, r2.states) and np.array_equal(r1.outputs, r2.outputs)


def round_trip(obj, tmp_path, fmt):
    path = tmp_path / f"obj.{fmt}"
    save(obj, path)
    return load(path)


def rich_graph() -> nx.DiGraph:
    """Names of several types, and attributes no plain GraphML can type."""
    G = nx.DiGraph(title="rich", node_default="mine", created=None, n=3, shape=(2, 3),
                   **{"graphrnn_note": "user key with the module's prefix"})
    G.graph[7] = "int key"
    G.add_node("x", role="input", pos=(0.0, 1.0), label="in", id="collides with node-link 'id'")
    G.add_node(3, pos=(1.0, 1.0), label="three", tau=0.5, activation="relu", bias=-0.25)
    G.add_node("3", pos=(1.0, 2.0), label="the string three", mixed=1)
    G.add_node(("layer", 1), pos=np.array([2.0, 0.5]), mixed=1.5, flag=True, nothing=None,
               nested={"a": [1, (2, 3)], "$b": {1: 2}}, weirdtext="cr\r\nnul\x00 é", big=2**70,
               f32=np.float32(0.1), nan=float("nan"), ninf=float("-inf"), items={1, 2}, raw=b"\x00\xff",
               z=1 + 2j, ints=np.arange(3, dtype=np.int16), empty="", space="  ")
    G.add_node(("layer", (2, "b")), activation="sign", tau=2.0)
    G.add_node(2.5, role="output", bias=0.125, activation="sigmoid", bias_label="c")
    G.add_edge("x", 3, weight=0.3, color="red", source="collides", target=(1, 2))
    G.add_edge(3, "3", weight=-1.1)
    G.add_edge("3", ("layer", 1), weight=0.7, color="blue")
    G.add_edge(("layer", 1), 3, weight=1 / 3)
    G.add_edge(("layer", 1), ("layer", (2, "b")), weight=2.5)
    G.add_edge(("layer", (2, "b")), ("layer", (2, "b")), weight=0.1)
    G.add_edge(3, 2.5, weight=0.9, label=("tuple", "label"))
    G.add_edge("x", 2.5, weight=-0.2)
    G.add_edge(2.5, "3", weight=0.05)
    return G


def shuffled_network(dtype="float64") -> sim.Network:
    """A network built by hand whose neuron and edge orders are not the ones
    compile would give (and with no recorded node order)."""
    net = sim.compile(rich_graph(), dtype=dtype)
    n = net.n_neurons
    p = np.array([2, 0, 3, 1])[:n]  # new neuron i is old p[i]
    new_of_old = np.argsort(p)
    q = np.random.default_rng(0).permutation(net.n_edges)
    from simulator.layout import KIND_ROLES
    hs = np.array([r[0] == 1 for r in KIND_ROLES])[net.edge_kind]
    hd = np.array([r[1] == 1 for r in KIND_ROLES])[net.edge_kind]
    src, dst = net.edge_src.copy(), net.edge_dst.copy()
    src[hs], dst[hd] = new_of_old[src[hs]], new_of_old[dst[hd]]
    return sim.Network(
        neurons=tuple(net.neurons[i] for i in p), inputs=net.inputs, outputs=net.outputs,
        edge_kind=net.edge_kind[q], edge_src=src[q], edge_dst=dst[q], weight=net.weight[q],
        bias=np.concatenate([net.bias[:n][p], net.bias[n:]]), tau=net.tau[p],
        activation_codes=np.concatenate([net.activation_codes[:n][p], net.activation_codes[n:]]),
        attributes=sim.network.GraphAttributes(graph={"made": "by hand"}, nodes={3: {"pos": (1, 2)}},
                                               edges={0: {"color": "green"}}),
    )


# ------------------------------------------------------------ network round trips
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_four_neuron_round_trip(four_neuron, tmp_path, fmt, dtype):
    """The design's network loads back identical from every format and dtype."""
    for n, act in zip(("A1", "A2", "B1", "B2"), ("sign", "elu", "softplus", "hard_sigmoid")):
        four_neuron.nodes[n]["activation"] = act
    four_neuron.nodes["A2"]["tau"] = 0.1
    four_neuron.nodes["Output"]["bias"] = 0.1
    net = sim.compile(four_neuron, inputs=["Input2", "Input1"], dtype=dtype)
    again = round_trip(net, tmp_path, fmt)
    assert isinstance(again, sim.Network)
    assert_same_network(net, again)
    assert_same_runs(net, again)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("names", ["int", "tuple"])
def test_int_and_tuple_names(tmp_path, fmt, names):
    """Int names stay ints (3, not '3'), tuple names stay tuples."""
    G = nx.DiGraph([(0, 1), (1, 2), (2, 1), (1, 1), (2, 3)])
    if names == "tuple":
        G = nx.relabel_nodes(G, {k: ("n", k, (k, "x")) for k in G})
    net = sim.compile(G, inputs=[list(G)[0]], outputs=[list(G)[-1]])
    again = round_trip(net, tmp_path, fmt)
    assert_same_network(net, again)
    assert type(again.neurons[0]) is (int if names == "int" else tuple)
    assert_same_runs(net, again)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_rich_attributes_and_mixed_names(tmp_path, fmt, dtype):
    """Names 3 and '3' side by side, a float and nested tuples as names; tuples,
    arrays, None, NaN, sets, bytes, big ints, control characters and clashing
    keys as attributes: all come back exactly."""
    net = sim.compile(rich_graph(), dtype=dtype)
    again = round_trip(net, tmp_path, fmt)
    assert_same_network(net, again)
    assert again.attributes.nodes[("layer", 1)]["weirdtext"] == "cr\r\nnul\x00 é"
    assert again.attributes.graph["node_default"] == "mine" and again.attributes.graph[7] == "int key"
    assert_same_runs(net, again)
    H = again.to_networkx()
    assert H.nodes["x"]["pos"] == (0.0, 1.0) and H.edges["x", 3]["target"] == (1, 2)


@pytest.mark.parametrize("fmt", FORMATS)
def test_hand_built_orders_survive(tmp_path, fmt):
    """A network whose neuron and edge orders differ from compile's, and with
    no node order, keeps those orders through every format."""
    net = shuffled_network("float32")
    again = round_trip(net, tmp_path, fmt)
    assert_same_network(net, again)
    assert again.attributes.node_order == ()
    assert_same_runs(net, again)


def _tiny(kind):
    if kind == "lonely neuron":
        G = nx.DiGraph()
        G.add_node("h")
        return G
    if kind == "skip only":
        G = nx.DiGraph([("x", "y")])
        G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
        return G
    return nx.DiGraph([("h", "h")], **{"": "empty key", "graphrnn": "reserved"})


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["lonely neuron", "skip only", "self-loop"])
def test_tiny_networks(tmp_path, fmt, kind):
    """Networks with no edges, no hidden neurons or a single self-loop round trip."""
    net = sim.compile(_tiny(kind))
    again = round_trip(net, tmp_path, fmt)
    if kind == "self-loop" and fmt != "npz":
        # The file's own description owns the graph attribute 'graphrnn'.
        assert again.attributes.graph == {"": "empty key"}
        return
    assert_same_network(net, again)


def test_layout_positions_from_networkx(tmp_path):
    """Positions from nx.spring_layout (NumPy arrays) survive GraphML."""
    G = nx.DiGraph([(0, 1), (1, 2), (2, 0)])
    nx.set_node_attributes(G, nx.spring_layout(G, seed=1), "pos")
    net = sim.compile(G)
    again = round_trip(net, tmp_path, "graphml")
    assert_same_network(net, again)
    assert again.attributes.nodes[0]["pos"].dtype == np.float64


@settings(max_examples=25)
@given(G=graphs(), relabel=st.sampled_from(["str", "int", "tuple"]), dtype=st.sampled_from(DTYPES),
       fmt=st.sampled_from(FORMATS))
def test_random_graphs_round_trip(tmp_path_factory, G, relabel, dtype, fmt):
    """Random wirings of every edge kind, with names of several types, load
    back identical and run identically."""
    if relabel == "int":
        G = nx.relabel_nodes(G, {n: i for i, n in enumerate(G)})
    elif relabel == "tuple":
        G = nx.relabel_nodes(G, {n: (n[0], int(n[1:])) for n in G})
    G.graph["seed_note"] = (relabel, dtype)
    first = next(iter(G))
    G.nodes[first]["pos"] = (0.25, -1.0)
    net = sim.compile(G, dtype=dtype)
    again = round_trip(net, tmp_path_factory.mktemp("rt"), fmt)
    assert_same_network(net, again)
    assert_same_runs(net, again)


# ----------------------------------------------------------------- results
def _result_cases(net):
    x = np.random.default_rng(2).normal(size=(5, net.n_inputs))
    xb = np.random.default_rng(3).normal(size=(5, 3, net.n_inputs))
    return {
        "discrete": sim.run(net, x),
        "batched": sim.run(net, xb),
        "async": sim.run(net, x, update="async", seed=4),
        "continuous": sim.run(net, x, dt=0.1, method="euler"),
        "ode": sim.solve(net, x, (0.0, 0.5), dt=0.1, method="RK45"),
    }


@pytest.mark.parametrize("case", ["discrete", "batched", "async", "continuous", "ode"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_result_round_trip(four_neuron, tmp_path, case, dtype):
    """A Result loads back with equal arrays (and dtypes), info and network."""
    net = sim.compile(four_neuron, dtype=dtype)
    res = _result_cases(net)[case]
    again = round_trip(res, tmp_path, "npz")
    assert isinstance(again, sim.Result)
    for name in ("states", "outputs", "times", "inputs"):
        a, b = getattr(res, name), getattr(again, name)
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), name
    assert same_unordered_dict(res.info, again.info)
    if case == "async":
        assert again.info["order"].dtype == np.int64 and again.info["order"].shape == (5, 4)
    assert_same_network(res.network, again.network)
    assert again.batched == res.batched and np.array_equal(again["B1"], res["B1"])
    assert repr(again) == repr(res)


def test_result_info_that_cannot_be_saved_is_left_out(four_neuron, tmp_path):
    """Info entries no file can hold are dropped with a warning naming them."""
    res = sim.run(sim.compile(four_neuron), np.zeros((2, 2)))
    res.info["callback"] = print
    res.info["nested"] = {"arr": np.arange(3), "t": (1, 2)}
    with pytest.warns(UserWarning, match=r"info entries \['callback'\] cannot be saved"):
        save(res, tmp_path / "r.npz")
    again = load(tmp_path / "r.npz")
    assert "callback" not in again.info and same(again.info["nested"], res.info["nested"])


# ------------------------------------------------------------- wrong requests
def test_result_to_text_format_is_refused(four_neuron, tmp_path):
    """A Result saves to .npz only."""
    res = sim.run(sim.compile(four_neuron), np.zeros((2, 2)))
    for ext in ("graphml", "json"):
        with pytest.raises(ValueError, match=rf"a Result is saved to .npz only.*save `result.network` to .{ext}"):
            save(res, tmp_path / f"r.{ext}")
    assert not list(tmp_path.iterdir())


def test_bad_object_extension_and_values(four_neuron, tmp_path):
    """Wrong kinds give TypeError, unknown extensions a ValueError listing the
    supported ones; nothing is written."""
    net = sim.compile(four_neuron)
    with pytest.raises(TypeError, match=r"`obj` must be a Network or Result, got DiGraph"):
        save(four_neuron, tmp_path / "g.npz")
    with pytest.raises(ValueError, match=r"`path` must end in one of \.npz .*\.graphml .*\.json .*got '.*net\.txt'"):
        save(net, tmp_path / "net.txt")
    with pytest.raises(ValueError, match=r"must end in one of"):
        load(str(tmp_path / "net"))
    four_neuron.nodes["A1"]["thing"] = object()
    for fmt in FORMATS:
        with pytest.raises(TypeError, match=r"attribute 'thing' of node 'A1' has type object .*cannot be saved"):
            save(sim.compile(four_neuron), tmp_path / f"n.{fmt}")
    del four_neuron.nodes["A1"]["thing"]
    four_neuron.nodes["A1"][5] = "int attribute name"
    net = sim.compile(four_neuron)
    for fmt in ("graphml", "json"):
        with pytest.raises(ValueError, match=r"node 'A1' has attribute name 5.*save to \.npz instead"):
            save(net, tmp_path / f"n.{fmt}")
    assert not list(tmp_path.iterdir())
    assert_same_network(net, round_trip(net, tmp_path, "npz"))


@pytest.mark.parametrize("name", [float("nan"), (float("nan"), 1), np.float32("nan")], ids=["nan", "tuple", "np"])
def test_nan_node_name_refused_by_text_formats(tmp_path, name):
    """A node name holding a NaN (never equal to itself, so it could not be
    looked up once loaded) is refused by GraphML and JSON, before any file is
    written; .npz still saves it."""
    net = sim.compile(nx.DiGraph([(name, "h"), ("h", "h"), ("h", "y")]), inputs=[name], outputs=["y"])
    for fmt, what in (("graphml", "GraphML"), ("json", "JSON")):
        message = rf"node {re.escape(repr(name))} cannot be saved to {what}: its name holds a NaN.*save to \.npz"
        with pytest.raises(ValueError, match=message):
            save(net, tmp_path / f"n.{fmt}")
    assert not list(tmp_path.iterdir())
    assert load(_saved(net, tmp_path, "npz")).n_edges == 3


def test_save_into_missing_folder_names_the_path(four_neuron, tmp_path):
    """Saving into a folder that does not exist names the user's path and the
    folder, not the temporary file, and writes nothing."""
    net = sim.compile(four_neuron)
    path = tmp_path / "no" / "such" / "net.npz"
    message = r"the folder '.*no/such' does not exist: '.*no/such/net\.npz'$"
    with pytest.raises(FileNotFoundError, match=message) as info:
        save(net, path)
    assert info.value.filename == str(path) and ".tmp" not in str(info.value)
    assert not list(tmp_path.iterdir())


def test_path_types(four_neuron, tmp_path):
    """str and os.PathLike paths both work; the extension's case does not matter."""
    net = sim.compile(four_neuron)
    save(net, str(tmp_path / "a.NPZ"))
    assert_same_network(net, load(pathlib.Path(tmp_path / "a.NPZ")))


# --------------------------------------------------------------- bad files
def _saved(net, tmp_path, fmt) -> pathlib.Path:
    path = tmp_path / f"good.{fmt}"
    save(net, path)
    return path


@pytest.mark.parametrize("fmt", FORMATS)
def test_random_bytes(tmp_path, fmt):
    """Random bytes give a FileFormatError that names the file."""
    path = tmp_path / f"junk.{fmt}"
    path.write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(FileFormatError, match=rf"cannot load '.*junk\.{fmt}': it is not"):
        load(path)
    assert issubclass(FileFormatError, ValueError)


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_file(four_neuron, tmp_path, fmt):
    """A file cut in half is refused, and loading changes nothing on disk."""
    path = _saved(sim.compile(four_neuron), tmp_path, fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(FileFormatError, match=rf"cannot load '.*good\.{fmt}'"):
        load(path)
    assert sorted(os.listdir(tmp_path)) == before and len(path.read_bytes()) == len(data) // 2


def _edit_npz_header(path, edit):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays["header"].tobytes())
    edit(header, arrays)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def _edit_graph_attribute(path, fmt, key, value):
    if fmt == "graphml":
        G = nx.read_graphml(path)
        del G.graph["node_default"], G.graph["edge_default"]
        G.graph[key] = value
        nx.write_graphml(G, path)
    else:
        data = json.loads(path.read_text())
        data["graph"][key] = value
        path.write_text(json.dumps(data))


@pytest.mark.parametrize("fmt", FORMATS)
def test_newer_version_refused(four_neuron, tmp_path, fmt):
    """A file from a newer format version says so and how to fix it."""
    path = _saved(sim.compile(four_neuron), tmp_path, fmt)
    if fmt == "npz":
        _edit_npz_header(path, lambda h, a: h.update(version=sio.FORMAT_VERSION + 1))
    else:
        _edit_graph_attribute(path, fmt, "graphrnn_version", sio.FORMAT_VERSION + 1)
    with pytest.raises(FileFormatError, match=r"format version 2, newer than this graphrnn reads \(up to 1\); "
                                              r"upgrade graphrnn"):
        load(path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_other_format_name_refused(four_neuron, tmp_path, fmt):
    """A file that says it holds something else is refused."""
    path = _saved(sim.compile(four_neuron), tmp_path, fmt)
    if fmt == "npz":
        _edit_npz_header(path, lambda h, a: h.update(format="graphrnn-weights"))
    else:
        _edit_graph_attribute(path, fmt, "graphrnn_format", "graphrnn-weights")
    with pytest.raises(FileFormatError, match=r"it holds 'graphrnn-weights'"):
        load(path)


def test_npz_not_ours_and_inconsistent(four_neuron, tmp_path):
    """Plain .npz archives, .npy content and archives with missing or
    mismatched arrays are refused with the reason."""
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.arange(3))
    with pytest.raises(FileFormatError, match=r"not a graphrnn file \(no header\)"):
        load(path)
    with open(path, "wb") as f:
        np.save(f, np.arange(3))
    with pytest.raises(FileFormatError, match=r"single NumPy array"):
        load(path)
    good = _saved(sim.compile(four_neuron), tmp_path, "npz")
    _edit_npz_header(good, lambda h, a: a.__setitem__("weight", a["weight"].astype(np.float32)))
    with pytest.raises(FileFormatError, match=r"array 'weight' has dtype float32 .* expected 1-dimensional float64"):
        load(good)
    good = _saved(sim.compile(four_neuron), tmp_path, "npz")
    _edit_npz_header(good, lambda h, a: a.__setitem__("edge_src", a["edge_src"] + 9))
    with pytest.raises(FileFormatError, match=r"network it holds is not valid: edge \d+ .* has source index"):
        load(good)
    good = _saved(sim.compile(four_neuron), tmp_path, "npz")
    _edit_npz_header(good, lambda h, a: h.__setitem__("activations", ["gelu"] * 8))
    with pytest.raises(FileFormatError, match=r"unknown activation 'gelu'"):
        load(good)
    with zipfile.ZipFile(tmp_path / "obj.npz", "w") as z:
        z.writestr("header.npy", b"garbage")
    with pytest.raises(FileFormatError, match=r"not a readable \.npz archive"):
        load(tmp_path / "obj.npz")
    (tmp_path / "text.npz").write_bytes(b"plain text, not an archive at all")
    with pytest.raises(FileFormatError, match=r"does not start like a zip archive") as info:
        load(tmp_path / "text.npz")
    assert "pickle" not in str(info.value)  # never advice to unpickle a file


def test_activation_table_is_read_by_name(four_neuron, tmp_path):
    """Codes are mapped through the recorded activation names, so a file from
    a version that numbered activations differently loads correctly."""
    four_neuron.nodes["A1"]["activation"] = "relu"
    net = sim.compile(four_neuron)
    path = _saved(net, tmp_path, "npz")

    def reverse(header, arrays):
        table = header["activations"]
        header["activations"] = table[::-1]
        arrays["activation_codes"] = (len(table) - 1 - arrays["activation_codes"]).astype(np.int8)
    _edit_npz_header(path, reverse)
    assert load(path).activations == net.activations


@pytest.mark.parametrize("fmt", ["graphml", "json"])
def test_plain_networkx_files_compile(four_neuron, tmp_path, fmt):
    """A graph written by networkx itself loads through `compile` (roles from
    attributes, float64; GraphML ids are strings)."""
    G = nx.relabel_nodes(four_neuron, {"A1": 10}) if fmt == "json" else four_neuron
    G.nodes["A2"]["pos"] = [0.5, 1.5] if fmt == "json" else "0.5,1.5"
    path = tmp_path / f"plain.{fmt}"
    if fmt == "graphml":
        nx.write_graphml(G, path)
    else:
        path.write_text(json.dumps(nx.node_link_data(G, edges="links")))
    assert_same_network(sim.compile(G), load(path))


@pytest.mark.parametrize("fmt, content, match", [
    ("json", '{"directed": true, "nodes": [{"id": 1}]}', r"not a node-link graph"),
    ("json", '[1, 2, 3]', r"not a node-link graph"),
    ("json", '{"nodes": [{"id": {"a": 1}}], "edges": []}', r"not a readable node-link graph"),
    ("json", '{"nodes": [{"id": "a", "role": "input"}, {"id": "b"}], "edges": [{"source": "b", "target": "a"}]}',
     r"graph that does not compile: edge \('b', 'a'\) points into input node 'a'"),
    ("json", b'\xff\xfe{}', r"not UTF-8 text"),
    ("graphml", "<graphml><graph><node></graph></graphml>", r"not a readable GraphML file"),
])
def test_files_that_are_not_networks(tmp_path, fmt, content, match):
    """Valid files that are not graphrnn networks, or wirings that do not
    compile, are refused with the reason."""
    path = tmp_path / f"x.{fmt}"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(FileFormatError, match=match):
        load(path)


def test_tampered_graphml_description(four_neuron, tmp_path):
    """A GraphML file whose description does not match its graph is refused."""
    path = _saved(sim.compile(four_neuron), tmp_path, "graphml")
    _edit_graph_attribute(path, "graphml", "graphrnn", '{"dtype": "float16"}')
    with pytest.raises(FileFormatError, match=r"lacks 'inputs'"):
        load(path)
    _edit_graph_attribute(path, "graphml", "graphrnn", "{not json")
    with pytest.raises(FileFormatError, match=r"graph attribute 'graphrnn' is not valid JSON"):
        load(path)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=40)
@given(fmt=st.sampled_from(FORMATS), key=st.sampled_from(
    ["dtype", "inputs", "outputs", "neurons", "edges", "names", "node_order", "encoded", "fields", "graph",
     "attributes", "activations", "edge_kinds", "version"]), value=_JSON)
def test_tampered_descriptions_fail_cleanly(tmp_path_factory, fmt, key, value):
    """Whatever JSON value replaces a part of the file's description, loading
    gives a network or a FileFormatError, never another exception."""
    G = rich_graph() if fmt != "npz" else nx.DiGraph([("x", "h"), ("h", "h")])
    path = tmp_path_factory.mktemp("tamper") / f"t.{fmt}"
    save(shuffled_network() if fmt != "npz" else sim.compile(G), path)
    if fmt == "npz":
        _edit_npz_header(path, lambda h, a: h.__setitem__(key, value))
    elif fmt == "json":
        data = json.loads(path.read_text())
        data["graph"]["graphrnn"][key] = value
        path.write_text(json.dumps(data))
    else:
        G = nx.read_graphml(path)
        meta = json.loads(G.graph["graphrnn"])
        meta[key] = value
        del G.graph["node_default"], G.graph["edge_default"]
        G.graph["graphrnn"] = json.dumps(meta)
        nx.write_graphml(G, path)
    try:
        assert isinstance(load(path), sim.Network)
    except FileFormatError:
        pass


def test_missing_file(tmp_path):
    """A path that does not exist is a FileNotFoundError, not a format error."""
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nothing.npz")


# ------------------------------------------------------------- atomic saves
@pytest.mark.parametrize("fmt", FORMATS)
def test_failed_save_keeps_old_file(four_neuron, tmp_path, monkeypatch, fmt):
    """A save that fails after writing part of the file leaves the old file
    intact and no temporary file behind."""
    old = sim.compile(four_neuron)
    path = _saved(old, tmp_path, fmt)
    before = path.read_bytes()
    new = old.with_params(weight=old.weight * 2)

    def fail(fd):
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        save(new, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == [path.name]
    monkeypatch.undo()
    assert_same_network(old, load(path))


def test_failed_npz_write_midway(four_neuron, tmp_path, monkeypatch):
    """An .npz save that dies half-way through writing its arrays changes nothing."""
    net = sim.compile(four_neuron)
    path = _saved(net, tmp_path, "npz")
    before = path.read_bytes()
    real = np.lib.format.write_array
    calls = []

    def write_some(fp, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            fp.write(b"\x00" * 10)
            raise OSError("interrupted")
        return real(fp, array, *args, **kwargs)
    monkeypatch.setattr(np.lib.format, "write_array", write_some)
    with pytest.raises(OSError, match="interrupted"):
        save(net.with_params(bias=net.bias + 1), path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == [path.name]


def test_save_replaces_and_keeps_permissions(four_neuron, tmp_path):
    """Saving over a file replaces it and keeps its permission bits."""
    net = sim.compile(four_neuron)
    path = _saved(net, tmp_path, "json")
    os.chmod(path, 0o640)
    net2 = net.with_params(weight=net.weight + 1)
    save(net2, path)
    assert_same_network(net2, load(path))
    assert (os.stat(path).st_mode & 0o777) == 0o640


# ------------------------------------------------------------- value codec
@pytest.mark.parametrize("value", [
    None, True, 0, -(2**80), 0.1, -0.0, float("nan"), float("inf"), "", "$dollar", [1, [2, (3,)]],
    (), (1, "a"), {"a": 1}, {"$a": 1}, {1: "x", (1, 2): None}, {1, 2}, frozenset({"a"}), 1 - 2j, b"\x00",
    np.float32(0.1), np.int8(-3), np.bool_(True), np.str_("s"), np.arange(6.0).reshape(2, 3),
    np.array([], dtype=np.int32), np.array(["a", "bc"]), np.array([np.nan, 1.0], dtype=np.float32),
])
def test_value_codec_round_trip(value):
    """Every supported value survives encode -> JSON text -> decode with its type."""
    text = json.dumps(sio.encode_value(value), allow_nan=False)
    assert same(sio.decode_value(json.loads(text)), value)


@pytest.mark.parametrize("obj, match", [
    ({"$nope": 1}, r"unknown value tag '\$nope'"),
    ({"$tuple": 1}, r"\$tuple holds int, not a list"),
    ({"$float": "1.5"}, r"\$float must be 'nan', 'inf' or '-inf'"),
    ({"$ndarray": {"dtype": "<f8", "shape": [3], "data": [1.0]}}, r"does not fill shape \(3,\)"),
    ({"$ndarray": {"dtype": "O", "shape": [0], "data": []}}, r"dtype 'O' is not one a file may hold"),
    ({"$tuple": [], "x": 1}, r"other keys beside"),
])
def test_value_codec_rejects_malformed(obj, match):
    """Malformed typed JSON is refused with the reason."""
    with pytest.raises(ValueError, match=match):
        sio.decode_value(obj)
