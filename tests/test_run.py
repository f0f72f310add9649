"""`simulator.run` in discrete time against the plain-NumPy reference."""

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, strategies as st

import simulator as sim

from . import reference as ref
from .strategies import graphs


def _inputs(net, T, batch=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (T, net.n_inputs) if batch is None else (T, batch, net.n_inputs)
    return rng.normal(0, 1, shape)


@given(graphs(), st.sampled_from([None, 3]))
def test_matches_reference(G, batch):
    """Every edge kind, mixed activations, batched and unbatched, against the dense reference."""
    net = sim.compile(G)
    x = _inputs(net, 6, batch)
    rng = np.random.default_rng(1)
    h0 = rng.normal(0, 1, (net.n_neurons,) if batch is None else (batch, net.n_neurons))
    res = sim.run(net, x, h0)
    states, outputs = ref.run_discrete(G, x, h0)
    np.testing.assert_allclose(res.states, states, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.outputs, outputs, rtol=1e-12, atol=1e-12)
    assert res.states.shape == states.shape and res.outputs.shape == outputs.shape
    np.testing.assert_array_equal(res.times, np.arange(7))


def _all_kinds_graph(feedback=True):
    """A fixed small graph with every edge kind (output -> hidden only with
    `feedback`) and every smooth activation."""
    rng = np.random.default_rng(42)
    G = nx.DiGraph()
    G.add_nodes_from(["x0", "x1"], role="input")
    acts = ["tanh", "sigmoid", "hard_sigmoid", "relu", "elu", "softplus", "identity"]
    for k, a in enumerate(acts):
        G.add_node(f"h{k}", activation=a, bias=0.1 * k - 0.3)
    G.add_node("y0", role="output", activation="tanh", bias=0.2)
    G.add_node("y1", role="output", bias=-0.1)
    hidden = [f"h{k}" for k in range(len(acts))]
    for u in hidden:
        for v in hidden:
            if rng.random() < 0.5:
                G.add_edge(u, v, weight=rng.normal(0, 0.8))
        G.add_edge("x0", u, weight=rng.normal())
        G.add_edge(u, "y0", weight=rng.normal())
        G.add_edge(u, "y1", weight=rng.normal())
        G.add_edge("y1", u, weight=rng.normal(0, 0.5))
    G.add_edge("x1", "y0", weight=0.7)
    G.add_edge("x1", "h2", weight=-1.2)
    G.add_edge("y0", "h0", weight=0.9)
    if not feedback:
        G.remove_edges_from([(u, v) for u, v in list(G.edges) if G.nodes[u].get("role") == "output"])
    return G


def test_every_edge_kind_present():
    """The fixed graph exercises W, U, F, V and D."""
    net = sim.compile(_all_kinds_graph())
    assert all(c > 0 for c in net.edge_counts().values())


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.parametrize("batch", [None, 4])
def test_all_kinds_reference_and_dtype(dtype, tol, batch):
    """float64 and float32 runs match the reference; float32 stays float32 throughout."""
    G = _all_kinds_graph()
    net = sim.compile(G, dtype=dtype)
    x = _inputs(net, 12, batch)
    res = sim.run(net, x)
    states, outputs = ref.run_discrete(G, x)
    np.testing.assert_allclose(res.states, states, rtol=tol, atol=tol)
    np.testing.assert_allclose(res.outputs, outputs, rtol=tol, atol=tol)
    for a in (res.states, res.outputs, res.times, res.inputs):
        assert a.dtype == np.dtype(dtype)


@pytest.mark.parametrize("batch", [None, 3])
def test_parallel_kernel_equals_serial(batch):
    """The threaded kernel gives the same numbers as the single-threaded one."""
    net = sim.compile(_all_kinds_graph())
    x = _inputs(net, 9, batch)
    a = sim.run(net, x, parallel=True)
    b = sim.run(net, x, parallel=False)
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.outputs, b.outputs)


