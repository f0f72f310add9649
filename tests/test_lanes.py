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
@pytest.mark.parametrize("batch", [8, 16, 24, 32, 40, 64])
def test_blocked_batches_match_reference(dtype, tol, batch):
    """Batches of whole blocks (and 16, 24, 40: whole float64 blocks, not
    float32; up to four blocks a row is summed all at once) match the
    reference, every edge kind and the feedback included."""
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
@pytest.mark.parametrize("batch", [24, 32, 64])
def test_blocked_batch_equals_one_column_runs_bit_for_bit(dtype, parallel, batch):
    """Each element of a batch of 24, 32 or 64 equals the run of that
    element alone (the one-column path), to the bit: the blocks add the
    same terms in the same order, a row of up to four blocks at once or
    block by block."""
    net = sim.compile(_sparse_graph(), dtype=dtype)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (7, batch, 2)).astype(dtype)
    h0 = rng.normal(0, 1, (batch, net.n_neurons)).astype(dtype)
    res = sim.run(net, x, h0, parallel=parallel)
    for b in (0, 7, 8, batch - 1):
        alone = sim.run(net, x[:, b], h0[b], parallel=False)
        np.testing.assert_array_equal(res.states[:, b], alone.states)


def test_a_column_of_values_not_one_apart_gives_the_bits_of_the_register_path():
    """A batch of 1 whose values are a column of a wider array (not one
    apart, so `lanes.unit_value` may not read them) goes through the
    slot-by-slot paths, forward (`poll`) and backward (`hidden_rows`), and
    gives the bits of the batch-of-1 path in registers."""
    from simulator._kernels.backward import hidden_rows
    from simulator._kernels.forward import poll
    from simulator._kernels.lanes import unit_rows

    net = sim.compile(_sparse_graph())
    w, wt = net.wiring(), net.wiring_t()
    n, rng = net.n_neurons, np.random.default_rng(5)

    def column(values, apart):
        """`values` (rows, 1) as they are, or as column 0 of a (rows, 2) array."""
        if not apart:
            return np.ascontiguousarray(values)
        wide = np.zeros((values.shape[0], 2))
        wide[:, :1] = values
        return wide[:, :1]

    h, hn, da_next = (np.tanh(rng.normal(size=(n, 1))) for _ in range(3))
    xt, yhat, dz = rng.normal(size=(2, 1)), rng.normal(size=(2, 1)), rng.normal(size=(2, 1))
    results = []
    for apart in (False, True):
        args = [column(a, apart) for a in (h, xt, yhat, dz, da_next)]
        assert unit_rows(args[0]) is not apart
        out = np.zeros((n, 1))
        poll(w.hidden.ptr, w.hidden.index, w.hidden.weight, w.bias_h, w.act_h, w.uniform_h, args[0], args[1],
             args[2], out, 0, n)
        da, dh = np.zeros((n, 1)), np.zeros((n, 1))
        g_weight, g_out, g_bias = np.zeros(net.n_edges), np.zeros(wt.hidden.index.size), np.zeros(n + 2)
        hidden_rows(w.hidden.ptr, w.hidden.index, wt.hidden.ptr, wt.hidden.index, wt.hidden.weight, w.act_h,
                    args[0], hn, args[1], args[2], args[3], args[4], da, dh, g_weight, g_out, g_bias,
                    np.zeros((0, net.n_edges)), 0, 0, n)
        results.append((out, da, dh, g_weight, g_out, g_bias))
    assert np.abs(results[0][4]).max() > 0 and np.abs(results[0][3]).max() > 0
    for mine, general in zip(*results):
        np.testing.assert_array_equal(general, mine)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (1, 32), (4, 8), (5, 32), (33, 1), (10, 13), (2, 64)])
