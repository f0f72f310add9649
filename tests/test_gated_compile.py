"""Compiling gated units (design section 8): units, gate parameters, their
errors and warnings, `with_params`, `to_networkx` and the files."""

import warnings

import numpy as np
import pytest

import simulator as sim
import topologies as tp
from simulator.units import GATE_BIASES, GATE_PARAMETERS, GATE_WEIGHTS


def mixed_graph():
    """Five hidden neurons on a ring with an input and an output fed back:
    two GRUs, two LSTMs (one with hard-sigmoid gates), one plain neuron."""
    G = tp.ring(5, n_inputs=1, n_outputs=1, seed=0)
    G.add_edge("out0", 0, weight=0.3)
    tp.gate(G, unit="gru", nodes=[0, 3], seed=1)
    tp.gate(G, unit="lstm", nodes=[1, 4], seed=2)
    G.nodes[4]["gate_activation"] = "hard_sigmoid"
    return G


def test_units_and_gate_parameters_are_aligned_with_edges_and_biases():
    """net.units, weight_* along net.edges (0 where the target lacks the
    gate), bias_* along net.bias, cell_neurons in neuron order."""
    G = mixed_graph()
    net = sim.compile(G)
    assert net.units == ("gru", "lstm", "rnn", "gru", "lstm")
    assert net.cell_neurons == (1, 4)
    for unit in ("gru", "lstm"):
        for name in GATE_WEIGHTS[unit]:
            values = getattr(net, name)
            for e, (u, v) in enumerate(net.edges):
                gated = v in net.neurons and net.units[net.neurons.index(v)] == unit
                assert values[e] == (G.edges[u, v].get(name, 0.0) if gated else 0.0)
        for name in GATE_BIASES[unit]:
            expect = [G.nodes[n].get(name, 0.0) if G.nodes[n].get("unit") == unit else 0.0
                      for n in net.neurons + net.outputs]
            np.testing.assert_array_equal(getattr(net, name), expect)
    assert net.gate_activations[4] == "hard_sigmoid" and net.gate_activations[1] == "sigmoid"


def test_plain_networks_have_no_gate_parameters():
    net = sim.compile(tp.ring(3, n_inputs=1, n_outputs=1, seed=0))
    assert net.units == ("rnn",) * 3 and net.cell_neurons == () and not net.gated
    assert all(getattr(net, name) is None for name in GATE_PARAMETERS)
    gru = sim.compile(tp.gru(1, 2, 1, seed=0))
    assert gru.weight_i is None and gru.bias_o is None and gru.weight_z is not None


def test_to_networkx_and_every_file_format_round_trip_bit_for_bit(tmp_path):
    """Gate attributes are written on edges into gated neurons only; the
    files give back the same network, every parameter bit for bit."""
    G = mixed_graph()
    G.edges["in0", 2]["label"] = "kept"
    net = sim.compile(G, dtype="float32")
    H = net.to_networkx()
    for u, v, d in H.edges(data=True):
        gated = v in net.neurons and net.units[net.neurons.index(v)] != "rnn"
        assert gated or not set(d) & set(GATE_PARAMETERS)
    assert H.edges["in0", 2]["label"] == "kept" and H.nodes[1]["unit"] == "lstm"
    copies = [sim.compile(H, dtype="float32")]
    for ext in ("npz", "graphml", "json"):
        sim.save(net, tmp_path / f"net.{ext}")
        copies.append(sim.load(tmp_path / f"net.{ext}"))
    for other in copies:
        assert other.units == net.units and other.neurons == net.neurons and list(other.edges) == list(net.edges)
        np.testing.assert_array_equal(other.gate_codes, net.gate_codes)
        for name in ("weight", "bias", "tau", *GATE_PARAMETERS):
            a, b = getattr(net, name), getattr(other, name)
            assert (a is None) == (b is None)
            if a is not None:
                assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name