def _dense_graph(n=70, seed=3):
    """Densely wired hidden neurons (about 60% of all pairs, mixed
    activations) with inputs, outputs, feedback and a skip edge."""
    rng = np.random.default_rng(seed)
    G = nx.DiGraph()
    G.add_nodes_from(["x0", "x1"], role="input")
    acts = ["tanh", "sigmoid", "relu", "elu"]
    G.add_nodes_from((i, {"activation": acts[i % 4], "bias": rng.normal(0, 0.2)}) for i in range(n))
    G.add_node("y", role="output", activation="tanh")
    for i in range(n):
        for j in range(n):
            if rng.random() < 0.6:
                G.add_edge(j, i, weight=rng.normal(0, 1.2 / np.sqrt(n)))
        G.add_edge("x0" if i % 2 else "x1", i, weight=rng.normal())
        G.add_edge(i, "y", weight=rng.normal(0, 0.3))
        if i % 5 == 0:
            G.add_edge("y", i, weight=0.5)
    G.add_edge("x1", "y", weight=-0.4)
    return G


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.parametrize("batch", [None, 5])
def test_dense_path_matches_reference(dtype, tol, batch):
    """A densely wired network runs its W block through BLAS; the result still
    follows the reference, teacher forcing included."""
    from simulator.simulate import use_dense

    G = _dense_graph()
    net = sim.compile(G, dtype=dtype)
    assert use_dense(net)
    x = _inputs(net, 10, batch)
    res = sim.run(net, x)
    states, outputs = ref.run_discrete(G, x)
    np.testing.assert_allclose(res.states, states, rtol=tol, atol=tol)
    np.testing.assert_allclose(res.outputs, outputs, rtol=tol, atol=tol)
    assert res.states.dtype == np.dtype(dtype)
    targets = np.where(np.arange(10)[:, None] % 2, np.nan, 0.5) if batch is None else \
        np.broadcast_to(np.where(np.arange(10)[:, None, None] % 2, np.nan, 0.5), (10, batch, 1))
    forced = sim.run(net, x, targets=targets, teacher_forcing=True)
    states, outputs = ref.run_discrete(G, x, teacher=targets)
    np.testing.assert_allclose(forced.states, states, rtol=tol, atol=tol)
    sparse_net = sim.compile(_all_kinds_graph())
    assert not use_dense(sparse_net)


@pytest.mark.parametrize("batch", [None, 2])
def test_teacher_forcing_matches_reference(batch):
    """Forced feedback reads the target where given, the output where the target is NaN."""
    G = _all_kinds_graph()
    net = sim.compile(G)
    x = _inputs(net, 8, batch)
    rng = np.random.default_rng(5)
    targets = rng.normal(0, 1, (8, net.n_outputs) if batch is None else (8, batch, net.n_outputs))
    targets[::3] = np.nan
    res = sim.run(net, x, targets=targets, teacher_forcing=True)
    states, outputs = ref.run_discrete(G, x, teacher=targets)
    np.testing.assert_allclose(res.states, states, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.outputs, outputs, rtol=1e-12, atol=1e-12)
    free = sim.run(net, x)
    assert not np.allclose(free.states, res.states)


def test_sign_activation():
    """sign gives -1, 0, +1 like numpy.sign."""
    G = nx.DiGraph()
    G.add_node("x", role="input")
    for k, w in enumerate([2.0, 0.0, -3.0]):
        G.add_edge("x", k, weight=w)
        G.nodes[k]["activation"] = "sign"
    res = sim.run(sim.compile(G), np.ones((2, 1)))
    np.testing.assert_array_equal(res.states[1], [1.0, 0.0, -1.0])


@pytest.mark.parametrize("batch", [None, 2])
def test_async_matches_reference(batch):
    """Asynchronous sweeps update neurons in place in the recorded order."""
    G = _all_kinds_graph()
    net = sim.compile(G)
    x = _inputs(net, 5, batch)
    h0 = np.random.default_rng(3).normal(0, 1, (net.n_neurons,) if batch is None else (batch, net.n_neurons))
    res = sim.run(net, x, h0, update="async", seed=11)
    orders = res.info["order"]
    assert all(sorted(o) == list(range(net.n_neurons)) for o in orders)
    states, outputs = ref.run_async(G, x, h0, orders)
    np.testing.assert_allclose(res.states, states, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.outputs, outputs, rtol=1e-12, atol=1e-12)
    again = sim.run(net, x, h0, update="async", seed=11)
    np.testing.assert_array_equal(again.states, res.states)
    other = sim.run(net, x, h0, update="async", seed=12)
    assert not np.array_equal(other.info["order"], orders)


def test_hopfield_recall_by_hand():
    """A Hebbian sign network (built here by hand) recalls stored patterns from corrupted probes."""
    rng = np.random.default_rng(0)
    n, patterns = 64, rng.choice([-1.0, 1.0], size=(3, 64))
    W = patterns.T @ patterns / n
    G = nx.DiGraph()
    G.add_nodes_from(range(n), activation="sign")
    G.add_weighted_edges_from((j, i, W[i, j]) for i in range(n) for j in range(n) if i != j)
    net = sim.compile(G)
    probes = patterns.copy()
    for p in probes:
        p[rng.choice(n, 6, replace=False)] *= -1
    res = sim.run(net, 5, h0=probes, update="async", seed=0)
    np.testing.assert_array_equal(res.states[-1], patterns)


