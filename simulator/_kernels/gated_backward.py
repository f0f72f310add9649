"""Backpropagation through discrete runs of networks with gated neurons
(design section 8; the forward pass and the units' equations are in
`gated`).

Backward, per neuron, with ``dh = dL/dh'`` (and ``dc = dL/dc'`` carried
from the step after, for an LSTM)::

    GRU:   dp = dh (1 - z) phi'(n)           (the candidate's pre-activation)
           d_in = dp, d_rec = dp r, d_r = dp (R_n + b_hn) sigma'(r),
           d_z = dh (h - n) sigma'(z),       dL/dh (direct) = dh z
    LSTM:  dc' = dc + dh o phi'(phi(c')),    d_o = dh phi(c') sigma'(o)
           d_in = d_rec = dc' i phi'(g),     d_i = dc' g sigma'(i),
           d_f = dc' c sigma'(f),            dL/dc = dc' f
    plain: d_in = d_rec = dh phi'(a)

Each in-edge slot from source s gets ``d_rec s`` (hidden -> hidden slots)
or ``d_in s`` (the others) on its weight and ``d_q s`` on gate q's weight;
each source gets back ``weight d_rec (or d_in) + sum_q w_q d_q`` over its
out-edges (the transposed tables), which the next step back reads.

Each step back runs in chunks of neurons on threads without write
conflicts (`gated_back_parallel`): each neuron's errors and in-edge
gradients (`gated_back_rows`), then each source's carry over its out-edges
(`gated_carry_rows`); every sum runs in the same order either way, so
threads change no bit. A network of GRU neurons only, with sigmoid gates
and tanh candidates (`gated.uniform_gru`), gathers a chunk's sums first
(`gated.chunk_gate_sums`, as the forward pass does, two gate rows), turns
them into the errors in one vectorised block (`gru_back_block`), and
leaves out the third gate row a GRU does not have.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import CACHE
from . import elementary as el
from .activations import activate, slope
from .backward import output_grads
from .forward import add_segment, chunk_bounds, fill_feedback
from .gated import GRU, LSTM, chunk_gate_sums, row_gate_sums, uniform_gru
from .lanes import LANES, block_add_product, block_buffer, block_product, block_total, contiguous_rows
from .types import FED, HIDDEN, INPUT, TO_OUTPUT


@njit(cache=CACHE, error_model="numpy", inline="always")
def slot_grads(ptr, index, q, src, D, dm, n_gates, g_weight, g_gate, step_abs, t, lo, hi):
    """Add one step's outer products over segment `q` of rows ``lo:hi`` to
    the slots' gradients: for the slots of row i, ``D[dm, i] . src[j]`` to
    the main weight's (and to ``step_abs[t]`` when it has rows), ``D[2 +
    g, i] . src[j]`` to gate row g's for the first `n_gates` rows, sums
    over the batch in float64 (at batch 1 the products themselves, the
    same numbers). A batch of whole vectors (`lanes.LANES`) in contiguous
    rows sums each product vector by vector in float64 block buffers, then
    `lanes.block_total`'s tree: four sums of one chain of scalar additions
    each waited on their 32 additions (about a quarter of the batch-32
    backward step, N = 1,000). The loop over rows stays inside (see
    `backward.segment_outer`: an inlined helper with array arguments that
    branches, called per row, pays their reference counts each time)."""
    nb = np.uint64(src.shape[1])
    record = step_abs.shape[0] > 0
    lanes = np.uint64(LANES)
    rows = D.reshape((D.shape[0] * D.shape[1], D.shape[2]))  # row r * n + i is D[r, i]
    n = D.shape[1]
    vectors = nb % lanes == 0 and contiguous_rows(rows, rows) and contiguous_rows(src, src)
    wide = np.empty((1, 1), dtype=np.float64)  # types the buffers: float64 sums for float32 values too
    p, p0, p1, p2 = block_buffer(wide), block_buffer(wide), block_buffer(wide), block_buffer(wide)
    for i in range(lo, hi):
        if nb == 1:
            d, d0, d1, d2 = D[dm, i, 0], D[2, i, 0], D[3, i, 0], D[4, i, 0]
            for k in range(ptr[i, q], ptr[i, q + 1]):
                s = src[index[k], 0]
                g_weight[k] += d * s
                g_gate[0, k] += d0 * s
                g_gate[1, k] += d1 * s
                if n_gates == 3:
                    g_gate[2, k] += d2 * s
                if record:
                    step_abs[t, k] += d * s
            continue
        if vectors:
            rm, r0, r1, r2 = dm * n + i, 2 * n + i, 3 * n + i, 4 * n + i
            for k in range(ptr[i, q], ptr[i, q + 1]):
                j = index[k]
                block_product(p, rows, rm, src, j, 0)
                block_product(p0, rows, r0, src, j, 0)
                block_product(p1, rows, r1, src, j, 0)
                if n_gates == 3:
                    block_product(p2, rows, r2, src, j, 0)
                for col in range(lanes, nb, lanes):
                    block_add_product(p, rows, rm, src, j, col)
                    block_add_product(p0, rows, r0, src, j, col)
                    block_add_product(p1, rows, r1, src, j, col)
                    if n_gates == 3:
                        block_add_product(p2, rows, r2, src, j, col)
                a = block_total(p)
                g_weight[k] += a
                g_gate[0, k] += block_total(p0)
                g_gate[1, k] += block_total(p1)
                if n_gates == 3:
                    g_gate[2, k] += block_total(p2)
                if record:
                    step_abs[t, k] += a
            continue
        for k in range(ptr[i, q], ptr[i, q + 1]):
            j = index[k]
            a, a0, a1, a2 = 0.0, 0.0, 0.0, 0.0
            for b in range(nb):
                s = src[j, b]
                a += D[dm, i, b] * s
                a0 += D[2, i, b] * s
                a1 += D[3, i, b] * s
                if n_gates == 3:
                    a2 += D[4, i, b] * s
            g_weight[k] += a
            g_gate[0, k] += a0
            g_gate[1, k] += a1
            if n_gates == 3:
                g_gate[2, k] += a2
            if record:
                step_abs[t, k] += a


@njit(cache=CACHE, error_model="numpy", inline="always")
def gru_back_block(S, bias, gb, h, dH, D, direct, g_bias, g_gbias, lo, hi):
    """The errors of GRU neurons ``lo:hi`` (sigmoid gates, tanh candidates)
    from their sums `S` (5, hi - lo, batch; `gated.chunk_gate_sums`) and
    ``dH``: rows d_in, d_rec, d_r, d_z of `D` and ``direct`` (row 4 of `D`
    is left as it is), the module docstring's GRU equations with the gates
    recomputed as `gated.gru_block` computes them; their biases' gradients
    summed over the batch in its order. The loops run with sigmoid and
    tanh alone, which LLVM vectorises (across neurons at batch 1, across
    the batch otherwise; the batch sums in a loop of their own, in
    registers: added in memory, where LLVM cannot tell the gradients from
    `D`, they took 56 against 22 us a step at N = 1,000, batch 32)."""
    nb = np.uint64(h.shape[1])
    rows, lo = np.uint64(hi - lo), np.uint64(lo)
    if nb == 1:
        for a in range(rows):
            i = lo + a
            dh, rec, bh = dH[i, 0], S[1, a, 0], gb[2, i]
            r = el.sigmoid(S[2, a, 0] + gb[0, i])
            z = el.sigmoid(S[3, a, 0] + gb[1, i])
            v = el.tanh(S[0, a, 0] + bias[i] + r * (rec + bh))
            dp = dh * (1.0 - z) * (1.0 - v * v)
            d_rec, d_r, d_z = dp * r, dp * (rec + bh) * (r * (1.0 - r)), dh * (h[i, 0] - v) * (z * (1.0 - z))
            D[0, i, 0] = dp
            D[1, i, 0] = d_rec
            D[2, i, 0] = d_r
            D[3, i, 0] = d_z
            direct[i, 0] = dh * z
            g_bias[i] += dp
            g_gbias[0, i] += d_r
            g_gbias[1, i] += d_z
            g_gbias[2, i] += d_rec
        return
    for a in range(rows):
        i = lo + a
        br, bz, bn, bh = gb[0, i], gb[1, i], bias[i], gb[2, i]
        for b in range(nb):
            dh, rec = dH[i, b], S[1, a, b]
            r = el.sigmoid(S[2, a, b] + br)
            z = el.sigmoid(S[3, a, b] + bz)
            v = el.tanh(S[0, a, b] + bn + r * (rec + bh))
            dp = dh * (1.0 - z) * (1.0 - v * v)
            D[0, i, b] = dp
            D[1, i, b] = dp * r
            D[2, i, b] = dp * (rec + bh) * (r * (1.0 - r))
            D[3, i, b] = dh * (h[i, b] - v) * (z * (1.0 - z))
            direct[i, b] = dh * z
        sb, s0, s1, s2 = g_bias[i], g_gbias[0, i], g_gbias[1, i], g_gbias[2, i]
        for b in range(nb):
            sb += D[0, i, b]
            s0 += D[2, i, b]
            s1 += D[3, i, b]
            s2 += D[1, i, b]
        g_bias[i], g_gbias[0, i], g_gbias[1, i], g_gbias[2, i] = sb, s0, s1, s2


@njit(cache=CACHE, error_model="numpy")
def gated_back_rows(ptr, index, weight, bias,
                    codes, units, gcodes, cell, gw, gb, uniform,
                    out_ptr, out_index, out_weight,
                    h, hn, xt, yhat, c, cn, dz,
                    carry_h, carry_c, dH, D, direct, dc_prev,
                    g_weight, g_gate, g_bias, g_gbias, step_abs, t,
                    lo, hi):
    """Neurons ``lo:hi`` of one backward step of a network with gated
    neurons (the equations in this module's docstring).

    ``dH = carry_h + V^T dz`` for these neurons, their errors ``D`` (rows
    d_in, d_rec, d_0, d_1, d_2), what flows straight back to their own
    state (``direct``) and cell (``dc_prev``), and what step t adds to the
    gradients of their in-edges, gate weights and biases. No neuron's
    values depend on another's, so chunks of neurons run on threads
    without write conflicts.

    Parameters
    ----------
    ptr, index, weight, bias, codes, units, gcodes, cell, gw, gb, uniform
        As in `gated.gated_rows`.
    out_ptr, out_index, out_weight : ndarray
        The hidden neurons' out-edge table (``Transposed.hidden``).
    h, hn : ndarray, shape (n_neurons, batch)
        The states h[t] and h[t+1].
    xt, yhat
        The inputs and fed-back outputs of step t.
    c, cn : ndarray, shape (n_lstm, batch)
        The cell states c[t] and c[t+1].
    dz : ndarray, shape (n_outputs, batch)
        The outputs' errors at step t.
    carry_h, carry_c : ndarray
        What the steps after send back to h[t+1] and c[t+1] (read only).
    dH, direct : ndarray, shape (n_neurons, batch)
    D : ndarray, shape (5, n_neurons, batch)
    dc_prev : ndarray, shape (n_lstm, batch)
        Filled on the rows of these neurons.
    g_weight, g_gate, g_bias, g_gbias, step_abs, t
        As in `bptt_gated`, and the step.
    lo, hi : int
        The neurons.
    """
    nb = h.shape[1]
    if uniform:
        S = np.empty((5, hi - lo, nb), dtype=h.dtype)
        for i in range(lo, hi):
            for b in range(nb):
                dH[i, b] = carry_h[i, b] + add_segment(out_ptr, out_index, out_weight, i, TO_OUTPUT, dz, b, 0.0)
        chunk_gate_sums(ptr, index, weight, gw, h, xt, yhat, S, lo, hi)
        gru_back_block(S, bias, gb, h, dH, D, direct, g_bias, g_gbias, lo, hi)
        slot_grads(ptr, index, HIDDEN, h, D, 1, 2, g_weight, g_gate, step_abs, t, lo, hi)
        slot_grads(ptr, index, INPUT, xt, D, 0, 2, g_weight, g_gate, step_abs, t, lo, hi)
        slot_grads(ptr, index, FED, yhat, D, 0, 2, g_weight, g_gate, step_abs, t, lo, hi)
        return
    acc = np.empty((5, 1, nb), dtype=h.dtype)
    for i in range(lo, hi):
        unit, ci, act, gact = units[i], cell[i], codes[i], gcodes[i]
        for b in range(nb):
            dH[i, b] = carry_h[i, b] + add_segment(out_ptr, out_index, out_weight, i, TO_OUTPUT, dz, b, 0.0)
        if unit != 0:
            row_gate_sums(ptr, index, weight, gw, i, h, xt, yhat, acc, 0, 3)
        for b in range(nb):
            dh = dH[i, b]
            d_in, d_rec, d0, d1, d2, dd = dh, dh, 0.0, 0.0, 0.0, 0.0
            if unit == GRU:
                inp, rec = acc[0, 0, b], acc[1, 0, b]
                r = activate(gact, acc[2, 0, b] + gb[0, i])
                z = activate(gact, acc[3, 0, b] + gb[1, i])
                nv = activate(act, inp + bias[i] + r * (rec + gb[2, i]))
                dp = dh * (1.0 - z) * slope(act, nv)
                d_in, d_rec = dp, dp * r
                d0 = dp * (rec + gb[2, i]) * slope(gact, r)
                d1 = dh * (h[i, b] - nv) * slope(gact, z)
                dd = dh * z
                g_gbias[2, i] += d_rec
            elif unit == LSTM:
                ig = activate(gact, acc[2, 0, b] + gb[0, i])
                fg = activate(gact, acc[3, 0, b] + gb[1, i])
                og = activate(gact, acc[4, 0, b] + gb[2, i])
                gg = activate(act, acc[0, 0, b] + acc[1, 0, b] + bias[i])
                tc = activate(act, cn[ci, b])
                dc = carry_c[ci, b] + dh * og * slope(act, tc)
                d_in = dc * ig * slope(act, gg)
                d_rec = d_in
                d0 = dc * gg * slope(gact, ig)
                d1 = dc * c[ci, b] * slope(gact, fg)
                d2 = dh * tc * slope(gact, og)
                dc_prev[ci, b] = dc * fg
                g_gbias[2, i] += d2
            else:
                d_in = dh * slope(act, hn[i, b])
                d_rec = d_in
            if unit != 0:
                g_gbias[0, i] += d0
                g_gbias[1, i] += d1
            g_bias[i] += d_in
            D[0, i, b] = d_in
            D[1, i, b] = d_rec
            D[2, i, b] = d0
            D[3, i, b] = d1
            D[4, i, b] = d2
            direct[i, b] = dd
    slot_grads(ptr, index, HIDDEN, h, D, 1, 3, g_weight, g_gate, step_abs, t, lo, hi)
    slot_grads(ptr, index, INPUT, xt, D, 0, 3, g_weight, g_gate, step_abs, t, lo, hi)
    slot_grads(ptr, index, FED, yhat, D, 0, 3, g_weight, g_gate, step_abs, t, lo, hi)


@njit(cache=CACHE, error_model="numpy")
def gated_carry_rows(out_ptr, out_index, out_weight, gow, n_gates, D, direct, carry_h, lo, hi):
    """``carry_h`` on rows ``lo:hi``: what step t sends back to h[t] of
    these neurons, their own state's share (``direct``) plus, over their
    out-edges into hidden neurons, the main weight times the target's
    d_rec and each of the first `n_gates` gate weights (``gow``,
    `Gates.weight_out`) times the target's gate error (at batch 1 in a
    register)."""
    nb = np.uint64(D.shape[2])
    if nb == 1:
        for j in range(lo, hi):
            acc = direct[j, 0]
            for k in range(out_ptr[j, HIDDEN], out_ptr[j, HIDDEN + 1]):
                i = out_index[k]
                v = out_weight[k] * D[1, i, 0] + gow[0, k] * D[2, i, 0] + gow[1, k] * D[3, i, 0]
                if n_gates == 3:
                    v += gow[2, k] * D[4, i, 0]
                acc += v
            carry_h[j, 0] = acc
        return
    acc = np.empty(nb, dtype=D.dtype)
    for j in range(lo, hi):
        for b in range(nb):
            acc[b] = direct[j, b]
        for k in range(out_ptr[j, HIDDEN], out_ptr[j, HIDDEN + 1]):
            i = out_index[k]
            c, c0, c1, c2 = out_weight[k], gow[0, k], gow[1, k], gow[2, k]
            if n_gates == 3:
                for b in range(nb):
                    acc[b] += c * D[1, i, b] + c0 * D[2, i, b] + c1 * D[3, i, b] + c2 * D[4, i, b]
            else:
                for b in range(nb):
                    acc[b] += c * D[1, i, b] + c0 * D[2, i, b] + c1 * D[3, i, b]
        for b in range(nb):
            carry_h[j, b] = acc[b]


@njit(cache=CACHE, error_model="numpy", parallel=True)
def gated_back_parallel(ptr, index, weight, bias,
                        codes, units, gcodes, cell, gw, gb, uniform,
                        out_ptr, out_index, out_weight, gow,
                        h, hn, xt, yhat, c, cn, dz,
                        carry_h, carry_c, dH, D, direct, dc_prev,
                        g_weight, g_gate, g_bias, g_gbias, step_abs, t,
                        n_chunks):
    """`gated_back_rows` then `gated_carry_rows` over every neuron, each in
    `n_chunks` chunks spread over threads."""
    n = h.shape[0]
    n_gates = 2 if uniform else 3
    for k in prange(n_chunks):
        lo, hi = chunk_bounds(n, n_chunks, k)
        gated_back_rows(ptr, index, weight, bias, codes, units, gcodes, cell, gw, gb, uniform,
                        out_ptr, out_index, out_weight, h, hn, xt, yhat, c, cn, dz,
                        carry_h, carry_c, dH, D, direct, dc_prev,
                        g_weight, g_gate, g_bias, g_gbias, step_abs, t, lo, hi)
    for k in prange(n_chunks):
        lo, hi = chunk_bounds(n, n_chunks, k)
        gated_carry_rows(out_ptr, out_index, out_weight, gow, n_gates, D, direct, carry_h, lo, hi)


@njit(cache=CACHE, error_model="numpy")
def bptt_gated(w, wt, g, x, states, cells, outputs, teacher, y_before, gy_loss, truncate, offset,
               carry_h, carry_c, carry_y, g_weight, g_gate, g_bias, g_gbias, g_h0, g_c0, dh_norm, step_abs,
               n_chunks=None):
    """Gradients of a discrete run of a network with gated neurons.

    Parameters
    ----------
    w, wt : Wiring, Transposed
    g : Gates
    x, states, outputs, teacher, y_before, gy_loss, truncate, offset
        As in `backward.bptt_discrete`.
    cells : ndarray, shape (n_steps + 1, n_lstm, batch)
        The recorded cell states.
    carry_h : ndarray, shape (n_neurons, batch)
        In: what the steps after the last send back to h[n_steps] through
        the hidden -> hidden edges and the GRUs' own state (zeros for a
        whole run). Out: the same for h[0], which is ``dL/dh[0]``.
    carry_c : ndarray, shape (n_lstm, batch)
        In: ``dL/dc[n_steps]`` from later steps; out: ``dL/dc[0]``.
    carry_y : ndarray, shape (n_outputs, batch)
        In: what the step after the last sends back to the outputs through
        the feedback edges; out: the same from step 0.
    g_weight : ndarray, shape (n_edges,)
        Main weights' gradients in slot order (`backward.bptt_discrete`).
    g_gate : ndarray, shape (3, n_hidden_slots)
        Gate weights' gradients over the slots of ``w.hidden``.
    g_bias : ndarray, shape (n_neurons + n_outputs,)
    g_gbias : ndarray, shape (3, n_neurons)
        Gate biases' gradients, rows as ``g.bias``.
    g_h0 : ndarray, shape (n_neurons, batch)
    g_c0 : ndarray, shape (n_lstm, batch)
        Filled.
    dh_norm : ndarray, shape (n_steps + 1,)
        The norm of ``dL/dh[t]``.
    step_abs : ndarray, shape (n_steps or 0, n_edges)
        With rows: each main weight's contribution at each step.
    n_chunks : int or None
        None: one thread; else each step's neurons in this many chunks
        spread over threads (`gated_back_parallel`), with the same results
        to the bit.
    """
    T, n, nb = x.shape[0], states.shape[1], states.shape[2]
    n_out = outputs.shape[1]
    dtype = states.dtype
    ptr, index, weight = w.hidden
    out, fed = wt.hidden, wt.fed
    dz = np.empty((n_out, nb), dtype=dtype)
    dH = np.empty((n, nb), dtype=dtype)
    D = np.zeros((5, n, nb), dtype=dtype)
    direct = np.zeros((n, nb), dtype=dtype)
    dc_prev = np.zeros_like(carry_c)
    yhat = np.empty((n_out, nb), dtype=dtype)
    uniform = uniform_gru(w, g)
    n_gates = 2 if uniform else 3
    for t in range(T - 1, -1, -1):
        if truncate > 0 and (offset + t + 1) % truncate == 0:
            carry_h[:, :] = 0.0
            carry_c[:, :] = 0.0
            carry_y[:, :] = 0.0
        for o in range(n_out):
            code = w.act_o[o]
            for b in range(nb):
                e = gy_loss[t, o, b]
                if not (teacher.shape[0] > 0 and teacher[t, o, b] == teacher[t, o, b]):
                    e += carry_y[o, b]
                dz[o, b] = e * slope(code, outputs[t, o, b])
        fill_feedback(outputs, teacher, t, yhat, y_before)
        h, hn, xt, c, cn = states[t], states[t + 1], x[t], cells[t], cells[t + 1]
        if n_chunks is None:
            gated_back_rows(ptr, index, weight, w.bias_h, w.act_h, g.unit, g.act, g.cell, g.weight, g.bias, uniform,
                            out.ptr, out.index, out.weight, h, hn, xt, yhat, c, cn, dz,
                            carry_h, carry_c, dH, D, direct, dc_prev,
                            g_weight, g_gate, g_bias, g_gbias, step_abs, t, 0, n)
            gated_carry_rows(out.ptr, out.index, out.weight, g.weight_out, n_gates, D, direct, carry_h, 0, n)
        else:
            gated_back_parallel(ptr, index, weight, w.bias_h, w.act_h, g.unit, g.act, g.cell, g.weight, g.bias,
                                uniform, out.ptr, out.index, out.weight, g.weight_out, h, hn, xt, yhat, c, cn, dz,
                                carry_h, carry_c, dH, D, direct, dc_prev,
                                g_weight, g_gate, g_bias, g_gbias, step_abs, t, n_chunks)
        total = 0.0
        for j in range(n):
            for b in range(nb):
                total += dH[j, b] * dH[j, b]
        dh_norm[t + 1] = math.sqrt(total)
        # what step t sends back to the outputs fed back into it
        gfw = g.weight_fed
        for o in range(n_out):
            for b in range(nb):
                acc = 0.0
                for k in range(fed.ptr[o, 0], fed.ptr[o, 1]):
                    i = fed.index[k]
                    acc += (fed.weight[k] * D[0, i, b] + gfw[0, k] * D[2, i, b] + gfw[1, k] * D[3, i, b]
                            + gfw[2, k] * D[4, i, b])
                carry_y[o, b] = acc
        carry_c[:, :] = dc_prev
        output_grads(w, dz, hn, xt, g_weight, g_bias, step_abs, t)
    total = 0.0
    for j in range(n):
        for b in range(nb):
            g_h0[j, b] = carry_h[j, b]
            total += carry_h[j, b] * carry_h[j, b]
    dh_norm[0] = math.sqrt(total)
    g_c0[:, :] = carry_c
