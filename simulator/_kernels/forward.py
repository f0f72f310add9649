"""Discrete-time forward kernels (design section 3).

Per step t, for every neuron i and batch element b::

    a[t]   = W h[t] + U x[t] + F yhat[t] + b        yhat[0] = 0, yhat[t] = y[t-1]
    h[t+1] = phi(a[t])
    y[t]   = g(V h[t+1] + D x[t] + c)

Each neuron gathers its own inputs through its row of the in-edge table
(`types.Wiring`: one row lists all its in-edges, in segments over the parts
h, x, yhat of its source vector), so the loop over neurons has no write
conflicts ("poll every neuron") and runs in parallel in `run_sync_parallel`. The serial and parallel loops are
separate functions (each its own cache entry) calling the same compiled step,
`poll_lanes`: `poll`, which the continuous-time kernels call, gathering at a
batch of 1 through the hidden table interleaved eight rows at a time.
The fed-back outputs ``yhat[t]`` are gathered into a small buffer before each
step; teacher forcing: when ``teacher`` has rows, ``yhat[t] = teacher[t-1]``
wherever that entry is not NaN.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import CACHE
from .activations import activate, activate_rows
from .interleaved import add_part_lanes, lanes_load, lanes_store
from .lanes import (LANES, block_add_scaled, block_buffer, block_fill, block_store, block_width, contiguous_rows,
                    unit_rows, unit_value)
from .types import FED, HIDDEN, INPUT

@njit(cache=CACHE, error_model="numpy", inline="always")
def fill_feedback(y, teacher, t, yhat, y_before):
    """Fill ``yhat`` (n_outputs, batch) with the fed-back outputs of step `t`:
    `y_before` at t = 0 (zeros for a run from rest), else the teacher's
    ``teacher[t-1]`` where given (not NaN), else the network's own ``y[t-1]``."""
    for o in range(yhat.shape[0]):
        for b in range(yhat.shape[1]):
            if t == 0:
                yhat[o, b] = y_before[o, b]
            else:
                v = y[t - 1, o, b]
                if teacher.shape[0] > 0:
                    forced = teacher[t - 1, o, b]
                    if forced == forced:
                        v = forced
                yhat[o, b] = v


@njit(cache=CACHE, error_model="numpy", inline="always")
def chunk_bounds(n, n_chunks, c):
    """Rows ``lo, hi`` of chunk `c` of `n` rows split into `n_chunks`
    contiguous chunks of equal size (the last ones shorter or empty)."""
    size = (n + n_chunks - 1) // n_chunks
    return min(n, c * size), min(n, (c + 1) * size)


@njit(cache=CACHE, error_model="numpy", inline="always")
def add_segment(ptr, index, weight, r, q, src, b, acc):
    """`acc` plus ``weight[k] * src[index[k], b]`` over segment `q` of row
    `r` of an edge table, in slot order."""
    for k in range(ptr[r, q], ptr[r, q + 1]):
        acc += weight[k] * src[index[k], b]
    return acc


@njit(cache=CACHE, error_model="numpy", inline="always")
def add_segment_unit(ptr, index, weight, r, q, src, acc):
    """`add_segment` of batch element 0 of `src` (n, 1) with its rows one
    value apart (`lanes.unit_rows`), read through `lanes.unit_value`."""
    for k in range(ptr[r, q], ptr[r, q + 1]):
        acc += weight[k] * unit_value(src, index[k])
    return acc


@njit(cache=CACHE, error_model="numpy", inline="always")
def add_segment_batch(ptr, index, weight, r, q, src, acc):
    """`add_segment` for every batch element into `acc` (batch,), slots
    outermost so the batch loop runs over contiguous memory."""
    nb = np.uint64(acc.shape[0])
    for k in range(ptr[r, q], ptr[r, q + 1]):
        j = index[k]
        c = weight[k]
        for b in range(nb):
            acc[b] += c * src[j, b]