def test_int_steps_and_batched_h0():
    """An int runs that many zero-input steps; a batched h0 batches the run."""
    G = _all_kinds_graph()
    net = sim.compile(G)
    h0 = np.random.default_rng(0).normal(size=(2, net.n_neurons))
    res = sim.run(net, 4, h0)
    states, _ = ref.run_discrete(G, np.zeros((4, 2, 2)), h0)
    assert res.states.shape == (5, 2, net.n_neurons) and res.outputs.shape == (4, 2, 2)
    np.testing.assert_allclose(res.states, states, rtol=1e-12, atol=1e-12)
    assert sim.run(net, 0).states.shape == (1, net.n_neurons)


def test_relabelling_permutes_states():
    """Reordering the nodes of the graph permutes the state columns the same way."""
    G = _all_kinds_graph()
    order = list(reversed(list(G)))
    H = nx.DiGraph()
    H.add_nodes_from((n, G.nodes[n]) for n in order)
    H.add_edges_from(G.edges(data=True))
    a, b = sim.compile(G), sim.compile(H)
    x = _inputs(a, 6)
    ra, rb = sim.run(a, x), sim.run(b, x[:, [a.inputs.index(n) for n in b.inputs]])
    for n in a.neurons + a.outputs:
        np.testing.assert_allclose(ra[n], rb[n], rtol=1e-13, atol=1e-13)


def test_zero_weight_edge_changes_nothing():
    """Adding an edge of weight zero leaves the history unchanged."""
    G = _all_kinds_graph()
    H = G.copy()
    H.add_edge("h6", "h1", weight=0.0) if not H.has_edge("h6", "h1") else None
    H.add_edge("x0", "y1", weight=0.0)
    x = _inputs(sim.compile(G), 7)
    np.testing.assert_array_equal(sim.run(sim.compile(G), x).states, sim.run(sim.compile(H), x).states)


def test_chunked_run_equals_full_run():
    """Running T1 steps then T2 more from the last state equals one run of T1 + T2."""
    G = _all_kinds_graph(feedback=False)
    net = sim.compile(G)
    x = _inputs(net, 10)
    full = sim.run(net, x)
    first = sim.run(net, x[:4])
    second = sim.run(net, x[4:], h0=first.states[-1])
    np.testing.assert_array_equal(np.concatenate([first.states, second.states[1:]]), full.states)
    np.testing.assert_array_equal(np.concatenate([first.outputs, second.outputs]), full.outputs)


def test_result_access_and_repr(four_neuron):
    """res[name] gives neuron, output and input traces; repr is readable."""
    net = sim.compile(four_neuron)
    x = _inputs(net, 5, 2)
    res = sim.run(net, x)
    np.testing.assert_array_equal(res["B1"], res.states[:, :, net.neurons.index("B1")])
    np.testing.assert_array_equal(res["Output"], res.outputs[..., 0])
    np.testing.assert_array_equal(res["Input2"], x[..., 1])
    with pytest.raises(KeyError, match="no node named 'C9'"):
        res["C9"]
    assert repr(res) == ("Result(discrete, 5 steps, batch 2, 4 neurons, 1 output; "
                         "states (6, 2, 4), outputs (5, 2, 1), float64)")


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("x, h0, kwargs, kind, match", [
    (np.zeros((5, 3)), None, {}, ValueError,
     r"`x` must have shape \(n_steps, 2\) or \(n_steps, batch, 2\) for inputs \('Input1', 'Input2'\); got \(5, 3\)"),
    (np.zeros(5), None, {}, ValueError, r"`x` must have shape .*; got \(5,\)"),
    (np.full((5, 2), np.inf), None, {}, ValueError, r"`x` has a non-finite value inf at index \(0, 0\)"),
    (np.zeros((5, 2)), np.zeros(3), {}, ValueError, r"`h0` must have shape \(4,\) or \(batch, 4\); got \(3,\)"),
    (np.zeros((5, 2, 2)), np.zeros((3, 4)), {}, ValueError, r"`h0` must have shape \(4,\) or \(2, 4\) for a batch of 2; got \(3, 4\)"),
    (np.zeros((5, 2)), [np.nan] * 4, {}, ValueError, r"`h0` has a non-finite value nan at index \(0,\)"),
    (np.array([["a", "b"]]), None, {}, TypeError, r"`x` must hold real numbers"),
    (-1, None, {}, ValueError, r"`x` as a number of steps must be >= 0, got -1"),
    (np.zeros((5, 2)), None, {"update": "random"}, ValueError, r"`update` must be one of \('sync', 'async'\), got 'random'"),
    (np.zeros((5, 2)), None, {"teacher_forcing": True}, ValueError, r"`teacher_forcing=True` needs `targets`"),
    (np.zeros((5, 2)), None, {"teacher_forcing": True, "targets": np.zeros((4, 1))}, ValueError,
     r"`targets` must have the outputs' shape \(5, 1\); got \(4, 1\)"),
    (np.zeros((5, 2)), None, {"teacher_forcing": True, "targets": np.full((5, 1), np.inf)}, ValueError,
     r"`targets` has an infinite value at index \(0, 0\)"),
])
def test_run_errors(four_neuron, x, h0, kwargs, kind, match):
    """Bad inputs are refused with the expected shape or the offending value."""
    net = sim.compile(four_neuron)
    with pytest.raises(kind, match=match):
        sim.run(net, x, h0, **kwargs)


