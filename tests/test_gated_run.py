"""Discrete runs of gated neurons (design section 8) against the plain-NumPy
reference (`tests.reference.run_general`) and, where installed, PyTorch."""

import numpy as np
import pytest

import simulator as sim
import topologies as tp
from tests.reference import run_general
from tests.test_gated_compile import mixed_graph

RNG = np.random.default_rng(3)


def compare(res, ref, atol):
    states, outputs, cells, gates = ref
    np.testing.assert_allclose(res.states, states, rtol=0, atol=atol)
    np.testing.assert_allclose(res.outputs, outputs, rtol=0, atol=atol)
    if cells is None:
        assert res.cells is None
    else:
        np.testing.assert_allclose(res.cells, cells, rtol=0, atol=atol)
    if res.gates is not None:
        for q, values in gates.items():
            np.testing.assert_array_equal(np.isnan(res.gates[q]), np.isnan(values))
            np.testing.assert_allclose(np.nan_to_num(res.gates[q]), np.nan_to_num(values), rtol=0, atol=atol)


@pytest.mark.parametrize("batched", [False, True])
def test_mixed_units_with_feedback_match_the_reference(batched):
    """GRU, LSTM (sigmoid and hard-sigmoid gates) and plain neurons side by
    side, an output fed back, h0 and c0 given, every gate recorded."""
    G = mixed_graph()
    net = sim.compile(G)
    shape = (7, 3, 1) if batched else (7, 1)
    x = RNG.normal(size=shape)
    h0 = RNG.normal(size=(3, 5) if batched else (5,))
    c0 = RNG.normal(size=(3, 2) if batched else (2,))
    res = sim.run(net, x, h0=h0, c0=c0, record_gates=True)
    assert res.cells.shape == ((8, 3, 2) if batched else (8, 2))
    assert set(res.gates) == {"r", "z", "n", "i", "f", "g", "o"}
    assert np.isnan(res.gates["z"][..., 1]).all() and np.isnan(res.gates["i"][..., 0]).all()
    compare(res, run_general(G, x, h0=h0, c0=c0), 1e-13)


def test_teacher_forcing_and_float32():
    G = mixed_graph()
    x = RNG.normal(size=(6, 2, 1))
    teacher = RNG.normal(size=(6, 2, 1))
    teacher[2, 0] = np.nan
    res = sim.run(sim.compile(G), x, targets=teacher, teacher_forcing=True)
    compare(res, run_general(G, x, teacher=teacher), 1e-13)
    res32 = sim.run(sim.compile(G, dtype="float32"), x, record_gates=True)
    assert res32.states.dtype == res32.cells.dtype == res32.gates["z"].dtype == np.float32
    compare(res32, run_general(G, x), 2e-5)


def test_without_lstm_neurons_cells_are_none_and_gates_off_by_default():
    res = sim.run(sim.compile(tp.gru(1, 3, 1, seed=0)), np.ones((4, 1)))
    assert res.cells is None and res.gates is None


@pytest.mark.parametrize("call, match", [
    (lambda net: sim.run(net, 3, update="async"), "node 'h0' is a GRU neuron: `update='async'` is refused"),
    (lambda net: sim.run(net, 3, c0=[0.0]), "`c0` is the LSTM neurons' initial cell state"),
])
def test_what_gated_networks_do_not_do_is_refused_by_name(call, match):
    with pytest.raises(ValueError, match=match):
        call(sim.compile(tp.gru(1, 2, 1, seed=0)))


def test_c0_of_the_wrong_shape_states_the_right_one():
    net = sim.compile(tp.lstm(1, 2, 1, seed=0))
    with pytest.raises(ValueError, match=r"`c0` must have shape \(2,\)"):
        sim.run(net, 3, c0=[0.0])


def torch_module(unit, G, n_in, n_hidden):
    """`torch.nn.GRU` / `torch.nn.LSTM` and a Linear readout holding the graph's parameters."""
    torch = pytest.importorskip("torch")
    Module = torch.nn.GRU if unit == "gru" else torch.nn.LSTM
    gates = ("r", "z", "n") if unit == "gru" else ("i", "f", "g", "o")
    main = "n" if unit == "gru" else "g"
    rnn = Module(n_in, n_hidden, dtype=torch.float64)
    ins, hid = [f"in{k}" for k in range(n_in)], [f"h{k}" for k in range(n_hidden)]
    key = {q: "weight" if q == main else f"weight_{q}" for q in gates}
    W_ih = np.array([[G.edges[u, v][key[q]] for u in ins] for q in gates for v in hid])
    W_hh = np.array([[G.edges[u, v][key[q]] for u in hid] for q in gates for v in hid])
    b_ih = np.array([G.nodes[v]["bias" if q == main else f"bias_{q}"] for q in gates for v in hid])
    b_hh = np.zeros_like(b_ih)
    if unit == "gru":
        b_hh[2 * n_hidden:] = [G.nodes[v]["bias_hn"] for v in hid]
    with torch.no_grad():
        for name, value in (("weight_ih_l0", W_ih), ("weight_hh_l0", W_hh), ("bias_ih_l0", b_ih),
                            ("bias_hh_l0", b_hh)):
            getattr(rnn, name).copy_(torch.tensor(value))
    V = np.array([[G.edges[h, "out0"]["weight"] for h in hid]])
    return torch, rnn, V, G.nodes["out0"].get("bias", 0.0)


