"""Backpropagation through time (design sections 3-5): the discrete run
(`bptt_discrete`) and the fixed-step runs through their stages
(`bptt_fixed_step`, every method from its coefficients).

Discrete time.

Walking the recorded history from the last step to the first, with
``gy[t] = dL/dy[t]`` from the loss plus what the feedback path sends back::

    dz[t]   = (gy[t] + [not forced] F^T da[t+1]) * g'(z[t])
    dh[t+1] = V^T dz[t] + W^T da[t+1]
    da[t]   = dh[t+1] * phi'(a[t])

and the parameter gradients summed over steps (``da[t] h[t]^T`` for W,
``da[t] x[t]^T`` for U, ``da[t] yhat[t]^T`` for F, ``dz[t] h[t+1]^T`` for V,
``dz[t] x[t]^T`` for D, ``da`` and ``dz`` for the biases), ``dh[0] = W^T da[0]``.
The transposed products gather over the out-edge tables (`types.Transposed`:
each source sums its own outgoing edges, no write conflicts). Walking a
source j's out-edges ``e: j -> i``, the gather reads ``da[t+1][i]`` (and
the outputs' ``dz[t]``), and the W and V gradients need the same values
times ``h[t+1][j]``: they are summed there, in the out-edge table's slot
order (one pass over the edges a step instead of two; W's lag a step
behind, so a run's ``da[0] h[0]^T`` comes last, with ``dh[0]``). The
other weight gradients accumulate in the slot order of the in-edge
tables, the hidden neurons' slots first, then the outputs'; with the
per-step edge record, all of them do. Activation derivatives are read
off the recorded values, so no pre-activation is stored. A discrete step's
neurons need nothing from one another once ``dz`` is known (`hidden_rows`),
and likewise the pull-back of a continuous right-hand side in two passes
(`vjp_slopes_rows`, `vjp_rows`), so they run in chunks on threads when
`simulator.threads` plans so, with every sum in the one-thread order.
At a batch of 1 without the record, a discrete step's neurons go eight at
a time through the interleaved out-edge table (`hidden_rows_lanes`, the
W and V gradients in its layout until the call ends), then their U, F
and bias gradients row by row (`in_rows_single`): the same sums.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import CACHE
from .activations import TANH, activate, slope
from .continuous import fixed_step, output_slopes
from .forward import add_segment, add_segment_batch, chunk_bounds, fill_feedback, fill_row_blocks, row_drive
from .interleaved import (add_part_lanes_grad, lanes_errors_store, lanes_from_slots, lanes_load, lanes_load_rows,
                          lanes_to_slots)
from .lanes import (LANES, block_add_product, block_add_scaled, block_buffer, block_load, block_product,
                    block_store, block_total, block_width, contiguous_rows, unit_rows, unit_value)
from .types import FED, HIDDEN, INPUT, TO_OUTPUT


@njit(cache=CACHE, error_model="numpy", inline="always")
def dot_rows(a, i, c, j):
    """``sum_b a[i, b] * c[j, b]`` in the rows' dtype. Where the batch is
    whole register blocks (`lanes.block_width`) and both rows contiguous of
    one dtype, the products add block by block in vector registers, then
    `lanes.block_total`'s fixed tree sums the lanes (scalar sums wait on one
    another without reassociation, which LLVM does not do for IEEE floats);
    else from eight batch elements on, in four interleaved partial sums
    (``b % 4``) added pairwise at the end; below, in order. Starts from the
    first product (no zero of the dtype to make: an array allocated in an
    inlined helper is allocated per call)."""
    nb = np.uint64(a.shape[1])
    width = np.uint64(block_width(a))
    if nb % width == 0 and nb > 0 and contiguous_rows(a, a) and contiguous_rows(c, a):
        products = block_buffer(a)
        block_product(products, a, i, c, j, 0)
        for col in range(width, nb, width):
            block_add_product(products, a, i, c, j, col)
        return block_total(products)
    if nb < np.uint64(8):
        s = a[i, 0] * c[j, 0]
        for b in range(np.uint64(1), nb):
            s += a[i, b] * c[j, b]
        return s
    full = nb - nb % np.uint64(4)
    s0, s1, s2, s3 = a[i, 0] * c[j, 0], a[i, 1] * c[j, 1], a[i, 2] * c[j, 2], a[i, 3] * c[j, 3]
    for b in range(np.uint64(4), full, np.uint64(4)):
        s0 += a[i, b] * c[j, b]
        s1 += a[i, b + 1] * c[j, b + 1]
        s2 += a[i, b + 2] * c[j, b + 2]
        s3 += a[i, b + 3] * c[j, b + 3]
    for b in range(full, nb):
        s0 += a[i, b] * c[j, b]
    return (s0 + s1) + (s2 + s3)


@njit(cache=CACHE, error_model="numpy", inline="always")
def row_sum(a, i):
    """``sum_b a[i, b]`` in the row's dtype: where the row is whole register
    blocks, block by block in vector registers, then `lanes.block_total`'s
    tree (as `dot_rows`); else in order."""
    nb = np.uint64(a.shape[1])
    width = np.uint64(block_width(a))
    if nb % width == 0 and nb > 0 and contiguous_rows(a, a):
        total = block_buffer(a)
        block_load(total, a, i, 0)
        for col in range(width, nb, width):
            block_add_scaled(total, 1.0, a, i, col)
        return block_total(total)
    s = a[i, 0]
    for b in range(np.uint64(1), nb):
        s += a[i, b]
    return s


@njit(cache=CACHE, error_model="numpy", inline="always")
def segment_outer(ptr, index, q, rows, cols, first, g_weight, step_abs, t, lo, hi):
    """``g_weight[first + k] += dot_rows(rows, r, cols, index[k])`` over
    segment `q` of rows ``lo:hi`` (unsigned) of an in-edge table whose
    slots' gradients start at `first` (uint64); when `step_abs` has rows,
    also add each edge's contribution to row `t` of it. The slots'
    gradients lie side by side, so the loop runs through memory.

    The loop over rows stays inside: where an inlined helper with array
    arguments branches, Numba keeps the atomic increments and decrements of
    their reference counts around every call: a call per row and segment
    took about 15 ns an edge against 1 (the discrete BPTT ran 4.5x slower).
    """
    record = step_abs.shape[0] > 0
    for r in range(lo, hi):
        for k in range(ptr[r, q], ptr[r, q + 1]):
            acc = dot_rows(rows, r, cols, index[k])
            g_weight[first + k] += acc
            if record:
                step_abs[t, first + k] += acc


@njit(cache=CACHE, error_model="numpy", inline="always")
def in_edge_grads(ptr, index, da, h, xt, yhat, g_weight, g_bias, step_abs, t, lo, hi):
    """Add one step's ``da h^T``, ``da x^T``, ``da yhat^T`` (W, U, F) to the
    gradients of the in-edges of neurons ``lo:hi`` (unsigned) and ``da`` to
    their biases."""
    zero = np.uint64(0)
    segment_outer(ptr, index, HIDDEN, da, h, zero, g_weight, step_abs, t, lo, hi)
    segment_outer(ptr, index, INPUT, da, xt, zero, g_weight, step_abs, t, lo, hi)
    segment_outer(ptr, index, FED, da, yhat, zero, g_weight, step_abs, t, lo, hi)
    for r in range(lo, hi):
        g_bias[r] += row_sum(da, r)


@njit(cache=CACHE, error_model="numpy", inline="always")
def output_grads(w, dz, hn, xt, g_weight, g_bias, step_abs, t):
    """Add one step's ``dz h^T``, ``dz x^T`` (V, D) to the gradients of the
    outputs' in-edges (slots after the hidden neurons') and ``dz`` to the
    output biases."""
    first = np.uint64(w.hidden.index.shape[0])
    lo, hi = np.uint64(0), np.uint64(dz.shape[0])
    segment_outer(w.outputs.ptr, w.outputs.index, HIDDEN, dz, hn, first, g_weight, step_abs, t, lo, hi)
    skip_grads(w, dz, xt, g_weight, g_bias, step_abs, t)


@njit(cache=CACHE, error_model="numpy", inline="always")
def skip_grads(w, dz, xt, g_weight, g_bias, step_abs, t):
    """Add one step's ``dz x^T`` (D) to the gradients of the outputs'
    input slots and ``dz`` to the output biases (`output_grads` without V)."""
    first = np.uint64(w.hidden.index.shape[0])
    n = w.bias_h.shape[0]
    lo, hi = np.uint64(0), np.uint64(dz.shape[0])
    segment_outer(w.outputs.ptr, w.outputs.index, INPUT, dz, xt, first, g_weight, step_abs, t, lo, hi)
    for o in range(dz.shape[0]):
        g_bias[n + o] += row_sum(dz, o)


@njit(cache=CACHE, error_model="numpy", inline="always")
def norm(a):
    """The 2-norm of the C-contiguous array `a`, its squares summed in
    float64: the values in whole groups of 32 (four vectors of `LANES`)
    block by block into four float64 block buffers, one per vector of a
    group (four chains of dependent additions fill the pipeline), totalled
    pairwise (`lanes.block_total`); the values after the last group in
    order, added last. Scalar sums took 7 of 140 us of the batch-32
    backward step (N = 1,000, float64)."""
    flat = a.reshape(a.size)
    m = np.uint64(flat.size)
    lanes = np.uint64(LANES)
    whole = m - m % (np.uint64(4) * lanes)
    tail = 0.0
    for i in range(whole, m):
        tail += np.float64(flat[i]) * np.float64(flat[i])
    if whole == 0:
        return math.sqrt(tail)
    rows = flat[:whole].reshape((whole // lanes, lanes))
    wide = np.empty((1, 1), dtype=np.float64)  # types the buffers: float64 sums for float32 values too
    s0, s1, s2, s3 = block_buffer(wide), block_buffer(wide), block_buffer(wide), block_buffer(wide)
    block_product(s0, rows, 0, rows, 0, 0)
    block_product(s1, rows, 1, rows, 1, 0)
    block_product(s2, rows, 2, rows, 2, 0)
    block_product(s3, rows, 3, rows, 3, 0)
    for r in range(np.uint64(4), whole // lanes, np.uint64(4)):
        block_add_product(s0, rows, r, rows, r, 0)
        block_add_product(s1, rows, r + np.uint64(1), rows, r + np.uint64(1), 0)
        block_add_product(s2, rows, r + np.uint64(2), rows, r + np.uint64(2), 0)
        block_add_product(s3, rows, r + np.uint64(3), rows, r + np.uint64(3), 0)
    return math.sqrt(((block_total(s0) + block_total(s1)) + (block_total(s2) + block_total(s3))) + tail)


@njit(cache=CACHE, error_model="numpy")
def bptt_discrete(w, wt, x, states, outputs, teacher, y_before, gy_loss, truncate, offset,
                  carry, g_weight, g_out, g_bias, g_h0, dh_norm, step_abs, n_chunks):
    """Gradients of a discrete run; fills the gradient arrays.

    Parameters
    ----------
    w : Wiring
        The in-edge tables (rows = targets) with their weights.
    wt : Transposed
        The out-edge tables (rows = sources), weights aligned.
    x : ndarray, shape (n_steps, n_inputs, batch)
    states : ndarray, shape (n_steps + 1, n_neurons, batch)
    outputs : ndarray, shape (n_steps, n_outputs, batch)
    teacher : ndarray, shape (n_steps or 0, n_outputs, batch)
        Forced feedback (NaN: not forced); 0 rows: none.
    y_before : ndarray, shape (n_outputs, batch)
        The output fed back at step 0 (see `forward.run_sync_serial`).
    gy_loss : ndarray, shape (n_steps, n_outputs, batch)
        ``dL/dy[t]`` from the loss.
    truncate : int
        Gradients cross at most this many steps back: the state and feedback
        paths are cut between ``t`` and ``t + 1`` whenever ``offset + t + 1``
        is a multiple of `truncate` (0: never).
    offset : int
        Global index of step 0 (a segment of a checkpointed run).
    carry : ndarray, shape (n_neurons, batch)
        In: ``da`` of the step after the last (zeros for a whole run; the
        next segment's ``da[0]`` when checkpointing). Out: ``da[0]``.
    g_weight : ndarray, shape (n_edges,)
        In the slot order of ``w.hidden`` then ``w.outputs`` (so each
        step's sums stream through memory). Without the per-step record,
        the slots of W and V edges are left alone: their gradients go to
        `g_out`.
    g_out : ndarray, shape (n_out_slots,)
        Without the per-step record: the gradients of the W and V edges, in
        the slot order of ``wt.hidden`` (each hidden neuron's out-edges,
        summed while the backward gather reads the same values; see
        `hidden_rows`). A segment adds those of the ``da`` of its steps
        1..n_steps (the last from `carry`, the next segment's ``da[0]``),
        and the first segment (`offset` 0) also those of its ``da[0]``.
        Untouched with the record.
    g_bias : ndarray, shape (n_neurons + n_outputs,)
    g_h0 : ndarray, shape (n_neurons, batch)
        Filled.
    dh_norm : ndarray, shape (n_steps + 1,)
        Filled with the norm of ``dL/dh[t]`` (all batch elements).
    step_abs : ndarray, shape (n_steps, n_edges) or (0, n_edges)
        When it has rows: each edge's gradient contribution at each step,
        columns as `g_weight` (zeros on entry; the caller takes magnitudes),
        and every weight gradient in `g_weight`.
    n_chunks : int or None
        None: one thread; else each step's neurons in this many chunks
        spread over threads (`hidden_rows_parallel`). Every sum runs in the
        same order either way, so the results agree to the bit; with the
        record or without, the weight gradients are the same sums in the
        same order too.
    """
    T, n, nb = x.shape[0], states.shape[1], states.shape[2]
    n_out = outputs.shape[1]
    dtype = states.dtype
    fused = step_abs.shape[0] == 0
    da = carry.copy()                           # da[t+1] while at step t
    da_new = np.empty((n, nb), dtype=dtype)     # da[t]
    dz = np.empty((n_out, nb), dtype=dtype)
    dh = np.empty((n, nb), dtype=dtype)
    fed, out = wt.fed, wt.hidden
    gyhat = np.zeros((n_out, nb), dtype=dtype)  # F^T da[t+1]
    for o in range(n_out):
        for b in range(nb):
            gyhat[o, b] = add_segment(fed.ptr, fed.index, fed.weight, o, 0, da, b, 0.0)
    yhat = np.empty((n_out, nb), dtype=dtype)
    lanes = wt.hidden_lanes
    interleaved = fused and nb == 1 and lanes.start.shape[0] > 0 and (T == 0 or unit_rows(x[0]))
    g_lanes = np.zeros(lanes.slot.size if interleaved else 0, dtype=g_out.dtype)  # g_out, interleaved
    if interleaved:
        lanes_from_slots(lanes.slot, g_out, g_lanes)
    for t in range(T - 1, -1, -1):
        cut = truncate > 0 and (offset + t + 1) % truncate == 0
        if cut:
            if fused:  # da[t+1]'s own W gradients, before the cut stops it flowing back
                if interleaved:
                    lanes_to_slots(lanes.slot, g_lanes, g_out)
                hidden_outer(out.ptr, out.index, da, states[t + 1], g_out)
                if interleaved:
                    lanes_from_slots(lanes.slot, g_out, g_lanes)
            da[:, :] = 0.0
            gyhat[:, :] = 0.0
        # output errors
        for o in range(n_out):
            code = w.act_o[o]
            for b in range(nb):
                g = gy_loss[t, o, b]
                forced = teacher.shape[0] > 0 and teacher[t, o, b] == teacher[t, o, b]
                if not forced:
                    g += gyhat[o, b]
                dz[o, b] = g * slope(code, outputs[t, o, b])
        fill_feedback(outputs, teacher, t, yhat, y_before)
        # hidden errors one step back, and the contributions of step t into the neurons
        args = (w.hidden.ptr, w.hidden.index, out.ptr, out.index, out.weight, w.act_h,
                states[t], states[t + 1], x[t], yhat, dz, da, da_new, dh,
                g_weight, g_out, g_bias, step_abs, t)
        if interleaved:
            back = (lanes.start, lanes.count, lanes.index, lanes.weight, lanes.rows, g_lanes, out.ptr, out.index,
                    out.weight, w.act_h, w.uniform_h, states[t + 1], dz, da, da_new, dh, g_out)
            if n_chunks is None:
                hidden_rows_lanes(*back, 0, lanes.start.shape[0], True)
                in_rows_single(w.hidden.ptr, w.hidden.index, da_new, x[t], yhat, g_weight, g_bias, 0, n)
            else:
                hidden_rows_lanes_parallel(*back, w.hidden.ptr, w.hidden.index, x[t], yhat, g_weight, g_bias,
                                           n_chunks)
        elif n_chunks is None:
            hidden_rows(*args, 0, n)
        else:
            hidden_rows_parallel(*args, n_chunks)
        da, da_new = da_new, da
        dh_norm[t + 1] = norm(dh)
        for o in range(n_out):
            for b in range(nb):
                gyhat[o, b] = add_segment(fed.ptr, fed.index, fed.weight, o, 0, da, b, 0.0)
        # contributions of step t into the outputs (V's already in g_out when fused)
        if fused:
            skip_grads(w, dz, x[t], g_weight, g_bias, step_abs, t)
        else:
            output_grads(w, dz, states[t + 1], x[t], g_weight, g_bias, step_abs, t)
    total = 0.0
    for j in range(n):
        for b in range(nb):
            v = add_segment(out.ptr, out.index, out.weight, j, HIDDEN, da, b, 0.0)
            g_h0[j, b] = v
            total += v * v
    dh_norm[0] = math.sqrt(total)
    if interleaved:
        lanes_to_slots(lanes.slot, g_lanes, g_out)
    if fused and offset == 0:  # a later segment's da[0] was added by the segment before it
        hidden_outer(out.ptr, out.index, da, states[0], g_out)
    carry[:, :] = da


@njit(cache=CACHE, error_model="numpy")
def hidden_outer(out_ptr, out_index, da, h, g_out):
    """``g_out[e] += sum_b da[i, b] h[j, b]`` for every W out-edge ``e:
    j -> i`` of the out-edge table (``Transposed.hidden``): one step's
    W gradients, in `hidden_rows`'s order, where no gather goes with them
    (a truncation cut; the run's first step)."""
    for j in range(np.uint64(h.shape[0])):
        for e in range(out_ptr[j, HIDDEN], out_ptr[j, TO_OUTPUT]):
            g_out[e] += dot_rows(da, out_index[e], h, j)


@njit(cache=CACHE, error_model="numpy", inline="always")
def single_row_back(out_ptr, out_index, out_weight, j, hj, da_next, dz, g_out, zero):
    """At a batch of 1, neuron `j`'s ``dL/dh = V^T dz + W^T da_next``
    gathered over its out-edges (`zero` of the dtype to start from), and
    the out-edges' weight gradients from the same values (`hj` its value)."""
    back = zero
    for e in range(out_ptr[j, HIDDEN], out_ptr[j, TO_OUTPUT]):
        d = unit_value(da_next, out_index[e])
        back += out_weight[e] * d
        g_out[e] += d * hj
    to_out = zero
    for e in range(out_ptr[j, TO_OUTPUT], out_ptr[j, TO_OUTPUT + 1]):
        d = unit_value(dz, out_index[e])
        to_out += out_weight[e] * d
        g_out[e] += d * hj
    return to_out + back


@njit(cache=CACHE, error_model="numpy", inline="always")
def single_row_grads(ptr, index, j, xt, yhat, da, g_weight, g_bias):
    """At a batch of 1, the gradients of neuron `j`'s U and F in-edges and
    of its bias, from its ``da``."""
    d = da[j, 0]
    for k in range(ptr[j, INPUT], ptr[j, FED]):
        g_weight[k] += d * unit_value(xt, index[k])
    for k in range(ptr[j, FED], ptr[j, FED + 1]):
        g_weight[k] += d * unit_value(yhat, index[k])
    g_bias[j] += d


@njit(cache=CACHE, error_model="numpy", inline="always")
def chunk_errors(l_start, l_count, l_index, l_weight, l_rows, g_lanes, c, codes, uniform, hn, dz, da_next, da, dh,
                 back, to_out, hj, zeros):
    """Chunk `c` of an interleaved out-edge table (``Transposed.hidden_lanes``:
    `l_start` .. `l_rows`) at a backward step, eight neurons side by side:
    each one's ``dL/dh`` into `dh` and ``da`` into `da`, gathered over its
    out-edges from `da_next` (W) and `dz` (V), their gradients from the
    same values (``h`` from `hn`) into `g_lanes`, laid out as the table.
    `back`, `to_out` and `hj` are block buffers, `zeros` `LANES` zeros of
    their dtype; the arrays are read through their data and the table's
    index (an offset from their first row where it is signed)."""
    first = c * np.uint64(LANES)
    lanes_load_rows(hj, hn, l_rows, first)
    lanes_load(back, zeros, 0)
    lanes_load(to_out, zeros, 0)
    add_part_lanes_grad(l_start, l_count, l_index, l_weight, c, HIDDEN, da_next, back, g_lanes, hj)
    add_part_lanes_grad(l_start, l_count, l_index, l_weight, c, TO_OUTPUT, dz, to_out, g_lanes, hj)
    lanes_errors_store(to_out, back, hj, uniform == TANH, dh, da, l_rows, first)
    if uniform != TANH:
        for lane in range(first, first + np.uint64(LANES)):
            j = np.uint64(l_rows[lane])
            da[j, 0] = dh[j, 0] * slope(codes[j], hn[j, 0])


@njit(cache=CACHE, error_model="numpy")
def hidden_rows_lanes(l_start, l_count, l_index, l_weight, l_rows, g_lanes,
                      out_ptr, out_index, out_weight,
                      codes, uniform,
                      hn, dz, da_next, da, dh, g_out,
                      c_lo, c_hi, rest):
    """The first half of `hidden_rows` at a batch of 1, without the
    per-step record, in values one apart (the caller checks): each
    neuron's ``dL/dh`` (into `dh`) and ``da`` (into `da`) and its out-edges'
    weight gradients, through the interleaved out-edge table
    (``Transposed.hidden_lanes``: `l_start` .. `l_rows`): the neurons of
    its chunks ``c_lo:c_hi`` eight side by side in a vector register
    (`interleaved`), their W and V gradients into `g_lanes`, laid out as
    that table (`interleaved.lanes_from_slots` of `g_out`); with `rest`,
    then the neurons left to the table, row by row into `g_out`. The same
    sums in the same order. `in_rows_single` adds the other half."""
    back, to_out, hj = block_buffer(hn), block_buffer(hn), block_buffer(hn)
    zeros = np.zeros(LANES, dtype=hn.dtype)
    width = np.uint64(LANES)
    for c in range(np.uint64(c_lo), np.uint64(c_hi)):
        chunk_errors(l_start, l_count, l_index, l_weight, l_rows, g_lanes, c, codes, uniform, hn, dz, da_next, da,
                     dh, back, to_out, hj, zeros)
    if rest:
        for lane in range(np.uint64(l_start.shape[0]) * width, np.uint64(l_rows.size)):
            j = np.uint64(l_rows[lane])
            v = single_row_back(out_ptr, out_index, out_weight, j, hn[j, 0], da_next, dz, g_out, zeros[0])
            dh[j, 0] = v
            da[j, 0] = v * slope(codes[j], hn[j, 0])


@njit(cache=CACHE, error_model="numpy")
def in_rows_single(ptr, index, da, xt, yhat, g_weight, g_bias, lo, hi):
    """The second half of `hidden_rows` at a batch of 1 after
    `hidden_rows_lanes`: the U and F in-edge and bias gradients of neurons
    ``lo:hi`` from their ``da`` (`single_row_grads`)."""
    for j in range(np.uint64(lo), np.uint64(hi)):
        single_row_grads(ptr, index, j, xt, yhat, da, g_weight, g_bias)


@njit(cache=CACHE, error_model="numpy")
def hidden_rows(ptr, index,
                out_ptr, out_index, out_weight,
                codes,
                h, hn, xt, yhat,
                dz, da_next, da, dh,
                g_weight, g_out, g_bias, step_abs, t,
                lo, hi):
    """Neurons ``lo:hi`` of one backward step of a discrete run.

    ``dh = V^T dz + W^T da_next`` and ``da = dh * phi'`` for these neurons,
    gathered over their out-edges; each out-edge ``e: j -> i`` reads
    ``da_next[i]`` (W) or ``dz[o]`` (V) for the gather, and with the same
    values adds ``da_next[i] . h[t+1][j]`` (step t + 1's W gradient) or
    ``dz[o] . h[t+1][j]`` (step t's V gradient) to ``g_out[e]``; then the
    in-edge gradients of their U and F slots (``da x^T``, ``da yhat^T``)
    and their biases, while ``da`` is at hand. With the per-step edge
    record, the W and V gradients of step t are summed over the in-edges
    instead (`recorded_rows`), the same sums in the same order. No
    neuron's values depend on another's, so chunks of neurons run on
    threads without write conflicts. Sums run in the state's dtype (a
    float32 network accumulates in float32, as torch does). At a batch of
    whole register blocks (`lanes.block_width`) each out-edge's error row
    is read once, block by block: its product with ``h[t+1][j]`` in a
    vector register (totalled by `lanes.block_total`, as `dot_rows` does)
    and its weighted value added to the neuron's error sum beside it; read
    once for the gather and again for the products, the batch-32 backward
    step took 138 against 117-128 us (N = 1,000, float64).

    Parameters
    ----------
    ptr, index : ndarray
        The hidden neurons' in-edge table (``Wiring.hidden``; the weights
        are not read).
    out_ptr, out_index, out_weight : ndarray
        Their out-edge table (``Transposed.hidden``).
    codes : ndarray of int8, shape (n_neurons,)
        Activation codes.
    h, hn : ndarray, shape (n_neurons, batch)
        The states h[t] and h[t+1].
    xt : ndarray, shape (n_inputs, batch)
    yhat : ndarray, shape (n_outputs, batch)
        The output fed back at step t.
    dz : ndarray, shape (n_outputs, batch)
        The outputs' errors at step t.
    da_next : ndarray, shape (n_neurons, batch)
        da[t+1] (read only).
    da, dh : ndarray, shape (n_neurons, batch)
        Filled on rows ``lo:hi``: da[t] and dL/dh[t+1].
    g_weight, g_out, g_bias, step_abs, t
        As in `bptt_discrete`, and the step.
    lo, hi : int
        The neurons.
    """
    if step_abs.shape[0] > 0:
        recorded_rows(ptr, index, out_ptr, out_index, out_weight, codes, h, hn, xt, yhat, dz, da_next, da, dh,
                      g_weight, g_bias, step_abs, t, lo, hi)
        return
    lo, hi = np.uint64(lo), np.uint64(hi)
    nb = np.uint64(h.shape[1])
    zero = np.zeros(1, dtype=h.dtype)[0]
    if nb == 1 and unit_rows(da_next) and unit_rows(dz) and unit_rows(xt) and unit_rows(yhat):  # in registers
        for j in range(lo, hi):
            v = single_row_back(out_ptr, out_index, out_weight, j, hn[j, 0], da_next, dz, g_out, zero)
            dh[j, 0] = v
            da[j, 0] = v * slope(codes[j], hn[j, 0])
            single_row_grads(ptr, index, j, xt, yhat, da, g_weight, g_bias)
        return
    # a batch: each slot scales a contiguous row of the batch into the gathers
    back = np.empty((1, nb), dtype=h.dtype)
    to_out = np.empty((1, nb), dtype=h.dtype)
    width = np.uint64(block_width(h))
    blocks = nb % width == 0 and contiguous_rows(da_next, h) and contiguous_rows(dz, h) and contiguous_rows(hn, h)
    acc, product = block_buffer(h), block_buffer(h)
    # a row of at most four blocks (batch 8 to 32 in float64, 32 to 128 in float32): its sums in registers
    # across the out-edges, not stored and loaded again for every edge
    n_regs = nb // width if blocks and nb <= np.uint64(4) * width else np.uint64(0)
    acc1, acc2, acc3 = block_buffer(h), block_buffer(h), block_buffer(h)
    w2, w3 = width + width, width + width + width
    for j in range(lo, hi):
        back[:] = zero
        to_out[:] = zero
        if n_regs:
            fill_row_blocks(zero, acc, acc1, acc2, acc3)
            for e in range(out_ptr[j, HIDDEN], out_ptr[j, TO_OUTPUT]):
                i = out_index[e]
                c = out_weight[e]
                block_product(product, da_next, i, hn, j, 0)
                block_add_scaled(acc, c, da_next, i, 0)
                if n_regs > 1:
                    block_add_product(product, da_next, i, hn, j, width)
                    block_add_scaled(acc1, c, da_next, i, width)
                if n_regs > 2:
                    block_add_product(product, da_next, i, hn, j, w2)
                    block_add_scaled(acc2, c, da_next, i, w2)
                if n_regs > 3:
                    block_add_product(product, da_next, i, hn, j, w3)
                    block_add_scaled(acc3, c, da_next, i, w3)
                g_out[e] += block_total(product)
            block_store(acc, back, 0, 0)
            if n_regs > 1:
                block_store(acc1, back, 0, width)
            if n_regs > 2:
                block_store(acc2, back, 0, w2)
            if n_regs > 3:
                block_store(acc3, back, 0, w3)
        if blocks:  # each out-edge block by block: its product in vector registers, the error's sum beside it
            for e in range(out_ptr[j, TO_OUTPUT] if n_regs else out_ptr[j, HIDDEN], out_ptr[j, TO_OUTPUT]):
                i = out_index[e]
                c = out_weight[e]
                block_product(product, da_next, i, hn, j, 0)
                for col in range(np.uint64(0), nb, width):
                    if col > 0:
                        block_add_product(product, da_next, i, hn, j, col)
                    block_load(acc, back, 0, col)
                    block_add_scaled(acc, c, da_next, i, col)
                    block_store(acc, back, 0, col)
                g_out[e] += block_total(product)
            for e in range(out_ptr[j, TO_OUTPUT], out_ptr[j, TO_OUTPUT + 1]):
                o = out_index[e]
                c = out_weight[e]
                block_product(product, dz, o, hn, j, 0)
                for col in range(np.uint64(0), nb, width):
                    if col > 0:
                        block_add_product(product, dz, o, hn, j, col)
                    block_load(acc, to_out, 0, col)
                    block_add_scaled(acc, c, dz, o, col)
                    block_store(acc, to_out, 0, col)
                g_out[e] += block_total(product)
        else:
            for e in range(out_ptr[j, HIDDEN], out_ptr[j, TO_OUTPUT]):
                i = out_index[e]
                c = out_weight[e]
                for b in range(nb):
                    back[0, b] += c * da_next[i, b]
                g_out[e] += dot_rows(da_next, i, hn, j)
            for e in range(out_ptr[j, TO_OUTPUT], out_ptr[j, TO_OUTPUT + 1]):
                o = out_index[e]
                c = out_weight[e]
                for b in range(nb):
                    to_out[0, b] += c * dz[o, b]
                g_out[e] += dot_rows(dz, o, hn, j)
        code = codes[j]
        if code == TANH:  # slope's own expression, in a loop LLVM vectorises (the branch on the code out of it)
            for b in range(nb):
                v = to_out[0, b] + back[0, b]
                dh[j, b] = v
                da[j, b] = v * (1.0 - hn[j, b] * hn[j, b])
        else:
            for b in range(nb):
                v = to_out[0, b] + back[0, b]
                dh[j, b] = v
                da[j, b] = v * slope(code, hn[j, b])
        for k in range(ptr[j, INPUT], ptr[j, FED]):
            g_weight[k] += dot_rows(da, j, xt, index[k])
        for k in range(ptr[j, FED], ptr[j, FED + 1]):
            g_weight[k] += dot_rows(da, j, yhat, index[k])
        g_bias[j] += row_sum(da, j)


@njit(cache=CACHE, error_model="numpy")
def recorded_rows(ptr, index,
                  out_ptr, out_index, out_weight,
                  codes,
                  h, hn, xt, yhat,
                  dz, da_next, da, dh,
                  g_weight, g_bias, step_abs, t,
                  lo, hi):
    """`hidden_rows` with the per-step edge record: ``da`` as there, then
    every in-edge gradient of step t over the in-edge table (W, U, F),
    each slot's term added to row `t` of `step_abs` too. Parameters as
    `hidden_rows`'s."""
    lo, hi = np.uint64(lo), np.uint64(hi)
    nb = h.shape[1]
    to_out = np.empty(nb, dtype=h.dtype)  # float32 sums for a float32 network, as torch's
    back = np.empty(nb, dtype=h.dtype)
    for j in range(lo, hi):
        code = codes[j]
        to_out[:] = 0.0
        back[:] = 0.0
        add_segment_batch(out_ptr, out_index, out_weight, j, TO_OUTPUT, dz, to_out)
        add_segment_batch(out_ptr, out_index, out_weight, j, HIDDEN, da_next, back)
        for b in range(nb):
            v = to_out[b] + back[b]
            dh[j, b] = v
            da[j, b] = v * slope(code, hn[j, b])
    in_edge_grads(ptr, index, da, h, xt, yhat, g_weight, g_bias, step_abs, t, lo, hi)


@njit(cache=CACHE, error_model="numpy", parallel=True)
def hidden_rows_parallel(ptr, index,
                         out_ptr, out_index, out_weight,
                         codes,
                         h, hn, xt, yhat,
                         dz, da_next, da, dh,
                         g_weight, g_out, g_bias, step_abs, t,
                         n_chunks):
    """`hidden_rows` over every neuron, in `n_chunks` chunks spread over threads."""
    n = h.shape[0]
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(n, n_chunks, c)
        hidden_rows(ptr, index, out_ptr, out_index, out_weight, codes, h, hn, xt, yhat, dz, da_next, da, dh,
                    g_weight, g_out, g_bias, step_abs, t, lo, hi)


@njit(cache=CACHE, error_model="numpy", parallel=True)
def hidden_rows_lanes_parallel(l_start, l_count, l_index, l_weight, l_rows, g_lanes,
                               out_ptr, out_index, out_weight,
                               codes, uniform,
                               hn, dz, da_next, da, dh, g_out,
                               ptr, index, xt, yhat, g_weight, g_bias,
                               n_chunks):
    """`hidden_rows_lanes` then `in_rows_single` over every neuron, each
    in `n_chunks` runs spread over threads (of the table's chunks, then of
    the neurons), the neurons left to the table between them."""
    m, n = l_start.shape[0], hn.shape[0]
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(m, n_chunks, c)
        hidden_rows_lanes(l_start, l_count, l_index, l_weight, l_rows, g_lanes, out_ptr, out_index, out_weight,
                          codes, uniform, hn, dz, da_next, da, dh, g_out, lo, hi, False)
    hidden_rows_lanes(l_start, l_count, l_index, l_weight, l_rows, g_lanes, out_ptr, out_index, out_weight,
                      codes, uniform, hn, dz, da_next, da, dh, g_out, m, m, True)
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(n, n_chunks, c)
        in_rows_single(ptr, index, da, xt, yhat, g_weight, g_bias, lo, hi)


@njit(cache=CACHE, error_model="numpy")
def readout_grads(w, wt, gy, y, hn, xk, dz, d, g_weight, g_bias, step_abs, k):
    """The recorded outputs of fixed step `k`, ``y = g(V h[k+1] + D x[k] + c)``
    (n_outputs, batch): fill ``dz = gy g'(z)``, add its V, D and bias
    gradients, add ``V^T dz`` to ``d = dL/dh[k+1]`` (n_neurons, batch) and
    return the norm of the result."""
    n_out, nb = dz.shape
    n = d.shape[0]
    for o in range(n_out):
        code = w.act_o[o]
        for b in range(nb):
            dz[o, b] = gy[o, b] * slope(code, y[o, b])
    output_grads(w, dz, hn, xk, g_weight, g_bias, step_abs, k)
    out = wt.hidden
    total = 0.0
    for j in range(n):
        for b in range(nb):
            d[j, b] += add_segment(out.ptr, out.index, out.weight, j, TO_OUTPUT, dz, b, 0.0)
            total += d[j, b] * d[j, b]
    return math.sqrt(total)


@njit(cache=CACHE, error_model="numpy", inline="always")
def step_output_grads(w, wt, x, outputs, states, gy_loss, truncate, offset, dz, d,
                      g_weight, g_bias, step_abs, k):
    """The start of fixed step `k` going backwards: cut ``d = dL/dh[k+1]``
    at a truncation boundary, then add what the step's outputs send back
    (`readout_grads`); returns the norm of the result."""
    if truncate > 0 and (offset + k + 1) % truncate == 0:
        d[:, :] = 0.0
    return readout_grads(w, wt, gy_loss[k], outputs[k], states[k + 1], x[k], dz, d,
                         g_weight, g_bias, step_abs, k)


@njit(cache=CACHE, error_model="numpy")
def relax_vjp(w, wt, s, xk, cot, ds, g_weight, g_bias, step_abs, k, n_chunks):
    """Pull the cotangent `cot` of the targets ``p(s) = phi(a(s))`` back.

    Fills ``ds = (dp/ds)^T cot`` (n_neurons, batch) and adds the parameter
    gradients: with ``z' = V s + D x + c``, ``y' = g(z')``,
    ``a = W s + U x + F y' + b`` and ``da = phi'(a) cot``::

        ds  = W^T da + V^T (g'(z') F^T da)
        W += da s^T, U += da x^T, F += da y'^T, b += da
        V += dz' s^T, D += dz' x^T, c += dz'      (dz' = g'(z') F^T da)

    The neurons' parts (`vjp_slopes_rows`, then `vjp_rows` once ``dz'`` is
    known) run in `n_chunks` chunks on threads (None: one thread), every
    sum in the one-thread order.
    """
    n, nb = s.shape
    n_out = w.bias_o.shape[0]
    ys = np.empty((n_out, nb), dtype=s.dtype)
    gs = np.empty((n_out, nb), dtype=s.dtype)
    output_slopes(w, s, xk, ys, gs)
    da = np.empty((n, nb), dtype=s.dtype)
    ptr, index, weight = w.hidden
    args = (ptr, index, weight, w.bias_h, w.act_h, s, xk, ys, cot, da)
    if n_chunks is None:
        vjp_slopes_rows(*args, 0, n)
    else:
        vjp_slopes_parallel(*args, n_chunks)
    fed, out = wt.fed, wt.hidden
    dzs = np.empty((n_out, nb), dtype=s.dtype)
    for o in range(n_out):
        for b in range(nb):
            dzs[o, b] = gs[o, b] * add_segment(fed.ptr, fed.index, fed.weight, o, 0, da, b, 0.0)
    args = (out.ptr, out.index, out.weight, ptr, index, s, xk, ys, da, dzs, ds, g_weight, g_bias, step_abs, k)
    if n_chunks is None:
        vjp_rows(*args, 0, n)
    else:
        vjp_rows_parallel(*args, n_chunks)
    output_grads(w, dzs, s, xk, g_weight, g_bias, step_abs, k)


@njit(cache=CACHE, error_model="numpy")
def vjp_slopes_rows(ptr, index, weight, bias, codes,
                    s, xk, ys, cot,
                    da,
                    lo, hi):
    """Neurons ``lo:hi`` of `relax_vjp`'s first part: ``da = phi'(a) cot``,
    from the pre-activations ``a`` at state `s`.

    Parameters
    ----------
    ptr, index, weight, bias, codes : ndarray
        The hidden neurons' in-edge table, biases and activation codes.
    s : ndarray, shape (n_neurons, batch)
        The state.
    xk : ndarray, shape (n_inputs, batch)
    ys : ndarray, shape (n_outputs, batch)
        The outputs at `s`.
    cot : ndarray, shape (n_neurons, batch)
        The cotangent of ``p(s)``.
    da : ndarray, shape (n_neurons, batch)
        Filled on rows ``lo:hi``.
    lo, hi : int
        The neurons.
    """
    for i in range(np.uint64(lo), np.uint64(hi)):
        code = codes[i]
        for b in range(s.shape[1]):
            v = activate(code, row_drive(ptr, index, weight, bias, i, s, xk, ys, b))
            da[i, b] = slope(code, v) * cot[i, b]


@njit(cache=CACHE, error_model="numpy", parallel=True)
def vjp_slopes_parallel(ptr, index, weight, bias, codes,
                        s, xk, ys, cot,
                        da,
                        n_chunks):
    """`vjp_slopes_rows` over every neuron, in `n_chunks` chunks spread over threads."""
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(s.shape[0], n_chunks, c)
        vjp_slopes_rows(ptr, index, weight, bias, codes, s, xk, ys, cot, da, lo, hi)


@njit(cache=CACHE, error_model="numpy")
def vjp_rows(out_ptr, out_index, out_weight,
             ptr, index,
             s, xk, ys, da, dzs,
             ds,
             g_weight, g_bias, step_abs, k,
             lo, hi):
    """Neurons ``lo:hi`` of `relax_vjp`'s second part: their ``ds`` (over
    their out-edges), the gradients of their in-edges and their biases.

    Parameters
    ----------
    out_ptr, out_index, out_weight : ndarray
        The hidden neurons' out-edge table (``Transposed.hidden``).
    ptr, index : ndarray
        Their in-edge table (``Wiring.hidden``; the weights are not read).
    s, xk, ys, da
        As in `vjp_slopes_rows` (`da` now read).
    dzs : ndarray, shape (n_outputs, batch)
        The outputs' cotangents ``g'(z') F^T da``.
    ds : ndarray, shape (n_neurons, batch)
        Filled on rows ``lo:hi``.
    g_weight, g_bias, step_abs, k
        As in `bptt_discrete`, and the step.
    lo, hi : int
        The neurons.
    """
    lo, hi = np.uint64(lo), np.uint64(hi)
    for j in range(lo, hi):
        for b in range(s.shape[1]):
            ds[j, b] = (add_segment(out_ptr, out_index, out_weight, j, HIDDEN, da, b, 0.0)
                        + add_segment(out_ptr, out_index, out_weight, j, TO_OUTPUT, dzs, b, 0.0))
    in_edge_grads(ptr, index, da, s, xk, ys, g_weight, g_bias, step_abs, k, lo, hi)


@njit(cache=CACHE, error_model="numpy", parallel=True)
def vjp_rows_parallel(out_ptr, out_index, out_weight,
                      ptr, index,
                      s, xk, ys, da, dzs,
                      ds,
                      g_weight, g_bias, step_abs, k,
                      n_chunks):
    """`vjp_rows` over every neuron, in `n_chunks` chunks spread over threads."""
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(s.shape[0], n_chunks, c)
        vjp_rows(out_ptr, out_index, out_weight, ptr, index, s, xk, ys, da, dzs, ds,
                 g_weight, g_bias, step_abs, k, lo, hi)


@njit(cache=CACHE, error_model="numpy")
def initial_grads(d, g_h0):
    """Copy ``dL/dh[0]`` into `g_h0` and return its norm."""
    total = 0.0
    for j in range(d.shape[0]):
        for b in range(d.shape[1]):
            g_h0[j, b] = d[j, b]
            total += d[j, b] * d[j, b]
    return math.sqrt(total)


@njit(cache=CACHE, error_model="numpy", inline="always")
def pull_row(coef, dcoef, r, cot, h, P, dh, DP, g_tau):
    """Pull the cotangent `cot` of row `r` of a fixed step,
    ``coef[:, r, 0] h + sum_{j < r} coef[:, r, 1 + j] P[j]``, back: add to
    ``dh`` (dL/dh), to ``DP[j]`` (the targets' cotangents) and, through
    ``dcoef`` (d coef / d tau), to ``g_tau``."""
    for i in range(h.shape[0]):
        c0, d0 = coef[i, r, 0], dcoef[i, r, 0]
        for b in range(h.shape[1]):
            c = cot[i, b]
            dh[i, b] += c0 * c
            g = d0 * h[i, b]
            for j in range(r):
                DP[j, i, b] += coef[i, r, 1 + j] * c
                g += dcoef[i, r, 1 + j] * P[j, i, b]
            g_tau[i] += c * g


@njit(cache=CACHE, error_model="numpy")
def bptt_fixed_step(w, wt, coef, dcoef, x, states, outputs, gy_loss, truncate, offset, carry,
                    g_weight, g_bias, g_tau, g_h0, dh_norm, step_abs, n_chunks):
    """Gradients of a fixed-step continuous run, through its stages.

    Each step's stages are recomputed from the recorded state by
    `continuous.fixed_step`, the forward pass's own step. With
    ``d = dL/dh[k+1]``, the result row of `coef` sends ``d`` to ``h`` and to
    the stages' targets; from the last stage to the first, `relax_vjp`
    pulls a target's cotangent back to its stage state, whose row of `coef`
    sends it on to ``h`` and the earlier targets. The taus enter only
    through the coefficients (``r = dt / tau``), so their gradients come
    from `dcoef`.

    Parameters
    ----------
    w, wt, x, states, outputs, gy_loss, truncate, offset, g_weight, g_bias, g_h0, dh_norm, step_abs
        As in `bptt_discrete`.
    coef, dcoef : ndarray of float64, shape (n_neurons, S + 1, S + 1)
        The method's coefficients (`continuous.fixed_step`) and their
        derivatives in tau.
    carry : ndarray, shape (n_neurons, batch)
        In: ``dL/dh`` at the step after the last, through the later steps
        (zeros for a whole run; the next segment's when checkpointing). Out:
        ``dL/dh[0]``.
    g_tau : ndarray, shape (n_neurons,)
        Filled (zeros on entry).
    n_chunks : int or None
        As in `bptt_discrete`: the right-hand sides and their pull-backs
        on threads, bit for bit the one-thread results.
    """
    T, n, nb = x.shape[0], states.shape[1], states.shape[2]
    n_out = outputs.shape[1]
    n_stages = coef.shape[1] - 1
    dtype = states.dtype
    d = carry.copy()
    dh = np.empty((n, nb), dtype=dtype)
    dz = np.empty((n_out, nb), dtype=dtype)
    ds = np.empty((n, nb), dtype=dtype)
    ybuf = np.empty((n_out, nb), dtype=dtype)
    step = np.empty((n, nb), dtype=dtype)
    P = np.empty((n_stages, n, nb), dtype=dtype)
    Y = np.empty((n_stages - 1, n, nb), dtype=dtype)
    DP = np.empty((n_stages, n, nb), dtype=dtype)
    for k in range(T - 1, -1, -1):
        h, xk = states[k], x[k]
        dh_norm[k + 1] = step_output_grads(w, wt, x, outputs, states, gy_loss, truncate, offset,
                                           dz, d, g_weight, g_bias, step_abs, k)
        fixed_step(w, coef, h, xk, step, P, Y, ybuf, n_chunks)
        dh[:, :] = 0.0
        DP[:, :, :] = 0.0
        pull_row(coef, dcoef, n_stages, d, h, P, dh, DP, g_tau)
        for s in range(n_stages - 1, -1, -1):
            relax_vjp(w, wt, h if s == 0 else Y[s - 1], xk, DP[s], ds, g_weight, g_bias, step_abs, k, n_chunks)
            pull_row(coef, dcoef, s, ds, h, P, dh, DP, g_tau)
        d, dh = dh, d
    dh_norm[0] = initial_grads(d, g_h0)
    carry[:, :] = d
