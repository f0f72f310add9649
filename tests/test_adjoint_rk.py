"""The adjoint's compiled backward pass through the explicit methods
(`simulator._kernels.adjoint_rk`): the packed forward dense output against
SciPy's, the ``lambda`` right-hand side against the transposed Jacobian of
the reference right-hand side by central differences, the quadratures'
integrand against central differences of ``lambda^T f`` in every
parameter, and the compiled backward steps against SciPy's own stepping of
the same system (same steps, same gradients)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate

import simulator as sim
from simulator import adjoint
from simulator._kernels.adjoint_rk import lam_rates, quadrature_sums
from tests import reference as ref
from tests.test_adjoint import problem, small_graph

EXPLICIT = ["RK23", "RK45", "DOP853"]


@pytest.mark.parametrize("method", EXPLICIT)
def test_packed_dense_output_is_scipys(method):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6))
    sol = scipy.integrate.solve_ivp(lambda t, y: np.tanh(A @ y) - 0.3 * y, (0.2, 3.0), rng.normal(size=6),
                                    method=method, dense_output=True, rtol=1e-5, atol=1e-8).sol
    assert sol.n_segments > 3
    times = np.concatenate([rng.uniform(0.2, 3.0, 40), sol.ts])
    packed = adjoint.PackedDense(sol)
    want = sol(times)
    np.testing.assert_allclose(packed(times), want, rtol=0, atol=1e-14 * np.abs(want).max())
    np.testing.assert_allclose(packed(times[3]), sol(times[3]), rtol=0, atol=1e-14 * np.abs(want).max())


def graph_and_state(batch: int, feedback: bool):
    """The test graph (five neurons, with `feedback` outputs fed back),
    states, adjoints and inputs of `batch` columns."""
    G = small_graph(feedback=feedback, n_out=2)
    net = sim.compile(G)
    rng = np.random.default_rng(5)
    h = rng.normal(size=(net.n_neurons, batch)) * 0.6
    lam = rng.normal(size=(net.n_neurons, batch))
    xk = rng.normal(size=(net.n_inputs, batch))
    return G, net, h, lam, xk


@pytest.mark.parametrize("feedback", [False, True], ids=["open", "feedback"])
@pytest.mark.parametrize("threads", [None, 2], ids=["one-thread", "chunks"])
def test_lambda_rates_are_minus_the_transposed_jacobian(threads, feedback):
    G, net, h, lam, xk = graph_and_state(batch=3, feedback=feedback)
    dense = ref.Dense(G)
    out = np.empty_like(h)
    lam_rates(net.wiring(), net.wiring_t(), np.ascontiguousarray(1.0 / net.tau), h, lam, xk, out, threads)
    for b in range(h.shape[1]):
        J = ref.jacobian_fd(lambda s: ref.rhs(dense, s, xk[:, b]), h[:, b])
        np.testing.assert_allclose(out[:, b], -J.T @ lam[:, b], rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("feedback", [False, True], ids=["open", "feedback"])
@pytest.mark.parametrize("threads", [None, 2], ids=["one-thread", "chunks"])
def test_quadrature_sums_are_the_integrand(threads, feedback):
    """``quadrature_sums`` at two nodes (weights w_j, batch 2) adds the
    quadratures' integrand ``-(df/dtheta)^T lambda``: for every edge
    weight, bias and tau, ``-d/dtheta sum_j w_j lambda_j^T f(h_j)`` by
    central differences of the reference right-hand side on the perturbed
    graph."""
    G, net, h, lam, xk = graph_and_state(batch=2, feedback=feedback)
    rng = np.random.default_rng(8)
    h2, lam2 = h + rng.normal(size=h.shape) * 0.2, rng.normal(size=lam.shape)
    weights = np.array([0.3, 0.7])
    H = np.stack([h.ravel(), h2.ravel()], axis=1)  # neuron-major columns
    L = np.stack([lam.ravel(), lam2.ravel()], axis=1)
    gw, gb, gt = np.zeros(net.n_edges), np.zeros(net.n_neurons + net.n_outputs), np.zeros(net.n_neurons)
    quadrature_sums(net.wiring(), net.wiring_t(), np.ascontiguousarray(1.0 / net.tau), H, L, weights, xk,
                    gw, gb, gt, threads)

    def objective(graph):
        dense = ref.Dense(graph)
        return sum(w * np.sum(ref.rhs(dense, s.T, xk.T) * ls.T) for w, s, ls in zip(weights, (h, h2), (lam, lam2)))

    def diff(change, eps=1e-6):
        values = []
        for delta in (eps, -eps):
            graph = G.copy()
            change(graph, delta)
            values.append(objective(graph))
        return (values[0] - values[1]) / (2 * eps)

    def edge(u, v):
        return lambda g, d: g.edges[u, v].__setitem__("weight", g.edges[u, v].get("weight", 1.0) + d)

    def node(name, key, default):
        return lambda g, d: g.nodes[name].__setitem__(key, g.nodes[name].get(key, default) + d)

    want_w = np.array([diff(edge(u, v)) for u, v in net.edges])
    order = net.layout.slot_edges  # the kernel's sums are in slot order
    np.testing.assert_allclose(gw, -want_w[order], rtol=1e-7, atol=1e-9)
    want_b = np.array([diff(node(name, "bias", 0.0)) for name in net.neurons + net.outputs])
    np.testing.assert_allclose(gb, -want_b, rtol=1e-7, atol=1e-9)
    want_t = np.array([diff(node(name, "tau", 1.0)) for name in net.neurons])
    np.testing.assert_allclose(gt, -want_t, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("feedback", [False, True], ids=["open", "feedback"])
@pytest.mark.parametrize("batched", [False, True], ids=["single", "batched"])
@pytest.mark.parametrize("method", EXPLICIT)
def test_compiled_backward_steps_are_scipys(monkeypatch, method, batched, feedback):
    """The same backward solve stepped by SciPy's own class (the compiled
    one is used only where it is a subclass of the solver class asked
    for): the same steps and evaluations, the same gradients to rounding."""
    G, x, targets, h0 = problem("mse", feedback, batched)
    net = sim.compile(G)
    kw = dict(dt=0.5, h0=h0, method=method, rtol=1e-7, atol=1e-9)
    loss, compiled = sim.bptt(net, x, targets, **kw)

    class SciPys(getattr(scipy.integrate, method)):
        """SciPy's stepping, Python stages."""

    monkeypatch.setattr(adjoint, "_backward_solver", lambda method: SciPys)
    loss_scipy, stepped = sim.bptt(net, x, targets, **kw)
    assert loss == loss_scipy
    assert compiled.info["backward"] == stepped.info["backward"]
    for name in ("weight", "bias", "tau", "h0"):
        got, want = getattr(compiled, name), getattr(stepped, name)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-11 * np.abs(want).max(), err_msg=name)


@pytest.mark.parametrize("method", ["RK45", "DOP853"])
def test_threaded_backward_is_the_one_thread_one(monkeypatch, method):
    """With the kernels on two threads (the neurons in chunks) the same
    steps and the same gradients to rounding."""
    from simulator import threads

    G, x, targets, h0 = problem("mse", True, True)
    net = sim.compile(G)
    kw = dict(dt=0.5, h0=h0, method=method, rtol=1e-7, atol=1e-9)
    _, one = sim.bptt(net, x, targets, **kw)
    monkeypatch.setattr(adjoint, "PARALLEL_MIN_WORK", 1)
    monkeypatch.setattr(threads, "plan", lambda work, parallel: 2)
    _, two = sim.bptt(net, x, targets, **kw)
    assert (one.info["threads"], two.info["threads"]) == (1, 2)
    assert one.info["backward"] == two.info["backward"]
    for name in ("weight", "bias", "tau", "h0"):
        got, want = getattr(two, name), getattr(one, name)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max(), err_msg=name)
