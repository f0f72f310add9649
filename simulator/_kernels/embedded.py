"""One attempted step of an embedded explicit Runge-Kutta pair (SciPy's RK23,
RK45 and DOP853), every stage and the error estimate in one compiled call.

The stages poll the neurons as `continuous.rhs` does, so SciPy's adaptive
step control (kept in Python, in `simulator.explicit`) pays one call per
attempted step instead of one Python round trip per stage. Each pass over
the neurons computes a chunk's rates of one stage and, from them, the same
chunk of the next stage, so with threads a stage costs one parallel region
(the stages' states alternate between two buffers: other chunks still read
the current one); the error estimate is split over the same chunks.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import CACHE
from .forward import chunk_bounds, poll, readout


@njit(cache=CACHE, error_model="numpy")
def combine(y, K, coeffs, n_terms, h, out, lo, hi):
    """``out = y + h * sum_j coeffs[j] K[j]`` on entries ``lo:hi`` of flat
    arrays, over the first `n_terms` rows of `K`: one vectorised pass per
    term (a term with a zero coefficient skipped)."""
    lo, hi = np.uint64(lo), np.uint64(hi)
    for m in range(lo, hi):
        out[m] = y[m]
    for j in range(n_terms):
        c = h * coeffs[j]
        if c != 0.0:
            Kj = K[j]
            for m in range(lo, hi):
                out[m] += c * Kj[m]


@njit(cache=CACHE, error_model="numpy")
def scaled_square_sum(K, E, y, y_new, rtol, atol, err, lo, hi):
    """``sum ((E K) / scale)^2`` over entries ``lo:hi``, with
    ``scale = atol + max(|y|, |y_new|) rtol``; `err` (size,) is scratch."""
    lo, hi = np.uint64(lo), np.uint64(hi)
    for m in range(lo, hi):
        err[m] = 0.0
    for j in range(E.shape[0]):
        c = E[j]
        if c != 0.0:
            Kj = K[j]
            for m in range(lo, hi):
                err[m] += c * Kj[m]
    for m in range(lo, hi):
        a = abs(y[m])
        b = abs(y_new[m])  # NaN in y_new (a blown-up stage) makes the sum NaN: the step is rejected
        e = err[m] / (atol[m] + (b if not b <= a else a) * rtol[m])
        err[m] = e * e
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    four = np.uint64(4)
    m = lo
    while m + four <= hi:  # four partial sums: the additions need not wait on each other
        s0 += err[m]
        s1 += err[m + np.uint64(1)]
        s2 += err[m + np.uint64(2)]
        s3 += err[m + np.uint64(3)]
        m += four
    while m < hi:
        s0 += err[m]
        m += np.uint64(1)
    return (s0 + s1) + (s2 + s3)


@njit(cache=CACHE, error_model="numpy", parallel=True)
def _sums_parallel(y, K, coeffs, n_terms, h, out, n_chunks):
    """`combine` over every entry, in `n_chunks` chunks spread over threads."""
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(y.shape[0], n_chunks, c)
        combine(y, K, coeffs, n_terms, h, out, lo, hi)


@njit(cache=CACHE, error_model="numpy")
def stage_rows(ptr, index, weight, bias, codes, uniform, inv_tau,
               src, xt, ybuf, k_out,
               y, K, coeffs, n_terms, h, dst,
               lo, hi):
    """Neurons ``lo:hi`` of one stage: ``k_out = (phi(a(src)) - src) / tau``,
    then (``n_terms > 0``) the same rows of the next stage,
    ``dst = y + h sum_j coeffs[j] K[j]``, which need no other rows of `K`
    (so both share one pass over threads).

    Parameters
    ----------
    ptr, index, weight, bias, codes, uniform
        The hidden neurons' wiring, as `forward.poll` takes it.
    inv_tau : ndarray, shape (n_neurons,)
    src : ndarray, shape (n_neurons, batch)
        The stage's state.
    xt : ndarray, shape (n_inputs, batch)
        The inputs at the stage's time.
    ybuf : ndarray, shape (n_outputs, batch)
        The outputs at `src` (read by the feedback edges).
    k_out : ndarray, shape (n_neurons, batch)
        Filled with the stage's rates.
    y, K, coeffs, n_terms, h, dst
        The next stage, as `combine` takes it (`y`, `K` rows and `dst` flat).
    lo, hi : int
        The neurons.
    """
    poll(ptr, index, weight, bias, codes, uniform, src, xt, ybuf, k_out, lo, hi)
    nb = src.shape[1]
    for i in range(lo, hi):
        r = inv_tau[i]
        for b in range(nb):
            k_out[i, b] = (k_out[i, b] - src[i, b]) * r
    if n_terms > 0:
        combine(y, K, coeffs, n_terms, h, dst, lo * nb, hi * nb)


@njit(cache=CACHE, error_model="numpy")
def _stage(w, inv_tau, src, xt, ybuf, k_out, y, K, coeffs, n_terms, h, dst):
    """`stage_rows` over every neuron on one thread, after the outputs at
    `src` (for the feedback edges)."""
    readout(w, src, xt, ybuf)
    ptr, index, weight = w.hidden
    stage_rows(ptr, index, weight, w.bias_h, w.act_h, w.uniform_h, inv_tau, src, xt, ybuf, k_out,
               y, K, coeffs, n_terms, h, dst, 0, src.shape[0])


@njit(cache=CACHE, error_model="numpy", parallel=True)
def _stage_parallel(w, inv_tau, src, xt, ybuf, k_out, y, K, coeffs, n_terms, h, dst, n_chunks):
    """`_stage` with the neurons in `n_chunks` chunks spread over threads.
    `dst` must not be `src`: other chunks still read it."""
    readout(w, src, xt, ybuf)
    ptr, index, weight = w.hidden
    bias, codes, uniform = w.bias_h, w.act_h, w.uniform_h
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(src.shape[0], n_chunks, c)
        stage_rows(ptr, index, weight, bias, codes, uniform, inv_tau, src, xt, ybuf, k_out,
                   y, K, coeffs, n_terms, h, dst, lo, hi)


@njit(cache=CACHE, error_model="numpy", inline="always")
def _next(s, A, B, stage, y_new):
    """Where stage s's pass writes the next stage (y_new after the last) and
    with which coefficients; stage s itself is in ``stage[s % 2]``."""
    if s == B.shape[0] - 1:
        return y_new, B
    return stage[(s + 1) % 2], A[s + 1]


@njit(cache=CACHE, error_model="numpy", inline="always")
def _norm(s5, s3, dop853, h, size):
    """SciPy's error norm from the sums of squares (see `rk_attempt`)."""
    if size == 0:
        return 0.0
    if not dop853:
        return abs(h) * math.sqrt(s5 / size)
    if s5 == 0.0 and s3 == 0.0:
        return 0.0
    return abs(h) * s5 / math.sqrt((s5 + 0.01 * s3) * size)


