"""`simulator.fit_readout` against NumPy's least squares, and on Mackey-Glass."""

import warnings

import networkx as nx
import numpy as np
import pytest

import simulator as sim
import topologies as tp

from . import reference as ref


def _reservoir_with_skip(seed=0):
    G = tp.echo_state(60, n_inputs=2, n_outputs=2, spectral_radius=0.9, seed=seed)
    G.add_edge("in1", "out0", weight=0.0)        # an input -> output skip edge to fit as well
    G.remove_edges_from([(h, "out1") for h in range(0, 60, 2)])  # out1 reads only odd neurons
    return G


def test_matches_numpy_least_squares():
    """Each output's existing edges and bias equal an independent ridge solve with NumPy."""
    G = _reservoir_with_skip()
    net = sim.compile(G)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 3, 2))
    targets = rng.normal(size=(120, 3, 2))
    targets[rng.random(targets.shape) < 0.2] = np.nan
    ridge, washout = 0.5, 10
    fitted = sim.fit_readout(net, x, targets, ridge=ridge, washout=washout)
    states = sim.run(net, x).states
    for o, name in enumerate(net.outputs):
        srcs = [u for u in G.predecessors(name)]
        cols = [states[1:, :, net.neurons.index(u)] if u in net.neurons else x[:, :, net.inputs.index(u)]
                for u in srcs]
        A = np.stack([c[washout:].ravel() for c in cols], axis=1)
        z = targets[washout:, :, o].ravel()
        keep = ~np.isnan(z)
        A1 = np.hstack([A[keep], np.ones((keep.sum(), 1))])
        penalty = np.diag([ridge] * len(srcs) + [0.0])
        sol = np.linalg.solve(A1.T @ A1 + penalty, A1.T @ z[keep])
        got = [fitted.weight[fitted.edges.index((u, name))] for u in srcs]
        np.testing.assert_allclose(got, sol[:-1], rtol=1e-8, atol=1e-10)
        assert fitted.bias[net.n_neurons + o] == pytest.approx(sol[-1], rel=1e-8, abs=1e-10)
    untouched = np.isin(net.edge_kind, [0, 1])
    np.testing.assert_array_equal(fitted.weight[untouched], net.weight[untouched])


def test_mackey_glass_one_step_ahead():
    """A 300-neuron echo-state reservoir with a ridge readout predicts Mackey-Glass one step ahead, NRMSE < 0.1."""
    series = sim.tasks.mackey_glass(1600, seed=0)
    u = (series - series.mean()) / series.std()
    x, y = u[:-1, None], u[1:, None]
    net = sim.compile(tp.echo_state(300, spectral_radius=0.95, input_scaling=0.5, seed=3))
    train, test = slice(0, 1100), slice(1100, None)
    targets = np.full_like(y, np.nan)
    targets[train] = y[train]
    fitted = sim.fit_readout(net, x, targets, ridge=1e-6, washout=100)
    prediction = sim.run(fitted, x).outputs
    nrmse = np.sqrt(np.mean((prediction[test] - y[test]) ** 2)) / y[test].std()
    assert nrmse < 0.1


@pytest.mark.parametrize("kwargs, match", [
    ({"ridge": -1.0}, r"`ridge` must be a number >= 0, got -1.0"),
    ({"washout": -2}, r"`washout` must be an int >= 0, got -2"),
    ({"washout": 10}, r"output 'y' has no target after the washout of 10 steps"),
])
def test_fit_readout_errors(kwargs, match):
    """Bad ridge and washout values are refused."""
    G = nx.DiGraph([("x", "h"), ("h", "y")])
    G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    with pytest.raises(ValueError, match=match):
        sim.fit_readout(sim.compile(G), np.ones((5, 1)), np.ones((5, 1)), **kwargs)


def test_nonlinear_output_refused():
    """A tanh output is not a linear readout."""
    G = nx.DiGraph([("x", "h"), ("h", "y")])
    G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    G.nodes["y"]["activation"] = "tanh"
    with pytest.raises(ValueError, match="output 'y' has activation 'tanh': fit_readout fits linear readouts"):
        sim.fit_readout(sim.compile(G), np.ones((5, 1)), np.ones((5, 1)))


