"""Backpropagation through time (design sections 3-5): the discrete run
(`bptt_discrete`), the fixed-step Euler and exponential-Euler runs
(`bptt_fixed_step`) and RK4 through its four stages (`bptt_rk4`).

Discrete time.

Walking the recorded history from the last step to the first, with
``gy[t] = dL/dy[t]`` from the loss plus what the feedback path sends back::

    dz[t]   = (gy[t] + [not forced] F^T da[t+1]) * g'(z[t])
    dh[t+1] = V^T dz[t] + W^T da[t+1]
    da[t]   = dh[t+1] * phi'(a[t])

and the parameter gradients summed over steps (``da[t] h[t]^T`` for W,
``da[t] x[t]^T`` for U, ``da[t] yhat[t]^T`` for F, ``dz[t] h[t+1]^T`` for V,
``dz[t] x[t]^T`` for D, ``da`` and ``dz`` for the biases), ``dh[0] = W^T da[0]``.
The transposed products gather over the by-source blocks (each source sums
its own outgoing edges: no write conflicts). Activation derivatives are read
off the recorded values, so no pre-activation is stored. A discrete step's
neurons need nothing from one another once ``dz`` is known (`hidden_rows`),
and likewise the pull-back of a continuous right-hand side in two passes
(`vjp_slopes_rows`, `vjp_rows`), so they run in chunks on threads when
`simulator.threads` plans so, with every sum in the one-thread order.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import CACHE
from .activations import activate, slope
from .continuous import EULER, output_slopes, rhs
from .forward import ONE, chunk_bounds, fill_feedback, row_dot


@njit(cache=CACHE, error_model="numpy", inline="always")
def rows_outer_into(indptr, indices, first, rows, cols, g_weight, step_abs, t, lo, hi):
    """``g_weight[first + k] += sum_b rows[r, b] * cols[indices[k], b]`` for
    every slot k of rows ``lo:hi`` (unsigned) of a by-target block whose
    slots' gradients start at `first` (uint64); when `step_abs` has rows,
    also add each edge's contribution to row `t` of it. Rows and slots run
    unsigned, and the slots' gradients lie side by side, so the batch-1
    loop vectorises."""
    nb = rows.shape[1]
    record = step_abs.shape[0] > 0
    for r in range(lo, hi):
        a, z = indptr[r], indptr[r + ONE]
        if nb == 1 and not record:
            rr = rows[r, 0]
            for k in range(a, z):
                g_weight[first + k] += rr * cols[indices[k], 0]
            continue
        for k in range(a, z):
            j = indices[k]
            acc = 0.0
            for b in range(nb):
                acc += rows[r, b] * cols[j, b]
            g_weight[first + k] += acc
            if record:
                step_abs[t, first + k] += acc


@njit(cache=CACHE, error_model="numpy", inline="always")
def outer_into(indptr, indices, first, rows, cols, g_weight, step_abs, t):
    """`rows_outer_into` over every row of the block."""
    rows_outer_into(indptr, indices, first, rows, cols, g_weight, step_abs, t, np.uint64(0),
                    np.uint64(indptr.shape[0] - 1))


@njit(cache=CACHE, error_model="numpy")
def bptt_discrete(w, wt, first_slot, x, states, outputs, teacher, y_before, gy_loss, truncate, offset,
                  carry, g_weight, g_bias, g_h0, dh_norm, step_abs, n_chunks):
    """Gradients of a discrete run; fills the four gradient arrays.

    Parameters
    ----------
    w : Wiring
        The forward blocks (rows = targets) with their weights.
    wt : Wiring
        The same blocks transposed (rows = sources), weights aligned.
    first_slot : ndarray of uint64, shape (5,)
        Where each block of `w` starts in `g_weight` (and in the columns of
        `step_abs`), which hold the gradients in the blocks' slot order
        (block after block), so each step's sums stream through memory.
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
    g_bias : ndarray, shape (n_neurons + n_outputs,)
    g_h0 : ndarray, shape (n_neurons, batch)
        Filled; the first two start at zero.
    dh_norm : ndarray, shape (n_steps + 1,)
        Filled with the norm of ``dL/dh[t]`` (all batch elements).
    step_abs : ndarray, shape (n_steps, n_edges) or (0, n_edges)
        When it has rows: each edge's gradient contribution at each step
        (zeros on entry; the caller takes magnitudes).
    n_chunks : int or None
        None: one thread; else each step's neurons in this many chunks
        spread over threads (`hidden_rows_parallel`). Every sum runs in the
        same order either way, so the results agree to the bit.
    """
    T, n, nb = x.shape[0], states.shape[1], states.shape[2]
    n_out = outputs.shape[1]
    dtype = states.dtype
    da = carry.copy()                           # da[t+1] while at step t
    da_new = np.empty((n, nb), dtype=dtype)     # da[t]
    dz = np.empty((n_out, nb), dtype=dtype)
    dh = np.empty((n, nb), dtype=dtype)
    gyhat = np.zeros((n_out, nb), dtype=dtype)  # F^T da[t+1]
    for o in range(n_out):
        for b in range(nb):
            gyhat[o, b] = row_dot(wt.F.indptr, wt.F.indices, wt.F.data, o, da, b)
    yhat = np.empty((n_out, nb), dtype=dtype)
    for t in range(T - 1, -1, -1):
        cut = truncate > 0 and (offset + t + 1) % truncate == 0
        if cut:
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
        args = (w.W.indptr, w.W.indices, w.U.indptr, w.U.indices, w.F.indptr, w.F.indices,
                wt.W.indptr, wt.W.indices, wt.W.data, wt.V.indptr, wt.V.indices, wt.V.data,
                first_slot, w.act_h, states[t], states[t + 1], x[t], yhat, dz, da, da_new, dh,
                g_weight, g_bias, step_abs, t)
        if n_chunks is None:
            hidden_rows(*args, 0, n)
        else:
            hidden_rows_parallel(*args, n_chunks)
        da, da_new = da_new, da
        total = 0.0
        for j in range(n):
            for b in range(nb):
                total += dh[j, b] * dh[j, b]
        dh_norm[t + 1] = math.sqrt(total)
        for o in range(n_out):
            for b in range(nb):
                gyhat[o, b] = row_dot(wt.F.indptr, wt.F.indices, wt.F.data, o, da, b)
        # contributions of step t into the outputs
        outer_into(w.V.indptr, w.V.indices, first_slot[3], dz, states[t + 1], g_weight, step_abs, t)
        outer_into(w.D.indptr, w.D.indices, first_slot[4], dz, x[t], g_weight, step_abs, t)
        for o in range(n_out):
            for b in range(nb):
                g_bias[n + o] += dz[o, b]
    total = 0.0
    for j in range(n):
        for b in range(nb):
            v = row_dot(wt.W.indptr, wt.W.indices, wt.W.data, j, da, b)
            g_h0[j, b] = v
            total += v * v
    dh_norm[0] = math.sqrt(total)
    carry[:, :] = da


@njit(cache=CACHE, error_model="numpy")
def hidden_rows(Wp, Wi, Up, Ui, Fp, Fi, WTp, WTi, WTd, VTp, VTi, VTd, first_slot, codes, h, hn, xt, yhat, dz,
                da_next, da, dh, g_weight, g_bias, step_abs, t, lo, hi):
    """Neurons ``lo:hi`` of one backward step of a discrete run.

    ``dh = V^T dz + W^T da_next`` and ``da = dh * phi'`` for these neurons
    (their outgoing edges, the by-source rows ``WT``, ``VT``), then what
    step t adds to the gradients of their incoming W, U and F edges
    (``da h^T``, ``da x^T``, ``da yhat^T`` over the by-target rows) and to
    their biases. No neuron's values depend on another's, so chunks of
    neurons run on threads without write conflicts. `h` and `hn` are the
    states h[t] and h[t+1]; `da_next` is da[t+1] (read only).
    """
    lo, hi = np.uint64(lo), np.uint64(hi)
    nb = h.shape[1]
    for j in range(lo, hi):
        code = codes[j]
        for b in range(nb):
            v = row_dot(VTp, VTi, VTd, j, dz, b) + row_dot(WTp, WTi, WTd, j, da_next, b)
            dh[j, b] = v
            da[j, b] = v * slope(code, hn[j, b])
    rows_outer_into(Wp, Wi, first_slot[0], da, h, g_weight, step_abs, t, lo, hi)
    rows_outer_into(Up, Ui, first_slot[1], da, xt, g_weight, step_abs, t, lo, hi)
    rows_outer_into(Fp, Fi, first_slot[2], da, yhat, g_weight, step_abs, t, lo, hi)
    for i in range(lo, hi):
        for b in range(nb):
            g_bias[i] += da[i, b]


@njit(cache=CACHE, error_model="numpy", parallel=True)
def hidden_rows_parallel(Wp, Wi, Up, Ui, Fp, Fi, WTp, WTi, WTd, VTp, VTi, VTd, first_slot, codes, h, hn, xt, yhat,
                         dz, da_next, da, dh, g_weight, g_bias, step_abs, t, n_chunks):
    """`hidden_rows` over every neuron, in `n_chunks` chunks spread over threads."""
    n = h.shape[0]
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(n, n_chunks, c)
        hidden_rows(Wp, Wi, Up, Ui, Fp, Fi, WTp, WTi, WTd, VTp, VTi, VTd, first_slot, codes, h, hn, xt, yhat, dz,
                    da_next, da, dh, g_weight, g_bias, step_abs, t, lo, hi)


@njit(cache=CACHE, error_model="numpy")
def readout_grads(w, wt, first_slot, gy, y, hn, xk, dz, d, g_weight, g_bias, step_abs, k):
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
            g_bias[n + o] += dz[o, b]
    outer_into(w.V.indptr, w.V.indices, first_slot[3], dz, hn, g_weight, step_abs, k)
    outer_into(w.D.indptr, w.D.indices, first_slot[4], dz, xk, g_weight, step_abs, k)
    total = 0.0
    for j in range(n):
        for b in range(nb):
            d[j, b] += row_dot(wt.V.indptr, wt.V.indices, wt.V.data, j, dz, b)
            total += d[j, b] * d[j, b]
    return math.sqrt(total)


@njit(cache=CACHE, error_model="numpy", inline="always")
def step_output_grads(w, wt, first_slot, x, outputs, states, gy_loss, truncate, offset, dz, d,
                      g_weight, g_bias, step_abs, k):
    """The start of fixed step `k` going backwards: cut ``d = dL/dh[k+1]``
    at a truncation boundary, then add what the step's outputs send back
    (`readout_grads`); returns the norm of the result."""
    if truncate > 0 and (offset + k + 1) % truncate == 0:
        d[:, :] = 0.0
    return readout_grads(w, wt, first_slot, gy_loss[k], outputs[k], states[k + 1], x[k], dz, d,
                         g_weight, g_bias, step_abs, k)


@njit(cache=CACHE, error_model="numpy")
def rhs_vjp(w, wt, first_slot, inv_tau, s, xk, cot, ds, g_weight, g_bias, g_tau, step_abs, k, n_chunks):
    """Pull the cotangent `cot` of ``f(s) = (phi(a(s)) - s) / tau`` back.

    Fills ``ds = (df/ds)^T cot`` (n_neurons, batch) and adds the parameter
    gradients: with ``z' = V s + D x + c``, ``y' = g(z')``,
    ``a = W s + U x + F y' + b`` and ``da = phi'(a) cot / tau``::

        ds  = -cot / tau + W^T da + V^T (g'(z') F^T da)
        W += da s^T, U += da x^T, F += da y'^T, b += da
        V += dz' s^T, D += dz' x^T, c += dz'      (dz' = g'(z') F^T da)
        tau += -cot (phi(a) - s) / tau^2

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
    Wp, Wi, Wd = w.W
    Up, Ui, Ud = w.U
    Fp, Fi, Fd = w.F
    args = (Wp, Wi, Wd, Up, Ui, Ud, Fp, Fi, Fd, w.bias_h, w.act_h, inv_tau, s, xk, ys, cot, da, g_tau)
    if n_chunks is None:
        vjp_slopes_rows(*args, 0, n)
    else:
        vjp_slopes_parallel(*args, n_chunks)
    dzs = np.empty((n_out, nb), dtype=s.dtype)
    for o in range(n_out):
        for b in range(nb):
            dzs[o, b] = gs[o, b] * row_dot(wt.F.indptr, wt.F.indices, wt.F.data, o, da, b)
    args = (wt.W.indptr, wt.W.indices, wt.W.data, wt.V.indptr, wt.V.indices, wt.V.data, Wp, Wi, Up, Ui, Fp, Fi,
            first_slot, inv_tau, s, xk, ys, cot, da, dzs, ds, g_weight, g_bias, step_abs, k)
    if n_chunks is None:
        vjp_rows(*args, 0, n)
    else:
        vjp_rows_parallel(*args, n_chunks)
    outer_into(w.V.indptr, w.V.indices, first_slot[3], dzs, s, g_weight, step_abs, k)
    outer_into(w.D.indptr, w.D.indices, first_slot[4], dzs, xk, g_weight, step_abs, k)
    for o in range(n_out):
        for b in range(nb):
            g_bias[n + o] += dzs[o, b]


