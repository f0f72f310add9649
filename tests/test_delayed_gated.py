"""Gated neurons with edge delays (design sections 8 and 9): stacked GRU
and LSTM layers against torch, random GRU / LSTM / plain networks with
delays against `tests.reference.run_general`."""

import numpy as np
import pytest

import simulator as sim
import topologies as tp
from simulator.units import GATE_PARAMETERS
from tests import reference as ref
from tests.reference import run_general
from tests.test_bptt import _central_differences, _check
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


def gated_delayed_graph(seed, unit=None):
    """`delayed_graph` (delays 0..3, a same-step chain 0 -> 1 -> 2, delayed
    feedback) with GRU neurons 0, 2, 4, LSTM neurons 1, 5 and a plain 3 (or
    `unit` for all five), every gate weight and bias drawn."""
    G = delayed_graph(seed=seed)
    rng = np.random.default_rng(seed)
    units = {0: "gru", 2: "gru", 4: "gru", 1: "lstm", 5: "lstm"}
    if unit is not None:
        units = dict.fromkeys(units, unit)
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


def _general_loss(x, targets, c0, teacher):
    def loss_of(net, h0, c=c0):
        _, y, _, _ = ref.run_general(net.to_networkx(), x, h0, c, teacher=targets if teacher else None,
                                     inputs=net.inputs, outputs=net.outputs)
        return ref.mse(y, targets)
    return loss_of


@pytest.mark.parametrize("batch, teacher", [((), False), ((2,), True)])
def test_gated_gradients_with_delays_match_central_differences(batch, teacher):
    """Every weight, gate weight, bias, gate bias, h0 and c0 of GRU, LSTM
    and plain neurons with delays 0..3 (teacher forcing on the delay-2
    feedback edge) against central differences of run_general's loss."""
    net = sim.compile(gated_delayed_graph(seed=5))
    rng = np.random.default_rng(6)
    T = 7
    x = rng.normal(size=(T,) + batch + (2,))
    targets = rng.normal(size=(T,) + batch + (2,))
    targets.reshape(-1)[::3] = np.nan
    h0 = rng.normal(0, 0.5, batch + (net.n_neurons,))
    c0 = rng.normal(0, 0.5, batch + (len(net.cell_neurons),))
    _, grads = sim.bptt(net, x, targets, h0=h0, c0=c0, teacher_forcing=teacher)
    loss_of = _general_loss(x, targets, c0, teacher)
    expected = _central_differences(net, h0, loss_of)
    for name in GATE_PARAMETERS:
        if getattr(net, name) is None:
            continue
        expected[name] = _gate_differences(net, name, lambda n: loss_of(n, h0))
    g_c0 = np.empty_like(c0)
    for k in np.ndindex(c0.shape):
        hi, lo = c0.copy(), c0.copy()
        hi[k] += 1e-6
        lo[k] -= 1e-6
        g_c0[k] = (loss_of(net, h0, hi) - loss_of(net, h0, lo)) / 2e-6
    expected["c0"] = g_c0
    _check(grads, expected)


def _gate_differences(net, name, loss_of, eps=1e-6):
    """Central differences for gate parameter `name`; 0 on the entries
    that belong to neurons of another unit (with_params refuses to set them)."""
    base = getattr(net, name)
    g = np.zeros_like(base)
    for k in range(base.size):
        hi, lo = base.copy(), base.copy()
        hi[k] += eps
        lo[k] -= eps
        try:
            up = net.with_params(**{name: hi})
        except ValueError:
            continue
        g[k] = (loss_of(up) - loss_of(net.with_params(**{name: lo}))) / (2 * eps)
    return g


def test_a_delay_that_changes_nothing_gives_the_gated_kernels_gradients():
    """A zero-weight edge of delay 2 in a GRU network: every other
    gradient, the diagnostics, truncated and teacher-forced, equal the
    default-delay gated kernels' to rounding."""
    G = tp.stacked(2, [3], 2, unit="gru", seed=8)
    G.add_edge("out0", "L0_1", weight=0.4, weight_r=0.3, weight_z=-0.2)
    net = sim.compile(G)
    assert not G.has_edge("in1", "out1")
    G.add_edge("in1", "out1", weight=0.0, delay=2)
    delayed = sim.compile(G)
    assert delayed.has_delays and not net.has_delays
    x, targets = RNG.normal(size=(9, 2, 2)), RNG.normal(size=(9, 2, 2))
    targets[::2, 0] = np.nan
    kwargs = dict(truncate=4, teacher_forcing=True, return_diagnostics=True)
    loss, plain = sim.bptt(net, x, targets, **kwargs)
    loss_d, grads = sim.bptt(delayed, x, targets, **kwargs)
    assert loss_d == pytest.approx(loss, rel=1e-13)
    same = [delayed.edges.index(e) for e in net.edges]
    for name in ("weight", "weight_r", "weight_z"):
        np.testing.assert_allclose(getattr(grads, name)[same], getattr(plain, name), rtol=1e-12, atol=1e-14)
    for name in ("bias", "bias_r", "bias_z", "bias_hn", "h0"):
        np.testing.assert_allclose(getattr(grads, name), getattr(plain, name), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grads.diagnostics["dh_norm"], plain.diagnostics["dh_norm"], rtol=1e-12)
    np.testing.assert_allclose(grads.diagnostics["edge_grad"][:, same], plain.diagnostics["edge_grad"],
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("unit", ["gru", "lstm", None])
@pytest.mark.parametrize("checkpoint", [1, 2, 3, True])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_checkpointed_gated_gradients_equal_the_whole_history_bit_for_bit(unit, checkpoint, batch):
    """GRU, LSTM and mixed networks with delays up to 5 (longer than the
    segments), teacher-forced delay-2 feedback and truncation: every
    gradient (gates, c0 included) and diagnostic of a checkpointed run
    equals the whole history's exactly."""
    G = gated_delayed_graph(seed=4, unit=unit)
    G.add_edge(5, 0, weight=0.9, delay=5)
    for q, v in zip(GATE_KEYS[G.nodes[0]["unit"]], (0.2, -0.3, 0.4)):
        G.edges[5, 0][f"weight_{q}"] = v
    net = sim.compile(G)
    rng = np.random.default_rng(12)
    T = 11
    x = rng.normal(size=(T,) + batch + (2,))
    targets = rng.normal(size=(T,) + batch + (2,))
    targets.reshape(-1)[::3] = np.nan
    h0 = rng.normal(0, 0.5, batch + (net.n_neurons,))
    c0 = rng.normal(0, 0.5, batch + (len(net.cell_neurons),)) if net.cell_neurons else None
    kwargs = dict(h0=h0, c0=c0, teacher_forcing=True, truncate=4, return_diagnostics=True)
    loss, whole = sim.bptt(net, x, targets, **kwargs)
    loss_c, parts = sim.bptt(net, x, targets, checkpoint=checkpoint, **kwargs)
    assert loss_c == loss
    names = ["weight", "bias", "h0"] + ["c0"] * (c0 is not None)
    names += [name for name in GATE_PARAMETERS if getattr(net, name) is not None]
    assert len(names) >= 5
    for name in names:
        np.testing.assert_array_equal(getattr(parts, name), getattr(whole, name), err_msg=name)
    for name in ("dh_norm", "edge_grad"):
        np.testing.assert_array_equal(parts.diagnostics[name], whole.diagnostics[name], err_msg=name)
    assert np.abs(whole.weight).max() > 0 and np.abs(whole.h0).max() > 0