@njit(cache=CACHE, error_model="numpy", inline="always")
def add_row_blocks(ptr, index, weight, start, i, h, xt, yhat, out, n_regs, width, buf, buf1, buf2, buf3):
    """``out[i] = start + sum`` over row i's slots (hidden, input, fed-back
    segments) for a row of `n_regs` (1 to 4) blocks, all of them in the
    block buffers `buf` .. `buf3` at once: each slot's index and weight
    read once for the whole row and the row's lines asked for together
    (block by block, the row's slots ran once per block: the forward step
    took 100 against 83 us, N = 1,000, batch 32, float64). The sums of
    `add_segment_block`, in its order."""
    fill_row_blocks(start, buf, buf1, buf2, buf3)
    for k in range(ptr[i, HIDDEN], ptr[i, HIDDEN + 1]):
        add_slot_blocks(weight[k], h, index[k], n_regs, width, buf, buf1, buf2, buf3)
    for k in range(ptr[i, INPUT], ptr[i, INPUT + 1]):
        add_slot_blocks(weight[k], xt, index[k], n_regs, width, buf, buf1, buf2, buf3)
    for k in range(ptr[i, FED], ptr[i, FED + 1]):
        add_slot_blocks(weight[k], yhat, index[k], n_regs, width, buf, buf1, buf2, buf3)
    store_row_blocks(out, i, n_regs, width, buf, buf1, buf2, buf3)


@njit(cache=CACHE, error_model="numpy", inline="always")
def fill_row_blocks(value, buf, buf1, buf2, buf3):
    """Every lane of the four block buffers `buf` .. `buf3` set to `value`."""
    block_fill(buf, value)
    block_fill(buf1, value)
    block_fill(buf2, value)
    block_fill(buf3, value)


@njit(cache=CACHE, error_model="numpy", inline="always")
def store_row_blocks(out, i, n_regs, width, buf, buf1, buf2, buf3):
    """Row i of `out` from a row of `n_regs` (1 to 4) blocks held in `buf`
    .. `buf3`."""
    block_store(buf, out, i, 0)
    if n_regs > 1:
        block_store(buf1, out, i, width)
    if n_regs > 2:
        block_store(buf2, out, i, width + width)
    if n_regs > 3:
        block_store(buf3, out, i, width + width + width)


@njit(cache=CACHE, error_model="numpy", inline="always")
def add_slot_blocks(c, src, j, n_regs, width, buf, buf1, buf2, buf3):
    """``c * src[j]`` added to a row of `n_regs` (1 to 4) blocks held in
    `buf` .. `buf3`."""
    block_add_scaled(buf, c, src, j, 0)
    if n_regs > 1:
        block_add_scaled(buf1, c, src, j, width)
    if n_regs > 2:
        block_add_scaled(buf2, c, src, j, width + width)
    if n_regs > 3:
        block_add_scaled(buf3, c, src, j, width + width + width)


@njit(cache=CACHE, error_model="numpy", inline="always")
def add_segment_block(ptr, index, weight, r, q, src, col, buf):
    """`add_segment_batch` over the block of batch columns from `col` held
    in `buf` (`lanes`)."""
    for k in range(ptr[r, q], ptr[r, q + 1]):
        block_add_scaled(buf, weight[k], src, index[k], col)


