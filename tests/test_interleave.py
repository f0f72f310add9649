"""Edge tables interleaved eight rows at a time (`simulator.interleave`)
and the batch-1 gather through them (`forward.poll_lanes`): the layout
against an obvious loop, and the kernel's values against the row-by-row
`forward.poll`, bit for bit, padded lanes, NaN sources and unaligned row
ranges included."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator as sim
from simulator.interleave import LANE_ROWS, interleave_rows
from simulator.layout import Rows

from .test_lanes import _sparse_graph


def _rows(counts):
    """A `Rows` table with the given (n_rows, n_parts) segment counts and
    indices numbering the slots."""
    counts = np.asarray(counts, dtype=np.int64)
    n_rows, n_parts = counts.shape
    ends = np.cumsum(counts.ravel()).reshape(n_rows, n_parts)
    ptr = np.zeros((n_rows, n_parts + 1), dtype=np.uint64)
    ptr[:, 1:] = ends
    ptr[1:, 0] = ends[:-1, -1]
    n_slots = int(ends[-1, -1]) if n_rows else 0
    return Rows(ptr, (np.arange(n_slots) * 7 % 101).astype(np.uint32), np.arange(n_slots))


def _layout_by_loops(rows):
    """The interleaved slot of every position, by the definition: chunk
    after chunk, segment after segment, the longest lane's slots, each
    slot's eight lanes side by side (-1 where a lane has no such slot)."""
    ptr = rows.ptr.astype(int)
    slot = []
    for c in range(ptr.shape[0] // LANE_ROWS):
        for q in range(ptr.shape[1] - 1):
            lanes = [range(ptr[c * LANE_ROWS + lane, q], ptr[c * LANE_ROWS + lane, q + 1]) for lane in range(LANE_ROWS)]
            for s in range(max(len(r) for r in lanes)):
                slot.extend(r[s] if s < len(r) else -1 for r in lanes)
    return np.array(slot, dtype=np.int64)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 30).flatmap(
    lambda n: st.lists(st.lists(st.integers(0, 5), min_size=3, max_size=3), min_size=n, max_size=n)))
def test_the_layout_is_the_slots_chunk_by_chunk_slot_major(counts):
    rows = _rows(np.array(counts, dtype=np.int64).reshape(-1, 3))
    t = interleave_rows(rows, max_padded=np.inf)
    expected = _layout_by_loops(rows)
    np.testing.assert_array_equal(t.slot, expected)
    real = expected >= 0
    np.testing.assert_array_equal(t.index[real], rows.index[expected[real]])
    assert not t.index[~real].any()
    n_chunks = len(counts) // LANE_ROWS
    assert t.start.shape == (n_chunks, 4)
    flat = np.diff(rows.ptr.astype(np.int64), axis=1)[:n_chunks * LANE_ROWS]
    for c in range(n_chunks):
        for q in range(3):
            lanes = flat[c * LANE_ROWS:(c + 1) * LANE_ROWS, q]
            at = (c * 3 + q) * LANE_ROWS
            np.testing.assert_array_equal(t.count[at:at + LANE_ROWS], lanes)
            assert t.start[c, q + 1] - t.start[c, q] == LANE_ROWS * lanes.max()
    weight = np.arange(rows.index.size, dtype=np.float64) + 1
    laid = t.with_weights(weight).weight
    np.testing.assert_array_equal(laid[real], weight[expected[real]])
    assert not laid[~real].any()


def test_a_table_padded_beyond_the_limit_is_left_row_by_row():
    """A hub among small rows would pad seven lanes to its count: past
    `MAX_PADDED` values a slot the table gets no chunk; ordered by count,
    the same rows pad little and keep theirs."""
    from simulator.interleave import MAX_PADDED

    counts = np.ones((24, 3), dtype=np.int64)
    counts[::3, 0] = 40  # eight hubs, two or three in each chunk of eight
    rows = _rows(counts)
    padded = interleave_rows(rows, max_padded=np.inf)
    assert padded.slot.size > MAX_PADDED * rows.index.size
    assert interleave_rows(rows).start.shape == (0, 4)
    np.testing.assert_array_equal(interleave_rows(rows).rows, np.arange(24))
    ordered = interleave_rows(rows, by_count=True)
    assert ordered.start.shape == (3, 4) and ordered.slot.size == rows.index.size


