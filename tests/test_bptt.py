"""`simulator.bptt` in discrete time: every gradient against central finite
differences of the loss computed by the NumPy reference."""

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import simulator as sim
import topologies as tp
from simulator.bptt import SparseReadoutWarning

from . import reference as ref
from .strategies import graphs
from .test_lanes import _sparse_graph
from .test_run import _all_kinds_graph

EPS = 1e-6


def _ref_loss(net, x, targets, loss, h0, teacher=False):
    G = net.to_networkx()
    states, outputs = ref.run_discrete(G, x, h0, teacher=targets if teacher else None)
    return ref.mse(outputs, targets) if loss == "mse" else ref.cross_entropy(outputs, targets)


def _central_differences(net, h0, loss_of, kinds=("weight", "bias")):
    """Central differences of ``loss_of(net, h0)`` for every entry of the
    parameter `kinds` and of h0."""
    out = {}
    for name in kinds:
        base = getattr(net, name)
        g = np.empty_like(base)
        for k in range(base.size):
            hi, lo = base.copy(), base.copy()
            hi[k] += EPS
            lo[k] -= EPS
            g[k] = (loss_of(net.with_params(**{name: hi}), h0) - loss_of(net.with_params(**{name: lo}), h0)) / (2 * EPS)
        out[name] = g
    g = np.empty_like(h0)
    for k in np.ndindex(h0.shape):
        hi, lo = h0.copy(), h0.copy()
        hi[k] += EPS
        lo[k] -= EPS
        g[k] = (loss_of(net, hi) - loss_of(net, lo)) / (2 * EPS)
    out["h0"] = g
    return out


def _finite_differences(net, x, targets, loss, h0, teacher=False):
    """Central differences of the reference loss for every parameter and h0."""
    return _central_differences(net, h0, lambda n, h: _ref_loss(n, x, targets, loss, h, teacher))


def _check(grads, fd):
    for name, expected in fd.items():
        got = getattr(grads, name)
        scale = max(np.abs(expected).max(initial=0.0), 1e-3)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6 * scale, err_msg=name)


#: Activations smooth enough for central differences anywhere (relu,
#: hard_sigmoid and elu have kinks; the fixed graph below covers them).
SMOOTH = ["tanh", "sigmoid", "softplus", "identity"]


@settings(max_examples=15)
@given(graphs(max_hidden=5, max_io=2, activations=SMOOTH, min_io=1), st.sampled_from([None, 2]))
def test_mse_gradients_match_finite_differences(G, batch):
    """MSE with a NaN mask: every edge kind, mixed activations, batched and not."""
    net = sim.compile(G)
    rng = np.random.default_rng(0)
    T = 5
    x = rng.normal(size=(T, net.n_inputs) if batch is None else (T, batch, net.n_inputs))
    h0 = rng.normal(0, 0.5, (net.n_neurons,) if batch is None else (batch, net.n_neurons))
    targets = rng.normal(size=(T, net.n_outputs) if batch is None else (T, batch, net.n_outputs))
    targets[rng.random(targets.shape) < 0.3] = np.nan
    loss, grads = sim.bptt(net, x, targets, h0=h0)
    assert loss == pytest.approx(_ref_loss(net, x, targets, "mse", h0), rel=1e-12, abs=1e-14)
    _check(grads, _finite_differences(net, x, targets, "mse", h0))


@pytest.mark.parametrize("batch", [None, 3])
def test_cross_entropy_gradients(batch):
    """Cross-entropy over the outputs with -1 marking unsupervised steps."""
    G = _all_kinds_graph()
    net = sim.compile(G)
    rng = np.random.default_rng(1)
    T = 6
    x = rng.normal(size=(T, 2) if batch is None else (T, batch, 2))
    h0 = rng.normal(0, 0.5, (net.n_neurons,) if batch is None else (batch, net.n_neurons))
    classes = rng.integers(-1, net.n_outputs, size=(T,) if batch is None else (T, batch))
    loss, grads = sim.bptt(net, x, classes, loss="cross_entropy", h0=h0)
    assert loss == pytest.approx(_ref_loss(net, x, classes, "cross_entropy", h0), rel=1e-12)
    _check(grads, _finite_differences(net, x, classes, "cross_entropy", h0))


