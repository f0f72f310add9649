"""Gated neurons with edge delays (design sections 8 and 9): stacked GRU
and LSTM layers against torch, random GRU / LSTM / plain networks with
delays against `tests.reference.run_general`."""

import numpy as np
import pytest

import simulator as sim
import topologies as tp
from tests.reference import run_general
from tests.test_delays import delayed_graph

RNG = np.random.default_rng(31)
GATE_KEYS = {"gru": ("r", "z"), "lstm": ("i", "f", "o")}
GATE_BIASES = {"gru": ("bias_r", "bias_z", "bias_hn"), "lstm": ("bias_i", "bias_f", "bias_o")}


@pytest.mark.parametrize("unit", ["gru", "lstm"])
def test_two_stacked_layers_equal_torch_num_layers_2(unit):
    """tp.stacked's delay-0 edges between layers: the run is
    torch.nn.GRU / LSTM(num_layers=2) + Linear given the same weights, from
    random h0 (and c0), to 1e-12."""
    from tests.test_gated_topologies import _torch_module

    sizes = [4, 4]
    G = tp.stacked(2, sizes, 1, unit=unit, seed=7)
    torch, m, lin = _torch_module(G, unit, sizes, 2)
    net = sim.compile(G)
    assert net.has_delays and net.gated
    T, B = 15, 3
    x = RNG.normal(size=(T, B, 2))
    h0, c0 = RNG.normal(size=(2, B, sum(sizes)))
    res = sim.run(net, x, h0=h0, c0=c0 if unit == "lstm" else None)
    split = np.cumsum(sizes)[:-1]
    hx = torch.tensor(np.stack(np.split(h0, split, axis=-1)))
    state = (hx, torch.tensor(np.stack(np.split(c0, split, axis=-1)))) if unit == "lstm" else hx
    out, _ = m(torch.tensor(x), state)
    top = [net.neurons.index(f"L1_{i}") for i in range(sizes[1])]
    np.testing.assert_allclose(res.states[1:][..., top], out.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.outputs, lin(out).detach().numpy(), rtol=0, atol=1e-12)


def gated_delayed_graph(seed):
    """`delayed_graph` (delays 0..3, a same-step chain 0 -> 1 -> 2, delayed
    feedback) with GRU neurons 0, 2, 4, LSTM neurons 1, 5 and a plain 3, every
    gate weight and bias drawn."""
    G = delayed_graph(seed=seed)
    rng = np.random.default_rng(seed)
    units = {0: "gru", 2: "gru", 4: "gru", 1: "lstm", 5: "lstm"}
    for v, unit in units.items():
        G.nodes[v]["unit"] = unit
        for key in GATE_BIASES[unit]:
            G.nodes[v][key] = float(rng.normal(0, 0.5))
        for u in G.predecessors(v):
            for q in GATE_KEYS[unit]:
                G.edges[u, v][f"weight_{q}"] = float(rng.normal(0, 0.7))
    return G


@pytest.mark.parametrize("batch", [(), (2,)])
def test_gated_runs_with_delays_equal_the_reference(batch):
    """States, cells, outputs and every recorded gate against run_general
    (R split by delay: the delay-0 chain is the input part), teacher forcing
    on the delay-2 feedback edge, in float64 and float32."""
    G = gated_delayed_graph(seed=3)
    net = sim.compile(G)
    T = 12
    x = RNG.normal(size=(T,) + batch + (2,))
    targets = RNG.normal(size=(T,) + batch + (2,))
    targets.reshape(-1)[::3] = np.nan
    h0 = RNG.normal(0, 0.5, batch + (net.n_neurons,))
    c0 = RNG.normal(0, 0.5, batch + (len(net.cell_neurons),))
    states, outputs, cells, gates = run_general(G, x, h0, c0, teacher=targets, inputs=net.inputs,
                                                outputs=net.outputs)
    res = sim.run(net, x, h0=h0, c0=c0, targets=targets, teacher_forcing=True, record_gates=True)
    hidden = [v for v in G if G.nodes[v].get("role") is None]  # the reference's order
    cols = [hidden.index(v) for v in net.neurons]
    lstm = [v for v in hidden if G.nodes[v].get("unit") == "lstm"]
    np.testing.assert_allclose(res.states, states[..., cols], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.outputs, outputs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.cells, cells[..., [lstm.index(v) for v in net.cell_neurons]], rtol=0, atol=1e-12)
    for q, values in res.gates.items():
        np.testing.assert_allclose(values, gates[q][..., cols], rtol=0, atol=1e-12, err_msg=q)
    low = sim.run(net.astype("float32"), x, h0=h0, c0=c0, targets=targets, teacher_forcing=True)
    np.testing.assert_allclose(low.states, states[..., cols], rtol=0, atol=1e-4)


def test_gradients_of_gated_neurons_with_delays_are_refused_by_edge():
    net = sim.compile(gated_delayed_graph(seed=4))
    with pytest.raises(ValueError, match=r"edge .* has delay .*gradients of gated neurons"):
        sim.bptt(net, np.zeros((3, 2)), np.zeros((3, 2)))
