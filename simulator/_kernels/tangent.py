"""Tangent-vector kernels for Lyapunov exponents: k tangent vectors pushed
through the exact Jacobian of each step, then re-orthonormalised by QR.

The Jacobian of one step is never formed. Every kernel reads the network as
three CSR blocks (rows = targets; ``indptr``, ``indices``, ``data`` float64)
W (n, n), F (n, n_out) and V (n_out, n), and the slopes of the step along the
trajectory, and applies ::

    P(s_h, s_o) q = diag(s_h) (W q + F diag(s_o) V q)

to the columns of ``q`` (n, k). With ``s_h = phi'(a)`` and ``s_o = g'(z)``
that is the Jacobian of ``h -> phi(a(h))``. One step of tangents:

=============  =====================================================
discrete       ``q' = P q``
euler          ``q' = (1 - r) q + r P q``, ``r = dt / tau``
exp_euler      ``q' = d q + (1 - d) P q``, ``d = exp(-dt / tau)``
rk4            ``k_j = (P_j (q + c_j dt k_{j-1}) - (q + c_j dt k_{j-1})) / tau``
               with the slopes of stage j, ``q' = q + dt/6 (k1 + 2 k2 + 2 k3 + k4)``
=============  =====================================================

Arrays in, caller-allocated arrays filled; no Python objects.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import CACHE

#: Codes of the step kinds (the continuous ones as `simulator.analysis._model.METHODS`).
EULER, EXP_EULER, RK4, DISCRETE = 0, 1, 2, 3
#: Up to this many tangents, `orthonormalise` (Gram-Schmidt twice, on one
#: thread) re-orthonormalises them; beyond, LAPACK's Householder QR
#: (``np.linalg.qr``), whose blocked updates win for many columns.
GS_MAX = 32


@njit(cache=CACHE, error_model="numpy")
def orthonormalise(a, r_diag, c):
    """Orthonormalise the columns of `a` (n, k) in place by classical
    Gram-Schmidt applied twice ("twice is enough": as accurate as
    Householder QR for columns of full rank), and fill ``r_diag`` (k,) with
    ``|R_jj|``, the norm of each column after its projection. A column that
    vanishes stays zero (``r_diag`` 0).

    Parameters
    ----------
    a : ndarray, shape (n, k)
    r_diag : ndarray, shape (k,)
    c : ndarray, shape (k,)
        Work space.
    """
    n, k = a.shape
    for j in range(k):
        for _ in range(2):
            for m in range(j):
                c[m] = 0.0
            for i in range(n):
                v = a[i, j]
                for m in range(j):
                    c[m] += a[i, m] * v
            for i in range(n):
                s = 0.0
                for m in range(j):
                    s += a[i, m] * c[m]
                a[i, j] -= s
        nrm = 0.0
        for i in range(n):
            nrm += a[i, j] * a[i, j]
        nrm = math.sqrt(nrm)
        r_diag[j] = nrm
        if nrm > 0:
            inv = 1.0 / nrm
            for i in range(n):
                a[i, j] *= inv


@njit(cache=CACHE, error_model="numpy")
def push(w_ptr, w_idx, w_val, f_ptr, f_idx, f_val, v_ptr, v_idx, v_val, s_h, s_o, q, vq, out):
    """Fill ``out = diag(s_h) (W q + F diag(s_o) V q)``.

    Parameters
    ----------
    w_ptr, w_idx, w_val : ndarray
        CSR of W (n, n), rows = targets.
    f_ptr, f_idx, f_val : ndarray
        CSR of F (n, n_out).
    v_ptr, v_idx, v_val : ndarray
        CSR of V (n_out, n).
    s_h : ndarray, shape (n,)
    s_o : ndarray, shape (n_out,)
    q : ndarray, shape (n, k)
    vq : ndarray, shape (n_out, k)
        Work space: filled with ``diag(s_o) V q``.
    out : ndarray, shape (n, k)
    """
    n, k = q.shape
    for o in range(vq.shape[0]):
        for j in range(k):
            vq[o, j] = 0.0
        for p in range(v_ptr[o], v_ptr[o + 1]):
            c = v_idx[p]
            v = v_val[p]
            for j in range(k):
                vq[o, j] += v * q[c, j]
        for j in range(k):
            vq[o, j] *= s_o[o]
    for i in range(n):
        for j in range(k):
            out[i, j] = 0.0
        for p in range(w_ptr[i], w_ptr[i + 1]):
            c = w_idx[p]
            v = w_val[p]
            for j in range(k):
                out[i, j] += v * q[c, j]
        for p in range(f_ptr[i], f_ptr[i + 1]):
            c = f_idx[p]
            v = f_val[p]
            for j in range(k):
                out[i, j] += v * vq[c, j]
        s = s_h[i]
        for j in range(k):
            out[i, j] *= s


@njit(cache=CACHE, error_model="numpy")
def tangent_step(kind, dt, coef, inv_tau, w_ptr, w_idx, w_val, f_ptr, f_idx, f_val, v_ptr, v_idx, v_val,
                 s_h, s_o, q, out, k_acc, stage, tmp, vq):
    """Fill ``out`` with the tangents `q` (n, k) after one step.

    Parameters
    ----------
    kind : int
        `DISCRETE`, `EULER`, `EXP_EULER` or `RK4`.
    dt : float
        The step (continuous kinds).
    coef : ndarray, shape (n,)
        ``dt / tau`` (EULER) or ``exp(-dt / tau)`` (EXP_EULER); unused otherwise.
    inv_tau : ndarray, shape (n,)
        ``1 / tau`` (RK4).
    s_h : ndarray, shape (n_stages, n)
        ``phi'(a)`` at each stage (one stage but for RK4's four).
    s_o : ndarray, shape (n_stages, n_out)
        ``g'(z)`` at each stage.
    q, out : ndarray, shape (n, k)
    k_acc, stage, tmp : ndarray, shape (n, k)
        Work space.
    vq : ndarray, shape (n_out, k)
        Work space.
    """
    n, k = q.shape
    if kind == DISCRETE:
        push(w_ptr, w_idx, w_val, f_ptr, f_idx, f_val, v_ptr, v_idx, v_val, s_h[0], s_o[0], q, vq, out)
    elif kind == EULER:
        push(w_ptr, w_idx, w_val, f_ptr, f_idx, f_val, v_ptr, v_idx, v_val, s_h[0], s_o[0], q, vq, out)
        for i in range(n):
            r = coef[i]
            for j in range(k):
                out[i, j] = (1.0 - r) * q[i, j] + r * out[i, j]
    elif kind == EXP_EULER:
        push(w_ptr, w_idx, w_val, f_ptr, f_idx, f_val, v_ptr, v_idx, v_val, s_h[0], s_o[0], q, vq, out)
        for i in range(n):
            d = coef[i]
            for j in range(k):
                out[i, j] = d * q[i, j] + (1.0 - d) * out[i, j]
    else:
        # stage 1 at q itself; stages 2..4 at q + c dt k_prev
        for i in range(n):
            for j in range(k):
                stage[i, j] = q[i, j]
                k_acc[i, j] = 0.0
        for st in range(4):
            push(w_ptr, w_idx, w_val, f_ptr, f_idx, f_val, v_ptr, v_idx, v_val, s_h[st], s_o[st], stage, vq, tmp)
            weight = 1.0 if st == 0 or st == 3 else 2.0
            c_next = 0.5 * dt if st < 2 else dt
            for i in range(n):
                it = inv_tau[i]
                for j in range(k):
                    kij = (tmp[i, j] - stage[i, j]) * it
                    k_acc[i, j] += weight * kij
                    stage[i, j] = q[i, j] + c_next * kij
        for i in range(n):
            for j in range(k):
                out[i, j] = q[i, j] + dt / 6.0 * k_acc[i, j]


@njit(cache=CACHE, error_model="numpy")
def run_tangents(kind, dt, coef, inv_tau, w_ptr, w_idx, w_val, f_ptr, f_idx, f_val, v_ptr, v_idx, v_val,
                 s_h, s_o, q, logs):
    """Push the orthonormal tangents `q` through ``s_h.shape[0]`` steps,
    re-orthonormalising them after each one (`orthonormalise` up to
    `GS_MAX` tangents, else LAPACK's QR).

    Parameters
    ----------
    kind, dt, coef, inv_tau, w_*, f_*, v_*
        As in `tangent_step`.
    s_h : ndarray, shape (n_steps, n_stages, n)
    s_o : ndarray, shape (n_steps, n_stages, n_out)
        The slopes of each step (stage by stage).
    q : ndarray, shape (n, k)
        Orthonormal columns on entry; replaced by the ``Q`` of the last
        step's QR on return.
    logs : ndarray, shape (n_steps, k)
        Filled with ``log |R_jj|`` of each step's ``Q R = J q`` (``-inf``
        where a direction collapsed to zero).
    """
    n, k = q.shape
    out = np.empty((n, k))
    k_acc = np.empty((n, k))
    stage = np.empty((n, k))
    tmp = np.empty((n, k))
    vq = np.empty((s_o.shape[2], k))
    r_diag = np.empty(k)
    c = np.empty(k)
    for t in range(s_h.shape[0]):
        tangent_step(kind, dt, coef, inv_tau, w_ptr, w_idx, w_val, f_ptr, f_idx, f_val, v_ptr, v_idx, v_val,
                     s_h[t], s_o[t], q, out, k_acc, stage, tmp, vq)
        if k <= GS_MAX:
            orthonormalise(out, r_diag, c)
            q[:, :] = out
        else:
            qn, r = np.linalg.qr(out)
            for j in range(k):
                r_diag[j] = abs(r[j, j])
            q[:, :] = qn
        for j in range(k):
            d = r_diag[j]
            logs[t, j] = math.log(d) if d > 0 else -np.inf
