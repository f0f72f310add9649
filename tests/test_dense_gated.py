"""The dense path of networks of GRU or LSTM neurons
(`simulator._kernels.dense_gated`): stacked gate matrices through BLAS,
forward against the NumPy reference and torch.nn, gradients against
central differences, torch autograd and the sparse gated kernels."""

import sys

import numpy as np
import pytest

import simulator as sim
import topologies as tp
from simulator.units import GATE_PARAMETERS

from .reference import run_general
from .test_gated_bptt import assert_close, numeric_gradients, reference_loss
from .test_gated_run import torch_module

SIMULATE = sys.modules["simulator.simulate"]
GATED_BPTT = sys.modules["simulator.gated_bptt"]
RNG = np.random.default_rng(31)


@pytest.fixture
def dense_calls(monkeypatch):
    """Force the dense gated path on any network of one gated unit and
    count its kernels' calls (forward and backward)."""
    calls = []
    for module, names in ((SIMULATE.dense_gated_kernels, ("run_gated_dense",)),
                          (GATED_BPTT, ("run_gated_dense", "bptt_gated_dense"))):
        for name in names:
            kernel = getattr(module, name)
            monkeypatch.setattr(module, name, lambda *a, kernel=kernel, name=name: (calls.append(name), kernel(*a))[1])
    for module in (SIMULATE, GATED_BPTT):
        monkeypatch.setattr(module, "use_dense_gated", lambda net: True)
    return calls


def small_graph(unit):
    """Six gated neurons with every edge kind: recurrent, input, output
    feedback (two outputs, one a sigmoid) and a direct input -> output edge."""
    G = tp.ring(6, bidirectional=True, n_inputs=2, n_outputs=2, seed=3)
    G.add_edge("in1", 4, weight=0.7)
    G.add_edge("out0", 2, weight=0.5)
    G.add_edge("out1", 5, weight=-0.4)
    G.add_edge("in0", "out1", weight=0.3)
    G.nodes["out1"]["activation"] = "sigmoid"
    for node in range(6):
        G.nodes[node]["bias"] = 0.1 * node - 0.2
    return tp.gate(G, unit=unit, seed=4)


def _sizes(G):
    inputs = [v for v, r in G.nodes(data="role") if r == "input"]
    outputs = [v for v, r in G.nodes(data="role") if r == "output"]
    return len(inputs), len(outputs), G.number_of_nodes() - len(inputs) - len(outputs)


@pytest.mark.parametrize("unit", ["gru", "lstm"])
@pytest.mark.parametrize("batch", [None, 3])
def test_dense_gated_run_matches_reference(dense_calls, unit, batch):
    """States, cells and outputs, free and teacher-forced, against
    `reference.run_general`."""
    G = small_graph(unit)
    net = sim.compile(G)
    n_in, n_out, n = _sizes(G)
    T = 8
    shape = (T,) if batch is None else (T, batch)
    x = RNG.normal(size=shape + (n_in,))
    h0 = RNG.normal(0, 0.5, shape[1:] + (n,))
    c0 = RNG.normal(0, 0.5, shape[1:] + (n,)) if unit == "lstm" else None
    targets = RNG.normal(size=shape + (n_out,))
    targets[::3, ..., 0] = np.nan
    for teacher in (None, targets):
        kw = {} if teacher is None else {"targets": teacher, "teacher_forcing": True}
        res = sim.run(net, x, h0=h0, c0=c0, **kw)
        assert dense_calls
        dense_calls.clear()
        states, outputs, cells, _ = run_general(G, x, h0=h0, c0=c0, teacher=teacher)
        np.testing.assert_allclose(res.states, states, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(res.outputs, outputs, rtol=1e-12, atol=1e-12)
        if unit == "lstm":
            np.testing.assert_allclose(res.cells, cells, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("unit", ["gru", "lstm"])
def test_dense_gated_gradients_match_central_differences(dense_calls, unit):
    """Every weight, gate weight, bias, gate bias, h0 and c0, batched, with
    teacher forcing on the fed-back outputs."""
    G = small_graph(unit)
    net = sim.compile(G)
    n_in, n_out, n = _sizes(G)
    T = 5
    x = RNG.normal(size=(T, 2, n_in))
    targets = RNG.normal(size=(T, 2, n_out))
    targets[1, :, 1] = np.nan
    h0 = RNG.normal(size=(2, n)) * 0.5
    c0 = RNG.normal(size=(2, n)) * 0.5
    loss, grads = sim.bptt(net, x, targets, h0=h0, c0=c0 if unit == "lstm" else None, teacher_forcing=True)
    assert "bptt_gated_dense" in dense_calls
    starts = {"h0": h0} | ({"c0": c0} if unit == "lstm" else {})

    def loss_of(G, h0, c0=None):
        return reference_loss(G, x, targets, h0, c0, targets)

    assert np.isclose(loss, loss_of(G, **starts), rtol=1e-13)
    assert_close(grads, numeric_gradients(net, loss_of, starts))


@pytest.mark.parametrize("unit", ["gru", "lstm"])
@pytest.mark.parametrize("kw", [{}, {"truncate": 3}, {"checkpoint": 4}, {"checkpoint": True, "truncate": 4},
                                {"teacher_forcing": True, "clip": 0.05}])
def test_fully_connected_units_take_the_dense_path_with_the_sparse_gradients(monkeypatch, unit, kw):
    """`tp.gru` / `tp.lstm` with 64 neurons take the dense path on their own;
    loss, every gradient and the dh norms equal the sparse kernels' to
    rounding, with truncation, checkpointing, forcing and clipping."""
    net = sim.compile((tp.gru if unit == "gru" else tp.lstm)(3, 64, 2, seed=1))
    assert SIMULATE.use_dense_gated(net)
    x, targets = RNG.normal(size=(10, 3, 3)), RNG.normal(size=(10, 3, 2))
    targets[::4, :, 1] = np.nan
    calls = []
    kernel = GATED_BPTT.bptt_gated_dense
    monkeypatch.setattr(GATED_BPTT, "bptt_gated_dense", lambda *a: (calls.append(1), kernel(*a))[1])
    loss, grads = sim.bptt(net, x, targets, **kw)
    assert calls
    for module in (SIMULATE, GATED_BPTT):
        monkeypatch.setattr(module, "use_dense_gated", lambda net: False)
    loss0, grads0 = sim.bptt(net, x, targets, **kw)
    assert loss == pytest.approx(loss0, rel=1e-13)
    for name in ("weight", "bias", "h0", "c0", *GATE_PARAMETERS):
        a, b = getattr(grads, name), getattr(grads0, name)
        if b is None:
            assert a is None, name
            continue
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12 * np.abs(b).max(), err_msg=name)


@pytest.mark.parametrize("unit", ["gru", "lstm"])
def test_dense_gated_float32(unit):
    """float32 through the dense path: the float64 run's states to float32
    rounding, and gradients close to the float64 ones."""
    G = (tp.gru if unit == "gru" else tp.lstm)(3, 64, 2, seed=2)
    x, targets = RNG.normal(size=(12, 4, 3)), RNG.normal(size=(12, 4, 2))
    net64, net32 = sim.compile(G), sim.compile(G, dtype="float32")
    assert SIMULATE.use_dense_gated(net32)
    r64, r32 = sim.run(net64, x), sim.run(net32, x.astype("float32"))
    assert r32.states.dtype == np.float32
    np.testing.assert_allclose(r32.states, r64.states, atol=2e-5)
    g64 = sim.bptt(net64, x, targets)[1]
    g32 = sim.bptt(net32, x.astype("float32"), targets.astype("float32"))[1]
    for name in ("weight", "bias", "h0"):
        a, b = getattr(g32, name), getattr(g64, name)
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-4 * np.abs(b).max(), err_msg=name)