def test_float32_refuses_inputs_beyond_its_range(four_neuron):
    """A finite float64 input that float32 cannot hold is named as such
    (not as the inf the cast would make of it)."""
    net = sim.compile(four_neuron, dtype="float32")
    x = np.zeros((3, 2))
    x[1, 0] = 1e300
    with pytest.raises(ValueError, match=r"`x` has the value 1e\+300 at index \(1, 0\), beyond the range of float32"):
        sim.run(net, x)


@pytest.mark.parametrize("batched", [False, True])
def test_result_inputs_do_not_follow_the_callers_array(four_neuron, batched):
    """`Result.inputs` keeps the inputs the run was driven with, even when
    the caller's array changes afterwards."""
    net = sim.compile(four_neuron)
    x = np.random.default_rng(0).normal(size=(5, 3, 2) if batched else (5, 2))
    res = sim.run(net, x)
    kept = x.copy()
    x[:] = 0.0
    np.testing.assert_array_equal(res.inputs, kept)


def test_run_warns_on_options_without_effect(four_neuron):
    """`targets` without teacher forcing and `seed` with sync updates warn."""
    net = sim.compile(four_neuron)
    with pytest.warns(UserWarning, match="`targets` has no effect without `teacher_forcing=True`"):
        sim.run(net, np.zeros((3, 2)), targets=np.zeros((3, 1)))
    with pytest.warns(UserWarning, match="`seed` has no effect with update='sync'"):
        sim.run(net, np.zeros((3, 2)), seed=1)
    with pytest.raises(TypeError, match="`net` must be a Network"):
        sim.run(four_neuron, np.zeros((3, 2)))


@pytest.mark.parametrize("batch", [None, 3])
def test_overflow_names_step_and_neuron(batch):
    """A relu chain with gain 10 overflows; the error names where it began."""
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_edge("x", "a", weight=1.0)
    G.add_edge("a", "b", weight=1e200)
    G.add_edge("b", "b", weight=1e200)
    G.add_edge("b", "y", weight=1.0)
    G.nodes["y"]["role"] = "output"
    for n in "ab":
        G.nodes[n]["activation"] = "relu"
    net = sim.compile(G)
    x = np.ones((6, 1) if batch is None else (6, batch, 1))
    # h_a = 1 from step 0; b = 1e200 at step 1; b*1e200 = inf at step 2 -> states[3]
    with pytest.raises(sim.NonFiniteError, match=r"non-finite at step 2 \(states\[3\], time 3\): first in neuron 'b'") as err:
        sim.run(net, x)
    assert err.value.states.shape[0] == 7
    res = sim.run(net, x, check_finite=False)
    assert np.isinf(res["b"][3]).all()


def test_output_overflow_is_reported():
    """An output that overflows while the states stay finite is reported by name."""
    G = nx.DiGraph([("x", "h"), ("h", "y")])
    G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    G.edges["h", "y"]["weight"] = 1e308
    G.add_edge("x", "y", weight=1e308)
    G.nodes["y"]["activation"] = "elu"
    with pytest.raises(sim.NonFiniteError, match=r"the output became non-finite at step 0: first in output 'y'"):
        sim.run(sim.compile(G), np.full((2, 1), 5.0))


@pytest.mark.parametrize("mixed", [False, True])
def test_relu_and_sign_give_plus_zero_and_relu_of_minus_inf_is_zero(mixed):
    """relu(a <= 0) is +0 (no -0 in printed states), relu(-inf) = 0 (not NaN),
    sign(0) = +0; through the uniform-activation path and the mixed one."""
    G = nx.DiGraph()
    G.add_nodes_from(["x0", "x1"], role="input")
    G.add_node("r", activation="relu")
    G.add_node("s", activation="sign")
    G.add_node("t", activation="tanh" if mixed else "relu")
    G.add_edge("x0", "r", weight=-1e308)
    G.add_edge("x1", "r", weight=-1e308)
    G.add_edge("x0", "t", weight=0.5)
    net = sim.compile(G)
    res = sim.run(net, np.array([[1.0, 1.0], [0.0, 0.0], [-3.0, 0.0]]), check_finite=False)
    r, s, t = res["r"], res["s"], res["t"]
    assert r[1] == 0.0 and not np.signbit(r).any()  # -1e308 - 1e308 = -inf -> 0
    assert (s == 0.0).all() and not np.signbit(s).any()
    if not mixed:  # a relu too
        assert not np.signbit(t).any() and t[3] == 0.0
