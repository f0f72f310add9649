"""`simulator.compile`, `Network` and `to_networkx`: names, orientation,
validation and round trips."""

import networkx as nx
import numpy as np
import pytest
from hypothesis import given

import simulator as sim
import topologies as tp

from .strategies import graphs


def test_two_node_orientation():
    """Edge a -> b with weight w puts w where b reads a (W[b, a]), not the transpose."""
    G = nx.DiGraph()
    G.add_edge("a", "b", weight=2.0)
    net = sim.compile(G)
    res = sim.run(net, 1, h0=[0.5, 0.0])
    assert res["b"][1] == pytest.approx(np.tanh(2.0 * 0.5))
    assert res["a"][1] == 0.0


def test_names_and_alignment(four_neuron):
    """Neurons follow graph order; edges follow G.edges() and align with weight."""
    net = sim.compile(four_neuron)
    assert net.neurons == ("A1", "A2", "B1", "B2")
    assert net.inputs == ("Input1", "Input2") and net.outputs == ("Output",)
    assert list(net.edges) == list(four_neuron.edges())
    for (u, v), w in zip(net.edges, net.weight):
        assert four_neuron.edges[u, v]["weight"] == w
    assert net.edges.index(("B1", "B1")) == list(four_neuron.edges()).index(("B1", "B1"))
    assert ("B1", "A1") not in net.edges
    assert net.edge_counts() == {"hidden->hidden": 5, "input->hidden": 2, "output->hidden": 0,
                                 "hidden->output": 1, "input->output": 0}


def test_inputs_outputs_arguments_fix_column_order(four_neuron):
    """`inputs=`/`outputs=` fix the column order, overriding graph order."""
    net = sim.compile(four_neuron, inputs=["Input2", "Input1"])
    assert net.inputs == ("Input2", "Input1")
    G = nx.DiGraph([("x", "h"), ("h", "y"), ("h", "z")])
    net = sim.compile(G, inputs=["x"], outputs=["z", "y"])
    assert net.outputs == ("z", "y") and net.neurons == ("h",)


def test_layout_maps_slots_to_edges(four_neuron):
    """Every slot of both orders points back to an edge with the same ends."""
    net = sim.compile(four_neuron)
    for blocks, row_is_target in ((net.layout.by_target, True), (net.layout.by_source, False)):
        for block in blocks:
            seen = []
            for r in range(len(block.indptr) - 1):
                for s in range(block.indptr[r], block.indptr[r + 1]):
                    e = block.edge[s]
                    ends = (net.edge_dst[e], net.edge_src[e]) if row_is_target else (net.edge_src[e], net.edge_dst[e])
                    assert ends == (r, block.indices[s])
                    seen.append(e)
            assert sorted(seen) == sorted(set(seen))
    assert sum(len(b.edge) for b in net.layout.by_target) == net.n_edges


def test_arrays_read_only(four_neuron):
    """Parameters cannot be changed in place; with_params makes a new network."""
    net = sim.compile(four_neuron)
    with pytest.raises(ValueError, match="read-only"):
        net.weight[0] = 3.0
    net2 = net.with_params(weight=np.zeros(net.n_edges))
    assert net2.layout is net.layout and net.weight[0] == 1.0 and not net2.weight.any()


def test_undirected_graph_means_both_directions():
    """An undirected edge becomes two directed edges with the same weight."""
    G = nx.Graph()
    G.add_edge(0, 1, weight=0.3)
    G.add_edge(1, 1, weight=0.2)
    net = sim.compile(G)
    assert sorted(net.edges) == [(0, 1), (1, 0), (1, 1)]
    assert sorted(net.weight.tolist()) == [0.2, 0.3, 0.3]


