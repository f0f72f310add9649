"""Builders for gated units, stacked layers and delays (`tp.gru`, `tp.lstm`,
`tp.gate`, `tp.stacked`, `tp.delay_line`, `delays=`), and the plain-NumPy
reference for sections 8 and 9 they are checked with: against PyTorch's
GRU, LSTM and two-layer RNN (where torch is installed), `np.convolve` and
the section-3 reference."""

import networkx as nx
import numpy as np
import pytest

import topologies as tp
from tests.reference import GATES, run_discrete, run_general

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("build, unit", [(tp.gru, "gru"), (tp.lstm, "lstm")])
def test_fully_connected_gated_networks(build, unit):
    """Every input and hidden neuron feeds every hidden neuron with one
    weight per gate, drawn within PyTorch's U(-1/sqrt(H), 1/sqrt(H)); the
    same seed gives the same graph."""
    G = build(3, 4, 2, seed=1)
    hidden = [f"h{i}" for i in range(4)]
    assert list(G) == ["in0", "in1", "in2", *hidden, "out0", "out1"]
    assert G.number_of_edges() == 3 * 4 + 4 * 4 + 4 * 2
    keys = {"weight"} | {f"weight_{q}" for q in GATES[unit][1:]}
    for u, v, data in G.edges(data=True):
        if v in hidden:
            assert set(data) == keys and all(abs(w) <= 0.5 for w in data.values())
        else:
            assert set(data) == {"weight"}
    assert all(G.nodes[h]["unit"] == unit for h in hidden)
    assert nx.utils.graphs_equal(G, build(3, 4, 2, seed=1))
    assert G.edges["h0", "h1"] != build(3, 4, 2, seed=2).edges["h0", "h1"]


def test_stacked_layers_read_the_layer_below_in_the_same_step():
    """Edges between layers carry delay 0; edges within a layer carry none
    (the default, one step)."""
    G = tp.stacked(2, [3, 2], 1, seed=0)
    between = [(u, v) for u, v in G.edges if u.startswith("L0") and v.startswith("L1")]
    assert len(between) == 6 and all(G.edges[e]["delay"] == 0 for e in between)
    assert not any("delay" in d for u, v, d in G.edges(data=True) if u[:2] == v[:2] == "L1")
    assert "unit" not in G.nodes["L0_0"] and tp.stacked(1, [2], 0, unit="gru").nodes["L0_0"]["unit"] == "gru"


@pytest.mark.parametrize("bad, error, match", [
    (dict(unit="tanh"), ValueError, "`unit` must be one of 'rnn', 'gru', 'lstm'"),
    (dict(layers=[]), TypeError, "`layers` must be a non-empty list"),
    (dict(layers=[2, 0]), ValueError, r"layers\[1\]"),
])
def test_stacked_refuses_bad_arguments(bad, error, match):
    args = dict(n_in=1, layers=[2], n_out=1) | bad
    with pytest.raises(error, match=match):
        tp.stacked(**args)


def test_gate_draws_gate_weights_for_existing_edges_only():
    """Chosen neurons get the unit, gate biases (forget bias 1 for LSTMs) and
    a weight per gate on each existing in-edge, U(-k, k) with k = 1 /
    sqrt(in-degree); the edge's own weight and every other node stay."""
    G = tp.erdos_renyi(6, 0.5, n_inputs=1, n_outputs=1, seed=0)
    before = nx.DiGraph(G)
    out = tp.gate(G, unit="lstm", nodes=[0, 3], seed=0)
    assert out is G
    for n in G:
        if n in (0, 3):
            assert G.nodes[n]["unit"] == "lstm" and G.nodes[n]["bias_f"] == 1.0 and G.nodes[n]["bias_i"] == 0.0
            k = 1 / np.sqrt(G.in_degree(n))
            for u, _, data in G.in_edges(n, data=True):
                assert data["weight"] == before.edges[u, n]["weight"]
                assert all(abs(data[f"weight_{q}"]) <= k for q in "ifo")
        else:
            assert G.nodes[n] == before.nodes[n]
            assert all(set(d) == {"weight"} for *_, d in G.in_edges(n, data=True))


@pytest.mark.parametrize("nodes, match", [(["in0"], "'in0' is an input node"), ([99], "node 99 of `nodes` is not in")])
def test_gate_refuses_non_hidden_nodes(nodes, match):
    with pytest.raises(ValueError, match=match):
        tp.gate(tp.ring(4, n_inputs=1, seed=0), nodes=nodes)


def test_delays_option_draws_recurrent_delays_after_everything_else():
    """`delays=(lo, hi)` puts an integer delay in lo..hi on every hidden edge
    and changes nothing else the seed draws."""
    plain = tp.fixed_indegree(30, 3, n_inputs=1, n_outputs=1, seed=4)
    G = tp.fixed_indegree(30, 3, n_inputs=1, n_outputs=1, seed=4, delays=(1, 5))
    hidden = [(u, v) for u, v in G.edges if isinstance(u, int) and isinstance(v, int)]
    found = {G.edges[e]["delay"] for e in hidden}
    assert found == {1, 2, 3, 4, 5}
    assert all("delay" not in d for u, v, d in G.edges(data=True) if (u, v) not in set(hidden))
    assert [d["weight"] for *_, d in G.edges(data=True)] == [d["weight"] for *_, d in plain.edges(data=True)]


@pytest.mark.parametrize("delays, error", [((0, 2), ValueError), ((3, 2), ValueError), ((1, 10**6), ValueError),
                                           (3, TypeError), ((1.5, 2), TypeError)])
