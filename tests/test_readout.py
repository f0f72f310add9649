"""`simulator.fit_readout` against NumPy's least squares, and on Mackey-Glass."""

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