@njit(cache=CACHE, error_model="numpy", parallel=True)
def _error_sums_parallel(K, E, E3, y, y_new, rtol, atol, err, n_chunks):
    """`scaled_square_sum` for `E` and (when not empty) `E3`, over every
    entry in `n_chunks` chunks spread over threads; err is (2, size) scratch."""
    parts = np.zeros((n_chunks, 2))
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(y.shape[0], n_chunks, c)
        parts[c, 0] = scaled_square_sum(K, E, y, y_new, rtol, atol, err[0], lo, hi)
        if E3.shape[0]:
            parts[c, 1] = scaled_square_sum(K, E3, y, y_new, rtol, atol, err[1], lo, hi)
    s5 = 0.0
    s3 = 0.0
    for c in range(n_chunks):
        s5 += parts[c, 0]
        s3 += parts[c, 1]
    return s5, s3


@njit(cache=CACHE, error_model="numpy")
def rk_attempt(w, inv_tau, A, B, E, E3, K, y, h, xs, ybuf, stage, y_new, rtol, atol, err):
    """Attempt one step of size `h` on one thread; fill the stages and
    ``y_new``, return the error norm SciPy's step control compares with 1.

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
    stage : ndarray, shape (2, n_neurons * batch)
        Scratch: the stages' states, alternating.
    y_new : ndarray, shape (n_neurons * batch,)
        The step's result.
    rtol, atol : ndarray, shape (n_neurons * batch,)
    err : ndarray, shape (2, n_neurons * batch)
        Scratch.

    Returns
    -------
    float
        SciPy's error norm: the RMS of ``h E K / scale`` for RK23 and RK45,
        DOP853's blend of its fifth- and third-order estimates otherwise;
        ``scale = atol + max(|y|, |y_new|) rtol``.
    """
    n, nb, size = inv_tau.shape[0], xs.shape[2], y.shape[0]
    combine(y, K, A[1], 1, h, stage[1], 0, size)
    for s in range(1, B.shape[0]):
        dst, coeffs = _next(s, A, B, stage, y_new)
        _stage(w, inv_tau, stage[s % 2].reshape((n, nb)), xs[s], ybuf, K[s].reshape((n, nb)), y, K, coeffs, s + 1,
               h, dst)
    _stage(w, inv_tau, y_new.reshape((n, nb)), xs[-1], ybuf, K[-1].reshape((n, nb)), y, K, B, 0, h, stage[0])
    s5 = scaled_square_sum(K, E, y, y_new, rtol, atol, err[0], 0, size)
    s3 = scaled_square_sum(K, E3, y, y_new, rtol, atol, err[1], 0, size) if E3.shape[0] else 0.0
    return _norm(s5, s3, E3.shape[0] > 0, h, size)


@njit(cache=CACHE, error_model="numpy")
def rk_attempt_parallel(w, inv_tau, A, B, E, E3, K, y, h, xs, ybuf, stage, y_new, rtol, atol, err, n_chunks):
    """`rk_attempt` with the neurons in `n_chunks` chunks spread over
    threads: one parallel region a stage, one for the error estimate. A
    kernel of its own, so a solve on one thread never compiles it."""
    n, nb, size = inv_tau.shape[0], xs.shape[2], y.shape[0]
    _sums_parallel(y, K, A[1], 1, h, stage[1], n_chunks)
    for s in range(1, B.shape[0]):
        dst, coeffs = _next(s, A, B, stage, y_new)
        _stage_parallel(w, inv_tau, stage[s % 2].reshape((n, nb)), xs[s], ybuf, K[s].reshape((n, nb)), y, K, coeffs,
                        s + 1, h, dst, n_chunks)
    _stage_parallel(w, inv_tau, y_new.reshape((n, nb)), xs[-1], ybuf, K[-1].reshape((n, nb)), y, K, B, 0, h,
                    stage[0], n_chunks)
    s5, s3 = _error_sums_parallel(K, E, E3, y, y_new, rtol, atol, err, n_chunks)
    return _norm(s5, s3, E3.shape[0] > 0, h, size)
