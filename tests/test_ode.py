"""`simulator.solve` (ODE mode) and `simulator.jacobian` against independent references."""

import re
import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.integrate
from hypothesis import given, settings, strategies as st

import simulator as sim

from . import reference as ref
from .strategies import graphs
from .test_continuous import _net_graph

ODE_METHODS = ["RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA"]


def _x_of_t(t):
    return np.array([np.sin(1.3 * t), 0.5 * np.cos(0.7 * t)])


@pytest.mark.parametrize("method", ODE_METHODS)
def test_every_method_matches_dop853_reference(method):
    """Each SciPy method, fed the jitted RHS (and Jacobian), agrees with a tight dense reference."""
    G = _net_graph(feedback=True)
    net = sim.compile(G)
    h0 = np.random.default_rng(5).normal(0, 0.5, net.n_neurons)
    t_eval = np.linspace(0, 6, 13)
    res = sim.solve(net, _x_of_t, (0, 6), method=method, t_eval=t_eval, h0=h0, rtol=1e-9, atol=1e-11)
    exact = ref.solve_dense(G, _x_of_t, (0, 6), h0, t_eval)
    np.testing.assert_allclose(res.states, exact, rtol=0, atol=2e-7)  # measured: 2.5e-10 (Radau) .. 3.4e-8 (RK45)
    np.testing.assert_array_equal(res.times, t_eval)
    d = ref.Dense(G)
    expect_y = np.array([d.readout(exact[k], _x_of_t(t)) for k, t in enumerate(t_eval)][1:])
    np.testing.assert_allclose(res.outputs, expect_y, rtol=0, atol=1e-5)
    assert res.info["nfev"] > 0 and res.info["status"] == 0
    if method in ("Radau", "BDF", "LSODA"):
        assert res.info["jacobian"] == "dense"
    if method in ("Radau", "BDF"):  # LSODA stays with Adams on this non-stiff problem
        assert res.info["njev"] > 0


@pytest.mark.parametrize("method", ["RK23", "RK45", "DOP853"])
@pytest.mark.parametrize("batch", [None, 2])
def test_compiled_steps_follow_scipys_solver(method, batch):
    """The explicit methods' compiled steps take SciPy's own steps: the same
    evaluation count and step times as `solve_ivp` on the dense NumPy
    right-hand side. Rounding differs (the stage sums run in another order),
    and the step control amplifies it (measured: RK23 and RK45 step times
    within 5e-12; DOP853's error estimate, a difference of nearly equal
    eighth-order terms, moves them by up to 2e-6)."""
    G = _net_graph(feedback=True)
    net = sim.compile(G)
    d = ref.Dense(G)
    n = net.n_neurons
    rng = np.random.default_rng(7)
    amp = np.array([1.0]) if batch is None else np.array([1.0, -0.6])
    h0 = rng.normal(0, 0.5, (len(amp), n))
    if batch is None:
        x_of_t, h0_arg = _x_of_t, h0[0]
    else:
        x_of_t, h0_arg = (lambda t: np.outer(amp, _x_of_t(t))), h0  # noqa: E731

    def dense_rhs(t, y):
        hs = y.reshape(len(amp), n)
        return np.concatenate([ref.rhs(d, hs[b], amp[b] * _x_of_t(t)) for b in range(len(amp))])

    res = sim.solve(net, x_of_t, (0, 5), method=method, h0=h0_arg, rtol=1e-7, atol=1e-9)
    expect = scipy.integrate.solve_ivp(dense_rhs, (0, 5), h0.ravel(), method=method, rtol=1e-7, atol=1e-9)
    assert res.info["nfev"] == expect.nfev
    np.testing.assert_allclose(res.times, expect.t, rtol=1e-5 if method == "DOP853" else 1e-10, atol=0)
    states = res.states.reshape(len(res.times), -1)
    np.testing.assert_allclose(states, expect.y.T, rtol=0, atol=1e-5 if method == "DOP853" else 1e-10)


@pytest.mark.parametrize("method", ["RK45", "DOP853", "BDF"])
def test_each_held_piece_sees_only_its_own_sample(method):
    """A held input integrates as separate pieces: the two-piece solve costs
    exactly what the two one-sample solves cost (no stage of the first piece
    reads the second sample at the jump) and gives their result."""
    G = _net_graph(feedback=True)
    net = sim.compile(G)
    samples = np.array([[1.0, -0.5], [-1.5, 0.8]])
    opts = dict(method=method, rtol=1e-9, atol=1e-11)
    both = sim.solve(net, samples, (0, 2.0), dt=1.0, t_eval=[1.0, 2.0], **opts)
    first = sim.solve(net, samples[:1], (0, 1.0), dt=1.0, t_eval=[1.0], **opts)
    second = sim.solve(net, lambda t: samples[1], (1.0, 2.0), t_eval=[2.0], h0=first.states[-1], **opts)
    assert both.info["nfev"] == first.info["nfev"] + second.info["nfev"]
    np.testing.assert_array_equal(both.states[0], first.states[-1])
    np.testing.assert_array_equal(both.states[1], second.states[-1])


