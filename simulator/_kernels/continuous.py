"""Continuous-time kernels (design section 4).

One polling kernel serves every method, fixed-step and ODE: `relax_target`
computes the value each neuron relaxes towards, ::

    y      = g(V h + D x + c)
    target = phi(W h + U x + F y + b)        dh/dt = (target - h) / tau

on one thread, or with the neurons in chunks spread over threads (each neuron
gathers its own inputs, so there are no write conflicts); `rhs` turns it into
dh/dt. The one-step kernels (`euler_step`, `exp_euler_step`, `rk4_step`) and
the time loop `run_fixed_step` take the thread choice as an argument
(``n_chunks``: None for one thread, so that a one-thread run never compiles
the threaded code, whose compilation is the larger part of a cold start).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import CACHE
from .activations import activate, slope
from .forward import chunk_bounds, count_nonfinite, drive, output_drive, poll, readout

#: Codes of the fixed-step methods.
EULER, EXP_EULER, RK4 = 0, 1, 2


@njit(cache=CACHE, error_model="numpy")
def relax_target(w, h, xt, ybuf, out, n_chunks):
    """Fill ``out = phi(W h + U x + F y + b)`` (n_neurons, batch), the value
    each neuron relaxes towards, with ``y = g(V h + D x + c)`` at `h`.

    Parameters
    ----------
    w : Wiring
    h : ndarray, shape (n_neurons, batch)
    xt : ndarray, shape (n_inputs, batch)
    ybuf : ndarray, shape (n_outputs, batch)
        Filled with the outputs at `h`.
    out : ndarray, shape (n_neurons, batch)
    n_chunks : int or None
        None: one thread (a kernel compiled for None never compiles the
        threaded one: Numba prunes the branch by type); else the neurons
        split into this many chunks spread over threads
        (`relax_target_parallel`).
    """
    if n_chunks is not None:
        relax_target_parallel(w, h, xt, ybuf, out, n_chunks)
        return
    readout(w, h, xt, ybuf)
    ptr, index, weight = w.hidden
    poll(ptr, index, weight, w.bias_h, w.act_h, w.uniform_h, h, xt, ybuf, out, 0, h.shape[0])


@njit(cache=CACHE, error_model="numpy", parallel=True)
def relax_target_parallel(w, h, xt, ybuf, out, n_chunks):
    """`relax_target` with the neurons in `n_chunks` chunks spread over threads."""
    readout(w, h, xt, ybuf)
    ptr, index, weight = w.hidden
    bias, codes, uniform = w.bias_h, w.act_h, w.uniform_h
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(h.shape[0], n_chunks, c)
        poll(ptr, index, weight, bias, codes, uniform, h, xt, ybuf, out, lo, hi)


@njit(cache=CACHE, error_model="numpy")
def rhs(w, inv_tau, h, xt, ybuf, out, n_chunks):
    """Fill ``out = dh/dt = (phi(a(h)) - h) / tau`` (n_neurons, batch).

    `inv_tau` has shape (n_neurons,); other arguments as in `relax_target`.
    """
    relax_target(w, h, xt, ybuf, out, n_chunks)
    for i in range(h.shape[0]):
        for b in range(h.shape[1]):
            out[i, b] = (out[i, b] - h[i, b]) * inv_tau[i]


@njit(cache=CACHE, error_model="numpy")
def euler_step(w, rate, h, xt, out, ybuf, n_chunks):
    """Forward Euler, written ``out = (1 - r) h + r phi(a(h))`` with
    ``r = dt / tau`` (`rate`, per neuron), so that r = 1 gives the discrete
    update exactly."""
    relax_target(w, h, xt, ybuf, out, n_chunks)
    for i in range(h.shape[0]):
        r = rate[i]
        for b in range(h.shape[1]):
            out[i, b] = (1.0 - r) * h[i, b] + r * out[i, b]


@njit(cache=CACHE, error_model="numpy")
def exp_euler_step(w, decay, h, xt, out, ybuf, n_chunks):
    """Exponential Euler, exact for a constant drive:
    ``out = e^{-dt/tau} h + (1 - e^{-dt/tau}) phi(a(h))`` (`decay` = e^{-dt/tau})."""
    relax_target(w, h, xt, ybuf, out, n_chunks)
    for i in range(h.shape[0]):
        d = decay[i]
        for b in range(h.shape[1]):
            out[i, b] = d * h[i, b] + (1.0 - d) * out[i, b]


@njit(cache=CACHE, error_model="numpy")
def rk4_step(w, inv_tau, dt, h, xt, out, k1, k2, k3, k4, tmp, ybuf, n_chunks):
    """Classical Runge-Kutta 4; every stage uses the same inputs `xt`."""
    n, nb = h.shape
    rhs(w, inv_tau, h, xt, ybuf, k1, n_chunks)
    for i in range(n):
        for b in range(nb):
            tmp[i, b] = h[i, b] + 0.5 * dt * k1[i, b]
    rhs(w, inv_tau, tmp, xt, ybuf, k2, n_chunks)
    for i in range(n):
        for b in range(nb):
            tmp[i, b] = h[i, b] + 0.5 * dt * k2[i, b]
    rhs(w, inv_tau, tmp, xt, ybuf, k3, n_chunks)
    for i in range(n):
        for b in range(nb):
            tmp[i, b] = h[i, b] + dt * k3[i, b]
    rhs(w, inv_tau, tmp, xt, ybuf, k4, n_chunks)
    for i in range(n):
        for b in range(nb):
            out[i, b] = h[i, b] + dt / 6.0 * (k1[i, b] + 2.0 * k2[i, b] + 2.0 * k3[i, b] + k4[i, b])


@njit(cache=CACHE, error_model="numpy")
def run_fixed_step(w, tau, dt, method, x, states, outputs, n_chunks):
    """Integrate with a fixed step, inputs held constant over each step.

    Parameters
    ----------
    w : Wiring
    tau : ndarray, shape (n_neurons,)
    dt : float
    method : int
        `EULER`, `EXP_EULER` or `RK4`.
    x : ndarray, shape (n_steps, n_inputs, batch)
        ``x[k]`` holds on ``[k dt, (k + 1) dt)``.
    states : ndarray, shape (n_steps + 1, n_neurons, batch)
        ``states[0]`` holds h(0) on entry; ``states[k] = h(k dt)`` filled.
    outputs : ndarray, shape (n_steps, n_outputs, batch)
        Filled with ``y((k + 1) dt) = g(V h((k+1) dt) + D x[k] + c)``.
    n_chunks : int or None
        None: one thread; else split each right-hand side into this many
        chunks of neurons spread over threads.

    Returns
    -------
    int
        The first ``k`` with a non-finite value in ``states[k]`` (k >= 1), or -1.
    """
    n, nb = states.shape[1], states.shape[2]
    dtype = states.dtype
    inv_tau = np.empty(n, dtype=dtype)
    rate = np.empty(n, dtype=dtype)
    decay = np.empty(n, dtype=dtype)
    for i in range(n):
        inv_tau[i] = 1.0 / tau[i]
        rate[i] = dt / tau[i]
        decay[i] = math.exp(-dt / tau[i])
    k1 = np.empty((n, nb), dtype=dtype)
    k2 = np.empty((n, nb), dtype=dtype)
    k3 = np.empty((n, nb), dtype=dtype)
    k4 = np.empty((n, nb), dtype=dtype)
    tmp = np.empty((n, nb), dtype=dtype)
    ybuf = np.empty(outputs.shape[1:], dtype=dtype)
    first_bad = -1
    for k in range(x.shape[0]):
        h, out, xt = states[k], states[k + 1], x[k]
        if method == EULER:
            euler_step(w, rate, h, xt, out, ybuf, n_chunks)
        elif method == EXP_EULER:
            exp_euler_step(w, decay, h, xt, out, ybuf, n_chunks)
        else:
            rk4_step(w, inv_tau, dt, h, xt, out, k1, k2, k3, k4, tmp, ybuf, n_chunks)
        if first_bad < 0 and count_nonfinite(out, 0, n):
            first_bad = k + 1
        readout(w, out, xt, outputs[k])
    return first_bad


@njit(cache=CACHE, error_model="numpy")
def read_outputs(w, states, x, outputs):
    """Fill ``outputs[k] = g(V states[k + 1] + D x[k] + c)`` for every k.

    Parameters
    ----------
    states : ndarray, shape (n_steps + 1, n_neurons, batch)
    x : ndarray, shape (n_steps, n_inputs, batch)
    outputs : ndarray, shape (n_steps, n_outputs, batch)
    """
    for k in range(outputs.shape[0]):
        readout(w, states[k + 1], x[k], outputs[k])


@njit(cache=CACHE, error_model="numpy")
def jacobian_scales(w, inv_tau, h, xt, s_h, s_o):
    """The diagonal factors of the Jacobian
    ``J = diag(s_h) (W + F diag(s_o) V) - diag(1/tau)``.

    Fills ``s_o = g'(z)``, ``z = V h + D x + c`` (n_outputs, batch) and
    ``s_h = phi'(a) / tau``, ``a = W h + U x + F g(z) + b`` (n_neurons, batch).
    """
    nb = h.shape[1]
    ybuf = np.empty_like(s_o)
    output_slopes(w, h, xt, ybuf, s_o)
    for i in range(h.shape[0]):
        code = w.act_h[i]
        for b in range(nb):
            s_h[i, b] = slope(code, activate(code, drive(w, i, h, xt, ybuf, b))) * inv_tau[i]


@njit(cache=CACHE, error_model="numpy")
def output_slopes(w, h, xt, y, slopes):
    """Fill ``y = g(z)`` and ``slopes = g'(z)`` (n_outputs, batch) for
    ``z = V h + D x + c``."""
    for o in range(y.shape[0]):
        code = w.act_o[o]
        for b in range(y.shape[1]):
            v = activate(code, output_drive(w, o, h, xt, b))
            y[o, b] = v
            slopes[o, b] = slope(code, v)