def test_to_networkx_keeps_every_attribute(four_neuron):
    """Graph, node and edge attributes the model does not use survive; its own are updated."""
    G = four_neuron
    G.graph["title"] = "textbook"
    G.nodes["A1"]["pos"] = (1.0, 2.0)
    G.nodes["Input1"]["label"] = "first"
    G.nodes["Output"]["tau"] = 3.0  # meaningless on an output, but kept
    G.nodes["B2"]["role"] = "hidden"
    G.edges["A1", "B1"]["color"] = "red"
    with pytest.warns(UserWarning, match=r"node 'Output' is an output node, which has no tau: its 'tau' attribute "
                                         r"is not used \(it stays on the graph\)"):
        net = sim.compile(G)
    net2 = net.with_params(weight=net.weight * 2)
    H = net2.to_networkx()
    assert list(H) == list(G) and list(H.edges) == list(G.edges)
    assert H.graph["title"] == "textbook"
    assert H.nodes["A1"]["pos"] == (1.0, 2.0) and H.nodes["Input1"]["label"] == "first"
    assert H.nodes["Output"]["tau"] == 3.0 and H.nodes["B2"]["role"] == "hidden"
    assert H.edges["A1", "B1"] == {"color": "red", "weight": 1.6}
    assert H.nodes["A1"]["activation"] == "tanh" and H.nodes["Output"]["activation"] == "identity"


@given(graphs())
def test_round_trip_is_identical(G):
    """compile(net.to_networkx()) gives the same names, parameters and layout."""
    for dtype in ("float64", "float32"):
        net = sim.compile(G, dtype=dtype)
        again = sim.compile(net.to_networkx(), dtype=dtype)
        assert (again.neurons, again.inputs, again.outputs) == (net.neurons, net.inputs, net.outputs)
        assert list(again.edges) == list(net.edges)
        for name in ("weight", "bias", "tau", "activation_codes", "edge_kind", "edge_src", "edge_dst"):
            a, b = getattr(again, name), getattr(net, name)
            assert a.dtype == b.dtype and np.array_equal(a, b), name


def test_to_networkx_keeps_the_column_order_given_to_compile():
    """Inputs and outputs ordered by `inputs=`/`outputs=` come back in that
    order without the arguments: the exported graph lists them so, in the
    places the graph's own inputs and outputs held."""
    G = nx.DiGraph([("a", "h"), ("b", "h"), ("h", "y"), ("h", "z")])
    G.edges["a", "h"]["weight"], G.edges["b", "h"]["weight"] = 0.5, -1.0
    net = sim.compile(G, inputs=["b", "a"], outputs=["z", "y"])
    H = net.to_networkx()
    assert list(H) == ["b", "h", "a", "z", "y"]
    again = sim.compile(H)
    assert (again.inputs, again.outputs) == (("b", "a"), ("z", "y"))
    x = np.array([[1.0, 0.0]])
    np.testing.assert_array_equal(sim.run(again, x).outputs, sim.run(net, x).outputs)


def test_network_and_graphs_share_no_mutable_attribute():
    """A list or dict on the source graph, on the network's exports, or on
    the graph itself can change without changing the network."""
    G = nx.DiGraph([("x", "h"), ("h", "y")])
    G.nodes["h"]["tags"] = ["a"]
    G.edges["x", "h"]["notes"] = {"k": [1]}
    G.graph["meta"] = {"runs": [1]}
    net = sim.compile(G, inputs=["x"], outputs=["y"])
    H = net.to_networkx()
    H.nodes["h"]["tags"].append("exported")
    H.edges["x", "h"]["notes"]["k"].append(2)
    H.graph["meta"]["runs"].append(2)
    G.nodes["h"]["tags"].append("source")
    G.graph["meta"]["runs"].append(3)
    K = net.to_networkx()
    assert K.nodes["h"]["tags"] == ["a"]
    assert K.edges["x", "h"]["notes"] == {"k": [1]}
    assert K.graph["meta"] == {"runs": [1]}


def test_float32_parameters(four_neuron):
    """dtype='float32' stores every parameter as float32."""
    net = sim.compile(four_neuron, dtype="float32")
    assert net.weight.dtype == net.bias.dtype == net.tau.dtype == np.float32
    assert net.astype("float64").weight.dtype == np.float64


