"""Tangent-vector kernels for Lyapunov exponents: k tangent vectors pushed
through the exact Jacobian of each step, then re-orthonormalised by QR.

The Jacobian of one step is never formed. Every kernel reads the network as
three CSR blocks (rows = targets; ``indptr``, ``indices``, ``data`` float64)
W (n, n), F (n, n_out) and V (n_out, n), and the slopes of the step along the
trajectory, and applies ::

    P(s_h, s_o) q = diag(s_h) (W q + F diag(s_o) V q)

to the columns of ``q`` (n, k). With ``s_h = phi'(a)`` and ``s_o = g'(z)``
that is the Jacobian of ``h -> phi(a(h))``. One step of tangents follows
the step's coefficients ``C`` (`simulator.methods`: each stage state and
the result affine in ``h`` and the earlier stages' targets ``p_j``), so
its tangent is the same combination of ``q`` and the stages' pushed
tangents::

    q_0 = q,   q_s = C[s, 0] q + sum_{j < s} C[s, 1 + j] P_j q_j,
    q' = C[S, 0] q + sum_{j < S} C[S, 1 + j] P_j q_j

with ``P_j`` at stage j's slopes. The discrete step is the one-stage
method ``C = [[1, 0], [0, 1]]`` (``q' = P q``).

Arrays in, caller-allocated arrays filled; no Python objects.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import CACHE

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
def tangent_step(coef, w_ptr, w_idx, w_val, f_ptr, f_idx, f_val, v_ptr, v_idx, v_val, s_h, s_o, q, out,
                 stage, pushed, vq):
    """Fill ``out`` with the tangents `q` (n, k) after one step.

    Parameters
    ----------
    coef : ndarray, shape (n, S + 1, S + 1)
        The step's per-neuron coefficients (module docstring).
    w_*, f_*, v_*
        CSR of W, F and V, as in `push`.
    s_h : ndarray, shape (S, n)
        ``phi'(a)`` at each stage.
    s_o : ndarray, shape (S, n_out)
        ``g'(z)`` at each stage.
    q, out : ndarray, shape (n, k)
    stage : ndarray, shape (n, k)
        Work space: the stage's tangent ``q_s``.
    pushed : ndarray, shape (S, n, k)
        Work space: ``P_j q_j`` of each stage.
    vq : ndarray, shape (n_out, k)
        Work space.
    """
    n, k = q.shape
    n_stages = coef.shape[1] - 1
    for st in range(n_stages + 1):
        target = out if st == n_stages else stage
        for i in range(n):
            for j in range(k):
                v = coef[i, st, 0] * q[i, j]
                for m in range(st):
                    v += coef[i, st, 1 + m] * pushed[m, i, j]
                target[i, j] = v
        if st < n_stages:
            push(w_ptr, w_idx, w_val, f_ptr, f_idx, f_val, v_ptr, v_idx, v_val, s_h[st], s_o[st], stage, vq,
                 pushed[st])


@njit(cache=CACHE, error_model="numpy")
def run_tangents(coef, w_ptr, w_idx, w_val, f_ptr, f_idx, f_val, v_ptr, v_idx, v_val, s_h, s_o, q, logs):
    """Push the orthonormal tangents `q` through ``s_h.shape[0]`` steps,
    re-orthonormalising them after each one (`orthonormalise` up to
    `GS_MAX` tangents, else LAPACK's QR).

    Parameters
    ----------
    coef, w_*, f_*, v_*
        As in `tangent_step`.
    s_h : ndarray, shape (n_steps, S, n)
    s_o : ndarray, shape (n_steps, S, n_out)
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
    stage = np.empty((n, k))
    pushed = np.empty((coef.shape[1] - 1, n, k))
    vq = np.empty((s_o.shape[2], k))
    r_diag = np.empty(k)
    c = np.empty(k)
    for t in range(s_h.shape[0]):
        tangent_step(coef, w_ptr, w_idx, w_val, f_ptr, f_idx, f_val, v_ptr, v_idx, v_val, s_h[t], s_o[t], q, out,
                     stage, pushed, vq)
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
