"""Discrete runs and their backward pass for networks of GRU or LSTM
neurons whose in-edges are dense: each step's gate sums as BLAS products
(`gated` has the equations and the sparse kernels).

The gates' weights stack into two matrices, one over the hidden states and
one over the rest of the source vector, ``e[t] = [x[t]; yhat[t]; 1]``::

    P[t] = Wg h[t] + Eg e[t]      Wg: (nq n, n)      Eg: (nq n, n_in + n_out + 1)

with nq blocks of n rows: r, z, n for a GRU (the candidate's block of
``Wg h`` is its recurrent part R_n, to which ``b_hn`` is added before the
reset gate scales it), i, f, o, g for an LSTM (`gated_blocks`). Per step
and for the whole batch that is a (batch, n) by (n, nq n) product and a
(batch, p) by (p, nq n) one, batch-major, then the gates elementwise in one
vectorised pass over contiguous rows. The run keeps h[t], e[t] (and an
LSTM's cells) batch-major and each step's gate values, from which the
backward pass takes per step::

    dh[t] = dPh[t] Wg + [GRU] dh[t+1] z,     dyhat[t] = (dPe[t] Eg)[:, yhat]

(``dPe`` the errors of the gate sums, ``dPh`` the same with the GRU
candidate's block scaled by r) and the weight gradients as two products
per chunk of `CHUNK` steps, ``sum_t dPh[t]^T h[t]`` and ``sum_t dPe[t]^T
e[t]``. Sums run in BLAS's order: the results equal the sparse kernels'
to rounding.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import CACHE
from .elementary32 import sigmoid_of, tanh_of
from .dense import add_readout_grads, output_errors, readout_step
from .forward import count_nonfinite, fill_feedback
from .gated import GRU
from .types import FED, HIDDEN, INPUT

#: The backward pass adds the weight gradients of this many steps at a time
#: (one product over CHUNK x batch rows): its buffers stay a few MiB
#: instead of the whole history's size, which a fresh allocation paid for
#: in page faults (LSTM N = 256, batch 32, T = 200: 52 MiB).
CHUNK = 16


@njit(cache=CACHE, error_model="numpy")
def gated_blocks(w, g, n_inputs):
    """The stacked gate matrices of a network whose neurons are all GRU or
    all LSTM.

    Parameters
    ----------
    w : Wiring
    g : Gates
    n_inputs : int

    Returns
    -------
    Wg : ndarray, shape (nq n_neurons, n_neurons)
        Block q (rows ``q n:(q + 1) n``): gate q's hidden -> hidden weights;
        blocks r, z, n (GRU, nq = 3) or i, f, o, g (LSTM, nq = 4), the last
        one the main weights.
    Eg : ndarray, shape (nq n_neurons, n_inputs + n_outputs + 1)
        The same blocks' input and feedback weights, then their biases
        (the GRU candidate's: ``b``; ``b_hn`` is in `bhn`).
    bhn : ndarray, shape (n_neurons,)
        The GRU's ``b_hn`` (zeros for an LSTM).
    V : ndarray, shape (n_outputs, n_neurons)
        The hidden -> output weights.
    """
    ptr, index, weight = w.hidden
    n, n_out = w.bias_h.shape[0], w.bias_o.shape[0]
    gru = g.unit[0] == GRU
    nq = 3 if gru else 4
    p = n_inputs + n_out + 1
    dtype = weight.dtype
    Wg = np.zeros((nq * n, n), dtype=dtype)
    Eg = np.zeros((nq * n, p), dtype=dtype)
    bhn = np.zeros(n, dtype=dtype)
    for q in range(nq):
        last = q == nq - 1
        for i in range(n):
            row = q * n + i
            for k in range(ptr[i, HIDDEN], ptr[i, HIDDEN + 1]):
                Wg[row, index[k]] += weight[k] if last else g.weight[q, k]
            for k in range(ptr[i, INPUT], ptr[i, INPUT + 1]):
                Eg[row, index[k]] += weight[k] if last else g.weight[q, k]
            for k in range(ptr[i, FED], ptr[i, FED + 1]):
                Eg[row, n_inputs + index[k]] += weight[k] if last else g.weight[q, k]
            Eg[row, p - 1] = w.bias_h[i] if last else g.bias[q, i]
    if gru:
        bhn[:] = g.bias[2]
    V = np.zeros((n_out, n), dtype=dtype)
    t = w.outputs
    for o in range(n_out):
        for k in range(t.ptr[o, HIDDEN], t.ptr[o, HIDDEN + 1]):
            V[o, t.index[k]] += t.weight[k]
    return Wg, Eg, bhn, V


@njit(cache=CACHE, error_model="numpy")
def gru_rows(Ph, Pe, bhn, h, a, hn):
    """One step of GRU neurons, batch-major: the gate sums' hidden parts
    `Ph` and the rest `Pe` (batch, 3 n) in, gate values `a` (batch, 4 n:
    r, z, n, R_n + b_hn) and the new states `hn` (batch, n) out. Each pass
    is a short loop over contiguous rows, which LLVM vectorises."""
    nb, n = h.shape
    for b in range(nb):
        ph, pe, ab, hb, hnb = Ph[b], Pe[b], a[b], h[b], hn[b]
        for j in range(2 * n):
            ab[j] = sigmoid_of(ph[j] + pe[j])
        for i in range(n):
            ab[3 * n + i] = ph[2 * n + i] + bhn[i]
        for i in range(n):  # the candidate into hn first: a loop that reads and writes `a` does not vectorise
            hnb[i] = tanh_of(pe[2 * n + i] + ab[i] * ab[3 * n + i])
        for i in range(n):
            ab[2 * n + i] = hnb[i]
        for i in range(n):
            z = ab[n + i]
            hnb[i] = (1.0 - z) * hnb[i] + z * hb[i]


@njit(cache=CACHE, error_model="numpy")
def lstm_rows(Ph, Pe, c, a, cn, hn):
    """One step of LSTM neurons, batch-major: `Ph`, `Pe` (batch, 4 n) and
    the cells `c` in, gate values `a` (i, f, o, g), cells `cn` and states
    `hn` out (as `gru_rows`)."""
    nb, n = c.shape
    for b in range(nb):
        ph, pe, ab, cb, cnb, hnb = Ph[b], Pe[b], a[b], c[b], cn[b], hn[b]
        for j in range(3 * n):
            ab[j] = sigmoid_of(ph[j] + pe[j])
        for j in range(3 * n, 4 * n):
            ab[j] = tanh_of(ph[j] + pe[j])
        for i in range(n):
            cnb[i] = ab[n + i] * cb[i] + ab[i] * ab[3 * n + i]
        for i in range(n):
            hnb[i] = ab[2 * n + i] * tanh_of(cnb[i])


@njit(cache=CACHE, error_model="numpy")
def run_gated_dense(w, g, Wg, Eg, bhn, V, x, states, cells, outputs, teacher, y_before, hh, ee, cc, acts):
    """`gated.run_gated` through the matrices of `gated_blocks`, for a
    network of GRU or of LSTM neurons with tanh candidates and sigmoid gates.

    Parameters
    ----------
    w : Wiring
    g : Gates
    Wg, Eg, bhn, V : ndarray
        From ``gated_blocks(w, g, n_inputs)``.
    x, states, outputs, teacher, y_before
        As in `forward.run_sync_serial`.
    cells : ndarray, shape (n_steps + 1, n_lstm, batch)
        As in `gated.run_gated` (0 columns for a GRU network).
    hh : ndarray, shape (n_rows, batch, n_neurons)
        Filled with h[t] batch-major in row ``t % n_rows`` (``n_steps + 1``
        rows keep them all for the backward pass; 2: scratch).
    ee : ndarray, shape (n_rows, batch, n_inputs + n_outputs + 1)
        Filled with ``e[t] = [x[t]; yhat[t]; 1]`` in row ``t % n_rows``.
    cc : ndarray, shape (n_rows, batch, n_neurons or 1)
        An LSTM's cell states as `hh` (not read for a GRU).
    acts : ndarray, shape (n_act_rows, batch, 4 n_neurons)
        Each step's gate values in row ``t % n_act_rows``: r, z, n and
        ``R_n + b_hn`` (GRU) or i, f, o, g (LSTM).

    Returns
    -------
    int
        As `gated.run_gated`.
    """
    T, n, nb = x.shape[0], states.shape[1], states.shape[2]
    n_in, n_out, p = x.shape[1], outputs.shape[1], Eg.shape[1]
    gru = g.unit[0] == GRU
    rows, arows = hh.shape[0], acts.shape[0]
    dtype = states.dtype
    yhat = np.empty((n_out, nb), dtype=dtype)
    Ph = np.empty((nb, Wg.shape[0]), dtype=dtype)
    Pe = np.empty((nb, Wg.shape[0]), dtype=dtype)
    zv = np.empty((nb, n_out), dtype=dtype)
    WgT, EgT, VT = Wg.T, Eg.T, V.T
    for b in range(nb):
        for i in range(n):
            hh[0, b, i] = states[0, i, b]
            if not gru:
                cc[0, b, i] = cells[0, g.cell[i], b]
    first_bad = -1
    for t in range(T):
        h, e, a = hh[t % rows], ee[t % rows], acts[t % arows]
        fill_feedback(outputs, teacher, t, yhat, y_before)
        for b in range(nb):
            for k in range(n_in):
                e[b, k] = x[t, k, b]
            for o in range(n_out):
                e[b, n_in + o] = yhat[o, b]
            e[b, p - 1] = 1.0
        np.dot(h, WgT, Ph)
        np.dot(e, EgT, Pe)
        hn, c1 = hh[(t + 1) % rows], cc[(t + 1) % rows]
        if gru:
            gru_rows(Ph, Pe, bhn, h, a, hn)
            bad = count_nonfinite(hn, 0, nb)
        else:
            lstm_rows(Ph, Pe, cc[t % rows], a, c1, hn)
            bad = count_nonfinite(hn, 0, nb) + count_nonfinite(c1, 0, nb)
            for i in range(n):
                for b in range(nb):
                    cells[t + 1, g.cell[i], b] = c1[b, i]
        for i in range(n):
            for b in range(nb):
                states[t + 1, i, b] = hn[b, i]
        if first_bad < 0 and bad:
            first_bad = t + 1
        np.dot(hn, VT, zv)
        readout_step(w, x[t], zv, outputs[t])
    return first_bad


@njit(cache=CACHE, error_model="numpy")
def gru_back_rows(a, h, dh, dpe, dph, direct):
    """One step back through GRU neurons, batch-major: from the gate values
    `a` (`gru_rows`'), the states `h` before the step and ``dh = dL/dh'``,
    fill the errors of the gate sums `dpe` (r, z, n), of their hidden parts
    `dph` (the candidate's scaled by r) and ``direct = dh z``. One output
    array a loop, so each vectorises."""
    nb, n = h.shape
    for b in range(nb):
        ab, hb, d, pe, ph, out = a[b], h[b], dh[b], dpe[b], dph[b], direct[b]
        for i in range(n):
            c = ab[2 * n + i]
            pe[2 * n + i] = d[i] * (1.0 - ab[n + i]) * (1.0 - c * c)
        for i in range(n):
            r, c = ab[i], ab[2 * n + i]
            pe[i] = d[i] * (1.0 - ab[n + i]) * (1.0 - c * c) * ab[3 * n + i] * r * (1.0 - r)
        for i in range(n):
            z = ab[n + i]
            pe[n + i] = d[i] * (hb[i] - ab[2 * n + i]) * z * (1.0 - z)
        for j in range(2 * n):
            ph[j] = pe[j]
        for i in range(n):
            c = ab[2 * n + i]
            ph[2 * n + i] = d[i] * (1.0 - ab[n + i]) * (1.0 - c * c) * ab[i]
        for i in range(n):
            out[i] = d[i] * ab[n + i]


@njit(cache=CACHE, error_model="numpy")
def lstm_back_rows(a, c, cn, dh, dc, dpe, tc):
    """One step back through LSTM neurons, batch-major: from the gate values
    `a` (i, f, o, g), the cells `c` before and `cn` after, ``dh = dL/dh'``
    and ``dc = dL/dc'`` from the step after, fill the errors of the gate
    sums `dpe` and turn `dc` into ``dL/dc`` (`tc`: scratch, batch x n)."""
    nb, n = c.shape
    for b in range(nb):
        ab, cb, cnb, d, dcb, pe, tb = a[b], c[b], cn[b], dh[b], dc[b], dpe[b], tc[b]
        for i in range(n):
            tb[i] = tanh_of(cnb[i])
        for i in range(n):  # dL/dc' in full
            dcb[i] += d[i] * ab[2 * n + i] * (1.0 - tb[i] * tb[i])
        for i in range(n):
            ig = ab[i]
            pe[i] = dcb[i] * ab[3 * n + i] * ig * (1.0 - ig)
        for i in range(n):
            fg = ab[n + i]
            pe[n + i] = dcb[i] * cb[i] * fg * (1.0 - fg)
        for i in range(n):
            og = ab[2 * n + i]
            pe[2 * n + i] = d[i] * tb[i] * og * (1.0 - og)
        for i in range(n):
            gg = ab[3 * n + i]
            pe[3 * n + i] = dcb[i] * ab[i] * (1.0 - gg * gg)
        for i in range(n):
            dcb[i] *= ab[n + i]


@njit(cache=CACHE, error_model="numpy")
def bptt_gated_dense(w, g, Wg, Eg, V, outputs, teacher, hh, ee, cc, acts, gy_loss, truncate, offset,
                     carry_h, carry_c, carry_y, g_weight, g_gate, g_bias, g_gbias, g_h0, g_c0, dh_norm):
    """Gradients of a run of `run_gated_dense` that kept every row; fills
    the gradient arrays as `gated.bptt_gated` does (without the per-step
    edge diagnostics).

    Parameters
    ----------
    w : Wiring
    g : Gates
    Wg, Eg, V : ndarray
        From `gated_blocks`.
    outputs, teacher, gy_loss, truncate, offset
        As in `gated.bptt_gated`.
    hh, ee, cc, acts : ndarray
        As `run_gated_dense` filled them, ``n_steps + 1`` rows (`acts`:
        ``n_steps``).
    carry_h, carry_c, carry_y, g_weight, g_gate, g_bias, g_gbias, g_h0, g_c0, dh_norm
        As in `gated.bptt_gated`.
    """
    T, n_out, nb = outputs.shape[0], outputs.shape[1], outputs.shape[2]
    n, p = hh.shape[2], Eg.shape[1]
    n_in = p - n_out - 1
    nq = Wg.shape[0] // n
    gru = g.unit[0] == GRU
    dtype = outputs.dtype
    C = max(1, min(T, CHUNK))
    dpe = np.empty((C, nb, nq * n), dtype=dtype)        # errors of the gate sums, a chunk of steps
    dph = np.empty((C, nb, nq * n), dtype=dtype) if gru else dpe  # ... of their hidden parts
    dzs = np.empty((C, nb, n_out), dtype=dtype)
    gw, tw = np.zeros((nq * n, n), dtype=dtype), np.empty((nq * n, n), dtype=dtype)  # sums, a chunk's product
    ge, te = np.zeros((nq * n, p), dtype=dtype), np.empty((nq * n, p), dtype=dtype)
    gv, tv = np.zeros((n_out, n), dtype=dtype), np.empty((n_out, n), dtype=dtype)
    gd, td = np.zeros((n_out, p), dtype=dtype), np.empty((n_out, p), dtype=dtype)
    dh = np.empty((nb, n), dtype=dtype)                 # dL/dh[t+1] while at step t
    dc = np.zeros((nb, n), dtype=dtype)                 # dL/dc[t+1] (LSTM)
    cy = np.empty((nb, n_out), dtype=dtype)             # what step t+1 sends to yhat[t+1]
    dv = np.empty((nb, n), dtype=dtype)
    de = np.empty((nb, p), dtype=dtype)
    for b in range(nb):
        for i in range(n):
            dh[b, i] = carry_h[i, b]
            if not gru:
                dc[b, i] = carry_c[g.cell[i], b]
        for o in range(n_out):
            cy[b, o] = carry_y[o, b]
    for t in range(T - 1, -1, -1):
        if truncate > 0 and (offset + t + 1) % truncate == 0:
            dh[:, :] = 0.0
            dc[:, :] = 0.0
            cy[:, :] = 0.0
        j = t % C
        dz = dzs[j]
        output_errors(w, gy_loss, teacher, t, outputs, cy, dz)
        np.dot(dz, V, dv)
        total = 0.0
        for b in range(nb):
            for i in range(n):
                v = dh[b, i] + dv[b, i]
                dh[b, i] = v
                total += v * v
        dh_norm[t + 1] = math.sqrt(total)
        a, h, dpe_t, dph_t = acts[t], hh[t], dpe[j], dph[j]
        if gru:
            gru_back_rows(a, h, dh, dpe_t, dph_t, dv)
        else:
            lstm_back_rows(a, cc[t], cc[t + 1], dh, dc, dpe_t, dv)
        np.dot(dph_t, Wg, dh)
        if gru:
            for b in range(nb):
                for i in range(n):
                    dh[b, i] += dv[b, i]
        np.dot(dpe_t, Eg, de)
        for b in range(nb):
            for o in range(n_out):
                cy[b, o] = de[b, n_in + o]
        if j == 0:  # the chunk of steps t .. t + m - 1 is complete: its share of the weight gradients
            m = min(C, T - t)
            np.dot(dph[:m].reshape(m * nb, nq * n).T, hh[t:t + m].reshape(m * nb, n), tw)
            gw += tw
            np.dot(dpe[:m].reshape(m * nb, nq * n).T, ee[t:t + m].reshape(m * nb, p), te)
            ge += te
            dz_k = dzs[:m].reshape(m * nb, n_out).T
            np.dot(dz_k, hh[t + 1:t + m + 1].reshape(m * nb, n), tv)
            gv += tv
            np.dot(dz_k, ee[t:t + m].reshape(m * nb, p), td)
            gd += td
            if gru:
                for r in range(m):
                    for b in range(nb):
                        for i in range(n):
                            g_gbias[2, i] += dph[r, b, 2 * n + i]
    total = 0.0
    for i in range(n):
        for b in range(nb):
            g_h0[i, b] = carry_h[i, b] = dh[b, i]
            total += dh[b, i] * dh[b, i]
            if not gru:
                g_c0[g.cell[i], b] = carry_c[g.cell[i], b] = dc[b, i]
    dh_norm[0] = math.sqrt(total)
    for o in range(n_out):
        for b in range(nb):
            carry_y[o, b] = cy[b, o]
    if T == 0:
        return
    ptr, index = w.hidden.ptr, w.hidden.index
    for q in range(nq):
        last = q == nq - 1
        for i in range(n):
            row = q * n + i
            for k in range(ptr[i, HIDDEN], ptr[i, HIDDEN + 1]):
                if last:
                    g_weight[k] += gw[row, index[k]]
                else:
                    g_gate[q, k] += gw[row, index[k]]
            for seg, first in ((INPUT, 0), (FED, n_in)):
                for k in range(ptr[i, seg], ptr[i, seg + 1]):
                    if last:
                        g_weight[k] += ge[row, first + index[k]]
                    else:
                        g_gate[q, k] += ge[row, first + index[k]]
            if last:
                g_bias[i] += ge[row, p - 1]
            else:
                g_gbias[q, i] += ge[row, p - 1]
    add_readout_grads(w, gv, gd, 0, g_weight, g_bias)
