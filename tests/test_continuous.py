"""Fixed-step continuous time against the NumPy reference, exact solutions and
measured convergence orders."""

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy.linalg import expm

import simulator as sim

from . import reference as ref
from .strategies import graphs

METHODS = ["euler", "exp_euler", "rk4"]


def _net_graph(feedback=True, seed=7, n=6):
    """A small nonlinear graph with every edge kind and mixed taus."""
    rng = np.random.default_rng(seed)
    G = nx.DiGraph()
    G.add_node("x0", role="input")
    G.add_node("x1", role="input")
    acts = ["tanh", "sigmoid", "softplus", "elu", "tanh", "identity"]
    for k in range(n):
        G.add_node(k, activation=acts[k % len(acts)], bias=rng.normal(0, 0.2), tau=rng.uniform(0.5, 2.0))
    G.add_node("y", role="output", activation="tanh", bias=0.1)
    for u in range(n):
        for v in range(n):
            if rng.random() < 0.5:
                G.add_edge(u, v, weight=rng.normal(0, 0.6))
        G.add_edge("x0", u, weight=rng.normal())
        G.add_edge(u, "y", weight=rng.normal(0, 0.5))
        if feedback:
            G.add_edge("y", u, weight=rng.normal(0, 0.5))
    G.add_edge("x1", "y", weight=0.4)
    G.add_edge("x1", 2, weight=-0.8)
    return G


