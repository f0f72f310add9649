"""`simulator.lyapunov` against linear networks' eigenvalues, a dense-QR
NumPy reference with finite-difference Jacobians, and the transition to
chaos of random tanh networks (Sompolinsky, Crisanti & Sommers 1988)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import simulator as sim
import topologies as tp

from . import reference as ref


def linear(n, radius, seed, tau=None):
    """Identity neurons with a random W of spectral radius `radius`."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((n, n))
    W *= radius / np.abs(np.linalg.eigvals(W)).max()
    G = nx.DiGraph()
    for i in range(n):
        G.add_node(i, activation="identity", tau=1.0 if tau is None else tau[i])
    G.add_weighted_edges_from((j, i, W[i, j]) for i in range(n) for j in range(n))
    return G, W


def test_linear_discrete_gives_log_modulus_of_eigenvalues():
    """h[t+1] = W h[t]: the exponents are log |lambda(W)| within 1e-3."""
    G, W = linear(8, 0.9, seed=0)
    ly = sim.lyapunov(sim.compile(G), 4000, warmup=500)
    want = np.sort(np.log(np.abs(np.linalg.eigvals(W))))[::-1]
    np.testing.assert_allclose(ly.exponents, want, atol=1e-3)


def test_linear_continuous_gives_real_parts():
    """tau dh/dt = -h + W h with RK4: Re lambda((W - I) / tau) within 1e-3, per unit time."""
    tau = np.random.default_rng(1).uniform(0.5, 2.0, 6)
    G, W = linear(6, 1.3, seed=1, tau=tau)
    ly = sim.lyapunov(sim.compile(G), 5000, dt=0.05, warmup=500)
    want = np.sort(np.linalg.eigvals((W - np.eye(6)) / tau[:, None]).real)[::-1]
    np.testing.assert_allclose(ly.exponents, want, atol=1e-3)


def small_tanh(seed=4):
    """Six tanh neurons at gain 1.5, one input, one tanh output fed back."""
    G = tp.fixed_indegree(6, 3, n_inputs=1, seed=seed, scale=1.5)
    rng = np.random.default_rng(seed)
    G.add_node("y", role="output", activation="tanh", bias=0.1)
    for i in range(6):
        G.nodes[i]["tau"] = float(rng.uniform(0.5, 2.0))
        G.nodes[i]["bias"] = float(0.2 * rng.standard_normal())
        G.add_edge(i, "y", weight=float(rng.standard_normal()))
    G.add_edge("y", 0, weight=0.7)
    G.add_edge("y", 3, weight=-0.5)
    return G


@pytest.mark.parametrize("dt, method", [(None, None), (0.3, "euler"), (0.3, "exp_euler"), (0.3, "rk4")])
def test_small_tanh_network_equals_dense_qr_reference(dt, method):
    """With inputs and output feedback, every exponent equals the dense
    reference's (finite-difference Jacobians, numpy QR) to 1e-6 over the
    same 80 steps, 10 of them warm-up."""
    G = small_tanh()
    net = sim.compile(G)
    x = np.sin(np.arange(80) * 0.3)[:, None]
    h0 = np.linspace(-0.5, 0.5, 6)
    ly = sim.lyapunov(net, x, dt=dt, method=method, h0=h0, warmup=10, seed=7)
    want = ref.lyapunov_dense(G, x, h0, 6, seed=7, warmup=10, dt=dt, method=method,
                              inputs=net.inputs, outputs=net.outputs)
    np.testing.assert_allclose(ly.exponents, want, atol=1e-6)


def test_transition_to_chaos_in_random_tanh_networks():
    """N = 1,000 tanh neurons, weights N(0, g^2 / 100), in-degree 100: the
    largest exponent is negative at g = 0.5 and 0.9, positive at 1.3 and 2."""
    largest = {}
    for g in (0.5, 0.9, 1.3, 2.0):
        net = sim.compile(tp.fixed_indegree(1000, 100, seed=0, scale=g))
        largest[g] = sim.lyapunov(net, 400, n_exponents=1, warmup=200).largest
    assert largest[0.5] < largest[0.9] < 0 < largest[1.3] < largest[2.0]