def test_the_norm_of_the_backward_diagnostics_is_the_two_norm(dtype, shape):
    """`backward.norm` (blocks of 32 values in four float64 buffers, then
    the values after the last block): the 2-norm NumPy computes in float64,
    whatever the size (no block, blocks with and without a tail)."""
    from simulator._kernels.backward import norm

    rng = np.random.default_rng(sum(shape))
    a = np.ascontiguousarray(rng.normal(size=shape).astype(dtype))
    a.flat[-1] = 1e3  # a value in the tail, or the last block's last vector
    assert norm(a) == pytest.approx(np.linalg.norm(a.astype(np.float64)), rel=1e-14)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("uniform", ["tanh", "sigmoid", "relu", "identity", None])
def test_activations_of_rows_count_the_values_that_come_out_non_finite(dtype, uniform):
    """`activate_rows` counts, in its own loop, the inf and NaN values it
    writes (the forward kernels' overflow check), for every shared
    activation and for mixed ones row by row; rows outside ``lo:hi`` are
    untouched."""
    from simulator._kernels.activations import ACTIVATIONS, activate_rows

    rng = np.random.default_rng(5)
    names = ["tanh", "sigmoid", "relu", "identity"]
    codes = np.array([ACTIVATIONS[uniform or names[i % 4]] for i in range(12)], dtype=np.int8)
    a = rng.normal(0, 3, (12, 8)).astype(dtype)
    a[2, 1], a[4, 3], a[7, 0], a[9, 5], a[1, 2] = np.inf, -np.inf, np.nan, np.inf, np.nan
    out = a.copy()
    bad = activate_rows(codes, ACTIVATIONS[uniform] if uniform else -1, out, 2, 10)
    np.testing.assert_array_equal(out[:2], a[:2])
    np.testing.assert_array_equal(out[10:], a[10:])
    expected = {"tanh": 1, "sigmoid": 1, "relu": 3, "identity": 4, None: 2}[uniform]  # relu(-inf) = 0
    assert bad == np.count_nonzero(~np.isfinite(out[2:10])) == expected


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_an_empty_batch_writes_nothing(dtype):
    """A batch of 0 columns passes the whole-block test (0 is a multiple of
    the block width) but has no block to write: the default and delayed
    forward kernels, given rows that are zero-column views into a larger
    array, leave that array as it was, and `sim.run` returns empty histories."""
    from simulator._kernels.delayed import run_delayed_serial
    from simulator._kernels.forward import poll

    G = _sparse_graph()
    net = sim.compile(G, dtype=dtype)
    w, n = net.wiring(), net.n_neurons
    parent = np.full((3, n, 8), 7.0, dtype=dtype)
    h, out = parent[0, :, :0], parent[1, :, :0]
    xt, yhat = np.zeros((2, 8), dtype=dtype)[:, :0], np.zeros((2, 8), dtype=dtype)[:, :0]
    poll(*w.hidden, w.bias_h, w.act_h, w.uniform_h, h, xt, yhat, out, 0, n)
    assert (parent == 7.0).all()
    for u, v, d in G.edges(data=True):
        d["delay"] = 2 if G.nodes[u].get("role") is None and G.nodes[v].get("role") is None else d.get("delay", None)
        if d["delay"] is None:
            del d["delay"]
    delayed = sim.compile(G, dtype=dtype)
    parent = np.full((5, n, 8), 7.0, dtype=dtype)
    states = parent[:, :, :0]
    x, outputs = np.zeros((4, 2, 0), dtype=dtype), np.zeros((4, 2, 0), dtype=dtype)
    assert run_delayed_serial(delayed.wiring(), delayed.schedule(), delayed.run_delays(), x, states, 0, outputs,
                              outputs, np.zeros((0, 2, 0), dtype=dtype), 0, 4) == -1
    assert (parent == 7.0).all()
    for network in (net, delayed):
        res = sim.run(network, np.zeros((4, 0, 2), dtype=dtype))
        assert res.states.shape == (5, 0, n) and res.outputs.shape == (4, 0, 2)