# ---------------------------------------------------------------- bad input
def _g(*edges, **roles):
    G = nx.DiGraph()
    G.add_edges_from(edges)
    for n, r in roles.items():
        G.nodes[n]["role"] = r
    return G


@pytest.mark.parametrize("G, kind, match", [
    (_g(("h", "x"), x="input"), ValueError, r"edge \('h', 'x'\) points into input node 'x': inputs take no edges"),
    (_g(("h", "y"), ("y", "z"), y="output", z="output"), ValueError, r"edge \('y', 'z'\) joins two output nodes"),
    (_g(("y", "y"), y="output"), ValueError, r"edge \('y', 'y'\) joins two output nodes"),
    (nx.MultiDiGraph([(0, 1), (0, 1)]), TypeError, r"MultiDiGraph is not supported.*nx\.DiGraph\(G\) keeps the last"),
    ([(0, 1)], TypeError, r"`G` must be a networkx.DiGraph or Graph, got list"),
    (nx.DiGraph(), ValueError, r"`G` has no nodes"),
    (nx.Graph(_g(("x", "h"), x="input")), ValueError,
     r"edge \('h', 'x'\) points into input node 'x': inputs take no edges; an undirected Graph runs every edge "
     r"both ways, so draw the edges at input and output nodes in a DiGraph"),
])
def test_graph_errors(G, kind, match):
    """Invalid wirings are refused with a message naming the edge."""
    with pytest.raises(kind, match=match):
        sim.compile(G)


@pytest.mark.parametrize("attr, value, match", [
    ("weight", float("nan"), r"edge \('a', 'b'\) has non-finite weight nan"),
    ("weight", float("inf"), r"edge \('a', 'b'\) has non-finite weight inf"),
    ("weight", "heavy", r"edge \('a', 'b'\) has weight 'heavy': weights must be real numbers"),
    ("weight", 1 + 2j, r"edge \('a', 'b'\) has weight \(1\+2j\): weights must be real numbers"),
    ("weight", [1.0, 2.0], r"edge \('a', 'b'\) has weight \[1.0, 2.0\]: weights must be real numbers"),
    ("weight", "0.5", r"edge \('a', 'b'\) has weight '0.5': weights must be real numbers"),
    ("weight", None, r"edge \('a', 'b'\) has weight None: weights must be real numbers"),
])
def test_edge_attribute_errors(attr, value, match):
    """A bad weight names its edge."""
    G = nx.DiGraph()
    G.add_edge("z", "a", weight=1.0)
    G.add_edge("a", "b", **{attr: value})
    with pytest.raises(ValueError, match=match):
        sim.compile(G)


@pytest.mark.parametrize("attr, value, match", [
    ("bias", float("nan"), r"node 'b' has non-finite bias nan"),
    ("bias", "x", r"node 'b' has bias 'x': bias must be a real number"),
    ("tau", 0.0, r"node 'b' has tau 0.0: tau must be > 0"),
    ("tau", -1, r"node 'b' has tau -1.0: tau must be > 0"),
    ("tau", float("inf"), r"node 'b' has non-finite tau inf"),
    ("activation", "gelu", r"node 'b' has unknown activation 'gelu': choose one of 'tanh', 'sigmoid'"),
])
def test_node_attribute_errors(attr, value, match):
    """A bad bias, tau or activation names its node."""
    G = nx.DiGraph([("a", "b")])
    G.nodes["b"][attr] = value
    with pytest.raises(ValueError, match=match):
        sim.compile(G)


@pytest.mark.parametrize("where, value, match", [
    ("weight", 1e300, r"edge \('a', 'b'\) has weight 1e\+300, beyond the range of float32"),
    ("bias", -1e300, r"node 'b' has bias -1e\+300, beyond the range of float32"),
    ("tau", 1e-50, r"node 'b' has tau 1e-50, which float32 cannot hold \(it becomes 0.0\); use dtype='float64'"),
    ("tau", 1e300, r"node 'b' has tau 1e\+300, which float32 cannot hold \(it becomes inf\)"),
])
def test_values_float32_cannot_hold_are_named(where, value, match):
    """A finite value that overflows float32 (or a tau that rounds to 0) is
    refused by name instead of surfacing later as inf or 0."""
    G = nx.DiGraph([("a", "b")])
    if where == "weight":
        G.edges["a", "b"]["weight"] = value
    else:
        G.nodes["b"][where] = value
    with pytest.raises(ValueError, match=match):
        sim.compile(G, dtype="float32")
    assert np.isfinite(sim.compile(G).weight).all()  # float64 holds it


