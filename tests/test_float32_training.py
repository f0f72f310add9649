"""float32 training end to end: BPTT, losses, optimisers and `train` keep a
float32 network in float32, and agree with the float64 computation on the
same parameters (the float64 gradients are checked against central
differences in test_bptt).

A float32 network's sums over slots, batch and steps run in float32, as
torch's do, so its gradients differ from the float64 ones of the same
network by float32 rounding, carried through the steps: about 1e-6 of the
largest gradient here; the tests allow 1e-4.
"""

import networkx as nx
import numpy as np
import pytest

import simulator as sim
import topologies as tp
from simulator.losses import cross_entropy, mse
from simulator.optim import adam_step, sgd_step

RTOL = 1e-4


def _graph(feedback: bool = False) -> nx.DiGraph:
    G = tp.fixed_indegree(12, 3, n_inputs=2, n_outputs=2, seed=3)
    for v in range(12):
        G.nodes[v]["bias"] = 0.1 * ((v % 5) - 2)
    if feedback:  # output -> hidden edges (F), fed back one step later
        G.add_edge("out0", 3, weight=0.4)
        G.add_edge("out1", 7, weight=-0.3)
    return G


def _pair(G: nx.DiGraph) -> tuple[sim.Network, sim.Network]:
    """The float32 network of `G` and the float64 network of its (float32) parameters."""
    net32 = sim.compile(G, dtype="float32")
    return net32, sim.compile(net32.to_networkx(), dtype="float64")


def _close(a32, a64, what):
    """float32 values within RTOL of the float64 ones, relative to the array's largest entry."""
    assert a32.dtype == np.float32, what
    scale = max(float(np.abs(a64).max()), 1e-30)
    err = float(np.abs(a32.astype(np.float64) - a64).max()) / scale
    assert err < RTOL, f"{what}: float32 off by {err:.1e} of its largest entry"


