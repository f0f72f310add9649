"""Discrete runs and their backward pass with the hidden neurons' in-edges
as one dense matrix, multiplied by BLAS.

A hidden neuron's whole drive is one row of a matrix product::

    a[t] = M s[t],   M = [W | U | F | b],   s[t] = [h[t]; x[t]; yhat[t]; 1]

(`blocks` builds M, n x K with K = n + n_inputs + n_outputs + 1;
`forward_blocks` the same column-major). The forward pass keeps the source
vectors ``s[t]`` batch-major, one (batch, K) row block per step (`hist`),
so each step is one (batch, K) by (K, n) product into a batch-major
buffer, the activation over that buffer written into the next source
vector in the same pass (vectorised along a row when every neuron shares
it), and one transpose into the kernel layout's ``states[t + 1]`` (n,
batch). The readout's V h is a (batch, n) by (n, n_outputs) product; its
D x and bias gather over their few slots.

The backward pass (design section 5) runs batch-major on the same rows::

    dz[t]   = (gy[t] + [not forced] F^T da[t+1]) * g'(z[t])
    dh[t+1] = V^T dz[t] + W^T da[t+1]
    da[t]   = dh[t+1] * phi'(a[t])

with ``[W^T; U^T; F^T; 1^T] da[t+1]`` one product per step (``da M``,
whose F columns are the feedback's error), ``V^T dz`` another, and the
gradients of all of M (W, U, F and the biases) one product per chunk of
`CHUNK` steps, ``sum_t da[t] s[t]^T`` (inner dimension CHUNK x batch); V
and D likewise from the outputs' errors. Sums run in
BLAS's order, so the results equal the sparse pass's to rounding, not bit
for bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import CACHE
from .activations import SIGMOID, TANH, activate, slope
from .elementary32 import sigmoid_of, tanh_of
from .forward import add_segment, fill_feedback
from .types import FED, HIDDEN, INPUT

#: The backward pass adds the weight gradients of this many steps at a time
#: (one product over CHUNK x batch rows), so its buffers stay a few MiB
#: instead of the size of the whole history (fresh memory costs page faults).
CHUNK = 16


@njit(cache=CACHE, error_model="numpy")
def blocks(w, n_inputs):
    """The dense matrices of a wiring: ``M = [W | U | F | b]`` and ``V``.

    Parameters
    ----------
    w : Wiring
    n_inputs : int

    Returns
    -------
    M : ndarray, shape (n_neurons, n_neurons + n_inputs + n_outputs + 1)
        Row i: neuron i's in-edge weights by source (hidden, input, fed-back
        output), then its bias.
    V : ndarray, shape (n_outputs, n_neurons)
        The hidden -> output weights.
    """
    ptr, index, weight = w.hidden
    n, n_out = w.bias_h.shape[0], w.bias_o.shape[0]
    K = n + n_inputs + n_out + 1
    M = np.zeros((n, K), dtype=weight.dtype)
    for i in range(n):
        for q, first in ((HIDDEN, 0), (INPUT, n), (FED, n + n_inputs)):
            for k in range(ptr[i, q], ptr[i, q + 1]):
                M[i, first + index[k]] += weight[k]
        M[i, K - 1] = w.bias_h[i]
    V = np.zeros((n_out, n), dtype=weight.dtype)
    t = w.outputs
    for o in range(n_out):
        for k in range(t.ptr[o, HIDDEN], t.ptr[o, HIDDEN + 1]):
            V[o, t.index[k]] += t.weight[k]
    return M, V


#: `forward_blocks` transposes M in square tiles of this many rows and columns.
TILE = 64


@njit(cache=CACHE, error_model="numpy")
def forward_blocks(w, n_inputs):
    """`blocks` with ``M`` column-major (``M.T`` C-contiguous), the layout
    in which `run_sync_dense`'s product runs fastest: OpenBLAS multiplied
    (32, K) by a row-major (K, n) 5% faster at N = 1,024 (238 against 251
    ms for 200 products, one thread) and 7% at N = 256 than by the
    transpose of a row-major (n, K). M is built row-major and copied over
    in tiles (filled column-major directly, every write landed on another
    page: 10 ms at N = 1,024)."""
    M, V = blocks(w, n_inputs)
    n, K = M.shape
    MT = np.empty((K, n), dtype=M.dtype)
    for j0 in range(0, K, TILE):
        for i0 in range(0, n, TILE):
            for j in range(j0, min(K, j0 + TILE)):
                for i in range(i0, min(n, i0 + TILE)):
                    MT[j, i] = M[i, j]
    return MT.T, V


@njit(cache=CACHE, error_model="numpy")
def activate_columns(codes, uniform, z, s):
    """Apply neuron i's activation to column i of `z` (batch, n) in place
    and copy the values into the first n columns of `s` (batch, K), in one
    pass; return how many are inf or NaN. One flat vectorised loop a row
    (tanh and sigmoid in `z`'s own precision) when all neurons share
    `uniform` (else -1)."""
    nb, n = z.shape
    bad = 0
    for b in range(nb):
        zb, sb = z[b], s[b]
        if uniform == TANH:
            for i in range(n):
                v = tanh_of(zb[i])
                zb[i] = v
                sb[i] = v
        elif uniform == SIGMOID:
            for i in range(n):
                v = sigmoid_of(zb[i])
                zb[i] = v
                sb[i] = v
        else:
            for i in range(n):
                v = activate(uniform if uniform >= 0 else codes[i], zb[i])
                zb[i] = v
                sb[i] = v
        for i in range(n):
            bad += not abs(zb[i]) < np.inf
    return bad


@njit(cache=CACHE, error_model="numpy")
def readout_step(w, xt, zv, out):
    """The outputs of one step from ``zv = (V h)^T`` (batch, n_outputs):
    ``out[o, b] = g_o(c_o + zv[b, o] + sum_k d_k x[b])`` (the input -> output
    slots gathered from `xt`, (n_inputs, batch))."""
    t_out = w.outputs
    for o in range(zv.shape[1]):
        code = w.act_o[o]
        for b in range(zv.shape[0]):
            v = add_segment(t_out.ptr, t_out.index, t_out.weight, o, INPUT, xt, b, w.bias_o[o] + zv[b, o])
            out[o, b] = activate(code, v)


@njit(cache=CACHE, error_model="numpy")
def output_errors(w, gy, teacher, t, outputs, fed, dz):
    """``dz[b, o] = (gy[t, o, b] + fed[b, o]) g_o'(y[t, o, b])`` at step `t`,
    batch-major; `fed` (the error coming back through the fed-back output)
    is left out where `teacher` (empty when not forcing) holds a target."""
    for o in range(dz.shape[1]):
        code = w.act_o[o]
        for b in range(dz.shape[0]):
            g = gy[t, o, b]
            if not (teacher.shape[0] > 0 and teacher[t, o, b] == teacher[t, o, b]):
                g += fed[b, o]
            dz[b, o] = g * slope(code, outputs[t, o, b])


@njit(cache=CACHE, error_model="numpy")
def add_readout_grads(w, gv, gd, x_first, g_weight, g_bias):
    """Scatter the readout's dense gradients onto its edges: ``gv``
    (n_outputs, n_neurons) onto the hidden -> output slots, ``gd`` onto the
    input -> output slots (inputs from column `x_first`) and its last column
    onto the output biases (after the neurons' in `g_bias`)."""
    t_out = w.outputs
    first = w.hidden.index.shape[0]
    n = w.bias_h.shape[0]
    last = gd.shape[1] - 1
    for o in range(gd.shape[0]):
        for k in range(t_out.ptr[o, HIDDEN], t_out.ptr[o, HIDDEN + 1]):
            g_weight[first + k] += gv[o, t_out.index[k]]
        for k in range(t_out.ptr[o, INPUT], t_out.ptr[o, INPUT + 1]):
            g_weight[first + k] += gd[o, x_first + t_out.index[k]]
        g_bias[n + o] += gd[o, last]


@njit(cache=CACHE, error_model="numpy")
def run_sync_dense(w, M, V, x, states, outputs, teacher, y_before, hist):
    """`forward.run_sync_serial` through the dense matrices of `blocks`.

    Parameters
    ----------
    w : Wiring
        For the activations and the readout's D edges and biases.
    M, V : ndarray
        From ``forward_blocks(w, n_inputs)`` (``M`` column-major: the
        faster product) or ``blocks(w, n_inputs)``.
    x, states, outputs, teacher, y_before
        As in `forward.run_sync_serial`.
    hist : ndarray, shape (n_rows, batch, K)
        Filled with the source vectors ``s[t] = [h[t]; x[t]; yhat[t]; 1]``
        batch-major, step t in row ``t % n_rows``: with ``n_steps + 1``
        rows it keeps them all (the backward pass reads them), with 2 it
        is scratch. A kept last row has zeros after ``h``.

    Returns
    -------
    int
        As `forward.run_sync_serial`.
    """
    T, n, nb = x.shape[0], states.shape[1], states.shape[2]
    n_in, n_out, K = x.shape[1], outputs.shape[1], M.shape[1]
    rows = hist.shape[0]
    dtype = states.dtype
    yhat = np.empty((n_out, nb), dtype=dtype)
    z = np.empty((nb, n), dtype=dtype)
    zv = np.empty((nb, n_out), dtype=dtype)
    MT, VT = M.T, V.T
    s = hist[0]
    for b in range(nb):
        for i in range(n):
            s[b, i] = states[0, i, b]
    first_bad = -1
    for t in range(T):
        s = hist[t % rows]
        fill_feedback(outputs, teacher, t, yhat, y_before)
        for b in range(nb):
            for k in range(n_in):
                s[b, n + k] = x[t, k, b]
            for o in range(n_out):
                s[b, n + n_in + o] = yhat[o, b]
            s[b, K - 1] = 1.0
        np.dot(s, MT, z)
        s = hist[(t + 1) % rows]
        bad = activate_columns(w.act_h, w.uniform_h, z, s)
        nxt = states[t + 1]
        for i in range(n):
            for b in range(nb):
                nxt[i, b] = z[b, i]
        if first_bad < 0 and bad:
            first_bad = t + 1
        np.dot(z, VT, zv)
        readout_step(w, x[t], zv, outputs[t])
    if rows == T + 1:
        hist[T, :, n:] = 0.0
    return first_bad


@njit(cache=CACHE, error_model="numpy")
def bptt_dense(w, M, V, outputs, teacher, hist, gy_loss, truncate, offset,
               carry, g_weight, g_bias, g_h0, dh_norm):
    """Gradients of a discrete run through the dense matrices; fills the
    four gradient arrays as `backward.bptt_discrete` does (without the
    per-step edge diagnostics).

    Parameters
    ----------
    w : Wiring
        The in-edge tables: their slots say where each gradient goes.
    M, V : ndarray
        From ``blocks(w, n_inputs)``.
    outputs : ndarray, shape (n_steps, n_outputs, batch)
    teacher : ndarray, shape (n_steps or 0, n_outputs, batch)
        Forced feedback (NaN: not forced); 0 rows: none.
    hist : ndarray, shape (n_steps + 1, batch, K)
        The source vectors `run_sync_dense` kept for this run.
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
    T, n_out, nb = outputs.shape[0], outputs.shape[1], outputs.shape[2]
    n, K = M.shape[0], M.shape[1]
    n_in = K - n - n_out - 1
    fb = n + n_in                                # first feedback column of M
    dtype = outputs.dtype
    C = max(1, min(T, CHUNK))
    das = np.empty((C, nb, n), dtype=dtype)      # da[t], batch-major, a chunk of steps
    dzs = np.empty((C, nb, n_out), dtype=dtype)  # dz[t]
    gm, tm = np.zeros((n, K), dtype=dtype), np.empty((n, K), dtype=dtype)  # sums, a chunk's product
    gv, tv = np.zeros((n_out, K), dtype=dtype), np.empty((n_out, K), dtype=dtype)
    gd, td = np.zeros((n_out, K), dtype=dtype), np.empty((n_out, K), dtype=dtype)
    back = np.empty((nb, K), dtype=dtype)        # da[t+1] M: W^T da, U^T da, F^T da, sum
    dv = np.empty((nb, n), dtype=dtype)          # V^T dz
    da = np.empty((nb, n), dtype=dtype)
    for b in range(nb):
        for i in range(n):
            da[b, i] = carry[i, b]
    np.dot(da, M, back)
    for t in range(T - 1, -1, -1):
        if truncate > 0 and (offset + t + 1) % truncate == 0:
            back[:, :] = 0.0
        j = t % C
        dz = dzs[j]
        output_errors(w, gy_loss, teacher, t, outputs, back[:, fb:fb + n_out], dz)
        np.dot(dz, V, dv)
        hn = hist[t + 1]
        da = das[j]
        total = 0.0
        for b in range(nb):
            for i in range(n):
                v = back[b, i] + dv[b, i]
                total += v * v
                da[b, i] = v
        dh_norm[t + 1] = math.sqrt(total)
        if w.uniform_h == TANH:
            for b in range(nb):
                for i in range(n):
                    da[b, i] *= 1.0 - hn[b, i] * hn[b, i]
        else:
            for b in range(nb):
                for i in range(n):
                    da[b, i] *= slope(w.act_h[i], hn[b, i])
        np.dot(da, M, back)
        if j == 0:  # the chunk of steps t .. t + m - 1 is complete: its share of the weight gradients
            m = min(C, T - t)
            np.dot(das[:m].reshape(m * nb, n).T, hist[t:t + m].reshape(m * nb, K), tm)
            gm += tm
            dz_m = dzs[:m].reshape(m * nb, n_out).T
            np.dot(dz_m, hist[t + 1:t + m + 1].reshape(m * nb, K), tv)  # V: columns of h[t+1]
            gv += tv
            np.dot(dz_m, hist[t:t + m].reshape(m * nb, K), td)  # D, c: columns of x[t] and 1
            gd += td
    total = 0.0
    for i in range(n):
        for b in range(nb):
            g_h0[i, b] = back[b, i]
            total += back[b, i] * back[b, i]
            carry[i, b] = da[b, i]
    dh_norm[0] = math.sqrt(total)
    if T == 0:
        return
    ptr, index = w.hidden.ptr, w.hidden.index
    for i in range(n):
        for q, first in ((HIDDEN, 0), (INPUT, n), (FED, fb)):
            for k in range(ptr[i, q], ptr[i, q + 1]):
                g_weight[k] += gm[i, first + index[k]]
        g_bias[i] += gm[i, K - 1]
    add_readout_grads(w, gv, gd, n, g_weight, g_bias)