def test_teacher_forcing_gradients():
    """With teacher forcing the feedback path reads targets: gradients match the forced reference."""
    G = _all_kinds_graph()
    net = sim.compile(G)
    rng = np.random.default_rng(2)
    x, h0 = rng.normal(size=(6, 2)), rng.normal(0, 0.5, net.n_neurons)
    targets = rng.normal(size=(6, net.n_outputs))
    targets[2, 0] = np.nan
    loss, grads = sim.bptt(net, x, targets, h0=h0, teacher_forcing=True)
    assert loss == pytest.approx(_ref_loss(net, x, targets, "mse", h0, teacher=True), rel=1e-12)
    _check(grads, _finite_differences(net, x, targets, "mse", h0, teacher=True))


def test_truncate_at_least_T_is_full_bptt():
    """truncate >= n_steps gives exactly the full gradients; shorter windows differ."""
    net = sim.compile(_all_kinds_graph())
    rng = np.random.default_rng(3)
    x, targets = rng.normal(size=(8, 2)), rng.normal(size=(8, 2))
    _, full = sim.bptt(net, x, targets)
    _, same = sim.bptt(net, x, targets, truncate=8)
    _, cut = sim.bptt(net, x, targets, truncate=3)
    np.testing.assert_array_equal(full.weight, same.weight)
    assert not np.allclose(full.weight, cut.weight)


def test_truncated_gradient_equals_windowed_reference():
    """truncate=k equals summing the gradients of each window started from the recorded state."""
    G = _all_kinds_graph(feedback=False)
    net = sim.compile(G)
    rng = np.random.default_rng(4)
    x, targets = rng.normal(size=(9, 2)), rng.normal(size=(9, 2))
    _, cut = sim.bptt(net, x, targets, truncate=3)
    res = sim.run(net, x)
    total = np.zeros(net.n_edges)
    for start in (0, 3, 6):
        # each window is a run from the recorded state, its loss weighted like the full mean
        _, g = sim.bptt(net, x[start:start + 3], targets[start:start + 3], h0=res.states[start])
        total += g.weight * 3 / 9
    np.testing.assert_allclose(cut.weight, total, rtol=1e-12, atol=1e-15)


def test_truncated_gradient_with_feedback_equals_windowed_differences():
    """With output feedback, truncate=k cuts the state *and* the fed-back
    output at each window start: the gradient equals central differences of
    the windows' losses, each run by the reference from the recorded state
    and recorded output, both held fixed."""
    G = _all_kinds_graph(feedback=True)
    net = sim.compile(G)
    rng = np.random.default_rng(14)
    T, k = 9, 3
    x, targets = rng.normal(size=(T, 2)), rng.normal(size=(T, net.n_outputs))
    h0 = rng.normal(0, 0.5, net.n_neurons)
    _, cut = sim.bptt(net, x, targets, h0=h0, truncate=k)
    states, outputs = ref.run_discrete(G, x, h0)

    def windows_loss(n, h_start):
        H, total = n.to_networkx(), 0.0
        for s in range(0, T, k):
            h = h_start if s == 0 else states[s]
            y0 = None if s == 0 else outputs[s - 1]
            _, y = ref.run_discrete(H, x[s:s + k], h, y0=y0)
            total += np.sum((y - targets[s:s + k]) ** 2)
        return total / targets.size

    _check(cut, _central_differences(net, h0, windows_loss))


