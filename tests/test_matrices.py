"""`compile_arrays`: the same network as compiling the equivalent graph."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import simulator as sim

from . import reference


def _graph(W, U, V, F, D, bias, out_bias, tau, acts):
    """The equivalent graph, drawn entry by entry from dense matrices."""
    n, n_in, n_out = W.shape[0], U.shape[1], V.shape[0]
    G = nx.DiGraph()
    ins, hid, outs = [f"in{k}" for k in range(n_in)], list(range(n)), [f"out{k}" for k in range(n_out)]
    G.add_nodes_from(ins, role="input")
    for i in hid:
        G.add_node(i, bias=bias[i], tau=tau[i], activation=acts[i])
    for k, o in enumerate(outs):
        G.add_node(o, role="output", bias=out_bias[k])
    for M, rows, cols in ((U, hid, ins), (D, outs, ins), (W, hid, hid), (V, outs, hid), (F, hid, outs)):
        for c, src in enumerate(cols):
            for r, dst in enumerate(rows):
                if M[r, c] != 0:
                    G.add_edge(src, dst, weight=float(M[r, c]))
    return G


def _same(a: sim.Network, b: sim.Network) -> None:
    assert (a.neurons, a.inputs, a.outputs) == (b.neurons, b.inputs, b.outputs)
    assert list(a.edges) == list(b.edges)
    for name in ("edge_kind", "edge_src", "edge_dst", "weight", "bias", "tau", "activation_codes"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name


@st.composite
def matrices(draw):
    n, n_in, n_out = draw(st.integers(1, 6)), draw(st.integers(0, 3)), draw(st.integers(0, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)

    def sparse(shape, p):
        return np.where(rng.random(shape) < p, rng.normal(size=shape), 0.0)

    density = draw(st.floats(0.0, 1.0))
    mats = [sparse((n, n), density), sparse((n, n_in), 0.7), sparse((n_out, n), 0.7),
            sparse((n, n_out), draw(st.sampled_from([0.0, 0.5]))), sparse((n_out, n_in), 0.3)]
    bias, out_bias, tau = rng.normal(size=n), rng.normal(size=n_out), rng.uniform(0.5, 2.0, size=n)
    acts = list(rng.choice(["tanh", "sigmoid", "relu"], size=n))
    return mats, bias, out_bias, tau, acts, seed


@given(matrices(), st.sampled_from(["csr", "csc", "coo", "dense"]))
def test_same_network_and_run_as_the_equivalent_graph(case, fmt):
    (W, U, V, F, D), bias, out_bias, tau, acts, seed = case
    convert = (lambda M: M) if fmt == "dense" else (lambda M: sp.coo_array(M).asformat(fmt))
    net = sim.compile_arrays(convert(W), U=convert(U), V=convert(V), F=convert(F), D=convert(D),
                             bias=bias, output_bias=out_bias, tau=tau, activation=acts)
    G = _graph(W, U, V, F, D, bias, out_bias, tau, acts)
    _same(net, sim.compile(G))
    _same(net, sim.compile(net.to_networkx()))
    x = np.random.default_rng(seed).normal(size=(5, U.shape[1]))
    res = sim.run(net, x)
    ref_states, ref_outputs = reference.run_discrete(G, x)
    np.testing.assert_allclose(res.states, ref_states, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.outputs, ref_outputs, rtol=1e-12, atol=1e-12)


def test_explicit_zeros_and_duplicates_in_sparse_input():
    W = sp.coo_array(([0.0, 1.0, 2.0], ([0, 1, 1], [1, 0, 0])), shape=(2, 2))  # (1, 0) twice: summed
    net = sim.compile_arrays(W)
    assert list(net.edges) == [(0, 1), (1, 0)]
    assert net.weight.tolist() == [3.0, 0.0]


def test_names_float32_and_per_node_settings():
    W = sp.random_array((4, 4), density=0.5, random_state=0, format="csr")
    net = sim.compile_arrays(W, U=np.ones((4, 2)), neurons="abcd", inputs=["p", "q"], dtype="float32",
                             activation=["relu", "tanh", "sigmoid", "elu"], tau=2.0)
    assert net.neurons == tuple("abcd") and net.inputs == ("p", "q") and net.outputs == ()
    assert net.dtype == np.float32 and net.weight.dtype == np.float32
    assert net.activations == ("relu", "tanh", "sigmoid", "elu")
    assert net.tau.tolist() == [2.0] * 4


@pytest.mark.parametrize("call, message", [
    (lambda: sim.compile_arrays(np.ones((2, 3))), r"`W` must be a square \(n, n\) matrix, got shape \(2, 3\)"),
    (lambda: sim.compile_arrays(np.eye(2), U=np.ones((3, 1))), r"`U` must have shape \(2, 1\)"),
    (lambda: sim.compile_arrays(np.eye(2), V=np.ones((1, 2)), D=np.ones((2, 1))),
     r"`D` must have shape \(1, 1\) .* got \(2, 1\)"),
    (lambda: sim.compile_arrays(np.array([[0.0, np.inf], [1.0, 0.0]])), r"`W\[0, 1\]` is inf"),
    (lambda: sim.compile_arrays(np.eye(2), neurons=["a"]), "`neurons` has 1 names but the matrices give 2"),
    (lambda: sim.compile_arrays(np.eye(6), U=np.ones((6, 2)), V=np.ones((6, 2)), outputs=["a", "b"]),
     r"`V` must have shape \(2, 6\) .* got \(6, 2\)"),  # the names fix the size the wrong matrix would set
    (lambda: sim.compile_arrays(np.eye(2), U=np.ones((2, 2)), inputs=["p"]), r"`U` must have shape \(2, 1\)"),
    (lambda: sim.compile_arrays(np.eye(2), bias=[1.0, 2.0, 3.0]), r"`bias` must be a number or have shape \(2,\)"),
    (lambda: sim.compile_arrays(np.eye(2), tau=[1.0, -1.0]), "node 1 has tau -1.0"),
    (lambda: sim.compile_arrays(np.eye(2), activation="swish"), "swish"),
])
def test_bad_input_names_the_matrix_or_node(call, message):
    with pytest.raises(ValueError, match=message):
        call()
