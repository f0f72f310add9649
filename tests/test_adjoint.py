"""Gradients through the adaptive ODE mode (design section 11): every
`solve_ivp` method's adjoint against central differences of a tight DOP853
reference loss (`tests/reference.py`, sharing no code with the library), the
same problem for every method, as diffrax's test_adjoint; convergence of the
fixed-step RK4 gradients to them; the counts; the refusals."""

from __future__ import annotations

import types
from functools import lru_cache

import networkx as nx
import numpy as np
import pytest

import simulator as sim
from simulator.methods import ODE_METHODS
from tests import reference as ref

DT, T, BATCH = 0.5, 4, 2
TIGHT = dict(rtol=1e-10, atol=1e-12)


def small_graph(feedback: bool, n_out: int) -> nx.DiGraph:
    """Five tanh neurons of mixed taus, two inputs, `n_out` outputs reading
    every neuron, a skip edge, and (with `feedback`) output -> hidden edges."""
    rng = np.random.default_rng(7)
    G = nx.DiGraph()
    ins = ["x0", "x1"]
    outs = [f"y{o}" for o in range(n_out)]
    for u in ins:
        G.add_node(u, role="input")
    for o in outs:
        G.add_node(o, role="output", bias=rng.normal() * 0.2)
    hs = [f"h{i}" for i in range(5)]
    for i, h in enumerate(hs):
        G.add_node(h, bias=rng.normal() * 0.3, tau=[0.3, 0.7, 1.0, 1.5, 2.5][i])
        G.add_edge(ins[i % 2], h, weight=rng.normal())
        for o in outs:
            G.add_edge(h, o, weight=rng.normal() * 0.7)
    for u in hs:
        for v in hs:
            if rng.random() < 0.45:
                G.add_edge(u, v, weight=rng.normal() * 0.8)
    G.add_edge("x0", outs[0], weight=0.4)
    if feedback:
        G.add_edge(outs[0], "h1", weight=0.6)
        G.add_edge(outs[-1], "h3", weight=-0.5)
    return G


def problem(loss: str, feedback: bool, batched: bool):
    """Graph, inputs, targets and h0 of one configuration."""
    rng = np.random.default_rng(3)
    n_out = 3 if loss == "cross_entropy" else 2
    G = small_graph(feedback, n_out)
    shape = (T, BATCH) if batched else (T,)
    x = rng.normal(size=shape + (2,))
    if loss == "mse":
        targets = rng.normal(size=shape + (n_out,))
        targets[1] = np.nan  # an unsupervised step
    else:
        targets = rng.integers(0, n_out, size=shape)
        targets[1] = -1
    h0 = rng.normal(size=(BATCH, 5) if batched else (5,)) * 0.4
    return G, x, targets, h0


def reference_loss(G, x, targets, h0, loss):
    y = ref.solve_held(G, x, DT, h0, rtol=1e-13, atol=1e-14)
    return ref.mse(y, targets) if loss == "mse" else ref.cross_entropy(y, targets)


@lru_cache(maxsize=None)
def central_differences(loss: str, feedback: bool, batched: bool, eps: float = 1e-6):
    """The reference gradients: central differences of the reference loss
    in every edge weight, bias, tau and h0 entry, aligned like the network's."""
    G, x, targets, h0 = problem(loss, feedback, batched)
    net = sim.compile(G)

    def perturbed(change, delta):
        H = G.copy()
        change(H, delta)
        return reference_loss(H, x, targets, h0, loss)

    def diff(change):
        return (perturbed(change, eps) - perturbed(change, -eps)) / (2 * eps)

    def edge(u, v):
        return lambda H, d: H.edges[u, v].__setitem__("weight", H.edges[u, v].get("weight", 1.0) + d)

    def node(name, key, default):
        return lambda H, d: H.nodes[name].__setitem__(key, H.nodes[name].get(key, default) + d)

    weight = np.array([diff(edge(u, v)) for u, v in net.edges])
    bias = np.array([diff(node(name, "bias", 0.0)) for name in net.neurons + net.outputs])
    tau = np.array([diff(node(name, "tau", 1.0)) for name in net.neurons])
    flat = h0.ravel()
    g_h0 = np.empty(flat.size)
    for i in range(flat.size):
        up, down = flat.copy(), flat.copy()
        up[i] += eps
        down[i] -= eps
        g_h0[i] = (reference_loss(G, x, targets, up.reshape(h0.shape), loss)
                   - reference_loss(G, x, targets, down.reshape(h0.shape), loss)) / (2 * eps)
    return reference_loss(G, x, targets, h0, loss), {"weight": weight, "bias": bias, "tau": tau,
                                                      "h0": g_h0.reshape(h0.shape)}


def relative_error(got, want) -> float:
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