@pytest.mark.parametrize("kwargs, kind, match", [
    ({"inputs": ["q"]}, ValueError, r"`inputs` names node 'q', which is not in the graph"),
    ({"inputs": ["a", "a"]}, ValueError, r"`inputs` names node 'a' more than once"),
    ({"inputs": ["a"], "outputs": ["c", "a"]}, ValueError, r"node 'a' is both an input and an output"),
    ({"inputs": "a"}, TypeError, r"`inputs` must be a list of node names, got 'a'"),
    ({"outputs": ["b"]}, ValueError, r"node 'c' has role 'output' but is not in `outputs`"),
    ({"dtype": "float16"}, ValueError, r"`dtype` must be 'float64' or 'float32', got 'float16'"),
])
def test_argument_errors(kwargs, kind, match):
    """Inconsistent `inputs`/`outputs`/`dtype` arguments are refused."""
    G = nx.DiGraph([("a", "b"), ("b", "c")])
    G.nodes["c"]["role"] = "output"
    with pytest.raises(kind, match=match):
        sim.compile(G, **kwargs)


def test_role_case_warning():
    """A role that differs only by case is hidden, with a warning."""
    G = nx.DiGraph([("a", "b")])
    G.nodes["a"]["role"] = "Input"
    with pytest.warns(UserWarning, match="roles are case-sensitive"):
        net = sim.compile(G)
    assert net.neurons == ("a", "b")


def test_network_post_init_validates(four_neuron):
    """Direct construction checks shapes, kinds and duplicate edges."""
    from dataclasses import replace
    net = sim.compile(four_neuron)
    with pytest.raises(ValueError, match=r"`bias` must have shape \(5,\), got \(2,\)"):
        replace(net, bias=np.zeros(2), layout=None)
    with pytest.raises(ValueError, match=r"node 'A1' has tau -1.0: tau must be finite and > 0"):
        net.with_params(tau=-np.ones(4))
    with pytest.raises(ValueError, match=r"edge \('Input1', 'A1'\) has non-finite weight nan"):
        net.with_params(weight=np.full(net.n_edges, np.nan))
    kind = net.edge_kind.copy(); kind[0] = 9
    with pytest.raises(ValueError, match=r"`edge_kind\[0\]` is 9: kinds are 0..4"):
        replace(net, edge_kind=kind, layout=None)
    src = net.edge_src.copy(); src[1] = src[0]; dst = net.edge_dst.copy(); dst[1] = dst[0]
    kind = net.edge_kind.copy(); kind[1] = kind[0]
    with pytest.raises(ValueError, match=r"appears more than once"):
        replace(net, edge_src=src, edge_dst=dst, edge_kind=kind, layout=None)


@pytest.mark.parametrize("build", [lambda: tp.stacked(1, [2, 2], 1), lambda: tp.delay_line(2, link_delay=3)])
def test_graphs_with_delays_compile(build):
    """Non-default delays compile (tests/test_delays.py runs them)."""
    assert sim.compile(build()).has_delays


def test_a_default_delay_compiles_to_a_plain_network():
    """A delay written at its kind's default is the default: to_networkx
    writes delays only where they differ from it (design section 9)."""
    G = tp.delay_line(3, seed=0)
    G.edges["d0", "d1"]["delay"] = 1
    G.edges["in0", "d0"]["delay"] = 0
    net = sim.compile(G)
    assert not net.has_delays
    assert "delay" not in net.to_networkx().edges["d0", "d1"]
