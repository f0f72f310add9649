"""Continuous-time kernels (design section 4).

One polling kernel serves every method, fixed-step and ODE: `relax_target`
computes the value each neuron relaxes towards, ::

    y      = g(V h + D x + c)
    target = phi(W h + U x + F y + b)        dh/dt = (target - h) / tau

on one thread, or with the neurons in chunks spread over threads (each neuron
gathers its own inputs, so there are no write conflicts); `rhs` turns it into
dh/dt. Every fixed-step method (Euler, exponential Euler, RK4) is one
table of coefficients (`simulator.methods`) run by one stage loop, the
one-step kernel `fixed_step`, which BPTT reuses to recompute a step's
stages. It and the time loop `run_fixed_step` take the thread choice as an
argument (``n_chunks``: None for one thread, so that a one-thread run never
compiles the threaded code, whose compilation is the larger part of a cold
start).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import CACHE
from .activations import activate, slope
from .forward import chunk_bounds, count_nonfinite, drive, output_drive, poll, readout

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


@njit(cache=CACHE, error_model="numpy", inline="always")
def combine_stage(coef, s, h, P, dst, acc):
    """``dst = coef[:, s, 0] h + sum_{j < s} coef[:, s, 1 + j] P[j]``
    (n_neurons, batch): row `s` of a fixed-step method's coefficients,
    summed in float64, term by term in `acc` (batch,) so that each pass
    over a batch vectorises."""
    n, nb = np.uint64(h.shape[0]), np.uint64(h.shape[1])
    if nb == 1:
        for i in range(n):
            v = coef[i, s, 0] * h[i, 0]
            for j in range(s):
                v += coef[i, s, 1 + j] * P[j, i, 0]
            dst[i, 0] = v
        return
    for i in range(n):
        c0 = coef[i, s, 0]
        hi = h[i]
        for b in range(nb):
            acc[b] = c0 * hi[b]
        for j in range(s):
            c = coef[i, s, 1 + j]
            row = P[j, i]
            for b in range(nb):
                acc[b] += c * row[b]
        out = dst[i]
        for b in range(nb):
            out[b] = acc[b]


@njit(cache=CACHE, error_model="numpy")
def fixed_step(w, coef, h, xt, out, P, Y, ybuf, n_chunks):
    """One step of a fixed-step method from its coefficients.

    For s = 0 .. S - 1: the stage's targets ``P[s] = phi(a(y_s))`` (output
    feedback inside, every stage on the inputs `xt`), then the next stage
    state (or the result) from row ``s + 1`` of `coef`.

    Parameters
    ----------
    w : Wiring
    coef : ndarray of float64, shape (n_neurons, S + 1, S + 1)
        Per neuron, ``y_s = coef[s, 0] h + sum_{j < s} coef[s, 1 + j] p_j``;
        row S gives the result (`simulator.methods`).
    h : ndarray, shape (n_neurons, batch)
    xt : ndarray, shape (n_inputs, batch)
    out : ndarray, shape (n_neurons, batch)
        Filled with h after the step; must not alias `h`.
    P : ndarray, shape (S, n_neurons, batch)
        Filled with the stages' targets.
    Y : ndarray, shape (S - 1, n_neurons, batch)
        Filled with the stage states ``y_1 .. y_{S-1}`` (``y_0 = h``).
    ybuf : ndarray, shape (n_outputs, batch)
    n_chunks : int or None
        As in `relax_target`.
    """
    n_stages = P.shape[0]
    acc = np.empty(h.shape[1])
    for s in range(n_stages):
        relax_target(w, h if s == 0 else Y[s - 1], xt, ybuf, P[s], n_chunks)
        combine_stage(coef, s + 1, h, P, Y[s] if s + 1 < n_stages else out, acc)


@njit(cache=CACHE, error_model="numpy")
def run_fixed_step(w, coef, x, states, outputs, n_chunks):
    """Integrate with a fixed step, inputs held constant over each step.

    Parameters
    ----------
    w : Wiring
    coef : ndarray of float64, shape (n_neurons, S + 1, S + 1)
        The method's coefficients for this step and these taus
        (`fixed_step`).
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
    n_stages = coef.shape[1] - 1
    P = np.empty((n_stages, n, nb), dtype=states.dtype)
    Y = np.empty((n_stages - 1, n, nb), dtype=states.dtype)
    ybuf = np.empty(outputs.shape[1:], dtype=states.dtype)
    first_bad = -1
    for k in range(x.shape[0]):
        out, xt = states[k + 1], x[k]
        fixed_step(w, coef, states[k], xt, out, P, Y, ybuf, n_chunks)
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
