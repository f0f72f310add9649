"""The dense path of discrete BPTT (`simulator._kernels.dense.bptt_dense`
after `dense.run_sync_dense`): densely wired hidden neurons go through BLAS
both ways. Gradients against central differences of the NumPy reference's
loss, and equal to the sparse pass's to rounding with every BPTT option."""

import sys

import numpy as np
import pytest

import simulator as sim
import topologies as tp
from simulator._kernels import dense

from . import reference

from .test_bptt import _check, _finite_differences
from .test_run import _all_kinds_graph

BPTT = sys.modules["simulator.bptt"]  # `simulator.bptt` is the function


@pytest.fixture
def dense_calls(monkeypatch):
    """Force the dense path on any network and count its backward passes."""
    calls = []
    kernel = BPTT.bptt_dense
    monkeypatch.setattr(BPTT, "use_dense", lambda net: True)
    monkeypatch.setattr(BPTT, "bptt_dense", lambda *args: (calls.append(1), kernel(*args))[1])
    return calls


@pytest.mark.parametrize("batch", [None, 3])
@pytest.mark.parametrize("teacher", [False, True])
def test_dense_gradients_match_finite_differences(dense_calls, batch, teacher):
    """Every edge kind (W dense; U, F, V, D sparse), every activation, with and
    without teacher forcing: gradients against central differences."""
    net = sim.compile(_all_kinds_graph())
    rng = np.random.default_rng(20)
    T = 6
    x = rng.normal(size=(T, 2) if batch is None else (T, batch, 2))
    h0 = rng.normal(0, 0.5, (net.n_neurons,) if batch is None else (batch, net.n_neurons))
    targets = rng.normal(size=(T, 2) if batch is None else (T, batch, 2))
    targets[2] = np.nan
    loss, grads = sim.bptt(net, x, targets, h0=h0, teacher_forcing=teacher)
    assert dense_calls
    _check(grads, _finite_differences(net, x, targets, "mse", h0, teacher=teacher))


@pytest.mark.parametrize("kw", [{}, {"teacher_forcing": True}, {"truncate": 3}, {"checkpoint": 4},
                                {"checkpoint": True, "truncate": 4}, {"clip": 0.05}])
def test_dense_equals_sparse_to_rounding(monkeypatch, kw):
    """Truncation, forcing, checkpointing and clipping: the dense pass gives
    the sparse pass's loss and gradients to rounding, and the same dh norms."""
    net = sim.compile(_all_kinds_graph())
    rng = np.random.default_rng(21)
    x, targets = rng.normal(size=(10, 2, 2)), rng.normal(size=(10, 2, 2))
    targets[::3, 0] = np.nan
    monkeypatch.setattr(BPTT, "use_dense", lambda net: False)
    l0, g0 = sim.bptt(net, x, targets, **kw)
    flow0 = sim.bptt(net, x, targets, return_diagnostics=True, **kw)[1].diagnostics["dh_norm"]
    monkeypatch.setattr(BPTT, "use_dense", lambda net: True)
    l1, g1 = sim.bptt(net, x, targets, **kw)
    assert l1 == pytest.approx(l0, rel=1e-13)
    for name in ("weight", "bias", "h0"):
        np.testing.assert_allclose(getattr(g1, name), getattr(g0, name), rtol=1e-12, atol=1e-14, err_msg=name)
    np.testing.assert_allclose(sim.bptt(net, x, targets, **kw)[1].norm(), g0.norm(), rtol=1e-12)
    np.testing.assert_allclose(flow0, sim.bptt(net, x, targets, return_diagnostics=True, **kw)[1]
                               .diagnostics["dh_norm"], rtol=0)  # diagnostics take the sparse pass


def test_diagnostics_take_the_sparse_pass(dense_calls):
    """The per-step edge contributions come from the sparse pass only."""
    net = sim.compile(_all_kinds_graph())
    x = np.ones((4, 2))
    sim.bptt(net, x, np.zeros((4, 2)), return_diagnostics=True)
    assert not dense_calls
    sim.bptt(net, x, np.zeros((4, 2)))
    assert dense_calls


