"""A gated run's cells and gates in `Result.to_xarray` and through `.npz` files, bit for bit."""

import numpy as np
import pytest

import simulator as sim
import topologies as tp
from simulator.io import FileFormatError, load, save


def _mixed(dtype="float64"):
    G = tp.ring(5, n_inputs=1, n_outputs=1, seed=0)
    tp.gate(G, unit="gru", nodes=[0, 1], seed=1)
    tp.gate(G, unit="lstm", nodes=[3, 2], seed=2)
    return sim.compile(G, dtype=dtype)


@pytest.fixture(scope="module", params=[False, True], ids=["unbatched", "batched"])
def run(request):
    net = _mixed()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 2, 1) if request.param else (7, 1))
    c0 = rng.normal(size=(2, 2) if request.param else 2)
    return net, sim.run(net, x, c0=c0, record_gates=True)


# ------------------------------------------------------------------------ xarray
def test_to_xarray_gates_and_cells(run):
    xr = pytest.importorskip("xarray")
    net, res = run
    batch = ("batch",) if res.batched else ()
    gates = res.to_xarray("gates")
    assert isinstance(gates, xr.DataArray) and gates.name == "gates"
    assert gates.dims == ("gate", "time", *batch, "neuron")
    assert list(gates["gate"].values) == list(res.gates)
    np.testing.assert_array_equal(gates["time"].values, res.times[1:])
    assert list(gates["neuron"].values) == list(net.neurons)
    for key, value in res.gates.items():
        np.testing.assert_array_equal(gates.sel(gate=key).values, value)
    cells = res.to_xarray("cells")
    assert cells.dims == ("time", *batch, "cell")
    assert list(cells["cell"].values) == list(net.cell_neurons)
    np.testing.assert_array_equal(cells["time"].values, res.times)
    np.testing.assert_array_equal(cells.values, res.cells)


def test_to_xarray_all_holds_gates_on_the_full_time_axis(run):
    pytest.importorskip("xarray")
    net, res = run
    ds = res.to_xarray("all")
    assert sorted(ds.data_vars) == ["cells", "gates", "inputs", "outputs", "states"]
    np.testing.assert_array_equal(ds["time"].values, res.times)
    z = ds["gates"].sel(gate="z").values
    assert np.isnan(z[0]).all()
    np.testing.assert_array_equal(z[1:], res.gates["z"])
    np.testing.assert_array_equal(ds["cells"].values, res.cells)
    np.testing.assert_array_equal(ds["states"].values, res.states)
    # The other views are those of a run without gates.
    np.testing.assert_array_equal(res.to_xarray().values, res.states)
    assert res.to_xarray().dims == ds["states"].dims


def test_to_xarray_of_runs_without_gates_is_unchanged():
    pytest.importorskip("xarray")
    net = _mixed()
    res = sim.run(net, np.ones((4, 1)))
    assert sorted(res.to_xarray("all").data_vars) == ["cells", "inputs", "outputs", "states"]
    with pytest.raises(ValueError, match=r"record_gates=True"):
        res.to_xarray("gates")
    plain = sim.run(sim.compile(tp.ring(4, n_inputs=1, n_outputs=1, seed=0)), np.ones((4, 1)))
    assert sorted(plain.to_xarray("all").data_vars) == ["inputs", "outputs", "states"]
    with pytest.raises(ValueError, match=r"LSTM neurons"):
        plain.to_xarray("cells")
    with pytest.raises(ValueError, match=r"`what` must be one of"):
        plain.to_xarray("gate")


# ------------------------------------------------------------------------- files
def _same(a, b):
    assert a is None and b is None or a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batched", [False, True])
def test_npz_round_trip_of_cells_and_gates_bit_for_bit(tmp_path, dtype, batched):
    net = _mixed(dtype)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 3, 1) if batched else (6, 1))
    res = sim.run(net, x, c0=rng.normal(size=2), record_gates=True)
    path = tmp_path / "run.npz"
    save(res, path)
    again = load(path)
    for key in ("states", "outputs", "times", "inputs", "cells"):
        _same(getattr(res, key), getattr(again, key))
    assert list(again.gates) == list(res.gates)
    for key in res.gates:
        _same(res.gates[key], again.gates[key])  # NaN where a neuron has no such gate, kept as is
    assert again.network.cell_neurons == net.cell_neurons


def test_npz_round_trip_without_gates(tmp_path):
    res = sim.run(_mixed(), np.ones((3, 1)))
    save(res, tmp_path / "cells.npz")
    again = load(tmp_path / "cells.npz")
    _same(res.cells, again.cells)
    assert again.gates is None
    plain = sim.run(sim.compile(tp.ring(4, n_inputs=1, n_outputs=1, seed=0)), np.ones((3, 1)))
    save(plain, tmp_path / "plain.npz")
    again = load(tmp_path / "plain.npz")
    assert again.cells is None and again.gates is None
    with np.load(tmp_path / "plain.npz") as z:
        assert not any(k == "cells" or k.startswith("gates/") for k in z.files)


def _rewrite(path, change):
    """Rewrite an .npz result after `change(header, arrays)`."""
    import json
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays.pop("header").tobytes().decode())
    change(header, arrays)
    np.savez(path, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), **arrays)


@pytest.mark.parametrize("change, match", [
    (lambda h, a: a.pop("gates/z"), r"'gates/z' is missing"),
    (lambda h, a: a.__setitem__("gates/f", a["gates/f"][:-1]), r"'gates/f' has dtype .* shape"),
    (lambda h, a: a.__setitem__("cells", a["cells"][:, :1]), r"'cells' has dtype .*\(2 LSTM neurons\)"),
    (lambda h, a: h.__setitem__("gates", "rz"), r"not a list of distinct gate names"),
])
def test_damaged_gate_members_are_named(tmp_path, change, match):
    path = tmp_path / "run.npz"
    save(sim.run(_mixed(), np.ones((4, 1)), record_gates=True), path)
    _rewrite(path, change)
    with pytest.raises(FileFormatError, match=match):
        load(path)