@njit(cache=CACHE, error_model="numpy", inline="always")
def gather(ptr, index, weight, bias, h, xt, yhat, out, lo, hi):
    """``out[i, b] = bias[i] + sum_k weight[k] * s[index[k], b]`` over every
    slot of rows ``lo:hi`` (unsigned) of the hidden neurons' in-edge
    table, ``s`` the slot's part of the source vector (`h`, `xt` or
    `yhat`).

    A batch of 1 in rows one value apart sums each row in a register
    (`add_segment_unit`). A batch of whole blocks (`lanes.block_width`: 32
    float32, 8 float64) in contiguous rows of `out`'s dtype adds each row's
    slots in vector registers from the bias (`lanes.block_fill`: with
    the biases written into the rows first and read back, the forward step
    took 2% longer, N = 1,000, batch 32), a row of up to four blocks all
    at once (`add_row_blocks`), a longer one block by block; another
    batch, slot by slot into a row in memory. The sums are the
    same, in the same order, either way."""
    nb = np.uint64(out.shape[1])
    if nb == 1 and unit_rows(h) and unit_rows(xt) and unit_rows(yhat):
        from_bias(bias, out, lo, hi)
        gather_unit(ptr, index, weight, h, xt, yhat, out, lo, hi)
        return
    width = np.uint64(block_width(out))
    if (nb % width == 0 and contiguous_rows(out, out) and contiguous_rows(h, out) and contiguous_rows(xt, out)
            and contiguous_rows(yhat, out)):
        buf = block_buffer(out)
        if np.uint64(0) < nb <= np.uint64(4) * width:  # the row's blocks side by side, each slot read once
            buf1, buf2, buf3 = block_buffer(out), block_buffer(out), block_buffer(out)
            n_regs = nb // width
            for i in range(lo, hi):
                add_row_blocks(ptr, index, weight, bias[i], i, h, xt, yhat, out, n_regs, width,
                               buf, buf1, buf2, buf3)
            return
        for i in range(lo, hi):
            for col in range(np.uint64(0), nb, width):
                block_fill(buf, bias[i])
                add_segment_block(ptr, index, weight, i, HIDDEN, h, col, buf)
                add_segment_block(ptr, index, weight, i, INPUT, xt, col, buf)
                add_segment_block(ptr, index, weight, i, FED, yhat, col, buf)
                block_store(buf, out, i, col)
        return
    acc = np.empty(nb, dtype=out.dtype)
    for i in range(lo, hi):
        for b in range(nb):
            acc[b] = bias[i]
        add_segment_batch(ptr, index, weight, i, HIDDEN, h, acc)
        add_segment_batch(ptr, index, weight, i, INPUT, xt, acc)
        add_segment_batch(ptr, index, weight, i, FED, yhat, acc)
        for b in range(nb):
            out[i, b] = acc[b]


@njit(cache=CACHE, error_model="numpy", inline="always")
def gather_unit(ptr, index, weight, h, xt, yhat, out, lo, hi):
    """`gather`'s path at a batch of 1 in rows one value apart: each row
    summed in a register (`add_segment_unit`)."""
    for i in range(lo, hi):
        acc = add_segment_unit(ptr, index, weight, i, HIDDEN, h, out[i, 0])
        acc = add_segment_unit(ptr, index, weight, i, INPUT, xt, acc)
        out[i, 0] = add_segment_unit(ptr, index, weight, i, FED, yhat, acc)


@njit(cache=CACHE, error_model="numpy", inline="always")
def count_nonfinite(a, lo, hi):
    """How many entries of rows ``lo:hi`` of `a` (n_rows, batch),
    C-contiguous, are inf or NaN; one vectorised pass over data in cache."""
    lo, hi, nb = np.uint64(lo), np.uint64(hi), np.uint64(a.shape[1])
    flat = a.reshape(a.size)
    bad = 0
    for j in range(lo * nb, hi * nb):
        bad += not abs(flat[j]) < np.inf
    return bad


