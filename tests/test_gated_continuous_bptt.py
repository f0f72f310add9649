"""Gradients through fixed-step continuous runs of GRU and plain neurons
(the GRU-ODE of design section 8): every weight, gate weight and bias, tau
and h0 against central differences of the plain-NumPy integrators
(`tests.reference.run_gru_fixed_step`), Euler at tau = 1, dt = 1 against
the discrete gradients, truncation, clipping, checkpointing, diagnostics
and training; and through the adaptive methods (the adjoint) against
central differences of a tight `solve`."""

import numpy as np
import pytest

import simulator as sim
import topologies as tp
from simulator.units import GATE_PARAMETERS
from tests.reference import mse, run_gru_fixed_step
from tests.test_gated_bptt import assert_close, numeric_gradients
from tests.test_gated_compile import mixed_graph
from tests.test_gated_continuous import gru_graph

RNG = np.random.default_rng(17)
METHODS = ["euler", "exp_euler", "rk4"]
DT = 0.3


def reference_loss(G, x, targets, h0, method, dt=DT):
    """The mse of the reference integrator's outputs, a batch row by row."""
    if x.ndim == 2:
        return mse(run_gru_fixed_step(G, x, dt, method, h0=h0)[1], targets)
    outputs = [run_gru_fixed_step(G, x[:, b], dt, method, h0=h0[b])[1] for b in range(x.shape[1])]
    return mse(np.stack(outputs, axis=1), targets)


def every_parameter(net):
    return ("weight", "bias", "tau", *net.gate_parameters())


@pytest.mark.parametrize("method", METHODS)
def test_every_parameter_matches_central_differences(method):
    """GRU (sigmoid and hard-sigmoid gates) and plain neurons, an output fed
    back inside every stage, taus other than 1, a target missing."""
    net = sim.compile(gru_graph())
    x, targets = RNG.normal(size=(5, 1)), RNG.normal(size=(5, 1))
    targets[2] = np.nan
    h0 = RNG.normal(size=4) * 0.5
    loss, grads = sim.bptt(net, x, targets, h0=h0, dt=DT, method=method)
    G = net.to_networkx()
    assert np.isclose(loss, reference_loss(G, x, targets, h0, method), rtol=1e-13)
    assert set(grads.gates()) == set(net.gate_parameters())
    numeric = numeric_gradients(net, lambda G, h0: reference_loss(G, x, targets, h0, method), {"h0": h0},
                                names=every_parameter(net))
    assert_close(grads, numeric)
    plain = np.array([v in net.neurons and net.units[net.neurons.index(v)] == "rnn" for _, v in net.edges])
    assert (grads.weight_z[plain] == 0).all() and (grads.bias_r[1] == 0)


def test_batched_gradients_with_a_fully_connected_gru():
    """tp.gru's wiring (every gate weight on every edge), a batch of two,
    one h0 per sequence, taus other than 1, RK4."""
    G = tp.gru(2, 3, 1, seed=4)
    for k, v in enumerate(v for v in G.nodes if G.nodes[v].get("role") is None):
        G.nodes[v]["tau"] = 0.6 + 0.3 * k
    net = sim.compile(G)
    x, targets = RNG.normal(size=(4, 2, 2)), RNG.normal(size=(4, 2, 1))
    h0 = RNG.normal(size=(2, 3)) * 0.5
    loss, grads = sim.bptt(net, x, targets, h0=h0, dt=0.4, method="rk4")
    numeric = numeric_gradients(net, lambda G, h0: reference_loss(G, x, targets, h0, "rk4", dt=0.4), {"h0": h0},
                                names=every_parameter(net))
    assert grads.h0.shape == (2, 3)
    assert_close(grads, numeric)


@pytest.mark.parametrize("G", [tp.gru(2, 4, 1, seed=0), gru_graph(feedback=False)], ids=["gru", "mixed"])
def test_euler_with_unit_step_and_tau_gives_the_discrete_gradients(G):
    """tau = 1, dt = 1, Euler: the GRU-ODE's step is the discrete step, so
    are its gradients (no feedback edges; batched, truncated)."""
    for node in G.nodes:
        G.nodes[node].pop("tau", None)
    net = sim.compile(G)
    x, targets = RNG.normal(size=(8, 3, net.n_inputs)), RNG.normal(size=(8, 3, 1))
    h0 = RNG.normal(size=(3, net.n_neurons))
    for truncate in (None, 3):
        loss, discrete = sim.bptt(net, x, targets, h0=h0, truncate=truncate)
        loss_euler, euler = sim.bptt(net, x, targets, h0=h0, dt=1.0, method="euler", truncate=truncate)
        assert loss_euler == loss
        for name in ("weight", "bias", "h0", *net.gate_parameters()):
            np.testing.assert_allclose(getattr(euler, name), getattr(discrete, name), rtol=1e-12, atol=1e-15)


