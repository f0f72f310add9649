"""Gradients of gated networks (design section 8): every gate weight and
bias, h0 and c0 against central differences of the plain-NumPy reference
(`tests.reference.run_general`), through truncation, teacher forcing and
checkpointing; `train` on the new parameters."""

import numpy as np
import pytest

import simulator as sim
import topologies as tp
from simulator.units import GATE_PARAMETERS
from tests.reference import mse, run_general
from tests.test_gated_compile import mixed_graph

RNG = np.random.default_rng(11)


def reference_loss(G, x, targets, h0, c0, teacher=None):
    return mse(run_general(G, x, h0=h0, c0=c0, teacher=teacher)[1], targets)


def numeric_gradients(net, loss_of, starts, names=None, eps=1e-6):
    """Central differences of ``loss_of(G, **starts)`` for every parameter
    of `net` in `names` that exists (edge and node attributes of its graph
    G; default: weights, biases and every gate parameter) and every entry
    of each initial state in `starts` (name -> array)."""
    G = net.to_networkx()
    grads = {}
    for name in names or ("weight", "bias", *net.gate_parameters()):
        values = getattr(net, name)
        g = np.zeros_like(values)
        for k in range(values.size):
            if name.startswith("weight"):
                u, v = net.edges[k]
                if name != "weight" and name not in G.edges[u, v]:
                    continue
                attrs = G.edges[u, v]
            else:
                node = (net.neurons + net.outputs)[k]
                if name not in ("bias", "tau") and name not in G.nodes[node]:
                    continue
                attrs = G.nodes[node]
            base = attrs.get(name, 1.0 if name in ("weight", "tau") else 0.0)
            attrs[name] = base + eps
            up = loss_of(G, **starts)
            attrs[name] = base - eps
            down = loss_of(G, **starts)
            attrs[name] = base
            g[k] = (up - down) / (2 * eps)
        grads[name] = g
    for name, start in starts.items():
        g = np.zeros_like(start)
        for k in np.ndindex(start.shape):
            s = start.copy()
            s[k] += eps
            up = loss_of(G, **(starts | {name: s}))
            s[k] -= 2 * eps
            down = loss_of(G, **(starts | {name: s}))
            g[k] = (up - down) / (2 * eps)
        grads[name] = g
    return grads


def assert_close(grads, numeric):
    for name, expect in numeric.items():
        got = getattr(grads, name)
        scale = max(np.abs(expect).max(), 1e-3)
        assert np.abs(got - expect).max() <= 1e-6 * scale + 1e-9, (name, np.abs(got - expect).max(), scale)


@pytest.mark.parametrize("batched", [False, True])
def test_every_gate_parameter_h0_and_c0_match_central_differences(batched):
    """Mixed GRU (sigmoid), LSTM (sigmoid and hard-sigmoid) and plain
    neurons with output feedback, batched or not."""
    net = sim.compile(mixed_graph())
    T = 6
    x = RNG.normal(size=(T, 2, 1) if batched else (T, 1))
    targets = RNG.normal(size=(T, 2, 1) if batched else (T, 1))
    targets[1] = np.nan
    h0 = RNG.normal(size=(2, 5) if batched else (5,)) * 0.5
    c0 = RNG.normal(size=(2, 2) if batched else (2,)) * 0.5
    loss, grads = sim.bptt(net, x, targets, h0=h0, c0=c0)
    assert np.isclose(loss, reference_loss(net.to_networkx(), x, targets, h0, c0), rtol=1e-13)
    assert set(grads.gates()) == set(net.gate_parameters())
    assert grads.weight_z.shape == net.weight_z.shape and grads.bias_f.shape == net.bias_f.shape
    assert grads.c0.shape == c0.shape and grads.h0.shape == h0.shape
    assert_close(grads, numeric_gradients(net, lambda G, h0, c0: reference_loss(G, x, targets, h0, c0),
                                          {"h0": h0, "c0": c0}))
    gru_targets = np.array([v in net.neurons and net.units[net.neurons.index(v)] == "gru" for _, v in net.edges])
    assert (grads.weight_z[~gru_targets] == 0).all()


def test_teacher_forcing_and_truncation():
    net = sim.compile(mixed_graph())
    x, targets = RNG.normal(size=(6, 1)), RNG.normal(size=(6, 1))
    h0, c0 = np.zeros(5), np.zeros(2)
    loss, grads = sim.bptt(net, x, targets, h0=h0, c0=c0, teacher_forcing=True)
    assert_close(grads, numeric_gradients(net, lambda G, h0, c0: reference_loss(G, x, targets, h0, c0, targets),
                                          {"h0": h0, "c0": c0}))
    full = sim.bptt(net, x, targets)[1]
    cut = sim.bptt(net, x, targets, truncate=6)[1]
    assert all(np.array_equal(getattr(full, k), getattr(cut, k)) for k in ("weight", "bias_f", "weight_r"))
    short = sim.bptt(net, x, targets, truncate=2)[1]
    assert not np.allclose(short.weight_z, full.weight_z)
    # truncating after step 2: h0 receives only what the first window sends back
    head = sim.bptt(net, x[:2], targets[:2])[1]
    np.testing.assert_allclose(short.h0, head.h0 * 2 / 6, rtol=1e-12, atol=1e-15)  # mse means over 6 steps, not 2