@pytest.mark.parametrize("unit", ["gru", "lstm"])
def test_dense_gated_equals_torch(unit):
    """64 fully connected units: states equal torch.nn.GRU / LSTM's, and the
    loss's gradients with respect to the recurrent and input weights and
    h0 equal torch autograd's, to 1e-12 (float64)."""
    n_in, H, T, B = 3, 64, 7, 2
    G = (tp.gru if unit == "gru" else tp.lstm)(n_in, H, 1, seed=5)
    torch, rnn, V, c = torch_module(unit, G, n_in, H)
    net = sim.compile(G)
    assert SIMULATE.use_dense_gated(net)
    x, y = RNG.normal(size=(T, B, n_in)), RNG.normal(size=(T, B, 1))
    h0 = RNG.normal(0, 0.5, (B, H))
    loss, grads = sim.bptt(net, x, y, h0=h0)
    th0 = torch.tensor(h0[None], requires_grad=True)
    state = th0 if unit == "gru" else (th0, torch.zeros(1, B, H, dtype=torch.float64))
    seq, _ = rnn(torch.tensor(x), state)
    out = seq @ torch.tensor(V.T) + c
    tloss = ((out - torch.tensor(y)) ** 2).mean()
    tloss.backward()
    assert abs(loss - tloss.item()) < 1e-12
    np.testing.assert_allclose(grads.h0, th0.grad[0].numpy(), rtol=1e-10, atol=1e-13)
    gates = ("r", "z", "n") if unit == "gru" else ("i", "f", "g", "o")
    main = "n" if unit == "gru" else "g"
    index = {v: k for k, v in enumerate(net.edges)}
    for q_row, q in enumerate(gates):
        ours = getattr(grads, "weight" if q == main else f"weight_{q}")
        for name, sources in (("weight_hh_l0", [f"h{k}" for k in range(H)]),
                              ("weight_ih_l0", [f"in{k}" for k in range(n_in)])):
            theirs = getattr(rnn, name).grad.numpy()[q_row * H:(q_row + 1) * H]
            mine = np.array([[ours[index[(u, f"h{v}")]] for u in sources] for v in range(H)])
            np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-12 * np.abs(theirs).max(),
                                       err_msg=f"{unit} {name} {q}")


def test_mixed_or_hard_sigmoid_networks_keep_the_sparse_kernels():
    """The dense path takes networks of one gated unit with tanh candidates
    and sigmoid gates only."""
    assert not SIMULATE.use_dense_gated(sim.compile(tp.gru(2, 8, 1, seed=0)))  # too few neurons
    G = tp.gru(2, 64, 1, seed=0)
    G.nodes["h0"]["gate_activation"] = "hard_sigmoid"
    assert not SIMULATE.use_dense_gated(sim.compile(G))
    G = tp.gru(2, 64, 1, seed=0)
    tp.gate(G, unit="lstm", nodes=["h3"], seed=1)
    with pytest.warns(UserWarning, match="LSTM neuron") as seen:  # its GRU attributes stay on the graph, unused
        mixed = sim.compile(G)
    assert {str(w.message).split(":")[0] for w in seen} >= {"node 'h3' is a LSTM neuron, which has no bias_hn"}
    assert not SIMULATE.use_dense_gated(mixed)
    assert not SIMULATE.use_dense_gated(sim.compile(tp.elman(2, 64, 1, seed=0)))
