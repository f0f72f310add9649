"""The analysis plots draw what they are given: eigenvalues in the complex
plane with the stability boundary, Lyapunov spectra, fixed points on
principal components with a run through them."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import simulator as sim  # noqa: E402
import topologies as tp  # noqa: E402
from simulator.plot import analysis as pa  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    plt.close("all")
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def bistable():
    """Two neurons with three fixed points: two stable winners and a saddle."""
    G = nx.DiGraph([("A", "A", {"weight": 2.0}), ("B", "B", {"weight": 2.0}),
                    ("A", "B", {"weight": -1.0}), ("B", "A", {"weight": -1.0})])
    G.nodes["A"]["bias"] = 0.1
    return sim.compile(G)


def test_eigenvalues_of_an_array_on_the_unit_circle():
    """An array: one scatter at the eigenvalues, the unit circle drawn, equal aspect."""
    lam = np.array([0.5 + 0.5j, 0.5 - 0.5j, -1.2])
    ax = sim.plot.eigenvalues(lam)
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_allclose(offsets, np.column_stack([lam.real, lam.imag]))
    circle = ax.lines[0].get_xydata()
    np.testing.assert_allclose(np.hypot(circle[:, 0], circle[:, 1]), 1.0)


def test_eigenvalues_of_fixed_points_coloured_by_stability(bistable):
    """A FixedPoints: stable points' eigenvalues green, unstable red; continuous
    time draws the imaginary axis instead of the circle."""
    fp = sim.fixed_points(bistable, dt=0.1)
    ax = sim.plot.eigenvalues(fp)
    colours = {tuple(np.round(c.get_facecolor()[0][:3], 3)) for c in ax.collections}
    assert len(colours) == 2
    stable = [c for c in ax.collections if c.get_label() == "stable point"][0]
    np.testing.assert_allclose(np.sort(stable.get_offsets()[:, 0]),
                               np.sort(fp.eigenvalues[fp.stable].real.ravel()))
    assert any(np.allclose(line.get_xdata(), 0.0) for line in ax.lines)  # the imaginary axis
    assert "dashed line" in ax.get_xlabel()


def test_lyapunov_plot_draws_spectrum_and_history():
    """The spectrum's line holds the exponents; the second panel the running estimates."""
    ly = sim.lyapunov(sim.compile(tp.fixed_indegree(20, 5, seed=0, scale=2.0)), 120, warmup=20)
    ax = sim.plot.lyapunov(ly)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), ly.exponents)
    ax2 = ax.figure.axes[1]
    np.testing.assert_allclose(ax2.lines[0].get_ydata(), ly.history[:, 0])
    assert ax2.lines[0].get_xdata()[0] == 21
    assert len(sim.plot.lyapunov(ly, history=False).figure.axes) == 1


def test_fixed_points_two_neurons_in_their_own_axes(bistable):
    """Two neurons: the neurons are the axes; the run is a line from h0; the
    points sit where fixed_points found them."""
    fp = sim.fixed_points(bistable)
    res = sim.run(bistable, 40, h0=[0.3, -0.1])
    ax = sim.plot.fixed_points(fp, res)
    np.testing.assert_allclose(ax.lines[0].get_xydata(), res.states)
    drawn = np.vstack([c.get_offsets() for c in ax.collections])
    np.testing.assert_allclose(np.sort(drawn, axis=0), np.sort(fp.states, axis=0))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("A", "B")


def test_fixed_points_projected_on_principal_components():
    """More neurons: states projected on the run's two leading principal
    components (the projection of the run keeps its variance order)."""
    net = sim.compile(tp.fixed_indegree(12, 4, seed=1, scale=1.2))
    fp = sim.fixed_points(net, n_starts=8)
    res = sim.run(net, 60, h0=np.linspace(-0.8, 0.8, 12))
    ax = sim.plot.fixed_points(fp, res)
    P = ax.lines[0].get_xydata()
    S = res.states - res.states.mean(axis=0)
    s = np.linalg.svd(S, compute_uv=False)
    np.testing.assert_allclose(np.sort(np.linalg.svd(P - P.mean(axis=0), compute_uv=False)), np.sort(s[:2]),
                               rtol=1e-9)
    assert ax.get_xlabel().startswith("PC 1")


def test_plot_errors():
    """Wrong kinds are TypeErrors naming the argument; a run of another size a ValueError."""
    with pytest.raises(TypeError, match="`fp_or_array` must be a FixedPoints"):
        sim.plot.eigenvalues(object())
    with pytest.raises(TypeError, match="`ly` must be a LyapunovSpectrum"):
        sim.plot.lyapunov(np.zeros(3))
    with pytest.raises(TypeError, match="`fp` must be a FixedPoints"):
        pa.fixed_points(np.zeros(3))
    net = sim.compile(nx.DiGraph([(0, 0)]))
    other = sim.compile(nx.DiGraph([(0, 1)]))
    with pytest.raises(ValueError, match="`res` has 2 neurons but `fp` has 1"):
        sim.plot.fixed_points(sim.fixed_points(net, n_starts=2), sim.run(other, 5))