def test_truncation_cuts_the_gradient_at_each_window():
    net = sim.compile(gru_graph())
    x, targets = RNG.normal(size=(6, 1)), RNG.normal(size=(6, 1))
    full = sim.bptt(net, x, targets, dt=DT, method="rk4")[1]
    whole = sim.bptt(net, x, targets, dt=DT, method="rk4", truncate=6)[1]
    for name in ("weight", "tau", "h0", *net.gate_parameters()):
        assert getattr(full, name).tobytes() == getattr(whole, name).tobytes(), name
    short = sim.bptt(net, x, targets, dt=DT, method="rk4", truncate=2)[1]
    assert not np.allclose(short.weight_z, full.weight_z)
    head = sim.bptt(net, x[:2], targets[:2], dt=DT, method="rk4")[1]
    np.testing.assert_allclose(short.h0, head.h0 * 2 / 6, rtol=1e-12, atol=1e-15)  # mse means over 6 steps


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("checkpoint", [True, 2])
def test_checkpointing_gives_the_same_gradients_bit_for_bit(method, checkpoint):
    net = sim.compile(gru_graph())
    x, targets = RNG.normal(size=(7, 2, 1)), RNG.normal(size=(7, 2, 1))
    kwargs = dict(dt=DT, method=method, truncate=3, return_diagnostics=True)
    loss, full = sim.bptt(net, x, targets, **kwargs)
    loss2, again = sim.bptt(net, x, targets, checkpoint=checkpoint, **kwargs)
    assert loss == loss2
    for name in ("weight", "bias", "tau", "h0", *GATE_PARAMETERS):
        a, b = getattr(full, name), getattr(again, name)
        assert (a is None and b is None) or a.tobytes() == b.tobytes(), name
    for name in ("dh_norm", "edge_grad"):
        assert full.diagnostics[name].tobytes() == again.diagnostics[name].tobytes(), name


def test_diagnostics():
    """dh_norm[0] is the norm of dL/dh[0]; edge_grad[k] holds each edge's
    contribution at step k, which for a one-step run is its whole gradient."""
    net = sim.compile(gru_graph())
    x, targets = RNG.normal(size=(5, 1)), RNG.normal(size=(5, 1))
    _, grads = sim.bptt(net, x, targets, dt=DT, method="rk4", return_diagnostics=True)
    assert grads.diagnostics["dh_norm"].shape == (6,) and grads.diagnostics["edge_grad"].shape == (5, net.n_edges)
    assert np.isclose(grads.diagnostics["dh_norm"][0], np.linalg.norm(grads.h0), rtol=1e-12)
    _, one = sim.bptt(net, x[:1], targets[:1], dt=DT, method="rk4", return_diagnostics=True)
    np.testing.assert_array_equal(one.diagnostics["edge_grad"][0], np.abs(one.weight))


def test_clip_scales_every_trained_gradient_taus_and_gates_included():
    net = sim.compile(gru_graph())
    x, targets = RNG.normal(size=(5, 1)), RNG.normal(size=(5, 1))
    _, grads = sim.bptt(net, x, targets, dt=DT, method="exp_euler")
    _, clipped = sim.bptt(net, x, targets, dt=DT, method="exp_euler", clip=1e-3)
    norm = np.sqrt(sum(np.sum(g ** 2) for g in (grads.weight, grads.bias, grads.tau, *grads.gates().values())))
    for name in ("weight", "tau", "weight_z", "bias_hn"):
        np.testing.assert_allclose(getattr(clipped, name), getattr(grads, name) * 1e-3 / norm, rtol=1e-12)
    np.testing.assert_array_equal(clipped.h0, grads.h0)