@pytest.mark.parametrize("checkpoint", [True, 2, 4])
def test_checkpointing_gives_the_same_gradients_bit_for_bit(checkpoint):
    net = sim.compile(mixed_graph())
    x, targets = RNG.normal(size=(7, 3, 1)), RNG.normal(size=(7, 3, 1))
    kwargs = dict(c0=RNG.normal(size=(3, 2)), teacher_forcing=True, truncate=3, return_diagnostics=True)
    loss, full = sim.bptt(net, x, targets, **kwargs)
    loss2, again = sim.bptt(net, x, targets, checkpoint=checkpoint, **kwargs)
    assert loss == loss2
    for name in ("weight", "bias", "h0", "c0", *GATE_PARAMETERS):
        a, b = getattr(full, name), getattr(again, name)
        assert (a is None and b is None) or a.tobytes() == b.tobytes(), name
    assert full.diagnostics["dh_norm"].shape == (8,) and full.diagnostics["edge_grad"].shape == (7, net.n_edges)


def test_clip_scales_gate_gradients_and_trainable_names_them():
    net = sim.compile(tp.lstm(1, 3, 1, seed=0))
    x, targets = RNG.normal(size=(5, 1)), RNG.normal(size=(5, 1))
    _, grads = sim.bptt(net, x, targets)
    _, clipped = sim.bptt(net, x, targets, clip=1e-3)
    scale = 1e-3 / np.sqrt(sum(np.sum(g ** 2) for g in (grads.weight, grads.bias, *grads.gates().values())))
    np.testing.assert_allclose(clipped.weight_f, grads.weight_f * scale, rtol=1e-12)
    _, only = sim.bptt(net, x, targets, clip=1e-3, trainable=["weight_f"])
    np.testing.assert_allclose(only.weight_f * np.linalg.norm(grads.weight_f), grads.weight_f * 1e-3, rtol=1e-12)
    np.testing.assert_array_equal(only.weight, grads.weight)
    with pytest.raises(ValueError, match="unknown kind 'weight_z'"):
        sim.bptt(net, x, targets, trainable=["weight_z"])


def test_train_moves_only_the_chosen_gate_parameters_and_lowers_the_loss():
    net = sim.compile(tp.gru(1, 4, 1, seed=0))
    x = RNG.normal(size=(12, 4, 1))
    targets = np.roll(x, 2, axis=0)
    trained, history = sim.train(net, x, targets, epochs=30, lr=0.05, progress=False)
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    frozen, _ = sim.train(net, x, targets, epochs=2, lr=0.05, progress=False, trainable=["weight_z", "bias_hn"])
    np.testing.assert_array_equal(frozen.weight, net.weight)
    assert not np.array_equal(frozen.weight_z, net.weight_z) and not np.array_equal(frozen.bias_hn, net.bias_hn)
    np.testing.assert_array_equal(frozen.weight_r, net.weight_r)


@pytest.mark.parametrize("batched", [False, True])
def test_threaded_passes_match_central_differences_and_the_one_thread_passes(monkeypatch, batched):
    """With threads chosen, the forward and backward kernels split each
    step's neurons into chunks (here one per neuron of the mixed graph):
    gradients against central differences of the reference, and bit for
    bit the one-thread gradients, on the mixed graph and on a 40-neuron
    one, checkpointed and with diagnostics."""
    import numba

    from tests.test_gated_run import threaded_graph

    net = sim.compile(mixed_graph())
    x = RNG.normal(size=(6, 2, 1) if batched else (6, 1))
    targets = RNG.normal(size=(6, 2, 1) if batched else (6, 1))
    h0 = RNG.normal(size=(2, 5) if batched else (5,)) * 0.5
    c0 = RNG.normal(size=(2, 2) if batched else (2,)) * 0.5
    big = sim.compile(threaded_graph())
    xb = RNG.normal(size=(8, 3, 2) if batched else (8, 2))
    yb = RNG.normal(size=(8, 3, 1) if batched else (8, 1))
    kwargs = dict(teacher_forcing=True, truncate=5, return_diagnostics=True)
    plain = sim.bptt(big, xb, yb, **kwargs)
    assert numba.get_num_threads() >= 2
    monkeypatch.setattr(sim.threads, "timed_call", lambda kind, work, n_steps: (numba.get_num_threads(), lambda: None))
    loss, grads = sim.bptt(net, x, targets, h0=h0, c0=c0)
    assert np.isclose(loss, reference_loss(net.to_networkx(), x, targets, h0, c0), rtol=1e-13)
    assert_close(grads, numeric_gradients(net, lambda G, h0, c0: reference_loss(G, x, targets, h0, c0),
                                          {"h0": h0, "c0": c0}))
    for checkpoint in (None, 3):
        loss, threaded = sim.bptt(big, xb, yb, checkpoint=checkpoint, **kwargs)
        assert loss == plain[0]
        for name in ("weight", "bias", "h0", "c0", *big.gate_parameters()):
            assert getattr(threaded, name).tobytes() == getattr(plain[1], name).tobytes(), name
        for name in ("dh_norm", "edge_grad"):
            np.testing.assert_array_equal(threaded.diagnostics[name], plain[1].diagnostics[name])