def _poll_both(net, h, xt, yhat, lo, hi):
    """`poll` and `poll_lanes` over rows ``lo:hi`` from the same start."""
    from simulator._kernels.forward import poll, poll_lanes

    w = net.wiring()
    outs = []
    for lanes in (False, True):
        out = np.full((net.n_neurons, 1), 7.0, dtype=net.dtype)
        table = (w.hidden.ptr, w.hidden.index, w.hidden.weight, w.bias_h, w.act_h, w.uniform_h, h, xt, yhat, out, lo,
                 hi)
        bad = poll_lanes(*w.hidden_lanes[:4], *table) if lanes else poll(*table)
        outs.append((out, bad))
    return outs


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n, lo, hi", [(20, 0, 20), (20, 3, 19), (37, 5, 37), (37, 8, 16), (7, 0, 7), (37, 9, 14)])
def test_interleaved_poll_gives_the_row_by_row_bits(dtype, n, lo, hi):
    """Every segment padded somewhere (inputs alternate, feedback to even
    neurons only), rows past the last whole chunk and row ranges that
    start and end inside a chunk: the same values to the bit, and rows
    outside ``lo:hi`` untouched."""
    net = sim.compile(_sparse_graph(n, seed=n), dtype=dtype)
    assert net.wiring().hidden_lanes.start.shape[0] == net.n_neurons // 8
    rng = np.random.default_rng(n + lo)
    h = rng.normal(size=(net.n_neurons, 1)).astype(dtype)  # the graph has a neuron n too (it feeds y1)
    xt, yhat = rng.normal(size=(2, 1)).astype(dtype), rng.normal(size=(2, 1)).astype(dtype)
    (row_by_row, bad_rows), (interleaved, bad_lanes) = _poll_both(net, h, xt, yhat, lo, hi)
    assert np.unique(np.diff(net.layout.hidden_in.ptr.astype(int), axis=1)[:, 2]).size == 2  # FED padded
    np.testing.assert_array_equal(interleaved.view(np.uint8), row_by_row.view(np.uint8))
    assert (interleaved[:lo] == 7.0).all() and (interleaved[hi:] == 7.0).all()
    assert bad_rows == bad_lanes == 0


def test_a_nan_source_reaches_only_the_neurons_that_read_it():
    """A padded lane reads source 0 of its part but must not add it: the
    odd neurons have no fed-back output (their lanes of that segment are
    padded) and yhat[0] is read by none, so with NaN there, in hidden
    state 0 and in input 1, exactly the neurons with an edge from h[0] or
    x[1] turn NaN, as row by row."""
    net = sim.compile(_sparse_graph(37, seed=1))
    assert net.wiring().hidden_lanes.start.shape[0] == 4
    n, rng = net.n_neurons, np.random.default_rng(2)
    h, xt, yhat = rng.normal(size=(n, 1)), rng.normal(size=(2, 1)), rng.normal(size=(2, 1))
    nan_at = (0, 1, 0)  # in h, x, yhat
    h[nan_at[0]], xt[nan_at[1]], yhat[nan_at[2]] = np.nan, np.nan, np.nan
    (row_by_row, bad_rows), (interleaved, bad_lanes) = _poll_both(net, h, xt, yhat, 0, n)
    rows = net.layout.hidden_in
    reads = np.zeros(n, dtype=bool)
    for i in range(n):
        for q in range(3):
            reads[i] |= bool((rows.index[rows.ptr[i, q]:rows.ptr[i, q + 1]] == nan_at[q]).any())
    assert 0 < reads.sum() < n
    fed = [rows.index[rows.ptr[i, 2]:rows.ptr[i, 3]] for i in range(n)]
    assert not any((f == nan_at[2]).any() for f in fed) and any(f.size == 0 for f in fed[:32])
    np.testing.assert_array_equal(np.isnan(interleaved[:, 0]), reads)
    np.testing.assert_array_equal(interleaved, row_by_row)
    assert bad_lanes == bad_rows == reads.sum()


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
def test_a_run_at_a_batch_of_one_matches_the_reference(dtype, tol):
    """`sim.run` at a batch of 1 (its serial kernel gathers through the
    interleaved table) against the plain-NumPy reference, on threads too."""
    from . import reference as ref

    G = _sparse_graph(37, seed=4)
    net = sim.compile(G, dtype=dtype)
    rng = np.random.default_rng(4)
    x, h0 = rng.normal(size=(12, 2)), rng.normal(size=net.n_neurons)
    states, outputs = ref.run_discrete(G, x[:, None, :], h0[None, :])
    for parallel in (False, True):
        res = sim.run(net, x, h0, parallel=parallel)
        np.testing.assert_allclose(res.states, states[:, 0], rtol=tol, atol=tol)
        np.testing.assert_allclose(res.outputs, outputs[:, 0], rtol=tol, atol=tol)


def _mixed(G, every=3):
    """`G` with every `every`-th hidden neuron sigmoid (activations not uniform)."""
    G = G.copy()
    for v in list(G)[::every]:
        if G.nodes[v].get("role") is None:
            G.nodes[v]["activation"] = "sigmoid"
    return G


def _without_lanes(table):
    """A `Wiring` or `Transposed` with an interleaved table of no chunks:
    the row-by-row path."""
    from simulator._kernels.types import Interleaved

    empty = Interleaved(np.zeros((0, table.hidden.ptr.shape[1]), np.uint64), np.zeros(0, np.uint32),
                        np.zeros(0, np.uint32), np.zeros(0, table.hidden.weight.dtype), np.zeros(0, np.int64),
                        np.zeros(0, np.uint32))
    return table._replace(hidden_lanes=empty)


