"""The sparse forward pass with a batch of whole register blocks
(`simulator._kernels.lanes`: 32 float32 or 8 float64 columns) against the
plain-NumPy reference and against the one-column path."""

import networkx as nx
import numpy as np
import pytest

import simulator as sim

from . import reference as ref


def _sparse_graph(n=20, seed=3):
    """`n` tanh neurons with 3 recurrent in-edges each, two inputs, two
    outputs, one of them fed back: every segment of a row is non-empty
    somewhere, and the graph is far below the dense path's fill."""
    rng = np.random.default_rng(seed)
    G = nx.DiGraph()
    G.add_nodes_from(["x0", "x1"], role="input")
    G.add_nodes_from(range(n), bias=0.0)
    for v in range(n):
        G.nodes[v]["bias"] = float(rng.normal(0, 0.2))
        for u in rng.choice(n, 3, replace=False):
            G.add_edge(int(u), v, weight=float(rng.normal(0, 0.7)))
        G.add_edge("x0" if v % 2 else "x1", v, weight=float(rng.normal()))
    G.add_node("y0", role="output", activation="tanh")
    G.add_node("y1", role="output")
    for v in range(0, n, 2):
        G.add_edge(v, "y0", weight=float(rng.normal(0, 0.3)))
        G.add_edge(v + 1, "y1", weight=float(rng.normal(0, 0.3)))
        G.add_edge("y1", v, weight=float(rng.normal(0, 0.3)))
    return G


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.parametrize("batch", [8, 32, 40, 64])
def test_blocked_batches_match_reference(dtype, tol, batch):
    """Batches of whole blocks (and 40: whole float64 blocks, not float32)
    match the reference, every edge kind and the feedback included."""
    G = _sparse_graph()
    net = sim.compile(G, dtype=dtype)
    assert not sim.simulate.use_dense(net)
    rng = np.random.default_rng(batch)
    x = rng.normal(0, 1, (9, batch, 2))
    h0 = rng.normal(0, 1, (batch, net.n_neurons))
    res = sim.run(net, x, h0, parallel=False)
    states, outputs = ref.run_discrete(G, x, h0)
    np.testing.assert_allclose(res.states, states, rtol=tol, atol=tol)
    np.testing.assert_allclose(res.outputs, outputs, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("parallel", [False, True])
def test_blocked_batch_equals_one_column_runs_bit_for_bit(dtype, parallel):
    """Each element of a batch of 32 equals the run of that element alone
    (the one-column path), to the bit: the blocks add the same terms in the
    same order."""
    net = sim.compile(_sparse_graph(), dtype=dtype)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (7, 32, 2)).astype(dtype)
    h0 = rng.normal(0, 1, (32, net.n_neurons)).astype(dtype)
    res = sim.run(net, x, h0, parallel=parallel)
    for b in (0, 7, 8, 31):
        alone = sim.run(net, x[:, b], h0[b], parallel=False)
        np.testing.assert_array_equal(res.states[:, b], alone.states)
