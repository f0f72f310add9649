"""`simulator.fixed_points` against fixed points computed independently
(a dense grid polished by Newton's method, NumPy's eigenvalues of linear
networks) and its result object."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import simulator as sim
import topologies as tp

from . import reference as ref


def two_neurons(w_aa, w_ab, w_ba, w_bb, b_a, b_b):
    """Two tanh neurons A, B (tau 1 and 0.5) with the given weights u -> v as w_uv."""
    G = nx.DiGraph()
    G.add_node("A", bias=b_a)
    G.add_node("B", bias=b_b, tau=0.5)
    for u, v, w in (("A", "A", w_aa), ("A", "B", w_ab), ("B", "A", w_ba), ("B", "B", w_bb)):
        G.add_edge(u, v, weight=w)
    return G


TWO_NEURONS = {
    # A inhibits itself (a flip in discrete time, a sink in continuous time), B is bistable
    "flip_bistable": two_neurons(-3.0, 0.3, 0.2, 2.0, 0.1, -0.05),
    # winner takes all: two stable winners and a saddle
    "winner_takes_all": two_neurons(2.0, -1.0, -1.0, 2.0, 0.1, -0.2),
    # rotation with growth: one unstable focus (a limit cycle around it)
    "unstable_focus": two_neurons(1.5, 1.2, -1.2, 1.5, 0.05, 0.0),
}


@pytest.mark.parametrize("name", TWO_NEURONS)
def test_two_neurons_all_fixed_points_with_their_stability(name):
    """Every fixed point of the grid search is found, none more, with the
    stability of discrete time (|lambda| < 1) and of continuous time
    (Re lambda((J - I) / tau) < 0)."""
    G = TWO_NEURONS[name]
    points, lam, jacs = ref.fixed_points_grid(G)
    net = sim.compile(G)
    tau = np.array([1.0, 0.5])
    for dt in (None, 0.1):
        fp = sim.fixed_points(net, dt=dt)
        assert fp.states.shape == points.shape
        order = [int(np.argmin(np.abs(fp.states - p).max(axis=1))) for p in points]
        np.testing.assert_allclose(fp.states[order], points, atol=1e-9)
        if dt is None:
            want_stable = np.abs(lam).max(axis=1) < 1
            want_lam = lam
        else:
            cont = [np.linalg.eigvals((J - np.eye(2)) / tau[:, None]) for J in jacs]
            want_stable = np.array([c.real.max() < 0 for c in cont])
            want_lam = np.array(cont)
        np.testing.assert_array_equal(fp.stable[order], want_stable)
        for got, want in zip(fp.eigenvalues[order], want_lam):
            np.testing.assert_allclose(np.sort_complex(got), np.sort_complex(want), atol=1e-6)
        assert (fp.residual < 1e-10).all()


def test_flip_neuron_is_stable_only_in_continuous_time():
    """A self-inhibiting neuron's fixed points are saddles/flips in discrete
    time (an eigenvalue < -1) but its stable states exist in continuous time."""
    net = sim.compile(TWO_NEURONS["flip_bistable"])
    assert not sim.fixed_points(net).stable.any()
    assert sim.fixed_points(net, dt=0.1).stable.sum() == 2


def test_eigenvalues_sorted_by_modulus_or_real_part():
    """Discrete eigenvalues by decreasing modulus, continuous by decreasing real part."""
    net = sim.compile(TWO_NEURONS["flip_bistable"])
    lam = sim.fixed_points(net).eigenvalues
    assert (np.diff(np.abs(lam), axis=1) <= 1e-12).all()
    lam = sim.fixed_points(net, dt=1.0).eigenvalues
    assert (np.diff(lam.real, axis=1) <= 1e-12).all()


def test_hopfield_patterns_lie_near_stable_fixed_points():
    """A tanh Hopfield network (Hebbian weights times a gain of 4) has a
    stable fixed point with the sign of each stored pattern, close to it."""
    rng = np.random.default_rng(1)
    patterns = rng.choice([-1.0, 1.0], size=(3, 40))
    G = tp.hopfield(patterns)
    for n in G:
        G.nodes[n]["activation"] = "tanh"
    for u, v in G.edges:
        G.edges[u, v]["weight"] *= 4.0
    net = sim.compile(G)
    noisy = patterns * np.where(rng.random(patterns.shape) < 0.1, -1.0, 1.0)
    fp = sim.fixed_points(net, starts=np.vstack([0.9 * noisy, 0.9 * -noisy]))
    for p in np.vstack([patterns, -patterns]):
        i = int(np.argmin(np.linalg.norm(fp.states - p, axis=1)))
        assert fp.stable[i]
        np.testing.assert_array_equal(np.sign(fp.states[i]), p)
        assert np.abs(fp.states[i] - p).max() < 0.05


@pytest.mark.parametrize("dt", [None, 0.2])
def test_linear_network_single_fixed_point_and_numpy_eigenvalues(dt):
    """A linear network has the one fixed point (I - W)^-1 (U x + b), and the
    eigenvalues of W (discrete) or of (W - I) / tau (continuous)."""
    rng = np.random.default_rng(3)
    n = 12
    W = rng.standard_normal((n, n)) / np.sqrt(n) * 0.8
    b = rng.standard_normal(n)
    tau = rng.uniform(0.5, 2.0, n)
    U = rng.standard_normal((n, 1))
    G = nx.DiGraph()
    G.add_node("in", role="input")
    for i in range(n):
        G.add_node(i, activation="identity", bias=b[i], tau=tau[i])
        G.add_edge("in", i, weight=U[i, 0])
    for i in range(n):
        for j in range(n):
            G.add_edge(j, i, weight=W[i, j])
    net = sim.compile(G)
    fp = sim.fixed_points(net, x=[0.7], dt=dt, n_starts=8)
    assert len(fp) == 1
    np.testing.assert_allclose(fp.states[0], np.linalg.solve(np.eye(n) - W, U[:, 0] * 0.7 + b), atol=1e-10)
    want = np.linalg.eigvals(W if dt is None else (W - np.eye(n)) / tau[:, None])
    np.testing.assert_allclose(np.sort_complex(fp.eigenvalues[0]), np.sort_complex(want), atol=1e-10)
    assert fp.stable[0] == (np.abs(want).max() < 1 if dt is None else want.real.max() < 0)


def test_output_feedback_enters_the_fixed_point_map():
    """With output feedback the fixed point solves h = phi(W h + F g(V h + c) + b),
    and its eigenvalues are those of the finite-difference Jacobian of that map."""
    G = nx.DiGraph([("a", "b", {"weight": 0.9}), ("b", "a", {"weight": -0.4}), ("b", "y", {"weight": 1.3}),
                    ("y", "a", {"weight": 0.8})])
    G.nodes["y"].update(role="output", activation="tanh", bias=0.2)
    G.nodes["a"]["bias"] = 0.3
    net = sim.compile(G)
    fp = sim.fixed_points(net, n_starts=8)
    dense = ref.Dense(G)
    F = ref.step_map(dense, np.zeros(0))
    assert len(fp) == 1
    np.testing.assert_allclose(F(fp.states[0]), fp.states[0], atol=1e-12)
    want = np.linalg.eigvals(ref.jacobian_fd(F, fp.states[0]))
    np.testing.assert_allclose(np.sort_complex(fp.eigenvalues[0]), np.sort_complex(want), atol=1e-8)


def test_slow_point_is_the_minimum_of_q():
    """h = tanh(2 h + 0.6) has lost its negative pair of fixed points: one
    stable fixed point remains, and a slow point sits at the local minimum
    of q = (tanh(2h + 0.6) - h)^2 / 2 near the fold, with that q."""
    G = nx.DiGraph([("a", "a", {"weight": 2.0})])
    G.nodes["a"]["bias"] = 0.6
    fp = sim.fixed_points(sim.compile(G), slow=True, n_starts=32)
    assert (~fp.slow).sum() == 1 and fp.slow.sum() == 1
    assert fp.stable[~fp.slow].all()
    h = np.linspace(-1.0, 0.0, 200001)
    q = 0.5 * (np.tanh(2 * h + 0.6) - h) ** 2
    i = np.argmin(q)
    assert abs(fp.states[fp.slow][0, 0] - h[i]) < 1e-4
    assert fp.q[fp.slow][0] == pytest.approx(q[i], rel=1e-6)
    assert fp.q[~fp.slow][0] < 1e-20


def test_beyond_500_neurons_sparse_newton_and_leading_eigenvalues():
    """Past 500 neurons: the fixed point from Newton's method with the sparse
    Jacobian, and the 20 leading eigenvalues equal the dense ones."""
    G = tp.fixed_indegree(600, 5, seed=2, scale=0.6)
    rng = np.random.default_rng(0)
    for n in G:
        G.nodes[n]["bias"] = 0.3 * rng.standard_normal()
    net = sim.compile(G)
    fp = sim.fixed_points(net, n_starts=3)
    assert fp.states.shape == (1, 600) and fp.eigenvalues.shape == (1, 20)
    F = ref.step_map(ref.Dense(G), np.zeros(0))
    np.testing.assert_allclose(F(fp.states[0]), fp.states[0], atol=1e-10)
    J = ref.jacobian_fd(F, fp.states[0])
    want = np.linalg.eigvals(J)
    want = want[np.argsort(-np.abs(want))][:20]
    np.testing.assert_allclose(np.sort(np.abs(fp.eigenvalues[0])), np.sort(np.abs(want)), atol=1e-7)
    assert fp.stable[0]


def test_float32_network_and_starts():
    """A float32 network gives the same points; `starts` replaces the random
    starts (one start, one point)."""
    G = TWO_NEURONS["winner_takes_all"]
    fp64 = sim.fixed_points(sim.compile(G))
    fp32 = sim.fixed_points(sim.compile(G, dtype="float32"))
    np.testing.assert_allclose(fp32.states, fp64.states, atol=1e-6)
    assert fp32.states.dtype == np.float32 and fp32.eigenvalues.dtype == np.complex64
    assert fp64.states.dtype == np.float64 and fp64.eigenvalues.dtype == np.complex128
    one = sim.fixed_points(sim.compile(G), starts=[0.9, -0.9])
    assert len(one) == 1 and one.n_starts == 1 and one.stable[0]


def test_result_table_repr_and_html():
    """to_pandas has one row per point with the states by neuron name; the
    repr counts the points; the HTML table lists them."""
    pytest.importorskip("pandas")
    fp = sim.fixed_points(sim.compile(TWO_NEURONS["winner_takes_all"]))
    df = fp.to_pandas()
    assert list(df.columns) == ["residual", "stable", "slow", "q", "leading", "|leading|", "A", "B"]
    np.testing.assert_array_equal(df[["A", "B"]].to_numpy(), fp.states)
    assert repr(fp).startswith("FixedPoints(3 fixed points (2 stable); discrete, 2 neurons")
    html = fp._repr_html_()
    assert "<table" in html and "stable" in html and "#2" in html
    assert "Re leading" in sim.fixed_points(sim.compile(TWO_NEURONS["winner_takes_all"]), dt=1).to_pandas()


@pytest.mark.parametrize("kwargs, error, match", [
    ({"x": [1.0]}, ValueError, r"`x` must have shape \(0,\)"),
    ({"tol": 0.0}, ValueError, r"`tol` must be finite and > 0"),
    ({"tol": "small"}, TypeError, r"`tol` must be a number"),
    ({"n_starts": 0}, ValueError, r"`n_starts` must be >= 1"),
    ({"n_starts": 2.5}, TypeError, r"`n_starts` must be an int"),
    ({"dt": -1.0}, ValueError, r"`dt` must be finite and > 0"),
    ({"starts": np.zeros((3, 5))}, ValueError, r"`starts` must have shape \(n_starts, 2\); got \(3, 5\)"),
    ({"starts": [[0.0, np.nan]]}, ValueError, r"`starts\[0, 1\]` is nan"),
    ({"slow": 1}, TypeError, r"`slow` must be True or False"),
    ({"seed": 1.5}, TypeError, r"`seed` must be an int"),
])
def test_errors_name_the_argument(kwargs, error, match):
    """Bad arguments raise errors that name them."""
    net = sim.compile(TWO_NEURONS["winner_takes_all"])
    with pytest.raises(error, match=match):
        sim.fixed_points(net, **kwargs)


def test_not_a_network():
    """Something other than a Network is a TypeError."""
    with pytest.raises(TypeError, match="`net` must be a Network"):
        sim.fixed_points(nx.DiGraph())
