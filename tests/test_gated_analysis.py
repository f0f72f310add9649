"""Dynamics analyses of networks with gated neurons (design section 10):
fixed points and Lyapunov exponents of GRU and LSTM networks in discrete
time (the LSTM's state (h, c) stacked) and of GRU networks in continuous
time, against central-difference Jacobians of the plain-NumPy step
(`tests.reference.gated_step`, `gru_rhs`) and a NumPy QR reference
(`tests.reference.lyapunov_gated_dense`)."""

import numpy as np
import pytest

import simulator as sim
import topologies as tp
from simulator.analysis._gated import GatedModel
from tests.reference import Dense, gated_step, gru_rhs, jacobian_fd, lyapunov_gated_dense
from tests.test_gated_compile import mixed_graph
from tests.test_gated_continuous import gru_graph

RNG = np.random.default_rng(23)


def graphs():
    """GRU, LSTM (sigmoid and hard-sigmoid gates) and plain neurons with an
    output fed back that reads the input too (a skip edge); a GRU ring with
    feedback and taus; a fully connected LSTM."""
    mixed = mixed_graph()
    mixed.add_edge("in0", "out0", weight=0.6)
    return {"mixed": mixed, "gru_ring": gru_graph(), "lstm": tp.lstm(2, 3, 1, seed=0)}


def reference_map(G, x, x_out=None):
    """The discrete step on the stacked state (h, c) with the input held at
    `x` and the outputs of the same state fed back (read with `x_out`)."""
    dense = Dense(G)
    n_h = len(dense.neurons)

    def step(s):
        h, c = s[:n_h], s[n_h:]
        return np.concatenate(gated_step(G, h, c, x, dense.readout(h, x if x_out is None else x_out)))

    return step


@pytest.mark.parametrize("name", ["mixed", "gru_ring", "lstm"])
def test_step_jacobian_matches_central_differences_of_the_reference_step(name):
    G = graphs()[name]
    net = sim.compile(G)
    model = GatedModel(net)
    assert model.n == net.n_neurons + len(net.cell_neurons)
    for _ in range(3):
        s, x, x_out = RNG.normal(size=model.n) * 0.7, RNG.normal(size=net.n_inputs), RNG.normal(size=net.n_inputs)
        np.testing.assert_allclose(model.step(s, x), reference_map(G, x)(s), rtol=0, atol=1e-14)
        expected = jacobian_fd(reference_map(G, x, x_out), s)
        np.testing.assert_allclose(model.jacobian(s, x, x_out=x_out).toarray(), expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", ["mixed", "gru_ring", "lstm"])
def test_fixed_points_are_fixed_points_of_the_reference_step(name):
    """Each point found is a fixed point of the reference map (held input),
    and its eigenvalues are those of the central-difference Jacobian there."""
    G = graphs()[name]
    net = sim.compile(G)
    x = np.full(net.n_inputs, 0.3)
    fp = sim.fixed_points(net, x=x, n_starts=12)
    assert len(fp) >= 1 and fp.states.shape[1] == net.n_neurons + len(net.cell_neurons)
    step = reference_map(G, x)
    for s, lam, stable in zip(fp.states, fp.eigenvalues, fp.stable):
        assert np.abs(step(s) - s).max() < 1e-10
        expected = np.linalg.eigvals(jacobian_fd(step, s))
        np.testing.assert_allclose(np.sort_complex(lam), np.sort_complex(expected), rtol=0, atol=1e-8)
        assert stable == (np.abs(expected).max() < 1)
    frame = fp.to_pandas()
    assert all(f"c[{v}]" in frame.columns for v in net.cell_neurons)


def test_continuous_fixed_points_of_a_gru_network():
    """dh/dt = 0 where the discrete step is fixed; stability from the
    eigenvalues of the central-difference Jacobian of the GRU-ODE."""
    G = gru_graph()
    net = sim.compile(G)
    x = np.array([0.4])
    fp = sim.fixed_points(net, x=x, n_starts=8, dt=0.1)
    assert len(fp) >= 1
    for s, lam, stable in zip(fp.states, fp.eigenvalues, fp.stable):
        assert np.abs(gru_rhs(G, s, x)).max() < 1e-10
        expected = np.linalg.eigvals(jacobian_fd(lambda h: gru_rhs(G, h, x), s))
        np.testing.assert_allclose(np.sort_complex(lam), np.sort_complex(expected), rtol=0, atol=1e-8)
        assert stable == (expected.real.max() < 0)
        np.testing.assert_allclose(sim.jacobian(net, s, x), jacobian_fd(lambda h: gru_rhs(G, h, x), s), atol=1e-9)


@pytest.mark.parametrize("name", ["mixed", "lstm"])
def test_discrete_lyapunov_exponents_match_the_reference(name):
    """Driven by a random input, outputs fed back, h0 and c0 given."""
    G = graphs()[name]
    net = sim.compile(G)
    n_c = len(net.cell_neurons)
    x = RNG.normal(size=(60, net.n_inputs))
    s0 = RNG.uniform(-0.5, 0.5, size=net.n_neurons + n_c)
    ly = sim.lyapunov(net, x, h0=s0, warmup=10, seed=3)
    expected = lyapunov_gated_dense(G, x, s0[:net.n_neurons], s0[net.n_neurons:], s0.size, 3, 10)
    assert ly.exponents.shape == (s0.size,) and ly.history.shape == (50, s0.size)
    np.testing.assert_allclose(ly.exponents, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_continuous_lyapunov_exponents_of_a_gru_network_match_the_reference(method):
    G = gru_graph()
    net = sim.compile(G)
    x = RNG.normal(size=(50, 1))
    h0 = RNG.uniform(-0.5, 0.5, size=4)
    ly = sim.lyapunov(net, x, h0=h0, dt=0.2, method=method, warmup=10, n_exponents=2, seed=5)
    expected = lyapunov_gated_dense(G, x, h0, np.zeros(0), 2, 5, 10, dt=0.2, method=method)
    np.testing.assert_allclose(ly.exponents, expected, rtol=0, atol=1e-6)


def test_what_is_not_built_is_refused():
    lstm = sim.compile(mixed_graph())
    with pytest.raises(ValueError, match="node 1 is an LSTM neuron: LSTM neurons are discrete-time only"):
        sim.fixed_points(lstm, dt=0.1)
    with pytest.raises(ValueError, match="node 1 is an LSTM neuron"):
        sim.lyapunov(lstm, 20, dt=0.1, warmup=5)
    with pytest.raises(ValueError, match="method='exp_euler': Lyapunov exponents of networks with GRU neurons"):
        sim.lyapunov(sim.compile(gru_graph()), 20, dt=0.1, method="exp_euler", warmup=5)