def test_an_output_without_edges_gets_the_mean_target_as_bias():
    """An output with no incoming edge is a constant: its least-squares fit
    is the mean of its targets; the other output is fitted as usual."""
    G = nx.DiGraph([("x", "h"), ("h", "y1")])
    G.add_node("y2")
    net = sim.compile(G, inputs=["x"], outputs=["y1", "y2"])
    x = np.linspace(-1, 1, 30)[:, None]
    targets = np.column_stack([2.0 * np.tanh(x[:, 0]) + 0.5, np.cos(x[:, 0])])
    fitted = sim.fit_readout(net, x, targets, ridge=0.0)
    np.testing.assert_allclose(fitted.bias[-1], targets[:, 1].mean(), rtol=1e-12)
    np.testing.assert_allclose([fitted.weight[fitted.edges.index(("h", "y1"))], fitted.bias[-2]], [2.0, 0.5],
                               rtol=1e-9)


def test_feedback_networks_are_fitted_on_teacher_forced_states():
    """With output -> hidden edges the states are recorded with the targets
    fed back (the plain-NumPy reference run with the teacher), and the fitted
    generator, run freely from where the teacher stopped, continues the sine
    it was taught."""
    G = tp.echo_state(80, n_inputs=0, n_outputs=1, spectral_radius=0.8, seed=3)
    rng = np.random.default_rng(0)
    for h in range(80):
        G.add_edge("out0", h, weight=rng.uniform(-1, 1))
    net = sim.compile(G)
    T, washout = 600, 100
    target = 0.5 * np.sin(np.arange(T + 60) * 2 * np.pi / 25)[:, None]
    fitted = sim.fit_readout(net, T, target[:T], ridge=1e-4, washout=washout)

    ref_states, _ = ref.run_discrete(G, np.zeros((T, 0)), teacher=target[:T])
    A = np.hstack([ref_states[1 + washout:], np.ones((T - washout, 1))])
    sol = np.linalg.solve(A.T @ A + np.diag([1e-4] * 80 + [0.0]), A.T @ target[washout:T, 0])
    got = [fitted.weight[fitted.edges.index((h, "out0"))] for h in range(80)]
    np.testing.assert_allclose(got, sol[:-1], rtol=1e-6, atol=1e-8)

    # teacher-forced for T steps, then free: the outputs go on with the sine
    forced = np.vstack([target[:T], np.full((60, 1), np.nan)])
    run = sim.run(fitted, T + 60, targets=forced, teacher_forcing=True)
    assert np.abs(run.outputs[T:, 0] - target[T:, 0]).max() < 0.05


# ------------------------------------------------------------ leaky reservoirs
def _mackey_glass_split(n=1600):
    """Standardised Mackey-Glass, one step ahead: inputs, targets, targets
    with NaN outside the training stretch, the test slice."""
    series = sim.tasks.mackey_glass(n, seed=0)
    u = (series - series.mean()) / series.std()
    x, y = u[:-1, None], u[1:, None]
    train, test = slice(0, 1100), slice(1100, None)
    targets = np.full_like(y, np.nan)
    targets[train] = y[train]
    return x, y, targets, test


def _nrmse(prediction, y, test):
    return float(np.sqrt(np.mean((prediction[test] - y[test]) ** 2)) / y[test].std())