def test_with_params_takes_every_gate_parameter():
    net = sim.compile(mixed_graph())
    for name in ("weight_z", "weight_f", "bias_hn", "bias_o"):
        new = net.with_params(**{name: getattr(net, name) * 2})
        np.testing.assert_array_equal(getattr(new, name), getattr(net, name) * 2)
    with pytest.raises(ValueError, match=r"`weight_z` must have shape \(\d+,\)"):
        net.with_params(weight_z=[1.0])
    with pytest.raises(ValueError, match="is not a GRU neuron: `bias_r` must be 0 there"):
        net.with_params(bias_r=np.ones(net.n_neurons + net.n_outputs))
    with pytest.raises(ValueError, match="not a parameter of this network"):
        sim.compile(tp.gru(1, 2, 1)).with_params(weight_i=np.zeros(8))
    with pytest.raises(TypeError, match="unexpected keyword argument 'weight_q'"):
        net.with_params(weight_q=net.weight)


@pytest.mark.parametrize("change, error, match", [
    (lambda G: G.nodes[0].update(unit="GRU"), ValueError, "node 0 has unit 'GRU': choose one of 'rnn', 'gru', 'lstm'"),
    (lambda G: G.nodes[0].update(gate_activation="tanh"), ValueError,
     "node 0 has gate_activation 'tanh': choose one of 'sigmoid', 'hard_sigmoid'"),
    (lambda G: G.nodes["in0"].update(unit="gru"), ValueError, "node 'in0' is an input node and has unit 'gru'"),
    (lambda G: G.nodes["out0"].update(unit="lstm"), ValueError, "node 'out0' is an output node"),
    (lambda G: G.edges["in0", 0].update(weight_z=np.nan), ValueError, r"edge \('in0', 0\) has non-finite weight_z"),
    (lambda G: G.edges["in0", 0].update(weight_z="0.5"), ValueError,
     r"edge \('in0', 0\) has weight_z '0.5': weight_z must be a real number"),
    (lambda G: G.nodes[1].update(bias_f=np.inf), ValueError, "node 1 has non-finite bias_f"),
    (lambda G: G.nodes[1].update(bias_i=[1.0]), ValueError, "node 1 has bias_i"),
])
def test_compile_names_the_culprit(change, error, match):
    G = mixed_graph()
    change(G)
    with pytest.raises(error, match=match):
        sim.compile(G)


def test_gate_attributes_where_nothing_reads_them_warn_once():
    """A gate weight into a plain neuron or an output, a gate bias on a plain
    neuron: one warning for all, and the attributes stay on the graph."""
    G = mixed_graph()
    G.edges["in0", 2]["weight_z"] = 0.5
    G.edges[4, "out0"]["weight_i"] = 0.5
    G.nodes[2]["bias_f"] = 1.0
    with pytest.warns(UserWarning) as record:
        net = sim.compile(G)
    messages = [str(w.message) for w in record]
    assert len(messages) == 2
    assert any("edge ('in0', 2) points into a plain neuron 2, which has no 'z' gate" in m and "1 more" in m
               for m in messages)
    assert any("node 2 is a plain neuron (unit 'rnn'), which has no bias_f" in m for m in messages)
    H = net.to_networkx()
    assert H.edges["in0", 2]["weight_z"] == 0.5 and H.nodes[2]["bias_f"] == 1.0


def test_stacked_gated_layers_compile_and_run():
    """Their runs against torch: tests/test_delayed_gated.py."""
    net = sim.compile(tp.stacked(1, [2, 2], 1, unit="gru", seed=0))
    assert np.isfinite(sim.run(net, np.ones((2, 1))).states).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sim.compile(tp.stacked(1, [2], 1, unit="lstm", seed=0)).units == ("lstm", "lstm")


@pytest.mark.parametrize("where, key, value", [("edge", "weight_r", "abc"), ("node", "bias_z", None),
                                               ("node", "unit", 3), ("node", "gate_activation", 1.0)])
def test_a_gate_attribute_of_the_wrong_kind_is_a_type_error_naming_it(where, key, value):
    """Section 8: a value of the wrong kind is a TypeError (and, like every
    bad attribute value, a ValueError), naming the node or edge."""
    G = tp.gru(1, 2, 1, seed=0)
    (G.edges["h0", "h1"] if where == "edge" else G.nodes["h0"])[key] = value
    with pytest.raises(TypeError, match=f"{key} {value!r}") as info:
        sim.compile(G)
    assert isinstance(info.value, ValueError) and "'h0'" in str(info.value)