def test_batched_teacher_forcing_gradients_with_masks_per_element():
    """Each batch element forces its own entries (NaN: not forced)."""
    net = sim.compile(_all_kinds_graph())
    rng = np.random.default_rng(15)
    x, h0 = rng.normal(size=(6, 2, 2)), rng.normal(0, 0.5, (2, net.n_neurons))
    targets = rng.normal(size=(6, 2, net.n_outputs))
    targets[1, 0, 0] = targets[3, 1, 1] = targets[4, 0, :] = np.nan
    loss, grads = sim.bptt(net, x, targets, h0=h0, teacher_forcing=True)
    assert loss == pytest.approx(_ref_loss(net, x, targets, "mse", h0, teacher=True), rel=1e-12)
    _check(grads, _finite_differences(net, x, targets, "mse", h0, teacher=True))


def test_clip_scales_what_trains_to_the_given_norm():
    """Clipping scales the gradients of what trains (weights and biases by
    default) together to the clip norm; h0's gradient, which is not in the
    norm, comes back as computed."""
    net = sim.compile(_all_kinds_graph())
    rng = np.random.default_rng(5)
    x, targets = rng.normal(size=(6, 2)), 5 * rng.normal(size=(6, 2))
    _, full = sim.bptt(net, x, targets)
    norm = np.sqrt(np.sum(full.weight ** 2) + np.sum(full.bias ** 2))
    assert norm > 0.1 and np.linalg.norm(full.h0) > 0.1
    _, clipped = sim.bptt(net, x, targets, clip=0.1)
    assert np.sqrt(np.sum(clipped.weight ** 2) + np.sum(clipped.bias ** 2)) == pytest.approx(0.1, rel=1e-12)
    np.testing.assert_allclose(clipped.weight, full.weight * 0.1 / norm, rtol=1e-13)
    np.testing.assert_allclose(clipped.bias, full.bias * 0.1 / norm, rtol=1e-13)
    np.testing.assert_array_equal(clipped.h0, full.h0)


def test_clip_with_frozen_parameters_uses_only_what_trains():
    """``trainable=`` as in `train`: frozen gradients are neither in the norm
    nor scaled; without `clip` it changes nothing."""
    net = sim.compile(_all_kinds_graph())
    rng = np.random.default_rng(5)
    x, targets = rng.normal(size=(6, 2)), 5 * rng.normal(size=(6, 2))
    _, full = sim.bptt(net, x, targets)
    _, clipped = sim.bptt(net, x, targets, clip=0.1, trainable=["weight"])
    np.testing.assert_allclose(clipped.weight, full.weight * 0.1 / np.linalg.norm(full.weight), rtol=1e-13)
    np.testing.assert_array_equal(clipped.bias, full.bias)
    _, unclipped = sim.bptt(net, x, targets, trainable=["weight"])
    np.testing.assert_array_equal(unclipped.weight, full.weight)
    with pytest.raises(ValueError, match=r"`trainable` has unknown kind 'h0'"):
        sim.bptt(net, x, targets, clip=0.1, trainable=["h0"])


def _sparse_readout_graph(n=30, reads=2):
    """A ring of `n` neurons with an input into every fourth and an output
    ``"y"`` reading the first `reads` of them."""
    G = nx.DiGraph([(i, (i + 1) % n) for i in range(n)] + [(i, i) for i in range(n)])
    G.add_node("x", role="input")
    G.add_node("y", role="output")
    G.add_edges_from(("x", i) for i in range(0, n, 4))
    G.add_edges_from((i, "y") for i in range(reads))
    return G


def test_an_output_reading_few_hidden_neurons_warns_with_its_name_and_the_fix():
    """Only existing edges have gradients: an output with targets that reads
    fewer than a tenth of 30 neurons gets a warning naming it and the fix."""
    net = sim.compile(_sparse_readout_graph())
    x, y = np.ones((5, 1)), np.zeros((5, 1))
    with pytest.warns(SparseReadoutWarning,
                      match=r"output 'y' reads only 2 of the 30 hidden neurons.*tp\.attach_io\(G, n_outputs=1"):
        sim.bptt(net, x, y)