def test_delays_option_refuses_bad_ranges(delays, error):
    with pytest.raises(error, match="delays"):
        tp.erdos_renyi(5, 0.5, seed=0, delays=delays)


def test_reference_delay_line_is_an_fir_filter():
    """A linear readout of a delay line's taps (each tap k steps back) is
    the FIR filter np.convolve computes, with one- and two-step links."""
    u = RNG.normal(size=25)
    for link in (1, 2):
        G = tp.delay_line(5, seed=3, link_delay=link)
        taps = np.array([G.edges[f"d{k}", "out0"]["weight"] for k in range(5)])
        kernel = np.zeros(4 * link + 1)
        kernel[::link] = taps
        _, y, _, _ = run_general(G, u[:, None])
        np.testing.assert_allclose(y[:, 0], np.convolve(u, kernel)[:25], rtol=0, atol=1e-13)


def test_reference_with_default_delays_and_plain_units_is_section_3():
    """The general reference reduces to the section-3 one (feedback and
    teacher forcing included)."""
    G = tp.erdos_renyi(6, 0.4, n_inputs=2, n_outputs=2, seed=3)
    G.add_edge("out0", 1, weight=0.7)
    x = RNG.normal(size=(9, 3, 2))
    teacher = RNG.normal(size=(9, 3, 2))
    teacher[2, 0, 0] = np.nan
    for kw in ({}, {"teacher": teacher}):
        s1, o1 = run_discrete(G, x, **kw)
        s2, o2, cells, _ = run_general(G, x, **kw)
        np.testing.assert_allclose(s2, s1, rtol=0, atol=1e-14)
        np.testing.assert_allclose(o2, o1, rtol=0, atol=1e-14)
        assert cells is None


def test_reference_refuses_a_cycle_of_same_step_edges():
    G = nx.DiGraph([(0, 1), (1, 0)])
    nx.set_edge_attributes(G, 0, "delay")
    with pytest.raises(nx.NetworkXUnfeasible):
        run_general(G, np.zeros((2, 0)))


# ------------------------------------------------------------------ torch parity
def _torch_module(G, unit, sizes, n_in):
    """A torch GRU/LSTM/RNN (+ Linear readout) carrying a `stacked` graph's
    parameters, layer by layer (PyTorch's gate order r, z, n / i, f, g, o)."""
    torch = pytest.importorskip("torch")
    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[unit]
    m = cls(n_in, sizes[0], num_layers=len(sizes)).double()
    order = {"rnn": ("a",), "gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o")}[unit]
    first = {"rnn": "a", "gru": "n", "lstm": "g"}[unit]
    names = [[f"L{l}_{i}" for i in range(h)] for l, h in enumerate(sizes)]
    below = [f"in{k}" for k in range(n_in)]
    with torch.no_grad():
        for l, layer in enumerate(names):
            w_ih, w_hh = getattr(m, f"weight_ih_l{l}"), getattr(m, f"weight_hh_l{l}")
            b_ih, b_hh = getattr(m, f"bias_ih_l{l}"), getattr(m, f"bias_hh_l{l}")
            H = len(layer)
            for g, q in enumerate(order):
                key = "weight" if q == first else f"weight_{q}"
                for i, t in enumerate(layer):
                    for j, s in enumerate(below):
                        w_ih[g * H + i, j] = G.edges[s, t][key]
                    for j, s in enumerate(layer):
                        w_hh[g * H + i, j] = G.edges[s, t][key]
                    node = G.nodes[t]
                    if unit == "gru" and q == "n":
                        b_ih[g * H + i], b_hh[g * H + i] = node["bias"], node["bias_hn"]
                    else:
                        b_ih[g * H + i], b_hh[g * H + i] = node["bias" if q == first else f"bias_{q}"], 0.0
            below = layer
        lin = torch.nn.Linear(len(below), 1).double()
        lin.weight[0] = torch.tensor([G.edges[h, "out0"]["weight"] for h in below], dtype=torch.float64)
        lin.bias[0] = G.nodes["out0"]["bias"]
    return torch, m, lin


@pytest.mark.parametrize("unit, sizes", [("gru", [5]), ("lstm", [5]), ("rnn", [4, 4]), ("gru", [3, 3]),
                                         ("lstm", [3, 3])])
def test_reference_equals_torch(unit, sizes):
    """The reference on `tp.stacked` graphs is torch.nn.GRU / LSTM / RNN
    (one or two layers) with a Linear readout, to 1e-12, from random h0
    (and c0)."""
    G = tp.stacked(2, sizes, 1, unit=unit, seed=5)
    torch, m, lin = _torch_module(G, unit, sizes, 2)
    T, B, N = 6, 3, sum(sizes)
    x = RNG.normal(size=(T, B, 2))
    h0, c0 = RNG.normal(size=(B, N)), RNG.normal(size=(B, N))
    states, y, cells, gates = run_general(G, x, h0=h0, c0=c0 if unit == "lstm" else None)
    stack = lambda a: torch.tensor(np.stack(np.split(a, np.cumsum(sizes)[:-1], axis=-1)))
    hx = stack(h0) if unit != "lstm" else (stack(h0), stack(c0))
    out, _ = m(torch.tensor(x), hx)
    np.testing.assert_allclose(states[1:, :, -sizes[-1]:], out.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(y, lin(out).detach().numpy(), rtol=0, atol=1e-12)
    if unit == "gru":
        assert np.isnan(gates["i"]).all() and np.isfinite(gates["z"]).all()