@njit(cache=CACHE, error_model="numpy")
def poll(ptr, index, weight, bias, codes, uniform, h, xt, yhat, out, lo, hi):
    """Update neurons ``lo:hi``: ``out[i] = phi_i(b + W h + U x + F yhat)[i]``.

    Parameters
    ----------
    ptr, index, weight : ndarray
        The hidden neurons' in-edge table (``Wiring.hidden``, as arrays: a
        parallel loop body may only see arrays).
    bias : ndarray, shape (n_neurons,)
    codes : ndarray of int8, shape (n_neurons,)
        Activation codes.
    uniform : int
        The code every neuron shares, or -1.
    h : ndarray, shape (n_neurons, batch)
        The state read.
    xt : ndarray, shape (n_inputs, batch)
    yhat : ndarray, shape (n_outputs, batch)
        The fed-back outputs.
    out : ndarray, shape (n_neurons, batch), C-contiguous
        Filled on rows ``lo:hi``; must not alias `h`, `xt` or `yhat`.
    lo, hi : int
        The neurons to update.

    Returns
    -------
    int
        The number of non-finite values written, counted while the chunk
        is in cache (so no pass over the whole history is needed after).

    Notes
    -----
    Pre-activations start from the bias and gather row by row (`gather`),
    then the activations apply to the whole chunk (vectorised when all
    neurons share one). Row indices are unsigned: Numba checks signed
    ones for wrap-around on every access, which keeps LLVM from vectorising.
    """
    lo, hi = np.uint64(lo), np.uint64(hi)
    gather(ptr, index, weight, bias, h, xt, yhat, out, lo, hi)
    return activate_rows(codes, uniform, out, lo, hi)