CASES = {
    "unbatched": dict(batch=None),
    "batch": dict(batch=5),
    "batch, shared h0, truncated": dict(batch=4, h0="shared", truncate=3),
    "feedback, teacher forcing": dict(batch=3, feedback=True, teacher_forcing=True),
    "feedback, checkpointed": dict(batch=3, feedback=True, checkpoint=True),
    "cross-entropy": dict(batch=4, loss="cross_entropy"),
    "rk4": dict(batch=3, dt=0.2, method="rk4"),
    "euler, unbatched": dict(batch=None, dt=0.1, method="euler"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_float32_gradients_match_float64_of_the_same_network(case):
    """Every gradient and diagnostic of a float32 network is float32 and
    within 1e-4 (of the largest entry) of the float64 network holding the
    same parameters; the losses agree to float32 rounding."""
    kw = dict(CASES[case])
    batch, feedback, h0 = kw.pop("batch"), kw.pop("feedback", False), kw.pop("h0", None)
    net32, net64 = _pair(_graph(feedback))
    rng = np.random.default_rng(11)
    lead = (9,) if batch is None else (9, batch)
    x = rng.normal(size=lead + (2,))
    if kw.get("loss") == "cross_entropy":
        targets = rng.integers(-1, 2, size=lead)
    else:
        targets = rng.normal(0, 0.5, size=lead + (2,))
        targets[2] = np.nan
    if h0 == "shared":
        kw["h0"] = rng.normal(0, 0.3, net32.n_neurons)
    l32, g32 = sim.bptt(net32, x, targets, return_diagnostics=True, **kw)
    l64, g64 = sim.bptt(net64, x, targets, return_diagnostics=True, **kw)
    assert l32 == pytest.approx(l64, rel=RTOL)
    for name in ("weight", "bias", "h0", "tau"):
        if name == "tau" and "dt" not in kw:
            assert not g32.tau.any() and g32.tau.dtype == np.float32
            continue
        _close(getattr(g32, name), getattr(g64, name), name)
    _close(g32.diagnostics["dh_norm"], g64.diagnostics["dh_norm"], "dh_norm")
    _close(g32.diagnostics["edge_grad"], g64.diagnostics["edge_grad"], "edge_grad")


def test_float32_checkpoints_and_threads_give_the_same_bits():
    """Checkpointed and threaded float32 BPTT sums in the one-thread order:
    the same gradients bit for bit."""
    net32, _ = _pair(_graph(feedback=True))
    rng = np.random.default_rng(5)
    x, targets = rng.normal(size=(16, 6, 2)), rng.normal(size=(16, 6, 2))
    _, whole = sim.bptt(net32, x, targets)
    _, pieces = sim.bptt(net32, x, targets, checkpoint=5)
    for name in ("weight", "bias", "h0"):
        np.testing.assert_array_equal(getattr(pieces, name), getattr(whole, name), err_msg=name)


def test_losses_keep_float32():
    """`mse` and `cross_entropy` give a float32 dL/dy for float32 outputs,
    equal to the float64 one to float32 rounding; the loss is a Python float."""
    rng = np.random.default_rng(2)
    y = rng.normal(size=(7, 3, 4)).astype(np.float32)
    targets = rng.normal(size=(7, 3, 4)).astype(np.float32)
    targets[1, 0] = np.nan
    classes = rng.integers(-1, 3, size=(7, 4))
    for fn, t in ((mse, targets), (cross_entropy, classes)):
        v32, g32 = fn(y, t)
        v64, g64 = fn(y.astype(np.float64), t.astype(np.float64) if t.dtype.kind == "f" else t)
        assert isinstance(v32, float) and v32 == pytest.approx(v64, rel=1e-6)
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("step, hyper", [(sgd_step, {"momentum": 0.9}), (adam_step, {})])
def test_optimiser_state_stays_float32(step, hyper):
    """Three steps on float32 parameters give float32 parameters and state,
    within float32 rounding of the same steps in float64."""
    rng = np.random.default_rng(4)
    p32 = [rng.normal(size=5).astype(np.float32), rng.normal(size=3).astype(np.float32)]
    grads = [[rng.normal(size=a.shape).astype(np.float32) for a in p32] for _ in range(3)]
    p64 = [a.astype(np.float64) for a in p32]
    s32: dict = {}
    s64: dict = {}
    for g in grads:
        p32, s32 = step(p32, g, s32, 0.05, **hyper)
        p64, s64 = step(p64, [a.astype(np.float64) for a in g], s64, 0.05, **hyper)
    for a32, a64 in zip(p32, p64):
        assert a32.dtype == np.float32
        np.testing.assert_allclose(a32, a64, rtol=1e-5)
    for key, value in s32.items():
        if isinstance(value, list):
            assert all(a.dtype == np.float32 for a in value), key


@pytest.mark.parametrize("kw", [
    dict(optimizer="adam", lr=0.02),
    dict(optimizer="sgd", lr=0.05, momentum=0.5, clip=0.5),
    dict(optimizer="adam", lr=0.02, dt=0.2, method="rk4"),
])
def test_train_keeps_a_float32_network_float32(kw):
    """`train` on a float32 network returns a float32 network (weights,
    biases, time constants, and the graph it exports carries those values)
    that tracks the float64 training of the same parameters."""
    net32, net64 = _pair(_graph())
    rng = np.random.default_rng(8)
    x, targets = rng.normal(size=(10, 4, 2)), rng.normal(0, 0.5, size=(10, 4, 2))
    t32, h32 = sim.train(net32, x, targets, epochs=5, progress=False, **kw)
    t64, h64 = sim.train(net64, x, targets, epochs=5, progress=False, **kw)
    assert t32.dtype == np.float32
    for name in ("weight", "bias", "tau"):
        a32, a64 = getattr(t32, name), getattr(t64, name)
        assert a32.dtype == np.float32, name
        np.testing.assert_allclose(a32, a64, rtol=1e-3, atol=1e-4, err_msg=name)
    np.testing.assert_allclose(h32["loss"], h64["loss"], rtol=1e-4)
    assert h32["loss"][-1] < h32["loss"][0]
    res = sim.run(t32, x)
    assert res.states.dtype == res.outputs.dtype == np.float32
