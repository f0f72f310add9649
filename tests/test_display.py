"""Rich displays (`_repr_html_`) and the labelled views `to_xarray` / `to_pandas`."""

import sys

import networkx as nx
import numpy as np
import pytest

import simulator as sim

xr = pytest.importorskip("xarray")
pd = pytest.importorskip("pandas")


@pytest.fixture
def net(four_neuron):
    return sim.compile(four_neuron)


@pytest.fixture
def odd_names():
    """Int, tuple and markup-like names: labels must survive as they are."""
    G = nx.DiGraph()
    G.add_node("<x>", role="input")
    G.add_node((1, 2), activation="relu")
    G.add_node(7)
    G.add_node("y", role="output")
    G.add_weighted_edges_from([("<x>", (1, 2), 0.5), ((1, 2), 7, -1.0), (7, (1, 2), 0.3), (7, "y", 2.0)])
    return sim.compile(G)


def test_network_html_lists_sizes_kinds_activations_and_escapes(odd_names):
    html = odd_names._repr_html_()
    assert html.startswith("<table") and html.endswith("</table>")
    assert "&lt;x&gt;" in html and "<x>" not in html
    assert "W (hidden-&gt;hidden) 2" in html and "U (input-&gt;hidden) 1" in html
    assert "V (hidden-&gt;output) 1" in html and "F (" not in html
    assert "relu 1" in html and "tanh 1" in html and "identity 1" in html
    assert "min -1, mean 0.45, max 2" in html  # weight statistics
    assert "float64" in html
    assert repr(odd_names).startswith("Network(")


@pytest.mark.parametrize("kind", ["discrete", "continuous", "ode"])
def test_result_html_names_the_time_mode(net, kind):
    x = np.zeros((4, 2))
    x[0, 0] = 1.0
    if kind == "discrete":
        res, words = sim.run(net, x), "discrete, sync update"
    elif kind == "continuous":
        res, words = sim.run(net, x, dt=0.5, method="rk4"), "fixed step: rk4 dt=0.5"
    else:
        res, words = sim.solve(net, x, (0.0, 4.0), dt=1.0, method="RK45"), "ODE solver RK45, inputs held for dt=1.0"
    html = res._repr_html_()
    assert words in html
    assert f"{res.n_steps}, t = 0 .. {res.times[-1]:.4g}" in html
    assert "unbatched" in html
    if kind == "ode":
        assert f"nfev {res.info['nfev']}" in html


def test_to_xarray_states_dims_coords_and_values(odd_names):
    x = np.linspace(-1, 1, 5)[:, None]
    res = sim.run(odd_names, x)
    da = res.to_xarray()
    assert da.dims == ("time", "neuron")
    assert list(da.coords["neuron"].values) == [(1, 2), 7]
    np.testing.assert_array_equal(da.coords["time"].values, res.times)
    np.testing.assert_array_equal(da.values, res.states)
    np.testing.assert_array_equal(da.sel(neuron=7).values, res[7])
    out = res.to_xarray("outputs")
    assert out.dims == ("time", "output")
    np.testing.assert_array_equal(out.coords["time"].values, res.times[1:])
    np.testing.assert_array_equal(out.sel(output="y").values, res["y"])
    inp = res.to_xarray("inputs")
    np.testing.assert_array_equal(inp.coords["time"].values, res.times[:-1])
    np.testing.assert_array_equal(inp.sel(input="<x>").values, x[:, 0])


def test_to_xarray_batched_and_all(net):
    rng = np.random.default_rng(0)
    res = sim.run(net, rng.normal(size=(6, 3, 2)), dt=0.5, method="euler")
    da = res.to_xarray()
    assert da.dims == ("time", "batch", "neuron")
    assert da.sizes == {"time": 7, "batch": 3, "neuron": 4}
    np.testing.assert_array_equal(da.sel(batch=2, neuron="B1").values, res.states[:, 2, net.neurons.index("B1")])
    assert da.attrs["method"] == "euler" and da.attrs["dt"] == 0.5
    ds = res.to_xarray("all")
    assert set(ds.data_vars) == {"states", "outputs", "inputs"}
    assert ds.sizes["time"] == 7
    assert np.isnan(ds["outputs"].values[0]).all() and np.isnan(ds["inputs"].values[-1]).all()
    np.testing.assert_array_equal(ds["outputs"].values[1:], res.outputs)
    np.testing.assert_array_equal(ds["inputs"].values[:-1], res.inputs)
    with pytest.raises(ValueError, match="`what` must be one of"):
        res.to_xarray("weights")


def test_to_pandas_one_batch_element(net):
    rng = np.random.default_rng(1)
    res = sim.run(net, rng.normal(size=(5, 2, 2)))
    df = res.to_pandas(batch=1, inputs=True)
    assert list(df.columns) == [*net.neurons, *net.outputs, *net.inputs]
    assert df.index.name == "time"
    np.testing.assert_array_equal(df.index.values, res.times)
    np.testing.assert_array_equal(df["A2"].values, res.states[:, 1, net.neurons.index("A2")])
    np.testing.assert_array_equal(df["Output"].values[1:], res.outputs[:, 1, 0])
    assert np.isnan(df["Output"].values[0]) and np.isnan(df["Input2"].values[-1])
    with pytest.raises(ValueError, match="batch of 2: pass `batch=`"):
        res.to_pandas()
    with pytest.raises(ValueError, match=r"`batch` must be an int in 0 \.\. 1, got 2"):
        res.to_pandas(batch=2)
    unbatched = sim.run(net, np.zeros((3, 2)))
    assert unbatched.to_pandas().shape == (4, 5)
    with pytest.raises(ValueError, match="unbatched"):
        unbatched.to_pandas(batch=1)


def test_missing_xarray_is_a_clear_error(net, monkeypatch):
    monkeypatch.setitem(sys.modules, "xarray", None)
    res = sim.run(net, np.zeros((2, 2)))
    with pytest.raises(ImportError, match=r'pip install "graphrnn\[xarray\]"'):
        res.to_xarray()