@njit(cache=CACHE, error_model="numpy")
def vjp_slopes_rows(Wp, Wi, Wd, Up, Ui, Ud, Fp, Fi, Fd, bias, codes, inv_tau, s, xk, ys, cot, da, g_tau, lo, hi):
    """Neurons ``lo:hi`` of `rhs_vjp`'s first part: ``da = phi'(a) cot / tau``
    and the tau gradients, from the pre-activations ``a`` at state `s`."""
    for i in range(np.uint64(lo), np.uint64(hi)):
        code = codes[i]
        for b in range(s.shape[1]):
            a = (bias[i] + row_dot(Wp, Wi, Wd, i, s, b) + row_dot(Up, Ui, Ud, i, xk, b)
                 + row_dot(Fp, Fi, Fd, i, ys, b))
            v = activate(code, a)
            da[i, b] = slope(code, v) * cot[i, b] * inv_tau[i]
            g_tau[i] -= cot[i, b] * (v - s[i, b]) * inv_tau[i] * inv_tau[i]


@njit(cache=CACHE, error_model="numpy", parallel=True)
def vjp_slopes_parallel(Wp, Wi, Wd, Up, Ui, Ud, Fp, Fi, Fd, bias, codes, inv_tau, s, xk, ys, cot, da, g_tau,
                        n_chunks):
    """`vjp_slopes_rows` over every neuron, in `n_chunks` chunks spread over threads."""
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(s.shape[0], n_chunks, c)
        vjp_slopes_rows(Wp, Wi, Wd, Up, Ui, Ud, Fp, Fi, Fd, bias, codes, inv_tau, s, xk, ys, cot, da, g_tau, lo, hi)


