"""`simulator.explore` through ipywidgets' Python API: moving a slider reruns
the network and redraws the figure with the new run's data."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

pytest.importorskip("ipywidgets")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import simulator as sim  # noqa: E402
import topologies as tp  # noqa: E402


@pytest.fixture(scope="module")
def net():
    return sim.compile(tp.fixed_indegree(12, 4, n_inputs=1, seed=0, scale=1.0))


def heat_map(ex):
    """The activity image's data (neurons x time)."""
    return np.asarray(ex.figure.axes[0].images[0].get_array())


def test_gain_slider_reruns_with_scaled_weights(net):
    """Setting the gain scales the hidden -> hidden weights only, reruns, and
    the heat map shows the new states."""
    ex = sim.explore(net)
    before = heat_map(ex).copy()
    ex.gain.value = 2.5
    W = net.edge_kind == 0
    np.testing.assert_allclose(ex.network.weight[W], 2.5 * net.weight[W])
    np.testing.assert_allclose(ex.network.weight[~W], net.weight[~W])
    want = sim.run(ex.network, ex.x, h0=ex.h0).states
    np.testing.assert_allclose(ex.result.states, want)
    np.testing.assert_allclose(heat_map(ex), want.T, atol=1e-12)
    assert not np.allclose(heat_map(ex), before)


def test_lyapunov_and_fixed_points_follow_the_setting(net):
    """The info line reports the largest exponent and the fixed points of the current gain."""
    ex = sim.explore(net, gain=(0.0, 4.0))
    ex.gain.value = 0.3
    quiet = ex.lyapunov.largest
    assert quiet < 0 and "fixed points</b> 1 (1 stable)" in ex.info.value
    ex.gain.value = 4.0
    assert ex.lyapunov.largest > quiet
    assert f"{ex.lyapunov.largest:+.4f}" in ex.info.value
    lam = sim.lyapunov(ex.network, ex.x, n_exponents=1, h0=ex.h0, warmup=50).largest
    assert ex.lyapunov.largest == pytest.approx(lam)


def test_amplitude_and_continuous_time(net):
    """The amplitude scales the drive; the time dropdown and the dt slider
    switch to a fixed-step integrator with that dt."""
    x = np.sin(np.arange(80) / 5.0)[:, None]
    ex = sim.explore(net, x)
    ex.amplitude.value = 0.0
    np.testing.assert_allclose(ex.result.inputs, 0.0)
    ex.mode.value = "rk4"
    ex.dt.value = 0.5
    assert ex.result.info["method"] == "rk4" and ex.result.info["dt"] == 0.5
    assert ex.fixed_points.dt == 0.5 and ex.lyapunov.dt == 0.5
    np.testing.assert_allclose(ex.result.times[-1], 80 * 0.5)
    assert "per unit time" in ex.info.value


def test_widget_holds_the_controls(net):
    """The VBox shows the sliders, the dropdown, the info line and the output."""
    ex = sim.explore(net)
    import ipywidgets as w

    found = []

    def walk(widget):
        found.append(widget)
        for child in getattr(widget, "children", ()):
            walk(child)

    walk(ex.widget)
    assert {ex.gain, ex.amplitude, ex.dt, ex.mode, ex.info, ex.output} <= set(found)
    assert isinstance(ex.widget, w.VBox)


def test_explore_errors():
    """Wrong kinds and shapes are named."""
    with pytest.raises(TypeError, match="`net` must be a Network"):
        sim.explore(nx.DiGraph())
    net = sim.compile(tp.fixed_indegree(5, 2, n_inputs=1, seed=0))
    with pytest.raises(ValueError, match=r"`x` must have shape \(n_steps, 1\)"):
        sim.explore(net, np.zeros((10, 2)))
