"""Continuous-time kernels (design section 4).

One polling kernel serves every method, fixed-step and ODE: `relax_target`
computes the value each neuron relaxes towards, ::

    y      = g(V h + D x + c)
    target = phi(W h + U x + F y + b)        dh/dt = (target - h) / tau

on one thread, `relax_target_parallel` with the neurons spread over threads
(each neuron gathers its own inputs, so there are no write conflicts); `rhs`
turns it into dh/dt. The one-step kernels (`euler_step`, `exp_euler_step`,
`rk4_step`) and the time loop `run_fixed_step` take the thread choice as a
flag, so each is compiled once.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..activations import activate
from .forward import drive, gather, readout

#: Codes of the fixed-step methods.
EULER, EXP_EULER, RK4 = 0, 1, 2


@njit(cache=True)
def relax_target(w, h, xt, ybuf, out):
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
    """
    readout(w, h, xt, ybuf)
    for i in range(h.shape[0]):
        o = out[i]
        drive(w, i, h, xt, ybuf, o)
        code = w.act_h[i]
        for b in range(h.shape[1]):
            o[b] = activate(code, o[b])


@njit(cache=True, parallel=True)
def relax_target_parallel(w, h, xt, ybuf, out):
    """`relax_target` with the neurons spread over threads."""
    readout(w, h, xt, ybuf)
    Wp, Wi, Wd = w.W.indptr, w.W.indices, w.W.data
    Up, Ui, Ud = w.U.indptr, w.U.indices, w.U.data
    Fp, Fi, Fd = w.F.indptr, w.F.indices, w.F.data
    act_h, bias_h = w.act_h, w.bias_h
    nb = h.shape[1]
    for i in prange(h.shape[0]):
        o = out[i]
        for b in range(nb):
            o[b] = bias_h[i]
        gather(Wp, Wi, Wd, i, h, o)
        gather(Up, Ui, Ud, i, xt, o)
        gather(Fp, Fi, Fd, i, ybuf, o)
        code = act_h[i]
        for b in range(nb):
            o[b] = activate(code, o[b])


@njit(cache=True)
def target(w, h, xt, ybuf, out, parallel):
    """`relax_target` or `relax_target_parallel`, chosen by the flag `parallel`."""
    if parallel:
        relax_target_parallel(w, h, xt, ybuf, out)
    else:
        relax_target(w, h, xt, ybuf, out)


@njit(cache=True)
def rhs(w, inv_tau, h, xt, ybuf, out, parallel):
    """Fill ``out = dh/dt = (phi(a(h)) - h) / tau`` (n_neurons, batch).

    `inv_tau` has shape (n_neurons,); other arguments as in `relax_target`.
    """
    target(w, h, xt, ybuf, out, parallel)
    for i in range(h.shape[0]):
        for b in range(h.shape[1]):
            out[i, b] = (out[i, b] - h[i, b]) * inv_tau[i]


@njit(cache=True)
def euler_step(w, rate, h, xt, out, ybuf, parallel):
    """Forward Euler, written ``out = (1 - r) h + r phi(a(h))`` with
    ``r = dt / tau`` (`rate`, per neuron), so that r = 1 gives the discrete
    update exactly."""
    target(w, h, xt, ybuf, out, parallel)
    for i in range(h.shape[0]):
        r = rate[i]
        for b in range(h.shape[1]):
            out[i, b] = (1.0 - r) * h[i, b] + r * out[i, b]


@njit(cache=True)
def exp_euler_step(w, decay, h, xt, out, ybuf, parallel):
    """Exponential Euler, exact for a constant drive:
    ``out = e^{-dt/tau} h + (1 - e^{-dt/tau}) phi(a(h))`` (`decay` = e^{-dt/tau})."""
    target(w, h, xt, ybuf, out, parallel)
    for i in range(h.shape[0]):
        d = decay[i]
        for b in range(h.shape[1]):
            out[i, b] = d * h[i, b] + (1.0 - d) * out[i, b]


@njit(cache=True)
def rk4_step(w, inv_tau, dt, h, xt, out, k1, k2, k3, k4, tmp, ybuf, parallel):
    """Classical Runge-Kutta 4; every stage uses the same inputs `xt`."""
    n, nb = h.shape
    rhs(w, inv_tau, h, xt, ybuf, k1, parallel)
    for i in range(n):
        for b in range(nb):
            tmp[i, b] = h[i, b] + 0.5 * dt * k1[i, b]
    rhs(w, inv_tau, tmp, xt, ybuf, k2, parallel)
    for i in range(n):
        for b in range(nb):
            tmp[i, b] = h[i, b] + 0.5 * dt * k2[i, b]
    rhs(w, inv_tau, tmp, xt, ybuf, k3, parallel)
    for i in range(n):
        for b in range(nb):
            tmp[i, b] = h[i, b] + dt * k3[i, b]
    rhs(w, inv_tau, tmp, xt, ybuf, k4, parallel)
    for i in range(n):
        for b in range(nb):
            out[i, b] = h[i, b] + dt / 6.0 * (k1[i, b] + 2.0 * k2[i, b] + 2.0 * k3[i, b] + k4[i, b])


@njit(cache=True)
def run_fixed_step(w, tau, dt, method, x, states, outputs, parallel):
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
    parallel : bool
        Spread each right-hand side over threads.
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
    for k in range(x.shape[0]):
        h, out, xt = states[k], states[k + 1], x[k]
        if method == EULER:
            euler_step(w, rate, h, xt, out, ybuf, parallel)
        elif method == EXP_EULER:
            exp_euler_step(w, decay, h, xt, out, ybuf, parallel)
        else:
            rk4_step(w, inv_tau, dt, h, xt, out, k1, k2, k3, k4, tmp, ybuf, parallel)
        readout(w, out, xt, outputs[k])