def test_no_sparse_readout_warning_on_a_wired_readout_an_unsupervised_one_or_a_small_graph(recwarn):
    """No warning for a readout of a tenth or more, a network under ten neurons,
    an output without targets, or the textbook four-neuron network."""
    x = np.ones((5, 1))
    sim.bptt(sim.compile(_sparse_readout_graph(reads=30)), x, np.zeros((5, 1)))
    sim.bptt(sim.compile(_sparse_readout_graph(n=30, reads=3)), x, np.zeros((5, 1)))  # a tenth: enough
    sim.bptt(sim.compile(_sparse_readout_graph(n=9, reads=0)), x, np.zeros((5, 1)))  # below ten neurons
    G = _sparse_readout_graph(reads=30)
    G.add_node("z", role="output")
    G.add_edge(0, "z")
    sim.bptt(sim.compile(G), x, np.c_[np.zeros(5), np.full(5, np.nan)])  # 'z' has no target
    sim.bptt(sim.compile(tp.four_neuron()), np.ones((5, 2)), np.zeros((5, 1)))
    assert not [w for w in recwarn if issubclass(w.category, SparseReadoutWarning)]


def test_gradient_flow_diagnostics():
    """dh_norm[t] is the norm of dL/dh[t], checked against finite differences at t = 0."""
    net = sim.compile(_all_kinds_graph())
    rng = np.random.default_rng(6)
    x, targets, h0 = rng.normal(size=(7, 2)), rng.normal(size=(7, 2)), rng.normal(0, 0.5, 7)
    _, grads = sim.bptt(net, x, targets, h0=h0, return_diagnostics=True)
    flow = grads.diagnostics["dh_norm"]
    assert flow.shape == (8,) and flow[0] == pytest.approx(np.linalg.norm(grads.h0))
    # dL/dh[T] reads the last output only: V^T dz at the last step, from the reference
    G = net.to_networkx()
    d = ref.Dense(G)
    states, outputs = ref.run_discrete(G, x, h0)
    y = outputs[-1]
    slope = np.array([1 - y[o] ** 2 if f == "tanh" else 1.0 for o, f in enumerate(d.act_o)])
    dz = 2 * (y - targets[-1]) / targets.size * slope
    assert flow[-1] == pytest.approx(np.linalg.norm(d.V.T @ dz), rel=1e-10)
    # per-edge contributions: with a one-step history they sum to the gradient
    _, one = sim.bptt(net, x[:1], targets[:1], h0=h0, return_diagnostics=True)
    edge_grad = one.diagnostics["edge_grad"]
    assert edge_grad.shape == (1, net.n_edges)
    np.testing.assert_allclose(edge_grad[0], np.abs(one.weight), rtol=1e-12)
    assert grads.diagnostics["edge_grad"].shape == (7, net.n_edges)


def test_float32_gradients_close_to_float64():
    """A float32 network returns float32 gradients close to the float64 ones."""
    G = _all_kinds_graph()
    rng = np.random.default_rng(7)
    x, targets = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    l64, g64 = sim.bptt(sim.compile(G), x, targets)
    l32, g32 = sim.bptt(sim.compile(G, dtype="float32"), x, targets, return_diagnostics=True)
    assert g32.weight.dtype == g32.bias.dtype == g32.h0.dtype == np.float32
    assert g32.diagnostics["dh_norm"].dtype == g32.diagnostics["edge_grad"].dtype == np.float32
    for name in ("weight", "bias", "h0"):
        np.testing.assert_allclose(getattr(g32, name), getattr(g64, name), rtol=1e-3, atol=1e-5, err_msg=name)