@pytest.mark.parametrize("method", ["RK45", "BDF"])
def test_tolerance_arrays_per_neuron_and_per_entry(method):
    """atol per neuron, or per (batch, neuron) entry batch element by batch
    element, reaches the solver laid out like its state: the two forms give
    the same solve, and RK45 takes exactly the steps `solve_ivp` takes with
    that array on the batch-major NumPy right-hand side."""
    G = _net_graph()
    net = sim.compile(G)
    d = ref.Dense(G)
    n = net.n_neurons
    h0 = np.random.default_rng(4).normal(size=(2, n))
    amp = np.array([1.0, 0.5])
    x = lambda t: np.outer(amp, _x_of_t(t))  # noqa: E731
    per_neuron = np.geomspace(1e-12, 1e-4, n)  # unequal, so a mislaid array changes the steps
    per_entry = np.tile(per_neuron, 2)
    a = sim.solve(net, x, (0, 2), method=method, h0=h0, atol=per_neuron)
    b = sim.solve(net, x, (0, 2), method=method, h0=h0, atol=per_entry)
    np.testing.assert_array_equal(a.states, b.states)
    if method == "RK45":
        def dense_rhs(t, y):
            hs = y.reshape(2, n)
            return np.concatenate([ref.rhs(d, hs[k], amp[k] * _x_of_t(t)) for k in range(2)])

        expect = scipy.integrate.solve_ivp(dense_rhs, (0, 2), h0.ravel(), method="RK45", rtol=1e-6, atol=per_entry)
        assert a.info["nfev"] == expect.nfev
        np.testing.assert_allclose(a.times, expect.t, rtol=1e-7, atol=0)  # rounding, amplified by atol 1e-12
    with pytest.raises(ValueError, match=f"one per neuron.*{2 * n}"):
        sim.solve(net, x, (0, 2), method=method, h0=h0, atol=np.full(n + 1, 1e-9))


def test_jacobian_matches_finite_differences():
    """The analytic Jacobian (feedback path included) equals central differences of the RHS."""
    G = _net_graph(feedback=True)
    net = sim.compile(G)
    d = ref.Dense(G)
    rng = np.random.default_rng(0)
    h, x = rng.normal(0, 0.7, net.n_neurons), np.array([0.3, -0.4])
    J = sim.jacobian(net, h, x)
    eps = 1e-6
    fd = np.empty_like(J)
    for j in range(net.n_neurons):
        e = np.zeros(net.n_neurons); e[j] = eps
        fd[:, j] = (ref.rhs(d, h + e, x) - ref.rhs(d, h - e, x)) / (2 * eps)
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sim.jacobian(net, h, x, sparse=True).toarray(), J)