@njit(cache=CACHE, error_model="numpy")
def poll_lanes(lanes_start, lanes_count, lanes_index, lanes_weight,
               ptr, index, weight, bias, codes, uniform, h, xt, yhat, out, lo, hi):
    """`poll` with the table also interleaved (the arrays of
    ``Wiring.hidden_lanes``): at a batch of 1 in rows one value apart, the
    whole chunks of eight rows that ``lo:hi`` covers gather eight side by
    side in a vector register (`interleaved`), the other rows one by one
    (`gather_unit`); the same values, bit for bit. Else `poll` itself (a
    call, so that its compiled code serves both: called with the
    arguments' own types, as the other callers pass them)."""
    first, last = np.uint64(lo), np.uint64(hi)
    width = np.uint64(LANES)
    c_lo = (first + width - np.uint64(1)) // width
    c_hi = min(last // width, np.uint64(lanes_start.shape[0]))
    if not (out.shape[1] == 1 and c_lo < c_hi and unit_rows(out) and unit_rows(h) and unit_rows(xt)
            and unit_rows(yhat)):
        return poll(ptr, index, weight, bias, codes, uniform, h, xt, yhat, out, lo, hi)
    from_bias(bias, out, first, last)
    gather_unit(ptr, index, weight, h, xt, yhat, out, first, c_lo * width)
    buf = block_buffer(out)
    for c in range(c_lo, c_hi):
        chunk_sums(lanes_start, lanes_count, lanes_index, lanes_weight, c, h, xt, yhat, out, out, buf)
    gather_unit(ptr, index, weight, h, xt, yhat, out, c_hi * width, last)
    return activate_rows(codes, uniform, out, first, last)


@njit(cache=CACHE, error_model="numpy", inline="always")
def chunk_sums(l_start, l_count, l_index, l_weight, c, h, xt, yhat, start, out, buf):
    """Chunk `c` of an interleaved in-edge table (``Wiring.hidden_lanes``:
    `l_start` .. `l_weight`), eight rows side by side in block buffer
    `buf`: ``out[8 c + l] = start[8 c + l] + sum`` over the chunk's
    hidden, input and fed-back segments, reading `h`, `xt` and `yhat`
    through the table's index (an offset from their first row where it is
    signed)."""
    first = c * np.uint64(LANES)
    lanes_load(buf, start, first)
    add_part_lanes(l_start, l_count, l_index, l_weight, c, HIDDEN, h, buf)
    add_part_lanes(l_start, l_count, l_index, l_weight, c, INPUT, xt, buf)
    add_part_lanes(l_start, l_count, l_index, l_weight, c, FED, yhat, buf)
    lanes_store(buf, out, first)


@njit(cache=CACHE, error_model="numpy", inline="always")
def from_bias(bias, out, lo, hi):
    """Rows ``lo:hi`` of `out` set to their neurons' biases (every batch element)."""
    for i in range(lo, hi):
        for b in range(out.shape[1]):
            out[i, b] = bias[i]


@njit(cache=CACHE, error_model="numpy", inline="always")
def output_drive(w, o, h, xt, b):
    """The pre-activation ``z[o, b] = (V h + D x + c)[o]`` of one output."""
    t = w.outputs
    return (w.bias_o[o] + add_segment(t.ptr, t.index, t.weight, o, HIDDEN, h, b, 0.0)
            + add_segment(t.ptr, t.index, t.weight, o, INPUT, xt, b, 0.0))


@njit(cache=CACHE, error_model="numpy", inline="always")
def readout(w, h, xt, yt):
    """Fill ``yt = g(V h + D x[t] + c)`` (n_outputs, batch) from the state `h`.

    With a batch, each slot's weight scales a contiguous row of `h` into
    float64 sums over the batch (the sums `output_drive` makes, in its
    order, so the same values bit for bit): element by element, an output
    reading every neuron made a chain of dependent additions and strided
    reads for each batch element (a fifth of the forward step at N = 1,000,
    batch 32).
    """
    nb = yt.shape[1]
    if nb == 1:
        for o in range(yt.shape[0]):
            yt[o, 0] = activate(w.act_o[o], output_drive(w, o, h, xt, 0))
        return
    t = w.outputs
    hv = np.empty(nb, dtype=np.float64)
    xv = np.empty(nb, dtype=np.float64)
    for o in range(yt.shape[0]):
        code = w.act_o[o]
        hv[:] = 0.0
        xv[:] = 0.0
        add_segment_batch(t.ptr, t.index, t.weight, o, HIDDEN, h, hv)
        add_segment_batch(t.ptr, t.index, t.weight, o, INPUT, xt, xv)
        for b in range(nb):
            yt[o, b] = activate(code, w.bias_o[o] + hv[b] + xv[b])


@njit(cache=CACHE, error_model="numpy", inline="always")
def row_drive(ptr, index, weight, bias, i, h, xt, yhat, b):
    """The pre-activation ``a[i, b] = (W h + U x + F yhat + b)[i]`` of one
    neuron, from the hidden neurons' in-edge table given as arrays."""
    return (bias[i] + add_segment(ptr, index, weight, i, HIDDEN, h, b, 0.0)
            + add_segment(ptr, index, weight, i, INPUT, xt, b, 0.0)
            + add_segment(ptr, index, weight, i, FED, yhat, b, 0.0))


@njit(cache=CACHE, error_model="numpy", inline="always")
def drive(w, i, h, xt, yhat, b):
    """`row_drive` from the wiring `w`."""
    return row_drive(w.hidden.ptr, w.hidden.index, w.hidden.weight, w.bias_h, i, h, xt, yhat, b)


@njit(cache=CACHE, error_model="numpy")
def run_sync_serial(w, x, states, outputs, teacher, y_before):
    """Synchronous discrete run on one thread.

    Parameters
    ----------
    w : Wiring
    x : ndarray, shape (n_steps, n_inputs, batch)
    states : ndarray, shape (n_steps + 1, n_neurons, batch)
        ``states[0]`` holds h[0] on entry; rows 1.. are filled.
    outputs : ndarray, shape (n_steps, n_outputs, batch)
        Filled.
    teacher : ndarray, shape (n_steps or 0, n_outputs, batch)
        Targets forced onto the feedback path (NaN: not forced); 0 rows: none.
    y_before : ndarray, shape (n_outputs, batch)
        The output fed back at step 0 (zeros for a run from rest; the last
        output of the previous segment when a run is resumed).

    Returns
    -------
    int
        The first ``t`` with a non-finite value in ``states[t]`` (t >= 1), or -1.
    """
    ptr, index, weight = w.hidden
    l_start, l_count, l_index, l_weight = w.hidden_lanes[:4]
    yhat = np.empty(outputs.shape[1:], dtype=outputs.dtype)
    n, n_out = states.shape[1], outputs.shape[1]
    first_bad = -1
    for t in range(x.shape[0]):
        fill_feedback(outputs, teacher, t, yhat, y_before)
        bad = poll_lanes(l_start, l_count, l_index, l_weight, ptr, index, weight, w.bias_h, w.act_h, w.uniform_h,
                         states[t], x[t], yhat, states[t + 1], 0, n)
        if bad and first_bad < 0:
            first_bad = t + 1
        if n_out:  # without outputs, not even the views the call takes (0.2 us a step at N = 100)
            readout(w, states[t + 1], x[t], outputs[t])
    return first_bad


@njit(cache=CACHE, error_model="numpy", parallel=True)
def run_sync_parallel(w, x, states, outputs, teacher, y_before, n_chunks):
    """`run_sync_serial` with each step's neurons split into `n_chunks`
    contiguous chunks spread over threads."""
    ptr, index, weight = w.hidden
    l_start, l_count, l_index, l_weight = w.hidden_lanes[:4]
    bias, codes, uniform = w.bias_h, w.act_h, w.uniform_h
    yhat = np.empty(outputs.shape[1:], dtype=outputs.dtype)
    n, n_out = states.shape[1], outputs.shape[1]
    first_bad = -1
    for t in range(x.shape[0]):
        fill_feedback(outputs, teacher, t, yhat, y_before)
        h, xt, nxt = states[t], x[t], states[t + 1]
        bad = 0
        for c in prange(n_chunks):
            lo, hi = chunk_bounds(n, n_chunks, c)
            bad += poll_lanes(l_start, l_count, l_index, l_weight, ptr, index, weight, bias, codes, uniform, h, xt,
                              yhat, nxt, lo, hi)
        if bad and first_bad < 0:
            first_bad = t + 1
        if n_out:
            readout(w, nxt, xt, outputs[t])
    return first_bad


@njit(cache=CACHE, error_model="numpy")
def run_async(w, x, states, outputs, teacher, y_before, orders):
    """Asynchronous discrete run: neurons updated in place, one at a time.

    Each step is one sweep: ``states[t + 1]`` starts as a copy of
    ``states[t]`` and neuron ``orders[t, r]`` is updated at turn ``r`` from the
    current values of all others. Outputs are read after the sweep.

    Parameters
    ----------
    w, x, states, outputs, teacher, y_before
        As in `run_sync_serial`.
    orders : ndarray of int64, shape (n_steps, n_neurons)
        A permutation of the neurons for every sweep.

    Returns
    -------
    int
        As `run_sync_serial`.
    """
    nb = states.shape[2]
    yhat = np.empty(outputs.shape[1:], dtype=outputs.dtype)
    first_bad = -1
    for t in range(x.shape[0]):
        fill_feedback(outputs, teacher, t, yhat, y_before)
        h = states[t + 1]
        h[:, :] = states[t]
        for r in range(orders.shape[1]):
            i = orders[t, r]
            code = w.act_h[i]
            for b in range(nb):
                h[i, b] = activate(code, drive(w, i, h, x[t], yhat, b))
        if first_bad < 0 and count_nonfinite(h, 0, h.shape[0]):
            first_bad = t + 1
        readout(w, h, x[t], outputs[t])
    return first_bad


@njit(cache=CACHE, error_model="numpy")
def first_nonfinite(a):
    """Position ``(t, i, b)`` of the first non-finite entry of `a`
    (time-major scan), or ``(-1, -1, -1)`` if all are finite."""
    for t in range(a.shape[0]):
        for i in range(a.shape[1]):
            for b in range(a.shape[2]):
                v = a[t, i, b]
                if not (v - v == 0.0):
                    return t, i, b
    return -1, -1, -1