def test_a_fully_connected_elman_takes_the_dense_pass(monkeypatch):
    """`tp.elman` with 64 hidden neurons is dense enough: bptt takes the BLAS
    pass on its own, float64 and float32, with the sparse pass's gradients."""
    calls = []
    kernel = BPTT.bptt_dense
    monkeypatch.setattr(BPTT, "bptt_dense", lambda *args: (calls.append(1), kernel(*args))[1])
    rng = np.random.default_rng(22)
    x, y = rng.normal(size=(12, 4, 2)), rng.normal(size=(12, 4, 1))
    for dtype, rtol in (("float64", 1e-11), ("float32", 2e-4)):
        net = sim.compile(tp.elman(2, 64, 1, seed=0), dtype=dtype)
        xd, yd = x.astype(dtype), y.astype(dtype)
        loss, grads = sim.bptt(net, xd, yd)
        assert calls and grads.weight.dtype == np.dtype(dtype)
        calls.clear()
        monkeypatch.setattr(BPTT, "use_dense", lambda net: False)
        l0, g0 = sim.bptt(net, xd, yd)
        monkeypatch.undo()
        monkeypatch.setattr(BPTT, "bptt_dense", lambda *args: (calls.append(1), kernel(*args))[1])
        assert loss == pytest.approx(l0, rel=rtol)
        scale = np.abs(g0.weight).max()
        np.testing.assert_allclose(grads.weight, g0.weight, rtol=rtol, atol=rtol * scale)
        np.testing.assert_allclose(grads.h0, g0.h0, rtol=rtol, atol=rtol * np.abs(g0.h0).max())


SIMULATE = sys.modules["simulator.simulate"]


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.parametrize("batch", [None, 3])
def test_dense_run_matches_reference(monkeypatch, dtype, tol, batch):
    """`sim.run` through the dense matrices on a graph of every edge kind and
    activation (mixed, so per neuron), forced and free, against the NumPy
    reference's loop."""
    G = _all_kinds_graph()
    net = sim.compile(G, dtype=dtype)
    calls = []
    kernel = SIMULATE.dense_kernels.run_sync_dense
    monkeypatch.setattr(SIMULATE, "use_dense", lambda net: True)
    monkeypatch.setattr(SIMULATE.dense_kernels, "run_sync_dense", lambda *args: (calls.append(1), kernel(*args))[1])
    rng = np.random.default_rng(23)
    T = 9
    x = rng.normal(size=(T, 2) if batch is None else (T, batch, 2))
    h0 = rng.normal(0, 0.5, (net.n_neurons,) if batch is None else (batch, net.n_neurons))
    targets = rng.normal(size=(T, 2) if batch is None else (T, batch, 2))
    targets[::3, ..., 1] = np.nan
    for teacher in (None, targets):
        kw = {} if teacher is None else {"targets": teacher, "teacher_forcing": True}
        res = sim.run(net, x.astype(dtype), h0=h0.astype(dtype), **kw)
        states, outputs = reference.run_discrete(G, x, h0, teacher=teacher)
        assert calls and res.states.dtype == np.dtype(dtype)
        calls.clear()
        np.testing.assert_allclose(res.states, states, rtol=tol, atol=tol)
        np.testing.assert_allclose(res.outputs, outputs, rtol=tol, atol=tol)


def test_dense_run_reports_the_first_nonfinite_step(monkeypatch):
    """An identity neuron that doubles its own state overflows at the same
    step through the dense matrices as through the sparse tables."""
    G = _all_kinds_graph(feedback=False)
    G.add_edge("h6", "h6", weight=1e100)  # identity
    net = sim.compile(G)
    x = np.ones((8, 2))
    messages = []
    for blas in (False, True):
        monkeypatch.setattr(SIMULATE, "use_dense", lambda net: blas)
        with pytest.raises(sim.NonFiniteError) as err:
            sim.run(net, x)
        messages.append(str(err.value))
    assert "step" in messages[0] and messages[1] == messages[0]


def test_blocks_hold_every_in_edge():
    """`blocks`' M = [W | U | F | b] and V against the reference's dense
    matrices of the same graph."""
    G = _all_kinds_graph()
    net = sim.compile(G)
    M, V = dense.blocks(net.wiring(), net.n_inputs)
    d = reference.Dense(G)
    np.testing.assert_array_equal(M, np.hstack([d.W, d.U, d.F, d.b[:, None]]))
    np.testing.assert_array_equal(V, d.V)