@njit(cache=CACHE, error_model="numpy")
def vjp_rows(WTp, WTi, WTd, VTp, VTi, VTd, Wp, Wi, Up, Ui, Fp, Fi, first_slot, inv_tau, s, xk, ys, cot, da, dzs, ds,
             g_weight, g_bias, step_abs, k, lo, hi):
    """Neurons ``lo:hi`` of `rhs_vjp`'s second part: their ``ds`` (over
    their outgoing edges, the by-source rows ``WT``, ``VT``), the gradients
    of their incoming W, U and F edges and their biases."""
    lo, hi = np.uint64(lo), np.uint64(hi)
    for j in range(lo, hi):
        for b in range(s.shape[1]):
            ds[j, b] = -cot[j, b] * inv_tau[j] + row_dot(WTp, WTi, WTd, j, da, b) + row_dot(VTp, VTi, VTd, j, dzs, b)
    rows_outer_into(Wp, Wi, first_slot[0], da, s, g_weight, step_abs, k, lo, hi)
    rows_outer_into(Up, Ui, first_slot[1], da, xk, g_weight, step_abs, k, lo, hi)
    rows_outer_into(Fp, Fi, first_slot[2], da, ys, g_weight, step_abs, k, lo, hi)
    for i in range(lo, hi):
        for b in range(s.shape[1]):
            g_bias[i] += da[i, b]