def test_a_shared_h0_gets_the_batch_sum_of_its_gradients():
    """An unbatched h0 with batched inputs is one state shared by the batch:
    its gradient (shape (n,)) is the central difference of the loss with
    respect to it."""
    net = sim.compile(_all_kinds_graph())
    rng = np.random.default_rng(17)
    x, h0 = rng.normal(size=(5, 3, 2)), rng.normal(0, 0.5, net.n_neurons)
    targets = rng.normal(size=(5, 3, net.n_outputs))
    _, grads = sim.bptt(net, x, targets, h0=h0)
    assert grads.h0.shape == (net.n_neurons,)
    _check(grads, _finite_differences(net, x, targets, "mse", h0))
    _, per_element = sim.bptt(net, x, targets)
    assert per_element.h0.shape == (3, net.n_neurons)


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "l1"}, r"`loss` must be one of 'mse', 'cross_entropy', got 'l1'"),
    ({"truncate": 0}, r"`truncate` must be a positive int, got 0"),
    ({"clip": -1.0}, r"`clip` must be a positive number, got -1.0"),
    ({"targets": np.zeros((5, 3))}, r"`targets` must have the outputs' shape \(6, 2\); got \(5, 3\)"),
    ({"loss": "cross_entropy", "targets": np.zeros(6)}, r"cross-entropy `targets` must be integer classes of shape \(6,\)"),
    ({"loss": "cross_entropy", "targets": np.full(6, 2)}, r"`targets` has class 2 at index \(0,\): classes are 0..1"),
])
def test_bptt_errors(kwargs, match):
    """Bad losses, targets and options are refused with the rule stated."""
    net = sim.compile(_all_kinds_graph())
    args = {"targets": np.zeros((6, 2)), **kwargs}
    with pytest.raises(ValueError, match=match):
        sim.bptt(net, np.zeros((6, 2)), **args)


def test_sign_activation_has_no_gradient():
    """A sign neuron is refused by name."""
    G = nx.DiGraph([("x", "h"), ("h", "y")])
    G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    G.nodes["h"]["activation"] = "sign"
    with pytest.raises(ValueError, match="node 'h' has activation 'sign', which has no gradient"):
        sim.bptt(sim.compile(G), np.ones((2, 1)), np.ones((2, 1)))


@pytest.mark.parametrize("kwargs", [{}, {"checkpoint": 2}, {"dt": 1.0, "method": "euler"}])
def test_an_overflowing_forward_pass_names_step_and_neuron(kwargs):
    """relu with a self-loop of 1e200: h = 1, 1e200, inf; the error says
    where, as `run` does (plain, checkpointed and continuous)."""
    G = nx.DiGraph([("x", "h"), ("h", "h"), ("h", "y")])
    G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    G.nodes["h"]["activation"] = "relu"
    G.edges["h", "h"]["weight"] = 1e200
    with pytest.raises(sim.NonFiniteError, match=r"non-finite at step 2 \(states\[3\], time 3\): first in neuron 'h'"):
        sim.bptt(sim.compile(G), np.ones((5, 1)), np.zeros((5, 1)), **kwargs)


# ------------------------------------------------------------ continuous time
def _ref_loss_fixed(net, x, targets, h0, dt, method):
    states, outputs = ref.run_fixed_step(net.to_networkx(), x, dt, method, h0=h0)
    return ref.mse(outputs, targets)


@pytest.mark.parametrize("method", ["euler", "exp_euler", "rk4"])
@pytest.mark.parametrize("batch", [None, 2])
def test_fixed_step_gradients_match_finite_differences(method, batch):
    """Every fixed-step method: weights (all kinds), biases, taus and h0 against central differences."""
    from .test_continuous import _net_graph

    net = sim.compile(_net_graph(feedback=True))
    rng = np.random.default_rng(8)
    T, dt = 7, 0.3
    x = rng.normal(size=(T, 2) if batch is None else (T, batch, 2))
    h0 = rng.normal(0, 0.5, (net.n_neurons,) if batch is None else (batch, net.n_neurons))
    targets = rng.normal(size=(T, 1) if batch is None else (T, batch, 1))
    targets[1] = np.nan
    loss, grads = sim.bptt(net, x, targets, h0=h0, dt=dt, method=method)
    assert loss == pytest.approx(_ref_loss_fixed(net, x, targets, h0, dt, method), rel=1e-12)
    expected = _central_differences(net, h0, lambda n, h: _ref_loss_fixed(n, x, targets, h, dt, method),
                                    kinds=("weight", "bias", "tau"))
    _check(grads, expected)


