"""Backpropagation through a discrete run with edge delays (design section 9).

With ``da_i,t = dL/dh_i,t * phi_i'(h_i,t)`` and ``dz_o,t = dL/dy_o,t * g_o'(y_o,t)``,
the error of a value is gathered from everything that read it: a hidden
neuron j's state of step t was read, through each out-edge of delay d
(target i, weight w), by step ``t + d``, so::

    dL/dh_j,t = sum_(j -> o, d) w dz_o,t+d + sum_(j -> i, d) w da_i,t+d
    dL/dy_o,t = (the loss's) + [not forced] sum_(o -> i, d) w da_i,t+d

(nothing from steps after the run), and h0, read by the steps before each
out-edge's delay, gathers ``w da_i,r`` over those steps r. An edge's
weight gradient is the sum over its reads of the reader's error times the
value read: an edge from a hidden neuron adds ``h_j,t da_i,t+d`` (or
``dz``) while its source gathers, with the error it has just loaded (in
the out-edge table's slot order), an edge from an input or a fed-back
output adds ``delta x_t-d`` at its target. `bptt_delayed` walks each
step's levels in reverse (`simulator.delays.Schedule`), so the readers
through delay-0 edges are done first; the nodes of a level need nothing
from one another, each gathers over its own out-edges and writes its own
slots, so chunks of a level run on threads (`back_nodes_parallel`) with
the one-thread sums. At a batch of 1 a level of neurons in order takes
the loops of `delayed_single` (a level of every neuron, eight neurons
side by side through the interleaved tables): the same sums in the same
order.
`pull_output` sends an output's error the other way, scattering over its
in-slots (for the gated kernel).

Truncation cuts every read whose source was produced in an earlier window
than the reader: step t lies in window ``t // truncate``, a state read
at time s (``states[s]``) was produced by step ``s - 1`` (h0 counts as
window 0), so the delay-1 reads of the default timing are cut exactly where
`backward.bptt_discrete` cuts them.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import CACHE
from .activations import TANH, slope
from .backward import dot_rows, norm, row_sum
from .delayed import MIN_PARALLEL_LEVEL, NEVER_DIRECT, consecutive_levels, lane_offsets, slot_offsets
from .delayed_single import (back_neurons_lanes, back_neurons_lanes_parallel, back_neurons_single, in_grads_lanes,
                             pull_single)
from .forward import chunk_bounds, fill_row_blocks
from .interleaved import lanes_add_to_slots
from .lanes import (block_add_product, block_add_scaled, block_buffer, block_load, block_store, block_total,
                    block_width, prefetch)
from .types import FED, HIDDEN, INPUT, TO_OUTPUT

#: At a batch, the nodes ahead whose readers' error rows a node prefetches:
#: with delays 1..5 the rows of five steps are read at random, out of
#: cache (N = 10,000, batch 32, one thread: the backward kernel 1.80x ->
#: 1.57x the default one).
PREFETCH_AHEAD = 2


@njit(cache=CACHE, error_model="numpy", inline="always")
def crosses(truncate, produced, read):
    """Whether truncation cuts the path from the value step `produced`
    wrote (-1: h0) to step `read`."""
    return truncate > 0 and max(produced, 0) // truncate != read // truncate


@njit(cache=CACHE, error_model="numpy")
def pull_output(ptr, index, weight, delay, o, first, delta, t, x, states, base, truncate, g_states, g_weight,
                step_abs):
    """Send ``delta`` (output `o`'s error at step `t`, shape (batch,)) back
    through its in-slots (row `o` of the outputs' in-edge table, slots'
    gradients from ``first``): the weights' gradients and the errors of the
    hidden states read (``g_states``, rows from time `base`)."""
    nb = delta.shape[0]
    record = step_abs.shape[0] > 0
    for k in range(ptr[o, HIDDEN], ptr[o, HIDDEN + 1]):
        s = max(t + 1 - delay[k], 0)
        j = index[k]
        cut = crosses(truncate, s - 1, t)
        c = weight[k]
        total = 0.0
        for b in range(nb):
            total += delta[b] * states[s - base, j, b]
            if not cut:
                g_states[s - base, j, b] += delta[b] * c
        g_weight[first + k] += total
        if record:
            step_abs[t, first + k] += total
    for k in range(ptr[o, INPUT], ptr[o, INPUT + 1]):
        s = t - delay[k]
        if s < 0:
            continue
        j = index[k]
        total = 0.0
        for b in range(nb):
            total += delta[b] * x[s, j, b]
        g_weight[first + k] += total
        if record:
            step_abs[t, first + k] += total


@njit(cache=CACHE, error_model="numpy")
def out_offsets(ptr, index, delay, q, stride, offset):
    """Fill ``offset[k] = index[k] + delay[k] * stride`` over segment `q` of
    every row of an out-edge table: slot k of a source at step t reads its
    target's error at step ``t + delay[k]``, ``flat[(t * stride + offset[k]) * batch + b]``
    of a C-contiguous (steps, stride, batch) array."""
    for r in range(ptr.shape[0]):
        for k in range(ptr[r, q], ptr[r, q + 1]):
            offset[k] = np.int64(index[k]) + delay[k] * stride


@njit(cache=CACHE, error_model="numpy", inline="always")
def out_edges_in_registers(tp, tw, td, toff, j, t, lim, n_steps, record, g_out, step_out,
                           s_rows, h_at, d_rows, d_row, n_regs, zeros, products,
                           acc0, acc1, acc2, acc3):
    """`back_nodes`' pass over hidden neuron j's out-edges to hidden
    neurons at a batch of `n_regs` (1 to 4) register blocks: each edge's
    gradient ``h_j . e`` summed in `products` into `g_out` (and
    `step_out`), its weighted error into the row's sums ``acc0 .. acc3``.
    `lim` < 0: no truncation, and no check per edge; the caller passes
    the constant -1 for that, so that the inlined copy has no branch in
    its loop (with the checks LLVM kept the last accumulator in memory,
    loaded and stored at every edge: 17% of the kernel's samples at N =
    10,000, batch 32). The arguments as in `back_nodes` (`zeros` a row of
    zeros, `acc0 .. acc3` block buffers)."""
    width = np.uint64(block_width(zeros))
    w2, w3 = width + width, width + width + width
    for q in range(tp[j, HIDDEN], tp[j, HIDDEN + 1]):
        at = np.uint64(d_row + toff[q])
        reads = lim < 0 or td[q] <= lim
        c = tw[q]
        block_load(products, zeros, 0, 0)
        block_add_product(products, s_rows, h_at, d_rows, at, 0)
        if reads:
            block_add_scaled(acc0, c, d_rows, at, 0)
        if n_regs > 1:
            block_add_product(products, s_rows, h_at, d_rows, at, width)
            if reads:
                block_add_scaled(acc1, c, d_rows, at, width)
        if n_regs > 2:
            block_add_product(products, s_rows, h_at, d_rows, at, w2)
            if reads:
                block_add_scaled(acc2, c, d_rows, at, w2)
        if n_regs > 3:
            block_add_product(products, s_rows, h_at, d_rows, at, w3)
            if reads:
                block_add_scaled(acc3, c, d_rows, at, w3)
        total = block_total(products)
        g_out[q] += total
        if record and t + td[q] < n_steps:
            step_out[t + td[q], q] += total


@njit(cache=CACHE, error_model="numpy")
def back_nodes(hp, hx, hd,
               op, ox, od,
               tp, tw, td, toff,
               fp, fw, fd, foff,
               act_h, act_o,
               order, lo, hi, t, lim,
               x, states, base, outputs, fed, teacher, gy_loss,
               delta, start, dz, dh,
               g_weight, g_bias, step_abs, g_out, step_out):
    """The nodes ``order[lo:hi]``, all of one level, of backward step `t`:
    each gathers the errors of the readers of its value (over its out-edges,
    each at its own delay), forms its own error and adds its in-edges'
    gradients. The readers ran later, or at this step in a later level, so
    the nodes of a level need nothing from one another: chunks of them run
    on threads without write conflicts. At a batch of whole register
    blocks, an out-edge's gradient ``h_j . e`` is summed block by block in
    vector registers (`block_add_product`, `block_total`) as its weighted
    error joins the node's sum in the same pass over the row, the slope in a
    loop of its own for tanh, and the rows the node `PREFETCH_AHEAD`
    later reads are prefetched: its readers' error rows, its own state
    row and the error row it writes and reads back for its bias (the
    last two took the kernel from 3.45 to 2.9 ms a step, N = 10,000,
    batch 32, delays 1..5, one thread; an error row written into memory
    not in the cache is read back only when the line has come).

    Parameters
    ----------
    hp, hx, hd : ndarray
        The hidden neurons' in-edge table (``Wiring.hidden``'s ptr and
        index, the slots' delays).
    op, ox, od : ndarray
        The outputs' in-edge table, likewise.
    tp, tw, td : ndarray
        The hidden neurons' out-edge table (``Transposed.hidden``: ptr,
        weight) and its slots' delays.
    toff : ndarray of int64
        Its `out_offsets`: part ``HIDDEN`` by n_neurons, ``TO_OUTPUT`` by n_outputs.
    fp, fw, fd, foff : ndarray
        The fed-back outputs' out-edge table (``Transposed.fed``: ptr,
        weight), its delays and `out_offsets` (by n_neurons).
    act_h, act_o : ndarray of int8
        Activation codes.
    order : ndarray of int64
        The schedule's order.
    lo, hi : int
        The nodes, ``order[lo:hi]``.
    t : int
        The step.
    lim : int
        Under truncation, the longest delay over which an error still
        travels back to step `t` (to the end of t's window); -1: none.
    x, states, base, outputs, fed, teacher
        As in `bptt_delayed`.
    gy_loss : ndarray, shape (n_steps, n_outputs, batch)
        ``dL/dy`` from the loss.
    delta : ndarray, shape (n_rows, n_neurons, batch), C-contiguous
        The hidden neurons' errors ``dL/da``, row ``s - start`` holding
        step s: rows of later steps read, row ``t - start`` filled on
        the nodes.
    start : int
        The step of ``delta[0]``.
    dz : ndarray, shape (n_steps + ahead, n_outputs, batch), C-contiguous
        The outputs' errors ``dL/dz`` by step (zeros after the run), row
        `t` filled on the nodes.
    dh : ndarray, shape (n_neurons, batch)
        ``dL/dh_t`` filled on the nodes.
    g_weight, g_bias, step_abs
        As in `bptt_delayed`.
    """
    n, nb = states.shape[1], states.shape[2]
    nbu = np.uint64(nb)  # unsigned indices: no wrap-around checks
    n_out = dz.shape[1]
    first_out = hx.shape[0]
    record = step_abs.shape[0] > 0
    forced = teacher.shape[0] > 0
    cutting = lim >= 0
    d_flat = delta.reshape(delta.size)
    z_flat = dz.reshape(dz.size)
    s_flat = states.reshape(states.size)
    d_row = (t - start) * n  # the rows of step t, in nodes from the arrays' starts
    z_row = t * n_out
    s_row = (t + 1 - base) * n
    n_steps = gy_loss.shape[0]
    one, four = np.uint64(1), np.uint64(4)
    sums = np.zeros((2, nb), dtype=np.float64)  # the errors from outputs, and from hidden neurons
    to_out, back = sums[0], sums[1]
    width = np.uint64(block_width(sums))
    blocks = nbu % width == 0
    zeros = np.zeros((1, nb), dtype=np.float64)
    gathered = block_buffer(sums)
    z_rows = dz.reshape((dz.shape[0] * n_out, nb))  # one row per (step, node)
    d_rows = delta.reshape((delta.shape[0] * n, nb))
    s_rows = states.reshape((states.shape[0] * n, nb))
    n_in = x.shape[1]
    x_rows, f_rows = x.reshape((x.shape[0] * n_in, nb)), fed.reshape((fed.shape[0] * n_out, nb))
    products = block_buffer(sums)
    # a row of at most four blocks: its error sums in registers across the out-edges
    n_regs = nbu // width if blocks and nbu <= np.uint64(4) * width else np.uint64(0)
    acc1, acc2, acc3 = block_buffer(sums), block_buffer(sums), block_buffer(sums)
    w2, w3 = width + width, width + width + width
    line = max(64 // delta.itemsize, 1)  # values in a cache line
    n_lines = (nb + line - 1) // line  # a row's lines, counted once: `range(0, nb, line)` divided at every edge
    for k in range(lo, hi):
        node = order[k]
        if node < n:
            j = node
            code = act_h[j]
            at_h = np.uint64((s_row + j) * nb)  # h_j,t: what each out-edge's reader read
            at_d = np.uint64((d_row + j) * nb)
            if nb == 1:  # sums in registers; the two parts written out (choosing an array per node costs)
                hj = s_flat[at_h]
                v_out = 0.0
                for q in range(tp[j, TO_OUTPUT], tp[j, TO_OUTPUT + 1]):
                    e = z_flat[np.uint64(z_row + toff[q])]
                    g_out[q] += hj * e
                    if record and t + td[q] < n_steps:
                        step_out[t + td[q], q] += hj * e
                    if not cutting or td[q] <= lim:
                        v_out += tw[q] * e
                v_back = 0.0
                if record or cutting:
                    for q in range(tp[j, HIDDEN], tp[j, HIDDEN + 1]):
                        e = d_flat[np.uint64(d_row + toff[q])]
                        g_out[q] += hj * e
                        if record and t + td[q] < n_steps:
                            step_out[t + td[q], q] += hj * e
                        if not cutting or td[q] <= lim:
                            v_back += tw[q] * e
                else:  # the same sums without the checks, which LLVM left in the loop (0.19 of 0.70 ms a step)
                    v_back = pull_single(tp, tw, toff, HIDDEN, j, d_flat, d_row, hj, g_out, 0.0)
                v = v_out + v_back
                dh[j, 0] = v
                da = v * slope(code, hj)
                d_flat[d_row + j] = da
                g_bias[j] += da
            else:
                if k + PREFETCH_AHEAD < hi:  # the error rows a later node's readers wrote
                    nxt = order[k + PREFETCH_AHEAD]
                    if nxt < n:
                        for q in range(tp[nxt, HIDDEN], tp[nxt, HIDDEN + 1]):
                            for m in range(n_lines):
                                prefetch(d_rows, d_row + toff[q], m * line)
                        for m in range(n_lines):  # and its own error row, written and read back
                            prefetch(d_rows, d_row + nxt, m * line)
                            prefetch(s_rows, s_row + nxt, m * line)
                to_out[:] = 0.0
                back[:] = 0.0
                h_at = np.uint64(s_row + j)
                if blocks:  # block by block: the product in vector registers, the error's sum beside it; the two
                    # parts written out (an array chosen per node and part: 4.1 against 3.45 ms a step, N = 10,000,
                    # delays 1..5, one thread)
                    for q in range(tp[j, TO_OUTPUT], tp[j, TO_OUTPUT + 1]):
                        at = np.uint64(z_row + toff[q])  # unsigned: no wrap-around checks
                        reads = not cutting or td[q] <= lim
                        c = tw[q]
                        block_load(products, zeros, 0, 0)
                        for col in range(np.uint64(0), nbu, width):
                            block_add_product(products, s_rows, h_at, z_rows, at, col)
                            if reads:
                                block_load(gathered, sums, 0, col)
                                block_add_scaled(gathered, c, z_rows, at, col)
                                block_store(gathered, sums, 0, col)
                        total = block_total(products)
                        g_out[q] += total
                        if record and t + td[q] < n_steps:
                            step_out[t + td[q], q] += total
                    if n_regs:  # the row's sums in registers across the out-edges (`backward.hidden_rows`)
                        fill_row_blocks(0.0, gathered, acc1, acc2, acc3)
                        if cutting:  # the truncation checks only where truncating (`out_edges_in_registers`)
                            out_edges_in_registers(tp, tw, td, toff, j, t, lim, n_steps, record, g_out, step_out,
                                                   s_rows, h_at, d_rows, d_row, n_regs, zeros, products,
                                                   gathered, acc1, acc2, acc3)
                        else:
                            out_edges_in_registers(tp, tw, td, toff, j, t, -1, n_steps, record, g_out, step_out,
                                                   s_rows, h_at, d_rows, d_row, n_regs, zeros, products,
                                                   gathered, acc1, acc2, acc3)
                        block_store(gathered, sums, 1, 0)
                        if n_regs > 1:
                            block_store(acc1, sums, 1, width)
                        if n_regs > 2:
                            block_store(acc2, sums, 1, w2)
                        if n_regs > 3:
                            block_store(acc3, sums, 1, w3)
                    else:
                        for q in range(tp[j, HIDDEN], tp[j, HIDDEN + 1]):
                            at = np.uint64(d_row + toff[q])
                            reads = not cutting or td[q] <= lim
                            c = tw[q]
                            block_load(products, zeros, 0, 0)
                            for col in range(np.uint64(0), nbu, width):
                                block_add_product(products, s_rows, h_at, d_rows, at, col)
                                if reads:
                                    block_load(gathered, sums, 1, col)
                                    block_add_scaled(gathered, c, d_rows, at, col)
                                    block_store(gathered, sums, 1, col)
                            total = block_total(products)
                            g_out[q] += total
                            if record and t + td[q] < n_steps:
                                step_out[t + td[q], q] += total
                else:
                    for part in (TO_OUTPUT, HIDDEN):
                        src = z_flat if part == TO_OUTPUT else d_flat
                        row = z_row if part == TO_OUTPUT else d_row
                        acc = to_out if part == TO_OUTPUT else back
                        for q in range(tp[j, part], tp[j, part + 1]):  # slot by slot over the contiguous batch
                            at = np.uint64((row + toff[q]) * nb)
                            a0 = a1 = a2 = a3 = 0.0  # four running sums: the products do not wait on one another
                            m = np.uint64(0)
                            while m + four <= nbu:
                                a0 += s_flat[at_h + m] * src[at + m]
                                a1 += s_flat[at_h + m + one] * src[at + m + one]
                                a2 += s_flat[at_h + m + one + one] * src[at + m + one + one]
                                a3 += s_flat[at_h + m + four - one] * src[at + m + four - one]
                                m += four
                            while m < nbu:
                                a0 += s_flat[at_h + m] * src[at + m]
                                m += one
                            total = (a0 + a1) + (a2 + a3)
                            if not cutting or td[q] <= lim:
                                c = tw[q]
                                for b in range(nbu):
                                    acc[b] += c * src[at + b]
                            g_out[q] += total
                            if record and t + td[q] < n_steps:
                                step_out[t + td[q], q] += total
                if code == TANH:  # slope's own expression, in a loop LLVM vectorises (the branch out of it)
                    for b in range(nbu):
                        v = to_out[b] + back[b]
                        dh[j, b] = v
                        hb = s_flat[at_h + b]
                        d_flat[at_d + b] = v * (1.0 - hb * hb)
                else:
                    for b in range(nbu):
                        v = to_out[b] + back[b]
                        dh[j, b] = v
                        d_flat[at_d + b] = v * slope(code, s_flat[at_h + b])
                g_bias[j] += row_sum(d_rows, d_row + j)
            for q in range(hp[j, INPUT], hp[j, FED + 1]):  # the products as `backward.dot_rows` sums them
                s = t - hd[q]
                if s >= 0:
                    if q < hp[j, FED]:
                        total = dot_rows(d_rows, d_row + j, x_rows, s * n_in + hx[q])
                    else:
                        total = dot_rows(d_rows, d_row + j, f_rows, s * n_out + hx[q])
                    g_weight[q] += total
                    if record:
                        step_abs[t, q] += total
        else:
            o = node - n
            code = act_o[o]
            for b in range(nb):
                g = gy_loss[t, o, b]
                if not (forced and teacher[t, o, b] == teacher[t, o, b]):
                    total = 0.0
                    for q in range(fp[o, 0], fp[o, 1]):
                        if not cutting or fd[q] <= lim:
                            total += fw[q] * d_flat[(d_row + foff[q]) * nb + b]
                    g += total
                dzv = g * slope(code, outputs[t, o, b])
                dz[t, o, b] = dzv
                g_bias[node] += dzv
            for q in range(op[o, INPUT], op[o, INPUT + 1]):
                s = t - od[q]
                if s >= 0:
                    total = 0.0
                    for b in range(nb):
                        total += dz[t, o, b] * x[s, ox[q], b]
                    g_weight[first_out + q] += total
                    if record:
                        step_abs[t, first_out + q] += total


@njit(cache=CACHE, error_model="numpy", parallel=True)
def back_nodes_parallel(hp, hx, hd, in_off, in_first,
                        op, ox, od,
                        tp, tw, td, toff,
                        fp, fw, fd, foff,
                        act_h, act_o,
                        order, first, n_level, first_id, t, lim,
                        x, states, base, outputs, fed, teacher, gy_loss,
                        delta, start, dz, dh,
                        g_weight, g_bias, step_abs, g_out, step_out,
                        n_chunks):
    """`back_nodes` over the level ``order[first:first + n_level]``, in
    `n_chunks` chunks spread over threads (`back_neurons_single` where
    its conditions hold, `first_id` the level's first neuron when it
    holds the neurons in order, else -1; `in_off` and `in_first` as
    there)."""
    single = first_id >= 0 and states.shape[2] == 1 and lim < 0 and step_abs.shape[0] == 0
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(n_level, n_chunks, c)
        if single:
            back_neurons_single(hp, in_off, hd, in_first, tp, tw, toff, act_h, first_id + lo, hi - lo, t, x, states,
                                base, fed, delta, start, dz, dh, g_weight, g_bias, g_out)
            continue
        back_nodes(hp, hx, hd, op, ox, od, tp, tw, td, toff, fp, fw, fd, foff, act_h, act_o,
                   order, first + lo, first + hi, t, lim, x, states, base, outputs, fed, teacher, gy_loss,
                   delta, start, dz, dh, g_weight, g_bias, step_abs, g_out, step_out)


@njit(cache=CACHE, error_model="numpy")
def back_offsets(w, wt, sched, out_delay, fed_delay, n_inputs, n_outputs):
    """Where the slots of a network's tables read, for every call of
    `bptt_delayed` on its runs (built once per network,
    ``Network.back_delays``: in each call, these passes over the slots
    took 0.45 ms, N = 10,000, in-degree 10, 16 us a step with calls of
    32 steps).

    Returns
    -------
    toff : ndarray of int64
        `out_offsets` of ``wt.hidden``: part ``HIDDEN`` by n_neurons,
        ``TO_OUTPUT`` by `n_outputs`.
    foff : ndarray of int64
        `out_offsets` of ``wt.fed`` (by n_neurons).
    in_off : ndarray of int32
        `delayed.slot_offsets` of ``w.hidden``.
    in_first : int
        The first step from which no input or fed-back output slot of
        ``w.hidden`` reads before the start, the steps whose in-edge
        gradients read through `in_off` (`delayed.NEVER_DIRECT`: `in_off`
        does not fit).
    l_off : ndarray of int32
        `toff` laid out as ``wt.hidden_lanes`` (`delayed.lane_offsets`;
        empty when it does not fit).
    i_off : ndarray of int32
        `in_off` laid out as ``w.hidden_lanes``.
    """
    tp, tx, _ = wt.hidden
    fp, fx, _ = wt.fed
    n = tp.shape[0]
    toff = np.empty(tx.shape[0], dtype=np.int64)
    out_offsets(tp, tx, out_delay, HIDDEN, n, toff)
    out_offsets(tp, tx, out_delay, TO_OUTPUT, n_outputs, toff)
    foff = np.empty(fx.shape[0], dtype=np.int64)
    out_offsets(fp, fx, fed_delay, 0, n, foff)
    in_off, fits = slot_offsets(w.hidden.ptr, w.hidden.index, sched.hidden,
                                (np.int64(n), np.int64(n_inputs), np.int64(n_outputs)))
    in_first = NEVER_DIRECT if fits == NEVER_DIRECT else first_in_read(w.hidden.ptr, sched.hidden)
    return (toff, foff, in_off, in_first, lane_offsets(wt.hidden_lanes.slot, toff),
            lane_offsets(w.hidden_lanes.slot, in_off))


@njit(cache=CACHE, error_model="numpy")
def first_in_read(ptr, delay):
    """The first step from which no input or fed-back output slot of an
    in-edge table (`ptr`, per-slot `delay`) reads before the start (the
    hidden slots' reads do not count: the backward reads its errors
    there, not the states; counted, the first four backward steps of a
    network with delays 1..5 on its hidden edges only took 0.2 ms more,
    N = 10,000)."""
    first = 0
    for r in range(ptr.shape[0]):
        for k in range(ptr[r, INPUT], ptr[r, FED + 1]):
            first = max(first, delay[k])
    return first


@njit(cache=CACHE, error_model="numpy")
def bptt_delayed(w, wt, sched, out_delay, fed_delay, offsets, x, states, base, outputs, fed, teacher, gy_loss,
                 truncate, start, stop, delta, dz, g_weight, g_bias, g_out, g_laid, g_h0, dh_norm, step_abs,
                 step_out, n_chunks):
    """Backpropagate steps ``stop - 1`` down to `start` of a discrete run
    with delays; adds to the gradient arrays.

    Parameters
    ----------
    w : Wiring
    wt : Transposed
        The out-edge tables.
    sched : Schedule
        Per-slot delays and the levels of a step (`simulator.delays`).
    out_delay, fed_delay : ndarray of int64
        The delays of the slots of ``wt.hidden`` and ``wt.fed``.
    offsets : tuple
        `back_offsets`'s.
    x : ndarray, shape (n_steps, n_inputs, batch)
    states : ndarray, shape (n_rows, n_neurons, batch), C-contiguous
        The history from the run's state index `base` (row ``r`` is
        ``states[base + r]``), rows up to ``stop - base`` filled.
    base : int
        0, or at most ``start + 1 - `` the longest delay of an edge from
        a hidden neuron (every state the steps read is in `states`).
    outputs, fed : ndarray, shape (n_steps, n_outputs, batch)
        The outputs, and what the feedback edges read (the outputs, or a
        copy with the targets written in under teacher forcing).
    teacher : ndarray, shape (n_steps or 0, n_outputs, batch)
        The forced targets (NaN: not forced); 0 rows: none.
    gy_loss : ndarray, shape (n_steps, n_outputs, batch)
        ``dL/dy`` from the loss.
    truncate : int
        Window length of truncated BPTT (0: none); see the module text.
    start, stop : int
        The steps to backpropagate (a checkpointed segment, or the run).
    delta : ndarray, shape (stop - start + ahead, n_neurons, batch), C-contiguous
        The hidden neurons' errors ``dL/da`` by step from `start`, ``ahead``
        the longest delay of an edge from a hidden neuron or a fed-back
        output: in, rows ``stop - start`` on those of the steps after
        (zeros after the run); out, rows ``0 .. stop - start - 1`` filled.
    dz : ndarray, shape (n_steps + ahead, n_outputs, batch), C-contiguous
        The outputs' errors by step: in, the rows after `stop` filled
        (zeros after the run); out, rows ``start .. stop - 1`` filled.
    g_weight : ndarray, shape (n_edges,)
        The gradients of the edges from inputs and fed-back outputs, in the
        slot order of ``w.hidden`` then ``w.outputs`` (the other slots untouched).
    g_bias : ndarray, shape (n_neurons + n_outputs,)
    g_out : ndarray, shape (n_slots of wt.hidden,)
        The gradients of the edges from hidden neurons, in the slot order
        of ``wt.hidden``: each source adds ``h_j,t`` times the error its
        reader formed at step ``t + delay`` (and h0 those of the steps
        before the delay), whatever truncation cuts.
    g_laid : tuple of two ndarrays, shapes (n_values of wt.hidden_lanes,), (n_values of w.hidden_lanes,)
        Zeros before the first call of a run: where a level holds every
        neuron in order at a batch of 1, without truncation or the
        per-step record, the calls add the gradients of the slots of
        ``wt.hidden_lanes``'s chunks to the first, laid out as that table,
        and the call that reaches step 0 adds them to `g_out`; those of
        the slots of ``w.hidden_lanes``'s chunks at the steps that read
        nothing before the start (from `back_offsets`'s `in_first` on) to
        the second, added to `g_weight` before the first step that does
        (or at the end). Each slot's sum runs in the order of the steps,
        so the gradients are those of the pass without them, to the bit.
    g_h0 : ndarray, shape (n_neurons, batch)
        Filled when `start` is 0: ``dL/dh0``, the errors of every read of
        h0 (the steps before a slot's delay).
    dh_norm : ndarray, shape (n_steps + 1,)
        Row ``t + 1`` filled with the norm of ``dL/dh_t`` (all batch
        elements) for the steps t run.
    step_abs : ndarray, shape (n_steps, n_edges) or (0, n_edges)
        When it has rows: each edge's gradient contribution at each step
        (the step that read), columns as `g_weight`.
    step_out : ndarray, shape (n_steps or 0, n_slots of wt.hidden)
        The same for `g_out`.
    n_chunks : int or None
        None: one thread; else each level's nodes in this many chunks
        spread over threads. Every sum runs in the same order either way,
        so the results agree to the bit.
    """
    hp, hx, hd, op, ox, od = w.hidden.ptr, w.hidden.index, sched.hidden, w.outputs.ptr, w.outputs.index, sched.outputs
    tp, tx, tw = wt.hidden
    fp, _, fw = wt.fed
    n, nb = states.shape[1], states.shape[2]
    toff, foff, in_off, in_first, l_off, i_off = offsets
    g_lanes, g_in_lanes = g_laid
    lanes, in_lanes = wt.hidden_lanes, w.hidden_lanes
    order, level_ptr = sched.order, sched.level_ptr
    first_id = consecutive_levels(order, level_ptr, n)
    plain = nb == 1 and truncate == 0 and step_abs.shape[0] == 0 and in_first != NEVER_DIRECT
    dh = np.zeros((n, nb), dtype=states.dtype)
    whole = -1  # a level of every neuron in order: through the interleaved table (if it has chunks, offsets that fit)
    for lv in range(level_ptr.shape[0] - 1):
        if first_id[lv] == 0 and level_ptr[lv + 1] - level_ptr[lv] == n:
            whole = lv
    laid = plain and whole >= 0 and lanes.start.shape[0] > 0 and l_off.size > 0 and (
        in_lanes.start.shape[0] == 0 or i_off.size > 0)
    for t in range(stop - 1, start - 1, -1):
        lim = (t // truncate + 1) * truncate - 1 - t if truncate > 0 else -1
        if laid and t == in_first - 1:  # the steps that read before the start add to g_weight itself
            lanes_add_to_slots(in_lanes.slot, g_in_lanes, g_weight)
        for lv in range(level_ptr.shape[0] - 2, -1, -1):
            first, last = level_ptr[lv], level_ptr[lv + 1]
            if laid and lv == whole:
                if n_chunks is None or n < MIN_PARALLEL_LEVEL:
                    back_neurons_lanes(lanes.start, lanes.count, l_off, lanes.weight, lanes.rows, g_lanes, tp, tw,
                                       toff, w.act_h, w.uniform_h, 0, lanes.start.shape[0], True, t, states, base,
                                       delta, start, dz, dh, g_out)
                    in_grads_lanes(in_lanes.start, in_lanes.count, i_off, in_lanes.weight, g_in_lanes, hp, in_off, hd,
                                   in_first, 0, in_lanes.start.shape[0], True, t, x, states, fed, delta, start,
                                   g_weight, g_bias)
                else:
                    back_neurons_lanes_parallel(lanes.start, lanes.count, l_off, lanes.weight, lanes.rows, g_lanes,
                                                in_lanes.start, in_lanes.count, i_off, in_lanes.weight, g_in_lanes,
                                                hp, in_off, hd, in_first, tp, tw, toff, w.act_h, w.uniform_h, t, x,
                                                states, base, fed, delta, start, dz, dh, g_weight, g_bias, g_out,
                                                n_chunks)
            elif plain and first_id[lv] >= 0 and (n_chunks is None or last - first < MIN_PARALLEL_LEVEL):
                back_neurons_single(hp, in_off, hd, in_first, tp, tw, toff, w.act_h, first_id[lv], last - first, t, x,
                                    states, base, fed, delta, start, dz, dh, g_weight, g_bias, g_out)
            elif n_chunks is None or last - first < MIN_PARALLEL_LEVEL:
                back_nodes(hp, hx, hd, op, ox, od, tp, tw, out_delay, toff, fp, fw,
                           fed_delay, foff, w.act_h, w.act_o, order, first, last, t, lim, x, states, base, outputs,
                           fed, teacher, gy_loss, delta, start, dz, dh, g_weight, g_bias, step_abs, g_out, step_out)
            else:
                back_nodes_parallel(hp, hx, hd, in_off, in_first, op, ox, od, tp, tw, out_delay, toff, fp, fw,
                                    fed_delay, foff, w.act_h, w.act_o, order, first, last - first, first_id[lv], t,
                                    lim, x, states,
                                    base, outputs, fed, teacher, gy_loss, delta, start, dz, dh, g_weight, g_bias,
                                    step_abs, g_out, step_out, n_chunks)
        dh_norm[t + 1] = norm(dh)
    if start > 0:
        return
    if laid:
        lanes_add_to_slots(lanes.slot, g_lanes, g_out)
        if in_first == 0:
            lanes_add_to_slots(in_lanes.slot, g_in_lanes, g_weight)
    # h0 is read by the steps before each slot's delay; its error comes from those in the first window
    h0_errors(tp, tx, tw, out_delay, states, dz, delta, truncate, gy_loss.shape[0], g_out, g_h0, step_out)


@njit(cache=CACHE, error_model="numpy")
def h0_errors(tp, tx, tw, out_delay, states, dz, delta, truncate, n_steps, g_out, g_h0, step_out):
    """``dL/dh0`` into `g_h0`, and the gradients of the edges from hidden
    neurons at the steps that read h0 into `g_out` (and `step_out` when
    it has rows): an edge of delay d is read from h0 at the steps before
    ``min(d, n_steps)``, so source j's error is ``sum_q tw[q] E_q`` and
    edge q's gradient ``h0_j E_q``, ``E_q`` the sum of its reader's
    errors over those steps (within the first truncation window for
    ``dL/dh0``), read off running sums over the first steps' errors
    (`first_sums`: `dz` rows of the outputs, `delta` rows of the hidden
    neurons, from step 0), in float64. Step by step for every edge, with
    each edge's number of steps a branch the processor could not predict,
    the pass took 1.7 ms at N = 10,000, in-degree 10, delays 1..5 (ten
    backward steps' time); the other arguments as in `bptt_delayed`."""
    n, nb = states.shape[1], states.shape[2]
    depth = min(n_steps, out_delay.max()) if out_delay.size else 0
    window = depth if truncate == 0 else min(depth, truncate)
    h0 = states[0]
    out_sums, back_sums = first_sums(dz, depth), first_sums(delta, depth)
    record = step_out.shape[0] > 0
    if nb == 1 and not record:  # the sums in registers (through the arrays: 0.65 ms, against 0.36)
        for j in range(n):
            hj = np.float64(h0[j, 0])
            to_out_j = h0_part_single(tp, tx, tw, out_delay, TO_OUTPUT, j, hj, out_sums, depth, window, g_out)
            g_h0[j, 0] = to_out_j + h0_part_single(tp, tx, tw, out_delay, HIDDEN, j, hj, back_sums, depth, window,
                                                   g_out)
        return
    h0_wide = np.empty((n, nb), dtype=np.float64)  # the sums' dtype: `dot_rows` in vector registers
    for j in range(n):
        for b in range(nb):
            h0_wide[j, b] = h0[j, b]
    out_rows, back_rows = out_sums.reshape((-1, nb)), back_sums.reshape((-1, nb))
    n_out = dz.shape[1]
    to_out = np.empty(nb, dtype=np.float64)
    back = np.empty(nb, dtype=np.float64)
    for j in range(n):
        to_out[:] = 0.0
        back[:] = 0.0
        h0_part(tp, tx, tw, out_delay, TO_OUTPUT, j, h0_wide, out_rows, n_out, depth, window, to_out, g_out)
        h0_part(tp, tx, tw, out_delay, HIDDEN, j, h0_wide, back_rows, n, depth, window, back, g_out)
        for b in range(nb):
            g_h0[j, b] = to_out[b] + back[b]
    if record:  # each step's gradient of the edges that read h0
        for j in range(n):
            for part in (TO_OUTPUT, HIDDEN):
                err = dz if part == TO_OUTPUT else delta
                for q in range(tp[j, part], tp[j, part + 1]):
                    i = tx[q]
                    for r in range(min(out_delay[q], depth)):
                        total = 0.0
                        for b in range(nb):
                            total += h0[j, b] * err[r, i, b]
                        step_out[r, q] += total


@njit(cache=CACHE, error_model="numpy", inline="always")
def h0_part(tp, tx, tw, out_delay, part, j, h0_wide, rows, stride, depth, window, acc, g_out):
    """`h0_errors` over part `part` of source j's out-edges at a batch:
    each edge's gradient, the dot product of h0_j with its reader's summed
    errors (`first_sums`, as rows of `stride` nodes by step), added to
    `g_out`, and its weighted errors to `acc`. With scalar sums over the
    batch, each product waiting on the one before, and `first_sums` making
    a temporary array a step, the pass took 13-19 ms a call at N = 10,000,
    in-degree 10, batch 32, delays 1..5 (four to five backward steps'
    time); now 4.8-5.8 ms."""
    for q in range(tp[j, part], tp[j, part + 1]):
        i, c, m = tx[q], tw[q], min(out_delay[q], depth)
        g_out[q] += dot_rows(h0_wide, j, rows, m * stride + i)
        r = min(m, window) * stride + i
        for b in range(acc.shape[0]):
            acc[b] += c * rows[r, b]


@njit(cache=CACHE, error_model="numpy", inline="always")
def h0_part_single(tp, tx, tw, out_delay, part, j, hj, sums, depth, window, g_out):
    """`h0_errors` over part `part` of source j's out-edges at a batch of
    1: adds each edge's gradient to `g_out`, returns j's error from them."""
    acc = 0.0
    for q in range(tp[j, part], tp[j, part + 1]):
        i, m = tx[q], min(out_delay[q], depth)
        g_out[q] += hj * sums[m, i, 0]
        acc += tw[q] * sums[min(m, window), i, 0]
    return acc


@njit(cache=CACHE, error_model="numpy")
def first_sums(err, depth):
    """``sums[m] = err[0] + ... + err[m - 1]`` for m = 0 .. `depth`, in
    float64."""
    sums = np.empty((depth + 1, err.shape[1], err.shape[2]), dtype=np.float64)
    sums[0] = 0.0
    for m in range(depth):  # in loops: an array expression makes a temporary a step
        for i in range(err.shape[1]):
            for b in range(err.shape[2]):
                sums[m + 1, i, b] = sums[m, i, b] + err[m, i, b]
    return sums