@pytest.mark.parametrize("unit", ["gru", "lstm"])
def test_fully_connected_units_are_torch_modules(unit):
    """tp.gru / tp.lstm compiled and run equal torch.nn.GRU / LSTM with a
    Linear readout to 1e-12 in float64, batched, from a given h0 (and c0)."""
    G = (tp.gru if unit == "gru" else tp.lstm)(3, 4, 1, seed=5)
    torch, rnn, V, c = torch_module(unit, G, 3, 4)
    x = RNG.normal(size=(9, 2, 3))
    h0, c0 = RNG.normal(size=(2, 4)), RNG.normal(size=(2, 4))
    net = sim.compile(G)
    res = sim.run(net, x, h0=h0, c0=c0 if unit == "lstm" else None)
    with torch.no_grad():
        state = torch.tensor(h0[None]) if unit == "gru" else (torch.tensor(h0[None]), torch.tensor(c0[None]))
        seq, last = rnn(torch.tensor(x), state)
    seq = seq.numpy()
    assert np.abs(res.states[1:] - seq).max() < 1e-12
    assert np.abs(res.outputs[..., 0] - (seq @ V[0] + c)).max() < 1e-12
    if unit == "lstm":
        assert np.abs(res.cells[-1] - last[1][0].numpy()).max() < 1e-12


def test_record_gates_on_a_gated_network_does_not_warn():
    """Only a network without gated neurons warns that `record_gates` has no effect."""
    import warnings

    net = sim.compile(tp.gate(tp.ring(4, n_inputs=1, n_outputs=1, seed=0), unit="gru", nodes=[0], seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = sim.run(net, np.ones((3, 1)), record_gates=True)
    assert np.isfinite(res.gates["z"][:, 0]).all()
    with pytest.warns(UserWarning, match="`record_gates` has no effect"):
        sim.run(sim.compile(tp.ring(4, n_inputs=1, seed=0)), np.ones((3, 1)), record_gates=True)


def threaded_graph(n=40):
    """A fixed-in-degree wiring of `n` neurons, GRU, LSTM (one with
    hard-sigmoid gates) and plain neurons interleaved, an output fed back:
    enough neurons for every chunk of a threaded step to hold several."""
    G = tp.fixed_indegree(n, 4, n_inputs=2, n_outputs=1, seed=5, scale=0.9)
    G.add_edge("out0", 3, weight=0.4)
    tp.gate(G, unit="gru", nodes=range(0, n, 3), seed=6)
    tp.gate(G, unit="lstm", nodes=range(1, n, 3), seed=7)
    G.nodes[1]["gate_activation"] = "hard_sigmoid"
    return G


@pytest.mark.parametrize("dtype, atol", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.parametrize("batched", [False, True])
def test_threaded_run_matches_the_reference_and_the_one_thread_run(batched, dtype, atol):
    """`parallel=True` spreads each step's neurons over threads: the same
    numbers as the reference and, bit for bit, as the one-thread run."""
    G = threaded_graph()
    net = sim.compile(G, dtype=dtype)
    x = RNG.normal(size=(9, 3, 2) if batched else (9, 2))
    teacher = RNG.normal(size=(9, 3, 1) if batched else (9, 1))
    teacher[4] = np.nan
    kwargs = dict(targets=teacher, teacher_forcing=True, record_gates=True)
    res = sim.run(net, x, parallel=True, **kwargs)
    compare(res, run_general(G, x, teacher=teacher), atol)
    one = sim.run(net, x, parallel=False, **kwargs)
    for name in ("states", "outputs", "cells"):
        assert getattr(res, name).tobytes() == getattr(one, name).tobytes(), name


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("batched", [False, True])
def test_networks_of_gru_neurons_only_step_in_one_block_as_the_reference(batched, parallel):
    """Every neuron a GRU with sigmoid gates and tanh: the kernel gathers a
    chunk's sums and steps them in one vectorised block; the reference's
    numbers, on one thread or several."""
    G = tp.fixed_indegree(30, 4, n_inputs=2, n_outputs=1, seed=8, scale=1.2)
    tp.gate(G, unit="gru", seed=9)
    x = RNG.normal(size=(7, 3, 2) if batched else (7, 2))
    h0 = RNG.normal(size=(3, 30) if batched else (30,)) * 0.5
    compare(sim.run(sim.compile(G), x, h0=h0, parallel=parallel), run_general(G, x, h0=h0), 1e-12)