@pytest.mark.parametrize("sparse", [False, True])
def test_jacobian_keeps_the_network_dtype(sparse):
    """A float32 network gives a float32 Jacobian (dense and sparse), close to the float64 one."""
    G = _net_graph(feedback=True)
    rng = np.random.default_rng(1)
    h, x = rng.normal(0, 0.7, 6), np.array([0.3, -0.4])
    J64, J32 = (sim.jacobian(sim.compile(G, dtype=dt), h, x, sparse=sparse) for dt in ("float64", "float32"))
    assert J64.dtype == np.float64 and J32.dtype == np.float32
    dense = (lambda J: J.toarray()) if sparse else (lambda J: J)
    np.testing.assert_allclose(dense(J32), dense(J64), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("h, x, kind, match", [
    ([0, 0, np.nan, 0, 0, 0], [0.1, 0.2], ValueError, r"`h` has a non-finite value nan at index \(2,\)"),
    (np.zeros(6), [0.1, -np.inf], ValueError, r"`x` has a non-finite value -inf at index \(1,\)"),
    (np.zeros(6), ["a", "b"], TypeError, r"`x` must hold real numbers, got dtype <U1"),
])
def test_jacobian_refuses_non_finite_state_and_inputs(h, x, kind, match):
    """A non-finite or non-numeric `h` or `x` is refused, naming the array and the index."""
    net = sim.compile(_net_graph(feedback=True))
    with pytest.raises(kind, match=match):
        sim.jacobian(net, h, x)


def test_held_samples_integrate_piecewise():
    """Held samples give the fixed-step RK4 limit (tiny dt aligned with the jumps)."""
    G = _net_graph(feedback=True)
    net = sim.compile(G)
    samples = np.random.default_rng(1).normal(size=(8, 2))
    res = sim.solve(net, samples, (0, 4.0), dt=0.5, method="DOP853", rtol=1e-11, atol=1e-12,
                    t_eval=np.arange(9) * 0.5)
    fine = sim.run(net, np.repeat(samples, 50, axis=0), dt=0.01, method="rk4")
    np.testing.assert_allclose(res.states, fine.states[::50], rtol=0, atol=1e-9)
    # outputs read the sample held just before each time, like the fixed-step run
    np.testing.assert_allclose(res.outputs, fine.outputs[49::50], rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", ODE_METHODS)
@pytest.mark.parametrize("batch", [None, 2])
def test_held_samples_with_times_inside_the_pieces(method, batch):
    """With `t_eval` inside the held pieces, the end state of a piece is one
    column of a larger solution array; the next piece must start from it,
    every neuron and batch element (a strided view once restarted the
    compiled explicit methods from a mix of times). Against a reference that
    integrates each piece tightly from the exact state at the jump."""
    G = _net_graph(feedback=True)
    net = sim.compile(G)
    rng = np.random.default_rng(6)
    samples = rng.normal(size=(3, 2) if batch is None else (3, batch, 2))
    t_eval = np.array([0.0, 0.25, 0.6, 1.0, 1.3, 2.0, 2.4, 2.75, 3.0])
    res = sim.solve(net, samples, (0, 3.0), dt=1.0, method=method, t_eval=t_eval, rtol=1e-10, atol=1e-12)
    for b in range(batch or 1):
        h = np.zeros(net.n_neurons)
        exact = [h]
        for k in range(3):
            sample = samples[k] if batch is None else samples[k, b]
            inside = t_eval[(t_eval > k) & (t_eval <= k + 1)]
            piece = ref.solve_dense(G, lambda t, s=sample: s, (k, k + 1.0), h, np.union1d(inside, [k + 1.0]))
            exact.extend(piece[np.isin(np.union1d(inside, [k + 1.0]), inside)])
            h = piece[-1]
        got = res.states if batch is None else res.states[:, b]
        np.testing.assert_allclose(got, np.array(exact), rtol=0, atol=1e-7)


def test_linear_interpolation_matches_reference():
    """interpolation='linear' is the piecewise-linear input through the samples."""
    G = _net_graph()
    net = sim.compile(G)
    samples = np.random.default_rng(2).normal(size=(11, 2))
    grid = np.arange(11) * 0.4
    x_lin = lambda t: np.array([np.interp(t, grid, samples[:, k]) for k in range(2)])  # noqa: E731
    t_eval = np.linspace(0, 4, 9)
    res = sim.solve(net, samples, (0, 4.0), dt=0.4, interpolation="linear", method="RK45",
                    rtol=1e-10, atol=1e-12, t_eval=t_eval)
    exact = ref.solve_dense(G, x_lin, (0, 4), np.zeros(net.n_neurons), t_eval)
    np.testing.assert_allclose(res.states, exact, rtol=0, atol=1e-7)


@pytest.mark.parametrize("method", ["RK45", "BDF"])
def test_batch_solves_as_one_system(method):
    """A batched solve equals solving each element alone."""
    net = sim.compile(_net_graph())
    rng = np.random.default_rng(3)
    h0 = rng.normal(size=(3, net.n_neurons))
    amp = np.array([0.5, 1.0, 1.5])
    x_batch = lambda t: np.outer(amp, _x_of_t(t))  # noqa: E731
    t_eval = np.linspace(0, 3, 7)
    res = sim.solve(net, x_batch, (0, 3), method=method, t_eval=t_eval, h0=h0, rtol=1e-10, atol=1e-12)
    assert res.states.shape == (7, 3, net.n_neurons) and res.outputs.shape == (6, 3, 1)
    for b in range(3):
        one = sim.solve(net, lambda t, a=amp[b]: a * _x_of_t(t), (0, 3), method=method, t_eval=t_eval,
                        h0=h0[b], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(res.states[:, b], one.states, rtol=0, atol=1e-8)


def test_default_times_are_solver_steps_and_float32():
    """Without t_eval, times are t0 and the solver's steps; float32 stays float32."""
    net = sim.compile(_net_graph(), dtype="float32")
    res = sim.solve(net, _x_of_t, (0, 2), method="RK45")
    assert res.times[0] == 0 and res.times[-1] == pytest.approx(2.0)
    assert np.all(np.diff(res.times) > 0)
    assert res.states.dtype == res.outputs.dtype == res.times.dtype == np.float32
    assert len(res.outputs) == len(res.times) - 1


def test_stiff_network_jacobian_choice():
    """A ring's LU stays sparse; a dense random graph's fills in (chosen as dense)."""
    rng = np.random.default_rng(0)
    ring = nx.DiGraph()
    n = 400
    for i in range(n):
        ring.add_node(i, tau=10 ** rng.uniform(-3, 2))
        ring.add_edge(i, (i + 1) % n, weight=0.5)
        ring.add_edge((i + 1) % n, i, weight=-0.5)
    dense = nx.gnp_random_graph(n, 0.1, seed=1, directed=True)
    for G, expected in ((ring, "sparse"), (dense, "dense")):
        net = sim.compile(G)
        res = sim.solve(net, None, (0, 1), h0=np.full(n, 0.1), method="BDF", t_eval=[0, 1])
        assert res.info["jacobian"] == expected


@pytest.mark.parametrize("method", ["BDF", "Radau"])
def test_stiff_solution_with_sparse_jacobian_is_right(method):
    """BDF and Radau with the sparse analytic Jacobian (systems factorised in
    the fill-reducing order, self-loops included) on a stiff ring agree with
    a dense Radau reference, unbatched and batched."""
    rng = np.random.default_rng(4)
    G = nx.DiGraph()
    n = 60
    for i in range(n):
        G.add_node(i, tau=10 ** rng.uniform(-3, 1))
        G.add_edge(i, (i + 1) % n, weight=rng.normal())
        G.add_edge(i, i, weight=0.3)
    net = sim.compile(G)
    h0 = rng.normal(size=(2, n))
    d = ref.Dense(G)
    opts = dict(method=method, jacobian="sparse", t_eval=[2.0], rtol=1e-8, atol=1e-10)
    one = sim.solve(net, None, (0, 2), h0=h0[0], **opts)
    both = sim.solve(net, None, (0, 2), h0=h0, **opts)
    assert one.info["jacobian"] == "sparse" and one.info["nlu"] > 0
    for b in range(2):
        exact = scipy.integrate.solve_ivp(lambda t, h: ref.rhs(d, h, np.zeros(0)), (0, 2), h0[b], method="Radau",
                                          rtol=1e-11, atol=1e-12, t_eval=[2.0]).y.T
        np.testing.assert_allclose(both.states[:, b], exact, atol=1e-6)
        if b == 0:
            np.testing.assert_allclose(one.states, exact, atol=1e-6)


@pytest.mark.parametrize("kwargs, kind, match", [
    ({"t_span": (1, 1)}, ValueError, r"`t_span` must run forward, t0 < t1; got \(1.0, 1.0\)"),
    ({"t_span": (2, 1)}, ValueError, r"`t_span` must run forward"),
    ({"t_span": (0, np.inf)}, ValueError, r"`t_span` must be finite"),
    ({"t_eval": [0.5, 5.0]}, ValueError, r"`t_eval` must lie within `t_span` \(0.0, 2.0\)"),
    ({"t_eval": [1.0, 0.5]}, ValueError, r"`t_eval` must be strictly increasing"),
    ({"t_eval": [[1.0]]}, ValueError, r"`t_eval` must be 1-dimensional"),
    ({"method": "rk4"}, ValueError, r"`method` must be one of 'RK23', 'RK45', 'DOP853', 'Radau', 'BDF', 'LSODA', got 'rk4'"),
    ({"rtol": -1e-3}, ValueError, r"`rtol` must be a positive finite number"),
    ({"atol": 0.0}, ValueError, r"`atol` must be a positive finite number"),
    ({"rtol": 1e-20}, ValueError, r"`rtol` must be at least"),
    ({"rtol": 2.0}, ValueError, r"`rtol` must be < 1"),
    ({"jacobian": "banded"}, ValueError, r"`jacobian` must be one of"),
    ({"h0": np.zeros(2)}, ValueError, r"`h0` must have shape \(6,\) or \(batch, 6\); got \(2,\)"),
])
def test_solve_errors(kwargs, kind, match):
    """Bad spans, times, methods and tolerances are refused with the rule stated."""
    net = sim.compile(_net_graph())
    args = {"t_span": (0, 2), **kwargs}
    with pytest.raises(kind, match=match):
        sim.solve(net, _x_of_t, **args)


@pytest.mark.parametrize("x, dt, match", [
    (np.zeros((4, 2)), 0.5, r"the input samples cover t <= 2 but `t_span` ends at 3"),
    (np.zeros((4, 2)), None, r"`x` given as samples needs their spacing `dt`"),
    (np.zeros((4, 2)), 0.0, r"`dt` must be finite and > 0, got 0.0"),
    (np.zeros((4, 3)), 1.0, r"`x` must have shape \(n_steps, 2\)"),
    (lambda t: np.zeros(3), None, r"`x\(t\)` must return shape \(2,\) or \(batch, 2\)"),
])
def test_input_errors(x, dt, match):
    """Inputs that do not cover t_span or do not fit are refused."""
    net = sim.compile(_net_graph())
    with pytest.raises(ValueError, match=match):
        sim.solve(net, x, (0, 3.0), dt=dt)


def test_options_without_effect_warn():
    """Options that do nothing for the chosen method or input say so."""
    net = sim.compile(_net_graph())
    with pytest.warns(UserWarning, match="`jacobian='sparse'` has no effect with the explicit method 'RK45'"):
        sim.solve(net, _x_of_t, (0, 0.1), method="RK45", jacobian="sparse")
    with pytest.warns(UserWarning, match="`dt` has no effect when `x` is a callable"):
        sim.solve(net, _x_of_t, (0, 0.1), dt=0.1, method="RK45")
    with pytest.warns(UserWarning, match="`interpolation` has no effect"):
        sim.solve(net, _x_of_t, (0, 0.1), method="RK45", interpolation="linear")


def test_failed_solve_raises_scipy_message(monkeypatch):
    """When solve_ivp fails, SolverError carries SciPy's message."""
    net = sim.compile(_net_graph())

    def failing(fun, t_span, y0, **kwargs):
        return scipy.integrate._ivp.ivp.OdeResult(t=np.array([t_span[0]]), y=y0[:, None], success=False,
                                                  status=-1, message="Required step size is less than spacing")
    monkeypatch.setattr(scipy.integrate, "solve_ivp", failing)
    with pytest.raises(sim.SolverError, match="Required step size is less than spacing"):
        sim.solve(net, _x_of_t, (0, 1))


@pytest.mark.parametrize("method", ["RK45", "BDF"])
def test_callable_changing_shape_is_named(method):
    """An x(t) whose shape changes mid-solve is reported with the time."""
    net = sim.compile(_net_graph())
    x = lambda t: np.zeros(2) if t < 0.5 else np.zeros(3)  # noqa: E731
    with pytest.raises(ValueError, match=r"`x\(t\)` must return shape \(2,\) at every t; got \(3,\) at t=0\.5"):
        sim.solve(net, x, (0, 2), method=method)


@pytest.mark.parametrize("method", ["RK45", "DOP853", "BDF"])
def test_threaded_solve_matches_one_thread(method):
    """With threads (stages, stage sums and error estimate split over chunks
    of neurons) a solve takes the same steps as on one thread and agrees
    with the dense reference; `info` says which ran."""
    import numba

    G = _net_graph(feedback=True)
    net = sim.compile(G)
    h0 = np.random.default_rng(8).normal(0, 0.5, (2, net.n_neurons))
    x = lambda t: np.outer([1.0, -0.7], _x_of_t(t))  # noqa: E731
    opts = dict(method=method, h0=h0, t_eval=np.linspace(0, 3, 7), rtol=1e-9, atol=1e-11)
    one = sim.solve(net, x, (0, 3), parallel=False, **opts)
    many = sim.solve(net, x, (0, 3), parallel=True, **opts)
    assert one.info["threads"] == 1 and many.info["threads"] == numba.get_num_threads()
    assert many.info["nfev"] == one.info["nfev"]
    np.testing.assert_allclose(many.states, one.states, rtol=0, atol=1e-12)
    exact = ref.solve_dense(G, _x_of_t, (0, 3), h0[0], np.linspace(0, 3, 7))
    np.testing.assert_allclose(many.states[:, 0], exact, rtol=0, atol=1e-7)


@settings(max_examples=25, deadline=None)
@given(graphs(activations=["tanh", "sigmoid", "softplus", "identity"]), st.sampled_from(["RK23", "RK45", "DOP853"]),
       st.sampled_from([None, 2]))
def test_compiled_steps_on_random_graphs(G, method, batch):
    """Random wirings (every edge kind, feedback inside every stage): the
    compiled steps follow a tight reference, batched and not."""
    net = sim.compile(G)
    n = net.n_neurons
    h0 = np.random.default_rng(0).normal(0, 0.5, n)
    amp = np.array([1.0]) if batch is None else np.linspace(0.5, 1.5, batch)

    def x_one(t):
        return np.sin(1.3 * t + np.arange(net.n_inputs))

    x = x_one if batch is None else (lambda t: np.outer(amp, x_one(t)))  # noqa: E731
    h0_arg = h0 if batch is None else np.tile(h0, (batch, 1))
    t_eval = np.linspace(0, 2, 5)
    res = sim.solve(net, x, (0, 2), method=method, h0=h0_arg, t_eval=t_eval, rtol=1e-9, atol=1e-11)
    for b, a in enumerate(amp):
        exact = ref.solve_dense(G, lambda t, a=a: a * x_one(t), (0, 2), h0, t_eval)
        got = res.states if batch is None else res.states[:, b]
        np.testing.assert_allclose(got, exact, rtol=1e-7, atol=1e-6)  # rtol: states can grow to 1e3 (identity, softplus)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.sampled_from(["hold", "linear"]), st.booleans(), st.integers(0, 2**32 - 1))
def test_signal_from_samples_matches_numpy(n_samples, interpolation, left, seed):
    """`Signal.many` and `Signal.at` give the held sample (the one whose
    interval ends at t with ``left``) or NumPy's linear interpolation."""
    from simulator.inputs import make_signal

    net = sim.compile(_net_graph())
    rng = np.random.default_rng(seed)
    dt = 0.25
    samples = rng.normal(size=(n_samples, 3, net.n_inputs))
    signal = make_signal(net, samples, dt, interpolation, 0.0, None)
    times = np.sort(np.concatenate([rng.uniform(0, signal.end(), 5), dt * np.arange(n_samples)]))
    if interpolation == "hold":
        k = np.ceil(times / dt) - 1 if left else np.floor(times / dt)
        expect = samples[np.clip(k.astype(int), 0, n_samples - 1)]
    else:
        grid = dt * np.arange(n_samples)
        expect = np.stack([[[np.interp(t, grid, samples[:, b, i]) for i in range(net.n_inputs)]
                            for b in range(3)] for t in times])
    expect = expect.transpose(0, 2, 1)  # kernel layout (n_inputs, batch)
    np.testing.assert_allclose(signal.many(times, left), expect, rtol=0, atol=1e-14)
    for t, e in zip(times, expect):
        np.testing.assert_allclose(signal.at(t, left), e, rtol=0, atol=1e-14)


@pytest.mark.parametrize("method", ["RK45", "BDF"])
def test_unbatched_callable_drives_every_batch_element(method):
    """An x(t) of shape (n_inputs,) with a batched `h0` drives every element
    with the same input (as `run` and samples do): the batched solve equals
    each element solved alone, also when x(t) returns the batch at some times."""
    net = sim.compile(_net_graph())
    h0 = np.random.default_rng(9).normal(size=(3, net.n_neurons))
    t_eval = np.linspace(0, 3, 7)
    opts = dict(method=method, t_eval=t_eval, rtol=1e-10, atol=1e-12)
    res = sim.solve(net, _x_of_t, (0, 3), h0=h0, **opts)
    assert res.states.shape == (7, 3, net.n_neurons) and res.inputs.shape == (6, 3, 2)
    np.testing.assert_array_equal(res.inputs, np.stack([[_x_of_t(t)] * 3 for t in t_eval[1:]]))
    for b in range(3):
        one = sim.solve(net, _x_of_t, (0, 3), h0=h0[b], **opts)
        np.testing.assert_allclose(res.states[:, b], one.states, rtol=0, atol=1e-8)
    mixed = lambda t: _x_of_t(t) if t < 1 else np.tile(_x_of_t(t), (3, 1))  # noqa: E731
    np.testing.assert_array_equal(sim.solve(net, mixed, (0, 3), h0=h0, **opts).states, res.states)


@pytest.mark.parametrize("method", ["RK45", "BDF"])
def test_callable_with_batch_refuses_other_shapes(method):
    """With a batch of 3, x(t) must return (n_inputs,) or (3, n_inputs); the message says both."""
    net = sim.compile(_net_graph())
    x = lambda t: np.zeros(2) if t < 0.5 else np.zeros((2, 2))  # noqa: E731
    with pytest.raises(ValueError, match=r"`x\(t\)` must return shape \(2,\) or \(3, 2\) at every t; "
                                         r"got \(2, 2\) at t="):
        sim.solve(net, x, (0, 2), method=method, h0=np.zeros((3, net.n_neurons)))


@pytest.mark.parametrize("method", ODE_METHODS)
@pytest.mark.parametrize("batch", [None, 3])
def test_nonfinite_input_is_named(method, batch):
    """An x(t) that turns non-finite from t = 0.5 on is refused at the first
    such value the solver asks for, naming the time, the input node and the
    batch element (not SciPy's step-size failure or NumPy's LU check)."""
    def x(t):
        v = _x_of_t(t) if batch is None else np.outer(np.ones(batch), _x_of_t(t))
        if t >= 0.5:
            v[..., 1] = np.nan if batch is None else [0.0, np.inf, 0.0]
        return v

    net = sim.compile(_net_graph())
    value, where = ("nan", "") if batch is None else ("inf", r" \(batch element 1\)")
    with pytest.raises(ValueError, match=rf"`x\(t\)` returned a non-finite value {value} at t=(\S+) for input 'x1'"
                                         rf"{where}$") as err:
        sim.solve(net, x, (0, 2), method=method)
    assert 0.5 <= float(re.search(r"at t=(\S+)", str(err.value)).group(1)) <= 2


def test_huge_finite_inputs_pass_the_finite_check():
    """Inputs whose squares overflow (1e200) are finite: the cheap test's
    false alarm is cleared by the exact one, and the values come through."""
    from simulator.inputs import make_signal

    net = sim.compile(_net_graph())
    signal = make_signal(net, lambda t: [1e200, -1e200], None, "hold", 0.0, 2)
    np.testing.assert_array_equal(signal.at(0.0), [[1e200, 1e200], [-1e200, -1e200]])
    np.testing.assert_array_equal(signal.many(np.array([0.0, 1.0]))[1], signal.at(1.0))


def _runaway_net():
    """One neuron 'h' exciting itself: with the identity, dh/dt = 9 h, so
    h = h0 e^{9t} overflows near t = 78.9."""
    G = nx.DiGraph()
    G.add_node("h", activation="identity")
    G.add_edge("h", "h", weight=10.0)
    return sim.compile(G)


@pytest.mark.parametrize("method", ["RK23", "RK45", "DOP853", "BDF"])
def test_runaway_failure_names_the_largest_state(method):
    """When SciPy gives up on a runaway, the SolverError adds the neuron
    whose state is largest at the failure, its value on the exact solution
    h0 e^{9t}; with `t_eval` (which does not hold the failure) the same
    time and state; in a batch, the batch element."""
    net = _runaway_net()
    expected = (rf"solve_ivp \({method}\) failed at t = 7\d\.\d+: Required step size is less than spacing "
                r"between numbers; largest state there: neuron 'h' = \S+ \(a runaway\? check the weights")
    with pytest.raises(sim.SolverError, match=expected) as err:
        sim.solve(net, None, (0, 100), method=method, h0=[1.0])
    t, value = re.search(r"failed at t = (\S+):.* = (\S+) \(", str(err.value)).groups()
    assert float(value) == pytest.approx(np.exp(9 * float(t)), rel=1e-2)
    with pytest.raises(sim.SolverError) as err_eval:
        sim.solve(net, None, (0, 100), method=method, h0=[1.0], t_eval=[10.0, 50.0, 90.0])
    assert str(err_eval.value) == str(err.value)
    with pytest.raises(sim.SolverError, match=r"neuron 'h' \(batch element 1\) = "):
        sim.solve(net, None, (0, 100), method=method, h0=[[1.0], [-3.0]])


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")  # inside SciPy's Radau
def test_runaway_that_breaks_scipys_arithmetic_is_a_solver_error():
    """Radau's own arithmetic overflows on the runaway and NumPy refuses the
    result; that ValueError becomes a SolverError naming the largest state
    at the last time the right-hand side was asked for."""
    with pytest.raises(sim.SolverError, match=r"solve_ivp \(Radau\) failed near t = \S+: array must not contain infs "
                                              r"or NaNs; largest state there: neuron 'h' = ") as err:
        sim.solve(_runaway_net(), None, (0, 100), method="Radau", h0=[1.0])
    assert isinstance(err.value.__cause__, ValueError)


def test_runaway_with_lsoda_is_a_nonfinite_error():
    """LSODA carries on into NaN (SciPy reports success): `check_finite` names the neuron."""
    with pytest.raises(sim.NonFiniteError, match=r"the state became non-finite at step \d+ .*first in neuron 'h'"):
        sim.solve(_runaway_net(), None, (0, 100), method="LSODA", h0=[1.0])


def test_failure_on_a_nonfinite_state_is_a_nonfinite_error(monkeypatch):
    """When SciPy fails with a non-finite last state, `NonFiniteError` names
    the neuron as `run` does, with the history up to there."""
    net = sim.compile(_net_graph())

    def failing(fun, t_span, y0, **kwargs):
        y = np.stack([y0, y0], axis=1)
        y[2, 1] = np.inf  # solver layout: batch-major for BDF, so neuron 2
        return scipy.integrate._ivp.ivp.OdeResult(t=np.array([t_span[0], 0.5]), y=y, success=False, status=-1,
                                                  message="Required step size is less than spacing between numbers.")
    monkeypatch.setattr(scipy.integrate, "solve_ivp", failing)
    with pytest.raises(sim.NonFiniteError, match=r"non-finite at step 0 \(states\[1\], time 0.5\): first in neuron 2, "
                                                 r"value inf") as err:
        sim.solve(net, _x_of_t, (0, 1), method="BDF", check_finite=False)
    assert err.value.states.shape == (2, net.n_neurons)


@pytest.mark.parametrize("method", ["RK45", "BDF", "LSODA"])
@pytest.mark.parametrize("name", ["foo", "args", "vectorized", "events", "dense_output", "jac"])
def test_options_solve_does_not_pass_on_warn(method, name):
    """Keywords SciPy's solver would not take, or that `solve` sets itself,
    have no effect and say so once, listing the solver's own options (and the
    solve is the one without them); `args` (inputs come through `x`) is a
    TypeError."""
    import inspect

    net = sim.compile(_net_graph())
    if name == "args":
        with pytest.raises(TypeError, match=r"`solve` takes no `args`.*through `x`"):
            sim.solve(net, _x_of_t, (0, 1), method=method, args=(1,))
        return
    with pytest.warns(UserWarning) as caught:
        res = sim.solve(net, _x_of_t, (0, 1), method=method, **{name: 1})
    (warning,) = caught
    message = str(warning.message)
    assert message.startswith(f"`solve` option(s) {name!r} have no effect with method {method!r}: it passes on")
    own = set(inspect.signature(getattr(scipy.integrate, method)).parameters) - {
        "fun", "t0", "y0", "t_bound", "rtol", "atol", "jac", "vectorized", "extraneous"}
    assert set(re.findall(r"'(\w+)'", message.split(" only ")[1])) == own
    assert {"max_step", "first_step"} <= own
    np.testing.assert_array_equal(res.states, sim.solve(net, _x_of_t, (0, 1), method=method).states)


def test_options_passed_on_take_effect():
    """`max_step` bounds the steps (no warning); LSODA's band with
    jacobian='none' (full width: a dense Jacobian) gives the dense
    reference; with the analytic Jacobian (which SciPy would misread as
    banded) it has no effect, and says so."""
    G = _net_graph()
    net = sim.compile(G)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = sim.solve(net, _x_of_t, (0, 2), method="RK45", max_step=0.05)
    assert np.diff(res.times).max() <= 0.05 * (1 + 1e-12)
    t_eval = np.linspace(0, 2, 5)
    n = net.n_neurons
    banded = sim.solve(net, _x_of_t, (0, 2), method="LSODA", jacobian="none", lband=n - 1, uband=n - 1,
                       t_eval=t_eval, rtol=1e-9, atol=1e-11)
    exact = ref.solve_dense(G, _x_of_t, (0, 2), np.zeros(n), t_eval)
    np.testing.assert_allclose(banded.states, exact, rtol=0, atol=1e-6)
    with pytest.warns(UserWarning, match=r"'lband', 'uband' shape the Jacobian SciPy estimates by differences and "
                                         r"have no effect with the analytic one"):
        analytic = sim.solve(net, _x_of_t, (0, 2), method="LSODA", lband=1, uband=1, t_eval=t_eval)
    np.testing.assert_array_equal(analytic.states, sim.solve(net, _x_of_t, (0, 2), method="LSODA", t_eval=t_eval).states)


def test_nonfinite_h0_is_located_as_run_does():
    """A NaN in `h0` is reported with its index, in `run`'s words."""
    net = sim.compile(_net_graph())
    h0 = np.zeros((2, net.n_neurons))
    h0[1, 2] = np.nan
    with pytest.raises(ValueError) as ode_err:
        sim.solve(net, _x_of_t, (0, 1), h0=h0)
    with pytest.raises(ValueError) as run_err:
        sim.run(net, np.zeros((3, 2)), h0)
    assert str(ode_err.value) == str(run_err.value) == "`h0` has a non-finite value nan at index (1, 2)"


@pytest.mark.parametrize("method", ODE_METHODS)
@pytest.mark.parametrize("given", ["h0", "samples", "callable", "none"])
def test_empty_batch_gives_an_empty_result(method, given):
    """A batch of 0 gives a result with a batch axis of 0, as `run` does:
    states, outputs and inputs shaped for the times asked for."""
    net = sim.compile(_net_graph())
    n, t_eval = net.n_neurons, [0.5, 1.0]
    empty_h0 = np.zeros((0, n))
    x, kwargs = {"h0": (_x_of_t, {"h0": empty_h0}),
                 "samples": (np.zeros((4, 0, 2)), {"dt": 0.5}),
                 "callable": (lambda t: np.zeros((0, 2)), {}),
                 "none": (None, {"h0": empty_h0})}[given]
    res = sim.solve(net, x, (0, 2), method=method, t_eval=t_eval, **kwargs)
    run = sim.run(net, np.zeros((2, 0, 2)))
    assert (res.states.shape, res.outputs.shape, res.inputs.shape) == ((2, 0, n), (1, 0, 1), (1, 0, 2))
    assert (res.states.shape[1:], res.outputs.shape[1:]) == (run.states.shape[1:], run.outputs.shape[1:])
    np.testing.assert_array_equal(res.times, t_eval)


def test_repr_names_the_method_with_or_without_samples():
    G = nx.DiGraph([("x", "h")])
    G.nodes["x"]["role"] = "input"
    net = sim.compile(G)
    assert repr(sim.solve(net, lambda t: [1.0], (0, 1), method="RK45")).startswith("Result(ode RK45, ")
    assert repr(sim.solve(net, np.ones((2, 1)), (0, 1), dt=0.5, method="BDF")).startswith("Result(ode BDF dt=0.5, ")