def _run_arrays(net, x, teacher, rng):
    """A batch-1 kernel run's arrays for `net`: the inputs `x` as (T,
    n_inputs, 1), the states from a random h0, the outputs, and the
    targets forced onto the feedback (half of them NaN; no rows without
    `teacher`)."""
    dt, n, T = net.dtype, net.n_neurons, x.shape[0]
    xk = np.ascontiguousarray(x[:, :, None].astype(dt))
    states = np.zeros((T + 1, n, 1), dtype=dt)
    states[0, :, 0] = rng.normal(size=n)
    outputs = np.zeros((T, net.n_outputs, 1), dtype=dt)
    forced = rng.normal(size=(T, net.n_outputs, 1)).astype(dt)
    forced[rng.random(forced.shape) < 0.5] = np.nan
    return xk, states, outputs, forced if teacher else np.zeros((0, net.n_outputs, 1), dtype=dt)


def _backward(net, wt, x, truncate, offset, n_chunks, teacher):
    """One call of the discrete backward kernel at a batch of 1 on a run
    of `net` (from a nonzero carry, as a later checkpointed segment
    starts); every array it fills."""
    from simulator._kernels.backward import bptt_discrete
    from simulator._kernels.forward import run_sync_serial

    w, dt, n, T = net.wiring(), net.dtype, net.n_neurons, x.shape[0]
    rng = np.random.default_rng(7)
    xk, states, outputs, forced = _run_arrays(net, x, teacher, rng)
    before = np.zeros((net.n_outputs, 1), dtype=dt)
    run_sync_serial(w, xk, states, outputs, forced, before)
    gy = rng.normal(size=outputs.shape).astype(dt)
    carry = rng.normal(size=(n, 1)).astype(dt)
    g_weight, g_out = rng.normal(size=net.n_edges).astype(dt), rng.normal(size=wt.hidden.index.size).astype(dt)
    g_bias, g_h0 = rng.normal(size=n + net.n_outputs).astype(dt), np.empty((n, 1), dt)
    dh_norm = np.empty(T + 1)
    bptt_discrete(w, wt, xk, states, outputs, forced, before, gy, truncate, offset, carry, g_weight, g_out, g_bias,
                  g_h0, dh_norm, np.zeros((0, net.n_edges), dt), n_chunks)
    return carry, g_weight, g_out, g_bias, g_h0, dh_norm


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize("truncate, offset, n_chunks, teacher", [
    (0, 0, None, False), (3, 2, None, True), (0, 5, 3, False), (4, 0, 2, True)])
def test_interleaved_backward_gives_the_row_by_row_bits(dtype, mixed, truncate, offset, n_chunks, teacher):
    """The backward kernel at a batch of 1 through the interleaved out-edge
    table (out-degrees from 1 to 9, so padded lanes; 38 neurons, so six
    left to the table) against the same kernel row by row: every gradient,
    the carry and the norms to the bit, with truncation cuts, a later
    segment's offset and carry, threads and teacher forcing, for tanh
    neurons (the slope in the vector register) and mixed activations."""
    G = _sparse_graph(37, seed=2)
    net = sim.compile(_mixed(G) if mixed else G, dtype=dtype)
    wt = net.wiring_t()
    assert wt.hidden_lanes.start.shape[0] == 4 and len(set(wt.hidden_lanes.count.tolist())) > 2
    assert (net.wiring().uniform_h == -1) == mixed
    x = np.random.default_rng(3).normal(size=(9, 2))
    lanes = _backward(net, wt, x, truncate, offset, n_chunks, teacher)
    rows = _backward(net, _without_lanes(wt), x, truncate, offset, n_chunks, teacher)
    assert np.abs(lanes[2]).max() > 0
    for got, expected in zip(lanes, rows):
        np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))


@pytest.mark.parametrize("mixed", [False, True])
def test_bptt_at_a_batch_of_one_matches_central_differences(mixed):
    """`sim.bptt` at a batch of 1 on a network the interleaved tables serve
    (19 neurons: two chunks and three left over), every weight, bias and
    h0 against central differences of the reference loss."""
    from .test_bptt import _check, _finite_differences

    G = _sparse_graph(19, seed=5)
    net = sim.compile(_mixed(G) if mixed else G)
    assert net.wiring_t().hidden_lanes.start.shape[0] == 2
    rng = np.random.default_rng(6)
    x, h0 = rng.normal(size=(6, 2)), rng.normal(0, 0.5, net.n_neurons)
    targets = rng.normal(size=(6, net.n_outputs))
    targets[rng.random(targets.shape) < 0.3] = np.nan
    _, grads = sim.bptt(net, x, targets, h0=h0)
    _check(grads, _finite_differences(net, x, targets, "mse", h0))
