"""The discrete backward pass with the hidden->hidden block as a dense matrix
(the pull-back of `forward.run_sync_dense`).

The equations are `backward.bptt_discrete`'s::

    dz[t]   = (gy[t] + [not forced] F^T da[t+1]) * g'(z[t])
    dh[t+1] = V^T dz[t] + W^T da[t+1]
    da[t]   = dh[t+1] * phi'(a[t])

with ``W^T da[t+1]`` one BLAS product per step for the whole batch (as
``da[t+1]^T W``, batch-major), and
the W gradient ``sum_t da[t] h[t]^T`` one BLAS product over every step of
the segment at its end (the steps' ``da`` and ``h`` laid side by side, so
the product's inner dimension is n_steps x batch). The sparse parts (U, F,
V, D, a few edges per neuron) gather over their tables as the sparse pass
does. Sums run in BLAS's order, so the results equal the sparse pass's to
rounding, not bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import CACHE
from .activations import slope
from .backward import output_grads, segment_outer
from .forward import add_segment, fill_feedback
from .types import FED, HIDDEN, INPUT, TO_OUTPUT


@njit(cache=CACHE, error_model="numpy")
def bptt_dense(w, wt, W,
               x, states, outputs, teacher, y_before,
               gy_loss, truncate, offset,
               carry, g_weight, g_bias, g_h0, dh_norm):
    """Gradients of a discrete run whose W block is dense; fills the four
    gradient arrays as `backward.bptt_discrete` does (without the per-step
    edge diagnostics).

    Parameters
    ----------
    w : Wiring
        The in-edge tables; the W segments' weights are not read (`W` is),
        their slots say where each W gradient goes.
    wt : Transposed
        The out-edge tables, for ``V^T dz`` and ``F^T da``.
    W : ndarray, shape (n_neurons, n_neurons), C-contiguous
        ``W[i, j]`` the weight of edge ``j -> i`` (zero where there is none).
    x : ndarray, shape (n_steps, n_inputs, batch)
    states : ndarray, shape (n_steps + 1, n_neurons, batch)
    outputs : ndarray, shape (n_steps, n_outputs, batch)
    teacher : ndarray, shape (n_steps or 0, n_outputs, batch)
        Forced feedback (NaN: not forced); 0 rows: none.
    y_before : ndarray, shape (n_outputs, batch)
        The output fed back at step 0.
    gy_loss : ndarray, shape (n_steps, n_outputs, batch)
        ``dL/dy[t]`` from the loss.
    truncate : int
        As in `backward.bptt_discrete` (0: never cut).
    offset : int
        Global index of step 0.
    carry : ndarray, shape (n_neurons, batch)
        In: ``da`` of the step after the last. Out: ``da[0]``.
    g_weight : ndarray, shape (n_edges,)
        In the slot order of ``w.hidden`` then ``w.outputs``; added to.
    g_bias : ndarray, shape (n_neurons + n_outputs,)
        Added to.
    g_h0 : ndarray, shape (n_neurons, batch)
        Filled with ``W^T da[0]``.
    dh_norm : ndarray, shape (n_steps + 1,)
        Filled with the norm of ``dL/dh[t]`` (all batch elements).
    """
    T, n, nb = x.shape[0], states.shape[1], states.shape[2]
    n_out = outputs.shape[1]
    dtype = states.dtype
    da = carry.copy()                           # da[t+1] while at step t
    da_new = np.empty((n, nb), dtype=dtype)     # da[t]
    dz = np.empty((n_out, nb), dtype=dtype)
    da_t = np.empty((nb, n), dtype=dtype)      # da[t+1] and W^T da[t+1] batch-major: BLAS multiplies
    dh_t = np.empty((nb, n), dtype=dtype)      # (batch, n) by (n, n) faster than (n, n) by (n, batch)
    yhat = np.empty((n_out, nb), dtype=dtype)
    gyhat = np.zeros((n_out, nb), dtype=dtype)  # F^T da[t+1]
    das = np.empty((n, T, nb), dtype=dtype)     # da[t] and h[t], step by step side by side
    hs = np.empty((n, T, nb), dtype=dtype)
    no_record = np.empty((0, g_weight.shape[0]), dtype=dtype)
    fed, out = wt.fed, wt.hidden
    ptr, index = w.hidden.ptr, w.hidden.index
    WT = W.T
    zero, rows = np.uint64(0), np.uint64(n)
    for o in range(n_out):
        for b in range(nb):
            gyhat[o, b] = add_segment(fed.ptr, fed.index, fed.weight, o, 0, da, b, 0.0)
    for t in range(T - 1, -1, -1):
        if truncate > 0 and (offset + t + 1) % truncate == 0:
            da[:, :] = 0.0
            gyhat[:, :] = 0.0
        for o in range(n_out):
            code = w.act_o[o]
            for b in range(nb):
                g = gy_loss[t, o, b]
                if not (teacher.shape[0] > 0 and teacher[t, o, b] == teacher[t, o, b]):
                    g += gyhat[o, b]
                dz[o, b] = g * slope(code, outputs[t, o, b])
        fill_feedback(outputs, teacher, t, yhat, y_before)
        for j in range(n):
            for b in range(nb):
                da_t[b, j] = da[j, b]
        np.dot(da_t, W, dh_t)
        h, hn = states[t], states[t + 1]
        total = 0.0
        for j in range(n):
            code = w.act_h[j]
            for b in range(nb):
                v = add_segment(out.ptr, out.index, out.weight, j, TO_OUTPUT, dz, b, dh_t[b, j])
                total += v * v
                a = v * slope(code, hn[j, b])
                da_new[j, b] = a
                das[j, t, b] = a
                hs[j, t, b] = h[j, b]
                g_bias[j] += a
        dh_norm[t + 1] = math.sqrt(total)
        segment_outer(ptr, index, INPUT, da_new, x[t], zero, g_weight, no_record, t, zero, rows)
        segment_outer(ptr, index, FED, da_new, yhat, zero, g_weight, no_record, t, zero, rows)
        da, da_new = da_new, da
        for o in range(n_out):
            for b in range(nb):
                gyhat[o, b] = add_segment(fed.ptr, fed.index, fed.weight, o, 0, da, b, 0.0)
        output_grads(w, dz, hn, x[t], g_weight, g_bias, no_record, t)
    np.dot(WT, da, g_h0)
    total = 0.0
    for j in range(n):
        for b in range(nb):
            total += g_h0[j, b] * g_h0[j, b]
    dh_norm[0] = math.sqrt(total)
    carry[:, :] = da
    if T > 0:
        gw = np.dot(das.reshape(n, T * nb), hs.reshape(n, T * nb).T)
        for i in range(n):
            for k in range(ptr[i, HIDDEN], ptr[i, HIDDEN + 1]):
                g_weight[k] += gw[i, index[k]]