def test_history_shape_and_last_row():
    """history has n_steps - warmup rows; its last row is the exponents, descending."""
    G = small_tanh()
    ly = sim.lyapunov(sim.compile(G), np.ones((50, 1)), n_exponents=3, warmup=20)
    assert ly.history.shape == (30, 3) and ly.exponents.shape == (3,)
    np.testing.assert_array_equal(ly.history[-1], ly.exponents)
    assert (np.diff(ly.exponents) <= 0).all()
    assert not ly.autonomous and ly.n_steps == 50


def test_default_counts_and_free_runs():
    """All exponents up to 500 neurons, else 10; x=None runs warmup + 1000
    steps without input, an int that many steps."""
    ly = sim.lyapunov(sim.compile(small_tanh()), None, warmup=5)
    assert ly.exponents.shape == (6,) and ly.history.shape == (1000, 6) and ly.autonomous
    big = sim.compile(tp.fixed_indegree(501, 2, seed=0))
    ly = sim.lyapunov(big, 12, warmup=2)
    assert ly.exponents.shape == (10,) and ly.history.shape == (10, 10)


def test_ten_largest_agree_with_the_full_spectrum():
    """Asking for fewer exponents gives the leading ones of the full spectrum."""
    net = sim.compile(tp.fixed_indegree(40, 5, seed=1, scale=1.8))
    full = sim.lyapunov(net, 600, warmup=100)
    top = sim.lyapunov(net, 600, n_exponents=4, warmup=100)
    np.testing.assert_allclose(top.exponents, full.exponents[:4], atol=1e-10)


def test_float32_network_returns_float32():
    """A float32 network gives float32 exponents close to the float64 one's on a stable trajectory."""
    G, _ = linear(5, 0.8, seed=2)
    a = sim.lyapunov(sim.compile(G), 300, warmup=50)
    b = sim.lyapunov(sim.compile(G, dtype="float32"), 300, warmup=50)
    assert b.exponents.dtype == np.float32 and b.history.dtype == np.float32
    np.testing.assert_allclose(a.exponents, b.exponents, atol=1e-5)


def test_result_repr_table_and_kaplan_yorke():
    """repr, HTML table, to_pandas and the Kaplan-Yorke dimension."""
    net = sim.compile(tp.fixed_indegree(40, 20, seed=0, scale=2.5))  # chaotic
    ly = sim.lyapunov(net, 300, warmup=100)
    assert repr(ly).startswith("LyapunovSpectrum(40 exponents, largest ")
    assert "Kaplan-Yorke" in ly._repr_html_()
    lam = ly.exponents
    j = int(np.sum(np.cumsum(lam) >= 0))
    assert 0 < j < 40 and ly.kaplan_yorke == pytest.approx(j + np.cumsum(lam)[j - 1] / abs(lam[j]))
    pytest.importorskip("pandas")
    df = sim.lyapunov(net, 30, n_exponents=2, dt=0.5, warmup=10).to_pandas()
    assert df.index.name == "time" and list(df.columns) == ["lambda_1", "lambda_2"] and df.shape == (20, 2)
    assert df.index[0] == pytest.approx(5.5)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"x": np.zeros((10, 2))}, ValueError, r"`x` must have shape \(n_steps, 1\); got \(10, 2\)"),
    ({"x": np.zeros((10, 3, 1))}, ValueError, r"one unbatched input sequence"),
    ({"x": True}, TypeError, r"`x` must be an array of inputs"),
    ({"x": 0}, ValueError, r"`x` must be >= 1"),
    ({"x": 50, "warmup": 50}, ValueError, r"`warmup` \(50\) must be smaller than the number of steps \(50\)"),
    ({"n_exponents": 7}, ValueError, r"`n_exponents` must be <= n_neurons = 6"),
    ({"n_exponents": 0}, ValueError, r"`n_exponents` must be >= 1"),
    ({"method": "rk4"}, ValueError, r"`method` 'rk4' needs `dt`"),
    ({"dt": 0.1, "method": "BDF"}, ValueError, r"`method` must be one of"),
    ({"h0": np.zeros(5)}, ValueError, r"`h0` must have shape \(6,\); got \(5,\)"),
    ({"warmup": -1}, ValueError, r"`warmup` must be >= 0"),
])
def test_errors_name_the_argument(kwargs, error, match):
    """Bad arguments raise errors that name them."""
    kwargs.setdefault("x", 200)
    with pytest.raises(error, match=match):
        sim.lyapunov(sim.compile(small_tanh()), **kwargs)
