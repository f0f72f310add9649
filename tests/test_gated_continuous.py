"""Continuous-time runs of GRU neurons (the GRU-ODE of design section 8),
fixed-step and through `solve`'s explicit methods, against the discrete
step, the plain-NumPy reference (`tests.reference.run_gru_fixed_step`) and
a tight DOP853 solution of the reference's right-hand side."""

import numpy as np
import pytest

import simulator as sim
import topologies as tp
from tests.reference import gru_rhs, jacobian_fd, run_gru_fixed_step, solve_gru_held
from tests.test_gated_compile import mixed_graph

RNG = np.random.default_rng(8)


def gru_graph(feedback=True):
    """Four hidden neurons on a ring, an input, an output (fed back when
    `feedback`): three GRUs (one with hard-sigmoid gates), one plain
    neuron, time constants other than 1."""
    G = tp.ring(4, n_inputs=1, n_outputs=1, seed=0)
    if feedback:
        G.add_edge("out0", 0, weight=0.4)
    tp.gate(G, unit="gru", nodes=[0, 2, 3], seed=1)
    G.nodes[3]["gate_activation"] = "hard_sigmoid"
    for node, tau in ((0, 0.5), (1, 2.0), (2, 1.5)):
        G.nodes[node]["tau"] = tau
    return G


@pytest.mark.parametrize("G", [tp.gru(2, 4, 1, seed=0), gru_graph(feedback=False)], ids=["gru", "mixed"])
@pytest.mark.parametrize("batched", [False, True])
def test_euler_with_unit_step_and_tau_is_the_discrete_run_exactly(G, batched):
    """tau = 1, dt = 1, Euler: states, outputs and the recorded r, z, n are
    those of the discrete run, bit for bit (no feedback edges)."""
    for node in G.nodes:
        G.nodes[node].pop("tau", None)
    net = sim.compile(G)
    x = RNG.normal(size=(12, 3, net.n_inputs) if batched else (12, net.n_inputs))
    h0 = RNG.normal(size=(3, net.n_neurons) if batched else net.n_neurons)
    discrete = sim.run(net, x, h0=h0, record_gates=True)
    euler = sim.run(net, x, h0=h0, dt=1.0, method="euler", record_gates=True)
    np.testing.assert_array_equal(euler.states, discrete.states)
    np.testing.assert_array_equal(euler.outputs, discrete.outputs)
    for q in discrete.gates:
        np.testing.assert_array_equal(euler.gates[q], discrete.gates[q])
    assert euler.info["mode"] == "continuous" and euler.times[-1] == 12.0


@pytest.mark.parametrize("method", ["euler", "exp_euler", "rk4"])
def test_fixed_step_runs_match_the_reference(method):
    """GRU and plain neurons, an output fed back inside every stage, time
    constants other than 1, hard-sigmoid gates; batched rows each match."""
    G = gru_graph()
    net = sim.compile(G)
    x = RNG.normal(size=(15, 2, 1))
    h0 = RNG.normal(size=(2, 4))
    res = sim.run(net, x, h0=h0, dt=0.3, method=method)
    for b in range(2):
        states, outputs = run_gru_fixed_step(G, x[:, b], 0.3, method, h0=h0[b])
        np.testing.assert_allclose(res.states[:, b], states, rtol=0, atol=1e-12)
        np.testing.assert_allclose(res.outputs[:, b], outputs, rtol=0, atol=1e-12)


def test_float32_runs_follow_float64():
    G = gru_graph()
    x = RNG.normal(size=(10, 1))
    res64 = sim.run(sim.compile(G), x, dt=0.2, method="rk4")
    res32 = sim.run(sim.compile(G, dtype="float32"), x, dt=0.2, method="rk4")
    assert res32.states.dtype == np.float32
    np.testing.assert_allclose(res32.states, res64.states, rtol=0, atol=1e-5)


def test_rk4_converges_with_order_four():
    """The error at t = 2 against a tight DOP853 solution of the reference's
    right-hand side shrinks ~16-fold per halving of dt (Euler ~2-fold)."""
    G = gru_graph(feedback=True)
    net = sim.compile(G)
    h0 = np.array([0.5, -0.3, 0.2, 0.4])
    exact = solve_gru_held(G, np.full((1, 1), 0.7), 2.0, h0=h0)[-1]
    orders = {}
    for method in ("rk4", "euler"):
        errors = []
        for dt in (0.2, 0.1, 0.05):
            steps = round(2.0 / dt)
            res = sim.run(net, np.full((steps, 1), 0.7), h0=h0, dt=dt, method=method)
            errors.append(np.abs(res.states[-1] - exact).max())
        orders[method] = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(orders["rk4"] - 4.0) < 0.3), orders
    assert np.all(np.abs(orders["euler"] - 1.0) < 0.2), orders