def test_float32_gradients_follow_float64():
    G = gru_graph()
    x, targets = RNG.normal(size=(6, 1)), RNG.normal(size=(6, 1))
    _, g64 = sim.bptt(sim.compile(G), x, targets, dt=DT, method="rk4")
    _, g32 = sim.bptt(sim.compile(G, dtype="float32"), x, targets, dt=DT, method="rk4")
    assert g32.weight_z.dtype == np.float32 and g32.tau.dtype == np.float32
    for name in ("weight", "bias", "tau", "weight_r", "weight_z", "bias_z"):
        np.testing.assert_allclose(getattr(g32, name), getattr(g64, name), rtol=0, atol=1e-5)


def test_train_lowers_the_loss_and_moves_only_what_trains():
    net = sim.compile(tp.gru(1, 3, 1, seed=0))
    x = RNG.normal(size=(10, 4, 1))
    targets = np.roll(x, 1, axis=0) * 0.5
    trained, history = sim.train(net, x, targets, dt=0.5, method="rk4", epochs=25, lr=0.05, progress=False)
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert not np.array_equal(trained.tau, net.tau) and not np.array_equal(trained.weight_r, net.weight_r)
    frozen, _ = sim.train(net, x, targets, dt=0.5, method="euler", epochs=2, lr=0.05, progress=False,
                          trainable=["weight_z", "tau"])
    np.testing.assert_array_equal(frozen.weight, net.weight)
    np.testing.assert_array_equal(frozen.bias_hn, net.bias_hn)
    assert not np.array_equal(frozen.weight_z, net.weight_z) and not np.array_equal(frozen.tau, net.tau)


def solve_loss(G, x, targets, h0, dt):
    """The mse of a tight DOP853 `solve` of the network drawn by `G` at the target times (k + 1) dt."""
    res = sim.solve(sim.compile(G), x, (0.0, len(x) * dt), dt=dt, method="DOP853", h0=h0,
                    t_eval=dt * np.arange(len(x) + 1), rtol=1e-12, atol=1e-13, progress=False)
    return mse(res.outputs, targets)


@pytest.mark.parametrize("method", ["RK45", "BDF", "Radau", "LSODA"])
def test_adaptive_gradients_match_central_differences_of_solve(method):
    """The adjoint of the GRU-ODE (every weight, gate weight and bias, tau,
    h0) at rtol 1e-10, atol 1e-12 against central differences of a tight
    DOP853 `solve`'s loss, to 1e-5 relative (design section 11)."""
    net = sim.compile(gru_graph())
    x, targets = RNG.normal(size=(3, 1)), RNG.normal(size=(3, 1))
    h0 = RNG.normal(size=4) * 0.5
    loss, grads = sim.bptt(net, x, targets, h0=h0, dt=0.5, method=method, rtol=1e-10, atol=1e-12)
    G = net.to_networkx()
    assert np.isclose(loss, solve_loss(G, x, targets, h0, 0.5), rtol=1e-8)
    assert set(grads.gates()) == set(net.gate_parameters())
    numeric = numeric_gradients(net, lambda G, h0: solve_loss(G, x, targets, h0, 0.5), {"h0": h0},
                                names=every_parameter(net), eps=1e-5)
    for name, expect in numeric.items():
        scale = max(np.abs(expect).max(), 1e-3)
        assert np.abs(getattr(grads, name) - expect).max() <= 1e-5 * scale, name


def test_adaptive_gradients_agree_with_fine_rk4_bptt_batched():
    """Batched, through the explicit adjoint, against RK4 BPTT at a step
    small enough to agree to 1e-6."""
    net = sim.compile(gru_graph())
    x, targets = RNG.normal(size=(3, 2, 1)), RNG.normal(size=(3, 2, 1))
    _, adjoint = sim.bptt(net, x, targets, dt=0.5, method="DOP853", rtol=1e-10, atol=1e-12)
    fine = 16
    _, rk4 = sim.bptt(net, np.repeat(x, fine, axis=0), np.where(np.arange(3 * fine)[:, None, None] % fine == fine - 1,
                                                                  np.repeat(targets, fine, axis=0), np.nan),
                      dt=0.5 / fine, method="rk4")
    for name in ("weight", "tau", "h0", "weight_z", "bias_hn"):
        np.testing.assert_allclose(getattr(adjoint, name), getattr(rk4, name), rtol=0, atol=1e-6)


def test_lstm_neurons_in_adaptive_gradients_are_refused_by_node():
    net = sim.compile(mixed_graph())
    with pytest.raises(ValueError, match="node 1 is an LSTM neuron: LSTM neurons are discrete-time only"):
        sim.bptt(net, np.ones((3, 1)), np.ones((3, 1)), dt=0.1, method="RK45")