@njit(cache=CACHE, error_model="numpy", parallel=True)
def vjp_rows_parallel(WTp, WTi, WTd, VTp, VTi, VTd, Wp, Wi, Up, Ui, Fp, Fi, first_slot, inv_tau, s, xk, ys, cot, da,
                      dzs, ds, g_weight, g_bias, step_abs, k, n_chunks):
    """`vjp_rows` over every neuron, in `n_chunks` chunks spread over threads."""
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(s.shape[0], n_chunks, c)
        vjp_rows(WTp, WTi, WTd, VTp, VTi, VTd, Wp, Wi, Up, Ui, Fp, Fi, first_slot, inv_tau, s, xk, ys, cot, da, dzs,
                 ds, g_weight, g_bias, step_abs, k, lo, hi)


@njit(cache=CACHE, error_model="numpy")
def initial_grads(d, g_h0):
    """Copy ``dL/dh[0]`` into `g_h0` and return its norm."""
    total = 0.0
    for j in range(d.shape[0]):
        for b in range(d.shape[1]):
            g_h0[j, b] = d[j, b]
            total += d[j, b] * d[j, b]
    return math.sqrt(total)


@njit(cache=CACHE, error_model="numpy")
def bptt_fixed_step(w, wt, first_slot, tau, dt, method, x, states, outputs, gy_loss, truncate, offset, carry,
                    g_weight, g_bias, g_tau, g_h0, dh_norm, step_abs, n_chunks):
    """Gradients of a fixed-step continuous run (Euler or exponential Euler).

    Both steps read ``h[k+1] = h[k] + c f(h[k])`` with
    ``f(h) = (phi(a(h)) - h) / tau`` (in-step output feedback inside ``a``)
    and ``c = dt`` (Euler) or ``c = (1 - e^{-dt/tau}) tau`` (exponential
    Euler). With ``d = dL/dh[k+1]``, `rhs_vjp` pulls ``c d`` back through f;
    ``dL/dh[k] = d + (df/dh)^T (c d)`` and ``dL/dtau`` gains the explicit
    ``d f dc/dtau`` (zero for Euler).

    Parameters
    ----------
    w, wt, first_slot, x, states, outputs, gy_loss, truncate, offset, g_weight, g_bias, g_h0, dh_norm, step_abs
        As in `bptt_discrete`.
    carry : ndarray, shape (n_neurons, batch)
        In: ``dL/dh`` at the step after the last, through the later steps
        (zeros for a whole run; the next segment's when checkpointing). Out:
        ``dL/dh[0]``.
    tau : ndarray, shape (n_neurons,)
    dt : float
    method : int
        `continuous.EULER` or `continuous.EXP_EULER`.
    g_tau : ndarray, shape (n_neurons,)
        Filled (zeros on entry).
    n_chunks : int or None
        As in `bptt_discrete`: the right-hand sides and their pull-backs
        on threads, bit for bit the one-thread results.
    """
    T, n, nb = x.shape[0], states.shape[1], states.shape[2]
    n_out = outputs.shape[1]
    dtype = states.dtype
    inv_tau = np.empty(n, dtype=dtype)
    coef = np.empty(n, dtype=np.float64)
    dcoef = np.empty(n, dtype=np.float64)
    for i in range(n):
        inv_tau[i] = 1.0 / tau[i]
        if method == EULER:
            coef[i] = dt
            dcoef[i] = 0.0
        else:
            alpha = math.exp(-dt / tau[i])
            coef[i] = (1.0 - alpha) * tau[i]
            dcoef[i] = (1.0 - alpha) - alpha * dt / tau[i]
    d = carry.copy()
    dz = np.empty((n_out, nb), dtype=dtype)
    cot = np.empty((n, nb), dtype=dtype)
    ds = np.empty((n, nb), dtype=dtype)
    f = np.empty((n, nb), dtype=dtype)
    ybuf = np.empty((n_out, nb), dtype=dtype)
    for k in range(T - 1, -1, -1):
        h, xk = states[k], x[k]
        dh_norm[k + 1] = step_output_grads(w, wt, first_slot, x, outputs, states, gy_loss, truncate, offset,
                                           dz, d, g_weight, g_bias, step_abs, k)
        for i in range(n):
            for b in range(nb):
                cot[i, b] = coef[i] * d[i, b]
        rhs_vjp(w, wt, first_slot, inv_tau, h, xk, cot, ds, g_weight, g_bias, g_tau, step_abs, k, n_chunks)
        if method != EULER:
            rhs(w, inv_tau, h, xk, ybuf, f, n_chunks)
            for i in range(n):
                for b in range(nb):
                    g_tau[i] += d[i, b] * f[i, b] * dcoef[i]
        for i in range(n):
            for b in range(nb):
                d[i, b] += ds[i, b]
    dh_norm[0] = initial_grads(d, g_h0)
    carry[:, :] = d