def test_leaky_reservoir_matches_numpy_leaky_ridge():
    """With ``dt=1, method="euler"`` the readout of a leaky reservoir equals a
    ridge fit on the states of the classic leaky ESN update
    h[t+1] = (1 - a) h[t] + a tanh(W h[t] + U x[t]), run by a plain NumPy loop."""
    leak, ridge, washout = 0.3, 1e-4, 50
    G = tp.echo_state(100, n_inputs=2, spectral_radius=0.9, leak=leak, seed=1)
    net = sim.compile(G)
    x = np.random.default_rng(2).uniform(-1, 1, size=(400, 2))
    target = np.sin(np.cumsum(x[:, :1], axis=0) / 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")         # the right stepping does not warn
        fitted = sim.fit_readout(net, x, target, ridge=ridge, washout=washout, dt=1, method="euler")

    states = ref.run_leaky_esn(G, x, leak)
    np.testing.assert_allclose(sim.run(net, x, dt=1, method="euler").states, states, rtol=0, atol=1e-12)
    w, c = ref.ridge_readout(states[1 + washout:], target[washout:, 0], ridge)
    got = [fitted.weight[fitted.edges.index((h, "out0"))] for h in range(100)]
    np.testing.assert_allclose(got, w, rtol=1e-10, atol=1e-10 * np.abs(w).max())
    assert fitted.bias[-1] == pytest.approx(c, rel=1e-10, abs=1e-12)


def test_leaky_fit_predicts_far_better_than_the_discrete_fit():
    """On a leaky reservoir (leak 0.3) the discrete fit is a fit to the
    non-leaky network: run leaky, as built, it predicts Mackey-Glass one step
    ahead with NRMSE 0.20 on the held-out part; fitted with the leaky
    stepping, 0.003."""
    x, y, targets, test = _mackey_glass_split()
    net = sim.compile(tp.echo_state(300, leak=0.3, seed=0))
    with pytest.warns(UserWarning, match="ignores the time constants"):
        discrete = sim.fit_readout(net, x, targets, ridge=1e-6, washout=100)
    leaky = sim.fit_readout(net, x, targets, ridge=1e-6, washout=100, dt=1.0, method="euler")
    before = _nrmse(sim.run(discrete, x, dt=1.0, method="euler").outputs, y, test)
    after = _nrmse(sim.run(leaky, x, dt=1.0, method="euler").outputs, y, test)
    assert after < 0.01
    assert before > 20 * after


def test_discrete_fit_of_a_network_with_taus_warns_what_to_pass():
    """A discrete fit of a network whose taus are not all 1 warns, naming the
    taus and the stepping to pass; taus of 1, or a given `dt`, do not warn."""
    x, target = np.ones((30, 1)), np.ones((30, 1))
    leaky = sim.compile(tp.echo_state(10, leak=0.3, seed=0))
    with pytest.warns(UserWarning, match=r'\(tau = 3\.333\).*leak rate 1/tau = 0\.3.*pass `dt=1\.0, method="euler"`'):
        sim.fit_readout(leaky, x, target)
    mixed = leaky.with_params(tau=np.linspace(1, 4, 10))
    with pytest.warns(UserWarning, match=r"taus from 1 to 4"):
        sim.fit_readout(mixed, x, target)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sim.fit_readout(sim.compile(tp.echo_state(10, seed=0)), x, target)
        sim.fit_readout(leaky, x, target, dt=0.5, method="rk4")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"dt": 0.0}, ValueError, r"`dt` must be finite and > 0, got 0.0"),
    ({"dt": "1"}, TypeError, r"`dt` must be a real number, got '1'"),
    ({"method": "euler"}, ValueError, r"`method='euler'` needs a time step `dt`"),
    ({"dt": 1.0, "method": "RK45"}, ValueError, r"`method` must be one of .*sim.solve"),
])
def test_stepping_is_checked_like_run(kwargs, error, match):
    """`dt` and `method` are refused with `run`'s messages."""
    net = sim.compile(tp.echo_state(10, leak=0.5, seed=0))
    with pytest.raises(error, match=match):
        sim.fit_readout(net, np.ones((20, 1)), np.ones((20, 1)), **kwargs)
    with pytest.raises(error, match=match):
        sim.run(net, np.ones((20, 1)), **kwargs)


def _generator(leak=None, n=80, seed=3):
    G = tp.echo_state(n, n_inputs=0, n_outputs=1, spectral_radius=0.8, leak=leak, seed=seed)
    rng = np.random.default_rng(0)
    for h in range(n):
        G.add_edge("out0", h, weight=rng.uniform(-1, 1))
    return G