@given(graphs(), st.sampled_from(METHODS), st.sampled_from([None, 2]))
def test_fixed_step_matches_reference(G, method, batch):
    """Every fixed-step method matches the NumPy stepper on random graphs with feedback."""
    net = sim.compile(G)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, net.n_inputs) if batch is None else (5, batch, net.n_inputs))
    h0 = rng.normal(size=(net.n_neurons,))
    res = sim.run(net, x, h0, dt=0.3, method=method)
    states, outputs = ref.run_fixed_step(G, x, 0.3, method, h0=h0 if batch is None else np.tile(h0, (batch, 1)))
    np.testing.assert_allclose(res.states, states, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(res.outputs, outputs, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(res.times, 0.3 * np.arange(6))


@pytest.mark.parametrize("parallel", [False, True])
def test_euler_dt1_tau1_equals_discrete(parallel):
    """tau = 1, dt = 1, Euler and no feedback reproduce the discrete run exactly."""
    G = _net_graph(feedback=False)
    for n in G:
        if "tau" in G.nodes[n]:
            G.nodes[n]["tau"] = 1.0
    net = sim.compile(G)
    x = np.random.default_rng(1).normal(size=(8, 3, 2))
    a = sim.run(net, x, dt=1.0, method="euler", parallel=parallel)
    b = sim.run(net, x)
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.outputs, b.outputs)


def test_linear_network_matches_matrix_exponential():
    """A linear network under constant input follows expm exactly; RK4 error ~ dt^4."""
    rng = np.random.default_rng(3)
    n = 5
    G = nx.DiGraph()
    G.add_node("u", role="input")
    for i in range(n):
        G.add_node(i, activation="identity", tau=rng.uniform(0.5, 2.0), bias=rng.normal(0, 0.1))
        G.add_edge("u", i, weight=rng.normal())
        for j in range(n):
            if rng.random() < 0.6:
                G.add_edge(j, i, weight=rng.normal(0, 0.4))
    net = sim.compile(G)
    d = ref.Dense(G)
    A = (d.W - np.eye(n)) / d.tau[:, None]
    c = (d.U[:, 0] * 0.7 + d.b) / d.tau
    M = np.zeros((n + 1, n + 1)); M[:n, :n] = A; M[:n, n] = c
    h0 = rng.normal(size=n)
    T_end = 2.0
    exact = (expm(M * T_end) @ np.append(h0, 1.0))[:n]
    errors = []
    for steps in (20, 40):
        res = sim.run(net, np.full((steps, 1), 0.7), h0, dt=T_end / steps, method="rk4")
        errors.append(np.abs(res.states[-1] - exact).max())
    assert errors[1] < 1e-6
    assert 3.6 < np.log2(errors[0] / errors[1]) < 4.4


@pytest.mark.parametrize("method, order", [("euler", 1), ("exp_euler", 1), ("rk4", 4)])
def test_convergence_order(method, order):
    """Halving dt divides the error at t = 2 by 2^order, against a DOP853 reference."""
    G = _net_graph(feedback=True)
    net = sim.compile(G)
    h0 = np.random.default_rng(5).normal(0, 0.5, net.n_neurons)
    xc = np.array([0.6, -0.3])
    T_end = 2.0
    exact = ref.solve_dense(G, lambda t: xc, (0, T_end), h0, [T_end])[-1]
    errors = []
    for steps in (40, 80, 160):
        res = sim.run(net, np.tile(xc, (steps, 1)), h0, dt=T_end / steps, method=method)
        errors.append(np.abs(res.states[-1] - exact).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(orders - order) < 0.25), orders


def test_exponential_euler_is_stable_past_two_tau():
    """With dt = 5 tau, Euler diverges while exponential Euler decays like the ODE."""
    G = nx.DiGraph()
    G.add_node("h", tau=0.1, activation="identity")
    G.add_edge("h", "h", weight=0.0)
    net = sim.compile(G)
    euler = sim.run(net, 10, h0=[1.0], dt=0.5, method="euler")
    expo = sim.run(net, 10, h0=[1.0], dt=0.5, method="exp_euler")
    assert abs(euler["h"][-1]) > 1e5
    np.testing.assert_allclose(expo["h"], np.exp(-np.arange(11) * 0.5 / 0.1), rtol=1e-12)


def test_exponential_euler_exact_for_constant_drive():
    """A neuron with no recurrent input relaxes to phi(U x + b) exactly as 1 - e^{-t/tau}."""
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_edge("x", "h", weight=0.8)
    G.nodes["h"]["tau"] = 0.7
    net = sim.compile(G)
    res = sim.run(net, np.ones((6, 1)), dt=0.25, method="exp_euler")
    t = 0.25 * np.arange(7)
    np.testing.assert_allclose(res["h"], np.tanh(0.8) * (1 - np.exp(-t / 0.7)), rtol=1e-13, atol=1e-15)


def test_float32_continuous():
    """A float32 network integrates in float32 and stays near the float64 result."""
    G = _net_graph()
    x = np.random.default_rng(2).normal(size=(20, 2))
    for method in METHODS:
        r32 = sim.run(sim.compile(G, dtype="float32"), x, dt=0.1, method=method)
        r64 = sim.run(sim.compile(G), x, dt=0.1, method=method)
        assert r32.states.dtype == r32.outputs.dtype == r32.times.dtype == np.float32
        np.testing.assert_allclose(r32.states, r64.states, rtol=1e-4, atol=1e-5)


def test_parallel_continuous_equals_serial():
    """The threaded right-hand side gives the same numbers as the serial one."""
    net = sim.compile(_net_graph())
    x = np.random.default_rng(2).normal(size=(10, 4, 2))
    for method in METHODS:
        a = sim.run(net, x, dt=0.2, method=method, parallel=True)
        b = sim.run(net, x, dt=0.2, method=method, parallel=False)
        np.testing.assert_array_equal(a.states, b.states)


@pytest.mark.parametrize("kwargs, kind, match", [
    ({"dt": 0.0}, ValueError, r"`dt` must be finite and > 0, got 0.0"),
    ({"dt": -0.1}, ValueError, r"`dt` must be finite and > 0, got -0.1"),
    ({"dt": float("nan")}, ValueError, r"`dt` must be finite and > 0, got nan"),
    ({"dt": "0.1"}, TypeError, r"`dt` must be a real number, got '0.1'"),
    ({"dt": 0.1, "method": "heun"}, ValueError, r"`method` must be one of 'euler', 'exp_euler', 'rk4', got 'heun'"),
    ({"dt": 0.1, "method": "BDF"}, ValueError, r"got 'BDF' \(adaptive ODE methods go through sim.solve\)"),
    ({"method": "rk4"}, ValueError, r"`method='rk4'` needs a time step `dt`"),
    ({"dt": 0.1, "update": "async"}, ValueError, r"`update='async'` is a discrete-time mode"),
    ({"dt": 0.1, "teacher_forcing": True}, ValueError, r"teacher forcing is available in discrete time only"),
])
def test_fixed_step_errors(kwargs, kind, match):
    """Bad time-stepping arguments are refused with the rule stated."""
    net = sim.compile(_net_graph())
    with pytest.raises(kind, match=match):
        sim.run(net, np.zeros((3, 2)), **kwargs)