@pytest.mark.parametrize("batched", [False, True], ids=["single", "batched"])
@pytest.mark.parametrize("feedback", [False, True], ids=["open", "feedback"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("method", ODE_METHODS)
def test_gradients_match_central_differences(method, loss, feedback, batched):
    """At rtol 1e-10 / atol 1e-12 every gradient (weights of every kind,
    biases, taus, h0) is within 1e-5 relative of central differences of the
    reference loss, and the loss equals the reference's."""
    G, x, targets, h0 = problem(loss, feedback, batched)
    want_loss, want = central_differences(loss, feedback, batched)
    value, grads = sim.bptt(sim.compile(G), x, targets, loss=loss, h0=h0, dt=DT, method=method, **TIGHT)
    assert value == pytest.approx(want_loss, rel=1e-8)
    for kind in ("weight", "bias", "tau", "h0"):
        assert relative_error(getattr(grads, kind), want[kind]) < 1e-5, kind


def test_loss_is_that_of_solve():
    """The loss is that of `sim.solve`'s outputs at the target times, with the same method and tolerances."""
    G, x, targets, h0 = problem("mse", True, False)
    net = sim.compile(G)
    for method in ("RK45", "BDF"):
        res = sim.solve(net, x, (0, T * DT), dt=DT, method=method, t_eval=DT * np.arange(T + 1), h0=h0, **TIGHT)
        value, _ = sim.bptt(net, x, targets, h0=h0, dt=DT, method=method, **TIGHT)
        assert value == pytest.approx(ref.mse(res.outputs, targets), rel=1e-14)


def test_rk4_gradients_converge_to_the_adjoint():
    """Fixed-step RK4 BPTT with the step refined (samples repeated, targets
    on the original times) converges to the adjoint's gradients at order 4."""
    G, x, targets, h0 = problem("mse", True, False)
    net = sim.compile(G)
    _, exact = sim.bptt(net, x, targets, h0=h0, dt=DT, method="DOP853", rtol=1e-12, atol=1e-14)
    errors = []
    for r in (2, 4, 8):
        xr = np.repeat(x, r, axis=0)
        tr = np.full((T * r, targets.shape[1]), np.nan)
        tr[r - 1::r] = targets
        _, g = sim.bptt(net, xr, tr, h0=h0, dt=DT / r, method="rk4")
        # mse averages over the supervised entries, the same count at every r
        errors.append(max(relative_error(getattr(g, k), getattr(exact, k)) for k in ("weight", "bias", "tau", "h0")))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(orders > 3.5), (errors, orders)


@pytest.mark.parametrize("method", ODE_METHODS)
def test_info_counts_both_passes(method):
    """`grads.info` reports the forward and backward evaluations (and the
    Jacobian's for the implicit methods) and what the dense output holds."""
    G, x, targets, h0 = problem("mse", False, False)
    _, grads = sim.bptt(sim.compile(G), x, targets, h0=h0, dt=DT, method=method)
    info = grads.info
    assert info["method"] == method
    assert info["forward"]["nfev"] > 0 and info["backward"]["nfev"] > 0 and info["backward"]["nquad"] > 0
    assert info["forward_steps"] > 0
    assert info["threads"] == 1  # a small network's calls run on one thread (adjoint.PARALLEL_MIN_WORK)
    if method in ("BDF", "Radau"):
        assert info["forward"]["njev"] > 0 and info["backward"]["njev"] > 0
        assert info["backward"]["nlu"] > 0
    if method != "LSODA":
        assert info["dense_output_bytes"] > 0


def test_float32_network_gets_float32_gradients():
    """A float32 network's gradients come back float32, close to float64's."""
    G, x, targets, h0 = problem("mse", True, False)
    _, g64 = sim.bptt(sim.compile(G), x, targets, h0=h0, dt=DT, method="RK45")
    _, g32 = sim.bptt(sim.compile(G, dtype="float32"), x, targets, h0=h0, dt=DT, method="RK45")
    assert g32.weight.dtype == np.float32 and g32.h0.dtype == np.float32
    assert relative_error(g32.weight, g64.weight) < 1e-4


@pytest.mark.parametrize("method", ["RK45", "BDF"])
def test_quadrature_nodes_in_one_call_or_many(monkeypatch, method):
    """The quadrature nodes of a backward step go through one stacked
    pull-back, or one node per call when `QUADRATURE_ENTRIES` is small:
    the same gradients to rounding."""
    from simulator import adjoint

    G, x, targets, h0 = problem("mse", True, True)
    net = sim.compile(G)
    _, stacked = sim.bptt(net, x, targets, h0=h0, dt=DT, method=method)
    monkeypatch.setattr(adjoint, "QUADRATURE_ENTRIES", 1)
    _, single = sim.bptt(net, x, targets, h0=h0, dt=DT, method=method)
    for kind in ("weight", "bias", "tau", "h0"):
        np.testing.assert_allclose(getattr(single, kind), getattr(stacked, kind), rtol=1e-12, atol=1e-15)


def test_diagnostics_and_clip():
    """`return_diagnostics` gives dL/dh at the sample times and each piece's
    edge contributions, which sum to the gradient; `clip` scales as for BPTT."""
    G, x, targets, h0 = problem("mse", True, False)
    net = sim.compile(G)
    _, g = sim.bptt(net, x, targets, h0=h0, dt=DT, method="RK45", return_diagnostics=True, **TIGHT)
    assert g.diagnostics["dh_norm"].shape == (T + 1,)
    assert g.diagnostics["dh_norm"][0] == pytest.approx(np.linalg.norm(g.h0))
    assert g.diagnostics["edge_grad"].shape == (T, net.n_edges)
    assert np.all(g.diagnostics["edge_grad"].sum(axis=0) >= np.abs(g.weight) * (1 - 1e-9))
    _, clipped = sim.bptt(net, x, targets, h0=h0, dt=DT, method="RK45", clip=1e-3, **TIGHT)
    trained = np.sqrt(np.sum(clipped.weight ** 2) + np.sum(clipped.bias ** 2) + np.sum(clipped.tau ** 2))
    assert trained == pytest.approx(1e-3)


def test_train_with_bdf_lowers_the_loss():
    """`sim.train` with an adaptive method trains, taus included."""
    G, x, targets, h0 = problem("mse", False, False)
    net = sim.compile(G)
    trained, history = sim.train(net, x, targets, h0=h0, dt=DT, method="BDF", rtol=1e-6, atol=1e-8,
                                 epochs=15, lr=0.05, progress=False)
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert not np.allclose(trained.tau, net.tau)


# ------------------------------------------------------------------ refusals
def tiny():
    G, x, targets, h0 = problem("mse", False, False)
    return sim.compile(G), x, targets


def test_jacobian_none_with_implicit_method_is_refused():
    net, x, targets = tiny()
    with pytest.raises(ValueError, match=r"`jacobian='none'` cannot be differentiated with the implicit method "
                                         r"'BDF'.*Pass jacobian='auto'"):
        sim.bptt(net, x, targets, dt=DT, method="BDF", jacobian="none")


def test_t_eval_without_the_target_times_is_refused():
    net, x, targets = tiny()
    with pytest.raises(ValueError, match=r"`t_eval` lacks the target time 1.5 = \(2 \+ 1\) dt.*Pass t_eval=None"):
        sim.bptt(net, x, targets, dt=DT, method="RK45", t_eval=[0.0, 0.5, 1.0, 2.0])
    sim.bptt(net, x, targets, dt=DT, method="RK45", t_eval=DT * np.arange(T + 1))  # holding them is fine


def test_missing_dt_and_fixed_step_options_are_refused():
    net, x, targets = tiny()
    with pytest.raises(ValueError, match=r"`method='RK45'` in `bptt` needs `dt=`"):
        sim.bptt(net, x, targets, method="RK45")
    with pytest.raises(ValueError, match=r"`truncate` and `checkpoint` apply to the fixed-step methods"):
        sim.bptt(net, x, targets, dt=DT, method="RK45", truncate=2)
    with pytest.raises(ValueError, match=r"got 'rtol', which an adaptive method takes"):
        sim.bptt(net, x, targets, dt=DT, method="rk4", rtol=1e-6)
    with pytest.raises(ValueError, match=r"`rtol` and `atol` are an adaptive method's tolerances"):
        sim.train(net, x, targets, dt=DT, method="rk4", rtol=1e-6, progress=False)


def test_gated_units_are_refused_by_name():
    from simulator.adjoint import check_plain_units

    fake = types.SimpleNamespace(units=np.array(["plain", "gru", "lstm"], dtype=object), neurons=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"node 'c' is a gated unit \('lstm'\)"):
        check_plain_units(fake)


def test_failed_backward_solve_names_time_and_adjoint(monkeypatch):
    """A backward solve that fails says when, and where the adjoint is largest."""
    import scipy.integrate

    from simulator import adjoint

    net, x, targets = tiny()

    class Failing(scipy.integrate.RK45):
        def step(self):
            self.fun(self.t, self.y)
            self.status = "failed"
            return "Required step size is less than spacing between numbers."

    monkeypatch.setattr(adjoint, "_backward_solver", lambda method: Failing)
    with pytest.raises(sim.SolverError, match=r"backward \(adjoint\) solve_ivp \(RK45\) failed at t = 2: Required "
                                              r"step size.*largest adjoint component dL/dh there: neuron 'h\d'"):
        sim.bptt(net, x, targets, dt=DT, method="RK45")


def test_samples_without_jumps_share_a_forward_piece():
    """Equal consecutive samples make one forward piece span several sample
    times; the backward pieces still stop at each target time (checked
    against RK4 BPTT at a step of dt / 32)."""
    G, x, targets, h0 = problem("mse", True, False)
    net = sim.compile(G)
    x = np.repeat(x[:2], 2, axis=0)  # samples 0 = 1 and 2 = 3
    _, g = sim.bptt(net, x, targets, h0=h0, dt=DT, method="RK45", **TIGHT)
    assert g.info["forward_steps"] > 0
    r = 32
    tr = np.full((T * r, targets.shape[1]), np.nan)
    tr[r - 1::r] = targets
    _, g_rk4 = sim.bptt(net, np.repeat(x, r, axis=0), tr, h0=h0, dt=DT / r, method="rk4")
    for kind in ("weight", "bias", "tau", "h0"):
        assert relative_error(getattr(g, kind), getattr(g_rk4, kind)) < 1e-5, kind