def test_continuous_teacher_forcing_with_unit_taus_is_the_discrete_one():
    """tau = 1, dt = 1, Euler: the continuous teacher-forced recording is the
    discrete one (yhat[0] = 0, then the previous target), so the fits agree."""
    net = sim.compile(_generator())
    T = 300
    target = 0.5 * np.sin(np.arange(T) * 2 * np.pi / 25)[:, None]
    discrete = sim.fit_readout(net, T, target, ridge=1e-4, washout=50)
    euler = sim.fit_readout(net, T, target, ridge=1e-4, washout=50, dt=1.0, method="euler")
    np.testing.assert_allclose(euler.weight, discrete.weight, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(euler.bias, discrete.bias, rtol=1e-9, atol=1e-11)


def test_leaky_generator_is_teacher_forced_and_continues_the_sine():
    """A leaky feedback network fitted with ``dt=1, method="euler"`` is
    recorded with the targets fed back (the NumPy leaky ESN with the teacher);
    run freely from the last forced state, it goes on with the sine."""
    leak, T, washout, ridge = 0.5, 600, 100, 1e-4
    G = _generator(leak=leak)
    net = sim.compile(G)
    target = 0.5 * np.sin(np.arange(T + 60) * 2 * np.pi / 25)[:, None]
    fitted = sim.fit_readout(net, T, target[:T], ridge=ridge, washout=washout, dt=1.0, method="euler")

    states = ref.run_leaky_esn(G, np.zeros((T, 0)), leak, teacher=target[:T])
    w, c = ref.ridge_readout(states[1 + washout:], target[washout:T, 0], ridge)
    got = np.array([fitted.weight[fitted.edges.index((h, "out0"))] for h in range(80)])
    # states driven by one sine are nearly collinear: the fitted outputs are
    # pinned far more tightly than the individual weights
    np.testing.assert_allclose(states[1:] @ got + fitted.bias[-1], states[1:] @ w + c, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-7 * np.abs(w).max())

    free = sim.run(fitted, 60, h0=states[T], dt=1.0, method="euler")
    assert np.abs(free.outputs[:, 0] - target[T:, 0]).max() < 0.05


def test_continuous_teacher_forcing_needs_every_fed_back_target():
    """A NaN target on the feedback path cannot be held over a step: refused,
    naming the output and the step; the last target is never fed back."""
    net = sim.compile(_generator(leak=0.5, n=20))
    target = np.ones((50, 1))
    target[-1] = np.nan                                           # never fed back: fine
    sim.fit_readout(net, 50, target, dt=1.0, method="euler")
    target[7] = np.nan
    with pytest.raises(ValueError, match=r"output 'out0' feeds back but has no target at step 7"):
        sim.fit_readout(net, 50, target, dt=1.0, method="euler")
    with pytest.warns(UserWarning, match="ignores the time constants"):
        sim.fit_readout(net, 50, target)                          # discrete time: the output is fed back there


def test_leaky_fit_matches_reservoirpy():
    """Parity with ReservoirPy (optional): the same W, U and leak rate, a
    `Ridge` node fitted after the same warmup, give the same predictions."""
    nodes = pytest.importorskip("reservoirpy.nodes")
    x, y, targets, test = _mackey_glass_split()
    G = tp.echo_state(300, leak=0.3, seed=0)
    dense = ref.Dense(G)
    reservoir = nodes.Reservoir(W=dense.W, Win=dense.U, bias=np.zeros(300), lr=0.3)
    readout = nodes.Ridge(ridge=1e-6)
    states = reservoir.run(x)
    readout.fit(states[:1100], y[:1100], warmup=100)
    theirs = readout.run(states)

    fitted = sim.fit_readout(sim.compile(G), x, targets, ridge=1e-6, washout=100, dt=1.0, method="euler")
    ours = sim.run(fitted, x, dt=1.0, method="euler").outputs
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    assert _nrmse(ours, y, test) == pytest.approx(_nrmse(theirs, y, test), rel=1e-3)