@njit(cache=CACHE, error_model="numpy")
def bptt_rk4(w, wt, first_slot, tau, dt, x, states, outputs, gy_loss, truncate, offset, carry,
             g_weight, g_bias, g_tau, g_h0, dh_norm, step_abs, n_chunks):
    """Gradients of a fixed-step RK4 run, through its four stages.

    Each step's stage states ``s1 = h``, ``s2 = h + dt/2 k1``,
    ``s3 = h + dt/2 k2``, ``s4 = h + dt k3`` are recomputed from the recorded
    state; then, from ``d = dL/dh[k+1]`` and
    ``h[k+1] = h + dt/6 (k1 + 2 k2 + 2 k3 + k4)``, the stages are pulled back
    in reverse order with `rhs_vjp`. Arguments as in `bptt_fixed_step`.
    """
    T, n, nb = x.shape[0], states.shape[1], states.shape[2]
    n_out = outputs.shape[1]
    dtype = states.dtype
    inv_tau = np.empty(n, dtype=dtype)
    for i in range(n):
        inv_tau[i] = 1.0 / tau[i]
    d = carry.copy()
    dz = np.empty((n_out, nb), dtype=dtype)
    ybuf = np.empty((n_out, nb), dtype=dtype)
    k1 = np.empty((n, nb), dtype=dtype)
    k2 = np.empty((n, nb), dtype=dtype)
    k3 = np.empty((n, nb), dtype=dtype)
    s2 = np.empty((n, nb), dtype=dtype)
    s3 = np.empty((n, nb), dtype=dtype)
    s4 = np.empty((n, nb), dtype=dtype)
    c1 = np.empty((n, nb), dtype=dtype)
    c2 = np.empty((n, nb), dtype=dtype)
    c3 = np.empty((n, nb), dtype=dtype)
    c4 = np.empty((n, nb), dtype=dtype)
    ds = np.empty((n, nb), dtype=dtype)
    for k in range(T - 1, -1, -1):
        h, xk = states[k], x[k]
        dh_norm[k + 1] = step_output_grads(w, wt, first_slot, x, outputs, states, gy_loss, truncate, offset,
                                           dz, d, g_weight, g_bias, step_abs, k)
        # recompute the stages
        rhs(w, inv_tau, h, xk, ybuf, k1, n_chunks)
        for i in range(n):
            for b in range(nb):
                s2[i, b] = h[i, b] + 0.5 * dt * k1[i, b]
        rhs(w, inv_tau, s2, xk, ybuf, k2, n_chunks)
        for i in range(n):
            for b in range(nb):
                s3[i, b] = h[i, b] + 0.5 * dt * k2[i, b]
        rhs(w, inv_tau, s3, xk, ybuf, k3, n_chunks)
        for i in range(n):
            for b in range(nb):
                s4[i, b] = h[i, b] + dt * k3[i, b]
        # cotangents of the stage slopes (delta = d), pulled back stage 4 -> 1;
        # d accumulates dL/dh[k] along the way
        for i in range(n):
            for b in range(nb):
                c1[i, b] = dt / 6.0 * d[i, b]
                c2[i, b] = dt / 3.0 * d[i, b]
                c3[i, b] = dt / 3.0 * d[i, b]
                c4[i, b] = dt / 6.0 * d[i, b]
        rhs_vjp(w, wt, first_slot, inv_tau, s4, xk, c4, ds, g_weight, g_bias, g_tau, step_abs, k, n_chunks)
        for i in range(n):
            for b in range(nb):
                d[i, b] += ds[i, b]
                c3[i, b] += dt * ds[i, b]
        rhs_vjp(w, wt, first_slot, inv_tau, s3, xk, c3, ds, g_weight, g_bias, g_tau, step_abs, k, n_chunks)
        for i in range(n):
            for b in range(nb):
                d[i, b] += ds[i, b]
                c2[i, b] += 0.5 * dt * ds[i, b]
        rhs_vjp(w, wt, first_slot, inv_tau, s2, xk, c2, ds, g_weight, g_bias, g_tau, step_abs, k, n_chunks)
        for i in range(n):
            for b in range(nb):
                d[i, b] += ds[i, b]
                c1[i, b] += 0.5 * dt * ds[i, b]
        rhs_vjp(w, wt, first_slot, inv_tau, h, xk, c1, ds, g_weight, g_bias, g_tau, step_abs, k, n_chunks)
        for i in range(n):
            for b in range(nb):
                d[i, b] += ds[i, b]
    dh_norm[0] = initial_grads(d, g_h0)
    carry[:, :] = d