def test_euler_dt1_gradients_equal_discrete():
    """tau = 1, dt = 1, Euler, no feedback: the continuous gradients equal the discrete ones."""
    G = _all_kinds_graph(feedback=False)
    net = sim.compile(G)
    rng = np.random.default_rng(9)
    x, targets = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    _, a = sim.bptt(net, x, targets)
    _, b = sim.bptt(net, x, targets, dt=1.0, method="euler")
    np.testing.assert_allclose(b.weight, a.weight, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b.bias, a.bias, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b.h0, a.h0, rtol=1e-12, atol=1e-14)


def test_rk4_truncate_and_diagnostics():
    """RK4 BPTT: truncate >= T is full BPTT, dh_norm[0] is |dL/dh0|."""
    from .test_continuous import _net_graph

    net = sim.compile(_net_graph(feedback=True))
    rng = np.random.default_rng(11)
    x, y, h0 = rng.normal(size=(6, 2)), rng.normal(size=(6, 1)), rng.normal(0, 0.5, net.n_neurons)
    _, full = sim.bptt(net, x, y, h0=h0, dt=0.2, method="rk4", return_diagnostics=True)
    _, same = sim.bptt(net, x, y, h0=h0, dt=0.2, method="rk4", truncate=6)
    np.testing.assert_array_equal(full.weight, same.weight)
    assert full.diagnostics["dh_norm"][0] == pytest.approx(np.linalg.norm(full.h0))


