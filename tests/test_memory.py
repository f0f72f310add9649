"""`simulator.memory_capacity` (Jaeger 2002): analytic delay lines, linear
reservoirs, least-squares readouts delay by delay, saturation."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import simulator as sim
import topologies as tp

from . import reference as ref


def delay_line(k):
    """Input -> 0 -> 1 -> ... -> k-1, identity neurons, weight 1."""
    G = nx.DiGraph([("u", 0)] + [(i, i + 1) for i in range(k - 1)])
    G.nodes["u"]["role"] = "input"
    for i in range(k):
        G.nodes[i]["activation"] = "identity"
    return G


def linear_orthogonal(n, radius, seed=0):
    """A linear reservoir: W an orthogonal matrix times `radius`, one input to every neuron."""
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0] * radius
    G = nx.DiGraph()
    G.add_node("u", role="input")
    for i in range(n):
        G.add_node(i, activation="identity")
        G.add_edge("u", i, weight=rng.standard_normal())
    G.add_weighted_edges_from((j, i, Q[i, j]) for i in range(n) for j in range(n))
    return G


@pytest.mark.parametrize("k", [1, 4, 9])
def test_delay_line_remembers_exactly_its_length(k):
    """A delay line of k identity neurons has MC = k: delays 1..k recalled
    perfectly, the rest not."""
    mc = sim.memory_capacity(sim.compile(delay_line(k)))
    assert mc.by_delay.shape == (2 * k,)
    assert mc.total == pytest.approx(k, abs=0.05)
    np.testing.assert_allclose(mc.by_delay[:k], 1.0, atol=1e-9)
    assert (mc.by_delay[k:] < 0.01).all()


def test_linear_orthogonal_reservoir_reaches_its_size():
    """A linear reservoir with an orthogonal W scaled to 0.95 reaches MC >= 0.9 N (N = 20)."""
    mc = sim.memory_capacity(sim.compile(linear_orthogonal(20, 0.95)))
    assert 0.9 * 20 <= mc.total <= 20 + 0.5


def test_tanh_reservoir_forgets_as_its_input_saturates_it():
    """Larger input scaling drives tanh into saturation: MC falls."""
    totals = [sim.memory_capacity(sim.compile(tp.echo_state(30, spectral_radius=0.9, input_scaling=s, seed=1)),
                                  n_steps=3000).total for s in (0.05, 1.0, 10.0)]
    assert totals[0] > totals[1] > totals[2]
    assert totals[0] > 2 * totals[2]


def test_by_delay_equals_least_squares_per_delay():
    """Without ridge the r^2 of each delay equals a separate least-squares
    readout with intercept (NumPy's lstsq) on the same run and samples."""
    G = tp.echo_state(15, spectral_radius=0.8, seed=3)
    net = sim.compile(G)
    mc = sim.memory_capacity(net, k_max=12, n_steps=800, washout=50, ridge=0.0, seed=5)
    u = np.random.default_rng(5).uniform(-1, 1, 800)
    states, _ = ref.run_discrete(G, u[:, None], inputs=net.inputs, outputs=net.outputs)
    want = ref.memory_capacity_lstsq(states, u, 12, start=50)
    np.testing.assert_allclose(mc.by_delay, want, atol=1e-9)
    assert mc.n_samples == 751 and mc.total == pytest.approx(want.sum())


def test_continuous_euler_with_unit_step_is_the_discrete_capacity():
    """Euler with dt = 1 and tau = 1 is the discrete step: same capacity."""
    net = sim.compile(tp.echo_state(12, spectral_radius=0.9, seed=2))
    a = sim.memory_capacity(net, n_steps=1500)
    b = sim.memory_capacity(net, n_steps=1500, dt=1.0, method="euler")
    np.testing.assert_allclose(b.by_delay, a.by_delay, atol=1e-9)
    c = sim.memory_capacity(net, n_steps=1500, dt=0.5)  # rk4: slower dynamics, a different capacity
    assert c.dt == 0.5 and c.method == "rk4" and 0 < c.total < 12


def test_float32_network_returns_float32():
    """A float32 network's r^2 are float32 and close to the float64 ones."""
    G = tp.echo_state(10, spectral_radius=0.8, seed=4)
    a = sim.memory_capacity(sim.compile(G), n_steps=1000)
    b = sim.memory_capacity(sim.compile(G, dtype="float32"), n_steps=1000)
    assert b.by_delay.dtype == np.float32
    np.testing.assert_allclose(a.by_delay, b.by_delay, atol=1e-3)


def test_ridge_only_lowers_the_fit():
    """A larger ridge penalty cannot raise any r^2 much above the plain fit's."""
    net = sim.compile(tp.echo_state(10, seed=0))
    plain = sim.memory_capacity(net, n_steps=1000, ridge=0.0)
    heavy = sim.memory_capacity(net, n_steps=1000, ridge=1e3)
    assert heavy.total < plain.total


def test_result_repr_and_table():
    """repr, HTML and to_pandas name the delays."""
    mc = sim.memory_capacity(sim.compile(delay_line(3)), k_max=4, n_steps=500, washout=10)
    assert repr(mc).startswith("MemoryCapacity(total 3") and "4 delays" in repr(mc)
    assert "<table" in mc._repr_html_()
    pytest.importorskip("pandas")
    df = mc.to_pandas()
    assert df.index.name == "delay" and list(df.index) == [1, 2, 3, 4]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"k_max": 0}, ValueError, r"`k_max` must be >= 1"),
    ({"k_max": 2.0}, TypeError, r"`k_max` must be an int"),
    ({"ridge": -1.0}, ValueError, r"`ridge` must be >= 0"),
    ({"n_steps": 20}, ValueError, r"`n_steps` = 20 leaves"),
    ({"washout": -1}, ValueError, r"`washout` must be >= 0"),
    ({"method": "rk4"}, ValueError, r"`method` 'rk4' needs `dt`"),
    ({"dt": 0.1, "method": "RK45"}, ValueError, r"`method` must be one of 'euler', 'exp_euler', 'rk4'"),
])
def test_errors_name_the_argument(kwargs, error, match):
    """Bad arguments raise errors that name them."""
    with pytest.raises(error, match=match):
        sim.memory_capacity(sim.compile(delay_line(3)), **kwargs)


def test_needs_exactly_one_input():
    """Two inputs (or none) is a ValueError listing them."""
    net = sim.compile(tp.echo_state(5, n_inputs=2, seed=0))
    with pytest.raises(ValueError, match=r"exactly one input.*it has 2: \['in0', 'in1'\]"):
        sim.memory_capacity(net)