@pytest.mark.parametrize("batch", [1, 5, 8])
def test_networks_of_gru_neurons_only_match_central_differences(monkeypatch, batch):
    """Every neuron a GRU with sigmoid gates and tanh (the backward pass
    gathers a chunk's sums, computes the errors in one vectorised block and
    skips the third gate row; a batch of 8 sums the slots' products in
    vector blocks), with an output fed back: gradients against
    central differences of the reference; threads and checkpoints give the
    one-thread gradients bit for bit."""
    import numba

    G = tp.fixed_indegree(8, 3, n_inputs=2, n_outputs=1, seed=3, scale=1.2)
    G.add_edge("out0", 2, weight=0.4)
    tp.gate(G, unit="gru", seed=4)
    net = sim.compile(G)
    assert set(net.units) == {"gru"}
    T = 5
    x = RNG.normal(size=(T, batch, 2))
    targets = RNG.normal(size=(T, batch, 1))
    h0 = RNG.normal(size=(batch, 8)) * 0.5
    loss, grads = sim.bptt(net, x, targets, h0=h0)
    assert np.isclose(loss, reference_loss(net.to_networkx(), x, targets, h0, None), rtol=1e-13)
    assert_close(grads, numeric_gradients(net, lambda G, h0: reference_loss(G, x, targets, h0, None), {"h0": h0}))
    monkeypatch.setattr(sim.threads, "timed_call", lambda kind, work, n_steps: (numba.get_num_threads(), lambda: None))
    for checkpoint in (None, 2):
        again_loss, again = sim.bptt(net, x, targets, h0=h0, checkpoint=checkpoint)
        assert again_loss == loss
        for name in ("weight", "bias", "h0", *net.gate_parameters()):
            assert getattr(again, name).tobytes() == getattr(grads, name).tobytes(), name


@pytest.mark.parametrize("batch", [8, 16])
def test_batches_of_whole_vectors_match_central_differences_with_the_record(batch):
    """A batch of whole vectors sums each slot's products over the batch in
    float64 vector blocks (`gated_backward.slot_grads`), for LSTM neurons
    (three gate rows), GRU and plain ones alike: every parameter, h0 and c0
    against central differences of the reference, and the per-step record
    adds up to the same gradients."""
    net = sim.compile(mixed_graph())
    T = 4
    x, targets = RNG.normal(size=(T, batch, 1)), RNG.normal(size=(T, batch, 1))
    h0, c0 = RNG.normal(size=(batch, 5)) * 0.5, RNG.normal(size=(batch, 2)) * 0.5
    loss, grads = sim.bptt(net, x, targets, h0=h0, c0=c0, return_diagnostics=True)
    assert np.isclose(loss, reference_loss(net.to_networkx(), x, targets, h0, c0), rtol=1e-13)
    assert_close(grads, numeric_gradients(net, lambda G, h0, c0: reference_loss(G, x, targets, h0, c0),
                                          {"h0": h0, "c0": c0}))
    plain = sim.bptt(net, x, targets, h0=h0, c0=c0)[1]
    for name in ("weight", "bias", *net.gate_parameters()):
        assert getattr(plain, name).tobytes() == getattr(grads, name).tobytes(), name


def test_float32_batches_of_whole_vectors_give_the_float64_gradients_to_float32_precision():
    """float32 rows through the float64 vector blocks (each vector widened
    as it is read): an LSTM network's gradients at a batch of 16 are the
    float64 network's to float32 precision."""
    G = tp.gate(tp.fixed_indegree(30, 4, n_inputs=1, n_outputs=1, seed=2), unit="lstm", seed=2)
    x, y = RNG.normal(size=(6, 16, 1)), RNG.normal(size=(6, 16, 1))
    g64 = sim.bptt(sim.compile(G), x, y)[1]
    g32 = sim.bptt(sim.compile(G, dtype=np.float32), x.astype(np.float32), y.astype(np.float32))[1]
    for name in ("weight", "weight_i", "weight_f", "weight_o"):
        expect = getattr(g64, name)
        assert getattr(g32, name).dtype == np.float32
        np.testing.assert_allclose(getattr(g32, name), expect, rtol=0, atol=2e-6 * np.abs(expect).max())