@pytest.mark.parametrize("call", [
    lambda net: sim.run(net, 3, dt=0.1, method="euler"),
    lambda net: sim.run(net, 3, dt=0.1),
    lambda net: sim.solve(net, lambda t: [0.0], (0.0, 1.0)),
    lambda net: sim.bptt(net, np.ones((3, 1)), np.ones((3, 1)), dt=0.1, method="euler"),
    lambda net: sim.jacobian(net, np.zeros(5)),
])
def test_lstm_neurons_in_continuous_time_are_refused_by_node(call):
    """The first LSTM neuron is named, even after a GRU."""
    with pytest.raises(ValueError, match="node 1 is an LSTM neuron: LSTM neurons are discrete-time only"):
        call(sim.compile(mixed_graph()))


@pytest.mark.parametrize("method", ["RK23", "RK45", "DOP853"])
def test_explicit_solve_matches_a_tight_reference_solution(method):
    """`solve` of GRU and plain neurons with a held input, an output fed
    back and time constants other than 1, against DOP853 on the reference's
    right-hand side; batched rows each match."""
    G = gru_graph()
    net = sim.compile(G)
    x = RNG.normal(size=(6, 2, 1))
    h0 = RNG.normal(size=(2, 4))
    res = sim.solve(net, x, (0.0, 3.0), dt=0.5, method=method, t_eval=np.arange(7) * 0.5, h0=h0,
                    rtol=1e-11, atol=1e-12, progress=False)
    for b in range(2):
        np.testing.assert_allclose(res.states[:, b], solve_gru_held(G, x[:, b], 0.5, h0=h0[b]), rtol=0, atol=1e-9)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_jacobian_matches_central_differences_of_the_reference_rhs(dtype):
    """`sim.jacobian` of GRU (sigmoid and hard-sigmoid gates) and plain
    neurons with an output fed back, against central differences of the
    plain-NumPy GRU-ODE right-hand side (`tests.reference.gru_rhs`)."""
    G = gru_graph()
    net = sim.compile(G, dtype=dtype)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        h, x = rng.normal(size=4), rng.normal(size=1)
        expected = jacobian_fd(lambda s: gru_rhs(G, s, x), h)
        J = sim.jacobian(net, h, x)
        assert J.dtype == np.dtype(dtype)
        np.testing.assert_allclose(J, expected, rtol=0, atol=1e-9 if dtype == "float64" else 1e-5)
        sparse = sim.jacobian(net, h, x, sparse=True)
        np.testing.assert_array_equal(sparse.toarray(), J)


def test_jacobian_of_a_fully_connected_gru_matches_central_differences():
    G = tp.gru(2, 5, 2, seed=3)
    for k, v in enumerate(v for v in G.nodes if G.nodes[v].get("role") is None):
        G.nodes[v]["tau"] = 0.5 + 0.25 * k
    net = sim.compile(G)
    h, x = RNG.normal(size=5), RNG.normal(size=2)
    np.testing.assert_allclose(sim.jacobian(net, h, x), jacobian_fd(lambda s: gru_rhs(G, s, x), h),
                               rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", ["BDF", "Radau", "LSODA"])
@pytest.mark.parametrize("jacobian", ["dense", "sparse"])
def test_implicit_solve_matches_a_tight_reference_solution(method, jacobian):
    """The implicit methods with the GRU-ODE's analytic Jacobian (dense or
    sparse; LSODA differences a sparse request itself) against DOP853 on
    the reference's right-hand side; batched rows each match."""
    G = gru_graph()
    net = sim.compile(G)
    x = RNG.normal(size=(6, 2, 1))
    h0 = RNG.normal(size=(2, 4))
    res = sim.solve(net, x, (0.0, 3.0), dt=0.5, method=method, t_eval=np.arange(7) * 0.5, h0=h0,
                    rtol=1e-10, atol=1e-12, jacobian=jacobian, progress=False)
    assert res.info["jacobian"] == ("none" if method == "LSODA" and jacobian == "sparse" else jacobian)
    for b in range(2):
        np.testing.assert_allclose(res.states[:, b], solve_gru_held(G, x[:, b], 0.5, h0=h0[b]), rtol=0, atol=1e-7)


def test_large_sparse_gru_ring_gets_a_sparse_jacobian():
    """By the fill rule of plain networks: a ring of 300 GRU neurons (short-range
    wiring) solves with a sparse Jacobian, as DOP853 does within 1e-7."""
    G = tp.ring(300, n_inputs=1, n_outputs=1, seed=0)
    tp.gate(G, unit="gru", seed=2)
    net = sim.compile(G)
    x = np.ones((2, 1))
    bdf = sim.solve(net, x, (0.0, 1.0), dt=0.5, method="BDF", t_eval=[0.5, 1.0], rtol=1e-10, atol=1e-12,
                    progress=False)
    ref = sim.solve(net, x, (0.0, 1.0), dt=0.5, method="DOP853", t_eval=[0.5, 1.0], rtol=1e-12, atol=1e-13,
                    progress=False)
    assert bdf.info["jacobian"] == "sparse"
    np.testing.assert_allclose(bdf.states, ref.states, rtol=0, atol=1e-7)
