"""One attempted step of an embedded explicit Runge-Kutta pair (SciPy's RK23,
RK45 and DOP853), every stage and the error estimate in one compiled call.

The stages use the continuous-time right-hand side of `continuous.rhs`, so
SciPy's adaptive step control (kept in Python, in `simulator.explicit`) pays
one call per attempted step instead of one Python round trip per stage.
"""

from __future__ import annotations

import math

from numba import njit

from . import CACHE
from .continuous import rhs


@njit(cache=CACHE, error_model="numpy")
def _combine(y, K, coeffs, n_terms, h, out):
    """``out = y + h * sum_j coeffs[j] K[j]`` over the first `n_terms` rows
    (flat arrays of one size; terms with a zero coefficient skipped)."""
    size = y.shape[0]
    for m in range(size):
        out[m] = y[m]
    for j in range(n_terms):
        c = h * coeffs[j]
        if c != 0.0:
            Kj = K[j]
            for m in range(size):
                out[m] += c * Kj[m]


@njit(cache=CACHE, error_model="numpy")
def _dot_rows(K, coeffs, m):
    """``sum_j coeffs[j] K[j, m]``."""
    acc = 0.0
    for j in range(coeffs.shape[0]):
        acc += coeffs[j] * K[j, m]
    return acc


@njit(cache=CACHE, error_model="numpy")
def rk_attempt(w, inv_tau, A, B, E, E3, K, y, h, xs, ybuf, stage, y_new, rtol, atol, n_chunks):
    """Attempt one step of size `h`; fill the stages and ``y_new``, return the
    error norm SciPy's step control compares with 1.

    Parameters
    ----------
    w : Wiring
    inv_tau : ndarray, shape (n_neurons,)
    A, B : ndarray, shapes (n_stages, n_stages), (n_stages,)
        The method's Butcher tableau (SciPy's ``A``, ``B``).
    E : ndarray, shape (n_stages + 1,)
        Error weights over the stages and ``f_new`` (SciPy's ``E``; ``E5``
        for DOP853).
    E3 : ndarray, shape (n_stages + 1,) or (0,)
        DOP853's third-order error weights; empty for RK23 and RK45.
    K : ndarray, shape (n_stages + 1, n_neurons * batch)
        ``K[0]`` holds f(t, y) on entry; ``K[s]`` is filled with stage s and
        ``K[n_stages]`` with ``f(t + h, y_new)``.
    y : ndarray, shape (n_neurons * batch,)
        The state, neuron-major (``y[i * batch + b]``).
    h : float
    xs : ndarray, shape (n_stages + 1, n_inputs, batch)
        The inputs at each stage's time ``t + C[s] h`` (row ``n_stages``: t + h).
    ybuf : ndarray, shape (n_outputs, batch)
    stage, y_new : ndarray, shape (n_neurons * batch,)
        Scratch for a stage's state; the step's result.
    rtol, atol : ndarray, shape (n_neurons * batch,)
    n_chunks : int
        0: one thread; else the neurons in this many chunks over threads.

    Returns
    -------
    float
        SciPy's error norm: the RMS of ``h E K / scale`` for RK23 and RK45,
        DOP853's blend of its fifth- and third-order estimates otherwise;
        ``scale = atol + max(|y|, |y_new|) rtol``.
    """
    n_stages = B.shape[0]
    n = inv_tau.shape[0]
    nb = xs.shape[2]
    size = y.shape[0]
    for s in range(1, n_stages):
        _combine(y, K, A[s], s, h, stage)
        rhs(w, inv_tau, stage.reshape((n, nb)), xs[s], ybuf, K[s].reshape((n, nb)), n_chunks)
    _combine(y, K, B, n_stages, h, y_new)
    rhs(w, inv_tau, y_new.reshape((n, nb)), xs[n_stages], ybuf, K[n_stages].reshape((n, nb)), n_chunks)
    if size == 0:
        return 0.0
    if E3.shape[0] == 0:
        total = 0.0
        for m in range(size):
            scale = atol[m] + max(abs(y[m]), abs(y_new[m])) * rtol[m]
            e = h * _dot_rows(K, E, m) / scale
            total += e * e
        return math.sqrt(total / size)
    sum5 = 0.0
    sum3 = 0.0
    for m in range(size):
        scale = atol[m] + max(abs(y[m]), abs(y_new[m])) * rtol[m]
        e5 = _dot_rows(K, E, m) / scale
        e3 = _dot_rows(K, E3, m) / scale
        sum5 += e5 * e5
        sum3 += e3 * e3
    if sum5 == 0.0 and sum3 == 0.0:
        return 0.0
    return abs(h) * sum5 / math.sqrt((sum5 + 0.01 * sum3) * size)