@pytest.mark.parametrize("method", ["euler", "exp_euler", "rk4"])
def test_truncated_continuous_gradient_equals_windowed_reference(method):
    """In continuous time too, truncate=k equals the sum of the gradients of
    each window started from the recorded state (weights, biases and taus)."""
    from .test_continuous import _net_graph

    net = sim.compile(_net_graph(feedback=True))
    rng = np.random.default_rng(16)
    T, k, dt = 9, 3, 0.3
    x, y = rng.normal(size=(T, 2)), rng.normal(size=(T, net.n_outputs))
    _, cut = sim.bptt(net, x, y, dt=dt, method=method, truncate=k)
    states = sim.run(net, x, dt=dt, method=method).states
    total = {name: 0.0 for name in ("weight", "bias", "tau")}
    for s in range(0, T, k):
        _, g = sim.bptt(net, x[s:s + k], y[s:s + k], h0=states[s], dt=dt, method=method)
        for name in total:
            total[name] = total[name] + getattr(g, name) * k / T
    for name, expected in total.items():
        np.testing.assert_allclose(getattr(cut, name), expected, rtol=1e-12, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("checkpoint", [1, 3, 4, True])
@pytest.mark.parametrize("batch", [None, 2])
def test_checkpointed_gradients_equal_plain(checkpoint, batch):
    """Recomputing segments from checkpoints gives the plain gradients (feedback, forcing, truncation)."""
    net = sim.compile(_all_kinds_graph())
    rng = np.random.default_rng(10)
    T = 10
    x = rng.normal(size=(T, 2) if batch is None else (T, batch, 2))
    targets = rng.normal(size=(T, 2) if batch is None else (T, batch, 2))
    targets[::4] = np.nan
    for kw in ({}, {"teacher_forcing": True}, {"truncate": 3}):
        l0, g0 = sim.bptt(net, x, targets, return_diagnostics=True, **kw)
        l1, g1 = sim.bptt(net, x, targets, return_diagnostics=True, checkpoint=checkpoint, **kw)
        assert l0 == l1
        for name in ("weight", "bias", "h0"):
            np.testing.assert_allclose(getattr(g1, name), getattr(g0, name), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(g1.diagnostics["dh_norm"], g0.diagnostics["dh_norm"], rtol=1e-12)
        np.testing.assert_allclose(g1.diagnostics["edge_grad"], g0.diagnostics["edge_grad"], rtol=1e-12,
                                   atol=1e-15)


@pytest.mark.parametrize("method", ["euler", "exp_euler", "rk4"])
@pytest.mark.parametrize("checkpoint", [True, 3])
def test_checkpointed_continuous_gradients_equal_plain(method, checkpoint):
    """Fixed-step continuous runs: recomputing segments from checkpoints gives
    the plain gradients bit for bit (taus, in-step feedback, a batch, with
    and without truncation, the diagnostics too)."""
    net = sim.compile(_all_kinds_graph())
    rng = np.random.default_rng(11)
    T = 10
    x = rng.normal(size=(T, 2, 2))
    targets = rng.normal(size=(T, 2, 2))
    targets[::3] = np.nan
    for kw in ({}, {"truncate": 4}):
        l0, g0 = sim.bptt(net, x, targets, dt=0.3, method=method, return_diagnostics=True, **kw)
        l1, g1 = sim.bptt(net, x, targets, dt=0.3, method=method, return_diagnostics=True, checkpoint=checkpoint,
                          **kw)
        assert l0 == l1
        for name in ("weight", "bias", "tau", "h0"):
            np.testing.assert_array_equal(getattr(g1, name), getattr(g0, name))
        assert np.any(g0.tau != 0)
        np.testing.assert_array_equal(g1.diagnostics["dh_norm"], g0.diagnostics["dh_norm"])
        np.testing.assert_array_equal(g1.diagnostics["edge_grad"], g0.diagnostics["edge_grad"])


@pytest.mark.parametrize("step", [{}, {"teacher_forcing": True}, {"truncate": 3}, {"dt": 0.3, "method": "rk4"},
                                  {"dt": 0.3, "method": "exp_euler"}])
@pytest.mark.parametrize("batch", [None, 2])
def test_threaded_passes_give_the_same_gradients(monkeypatch, step, batch):
    """The forward passes (and the discrete backward pass) run on threads
    when planned so; the gradients and diagnostics are those of the
    one-thread passes bit for bit, checkpointed or not."""
    import numba

    net = sim.compile(_all_kinds_graph())
    rng = np.random.default_rng(12)
    shape = (9, 2) if batch is None else (9, batch, 2)
    x, targets = rng.normal(size=shape), rng.normal(size=shape)
    plain = sim.bptt(net, x, targets, return_diagnostics=True, **step)
    monkeypatch.setattr(sim.threads, "plan", lambda work, parallel: numba.get_num_threads())
    for checkpoint, diagnostics in ((None, False), (None, True), (4, True)):
        loss, grads = sim.bptt(net, x, targets, checkpoint=checkpoint, return_diagnostics=diagnostics, **step)
        assert loss == plain[0]
        for name in ("weight", "bias", "tau", "h0"):
            np.testing.assert_array_equal(getattr(grads, name), getattr(plain[1], name))
        for name in ("dh_norm", "edge_grad") if diagnostics else ():
            np.testing.assert_array_equal(grads.diagnostics[name], plain[1].diagnostics[name])


@pytest.mark.parametrize("batch", [None, 9, 16, 32])
def test_fused_gradients_equal_recorded(batch):
    """Without the per-step edge record, the W and V gradients are summed
    beside the backward gather (a step behind for W); they are the recorded
    pass's sums bit for bit, checkpointed or not, with truncation cuts on
    segment boundaries and teacher forcing (batch 9: the interleaved sums;
    16 and 32: two and four float64 register blocks, the error sums held
    in registers across a neuron's out-edges)."""
    net = sim.compile(_all_kinds_graph())
    rng = np.random.default_rng(13)
    T = 10
    x = rng.normal(size=(T, 2) if batch is None else (T, batch, 2))
    targets = rng.normal(size=(T, 2) if batch is None else (T, batch, 2))
    targets[::4] = np.nan
    for kw in ({}, {"teacher_forcing": True}, {"truncate": 3}, {"truncate": 4}):
        _, recorded = sim.bptt(net, x, targets, return_diagnostics=True, **kw)
        for checkpoint in (None, 1, 3, 4):
            _, fused = sim.bptt(net, x, targets, checkpoint=checkpoint, **kw)
            for name in ("weight", "bias", "h0"):
                np.testing.assert_array_equal(getattr(fused, name), getattr(recorded, name), err_msg=name)
        wv = recorded.weight[np.isin(net.edge_kind, (0, 3))]
        assert np.count_nonzero(wv) >= wv.size - 1  # W and V edges take part (the ReLU h3 can zero its self-loop)


def test_checkpoint_errors():
    """checkpoint takes True or a positive int."""
    net = sim.compile(_all_kinds_graph())
    with pytest.raises(ValueError, match=r"`checkpoint` must be True or a positive int, got 0"):
        sim.bptt(net, np.zeros((3, 2)), np.zeros((3, 2)), checkpoint=0)
    with pytest.raises(ValueError, match=r"`checkpoint` must be True or a positive int, got 1.5"):
        sim.bptt(net, np.zeros((3, 2)), np.zeros((3, 2)), dt=0.1, method="euler", checkpoint=1.5)


def test_cross_entropy_needs_outputs():
    G = nx.DiGraph([("x", "h"), ("h", "h")])
    G.nodes["x"]["role"] = "input"
    with pytest.raises(ValueError, match=r"loss 'cross_entropy' is a softmax over the output nodes, and the network "
                                         r"has none"):
        sim.bptt(sim.compile(G), np.ones((3, 1)), -np.ones(3, dtype=int), loss="cross_entropy")


@pytest.mark.parametrize("loss, targets", [("mse", np.full((4, 2), np.nan)),
                                           ("cross_entropy", -np.ones(4, dtype=int))])
def test_targets_that_supervise_nothing_warn(loss, targets):
    net = sim.compile(_all_kinds_graph())
    with pytest.warns(UserWarning, match="`targets` supervise nothing"):
        value, grads = sim.bptt(net, np.ones((4, 2)), targets, loss=loss)
    assert value == 0.0 and grads.norm() == 0.0


@pytest.mark.parametrize("batch", [8, 16, 24, 32, 40])
def test_gradients_at_whole_register_blocks_match_finite_differences(batch):
    """A batch of whole float64 register blocks (`simulator._kernels.lanes`:
    8 columns): the backward gathers and the edges' dot products over the
    batch run block by block in vector registers (up to four blocks, a
    neuron's error sums stay in registers across its out-edges; five go
    through memory); every gradient still matches central differences of
    the reference, feedback included."""
    net = sim.compile(_sparse_graph(n=12))
    assert not sim.simulate.use_dense(net)
    rng = np.random.default_rng(batch)
    T = 4
    x = rng.normal(size=(T, batch, 2))
    h0 = rng.normal(0, 0.5, (batch, net.n_neurons))
    targets = rng.normal(size=(T, batch, 2))
    targets[rng.random(targets.shape) < 0.3] = np.nan
    loss, grads = sim.bptt(net, x, targets, h0=h0)
    assert loss == pytest.approx(_ref_loss(net, x, targets, "mse", h0), rel=1e-12, abs=1e-14)
    _check(grads, _finite_differences(net, x, targets, "mse", h0))


def test_float32_gradients_at_a_whole_register_block_follow_float64():
    """Batch 32 is one float32 register block: the float32 gradients (sums
    in float32 lanes) stay close to the float64 ones of the same network."""
    G = _sparse_graph()
    rng = np.random.default_rng(5)
    x, targets = rng.normal(size=(6, 32, 2)), rng.normal(size=(6, 32, 2))
    _, g64 = sim.bptt(sim.compile(G), x, targets)
    _, g32 = sim.bptt(sim.compile(G, dtype="float32"), x.astype(np.float32), targets.astype(np.float32))
    assert g32.weight.dtype == np.float32
    for name in ("weight", "bias", "h0"):
        np.testing.assert_allclose(getattr(g32, name), getattr(g64, name), rtol=1e-3, atol=1e-5, err_msg=name)
