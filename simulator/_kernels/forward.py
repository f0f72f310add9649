"""Discrete-time forward kernels (design section 3).

Per step t, for every neuron i and batch element b::

    a[t]   = W h[t] + U x[t] + F yhat[t] + b        yhat[0] = 0, yhat[t] = y[t-1]
    h[t+1] = phi(a[t])
    y[t]   = g(V h[t+1] + D x[t] + c)

Each neuron gathers its own inputs through the compressed rows of its block
("poll every neuron"), so the loop over neurons has no write conflicts and
runs in parallel in `run_sync_parallel`. The serial and parallel loops are
separate functions (each its own cache entry) over the same inlined step.
The fed-back outputs ``yhat[t]`` are gathered into a small buffer before each
step; teacher forcing: when ``teacher`` has rows, ``yhat[t] = teacher[t-1]``
wherever that entry is not NaN.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..activations import activate


@njit(cache=True, inline="always")
def fill_feedback(y, teacher, t, yhat):
    """Fill ``yhat`` (n_outputs, batch) with the fed-back outputs of step `t`:
    0 at t = 0, else the teacher's ``teacher[t-1]`` where given (not NaN),
    else the network's own ``y[t-1]``."""
    for o in range(yhat.shape[0]):
        for b in range(yhat.shape[1]):
            if t == 0:
                yhat[o, b] = 0.0
            else:
                v = y[t - 1, o, b]
                if teacher.shape[0] > 0:
                    forced = teacher[t - 1, o, b]
                    if forced == forced:
                        v = forced
                yhat[o, b] = v


@njit(cache=True, inline="always")
def gather(indptr, indices, data, i, src, out):
    """``out[b] += sum_k data[k] * src[indices[k], b]`` over row `i`'s slots."""
    nb = out.shape[0]
    for k in range(indptr[i], indptr[i + 1]):
        j = indices[k]
        c = data[k]
        for b in range(nb):
            out[b] += c * src[j, b]


@njit(cache=True, inline="always")
def drive(w, i, h, xt, yhat, out):
    """Write the pre-activation ``a[t][i, :] = W h + U x[t] + F yhat + b`` of
    neuron `i` into `out` (batch,), reading `h` (n_neurons, batch), `xt`
    (n_inputs, batch) and `yhat` (n_outputs, batch)."""
    bias = w.bias_h[i]
    for b in range(out.shape[0]):
        out[b] = bias
    gather(w.W.indptr, w.W.indices, w.W.data, i, h, out)
    gather(w.U.indptr, w.U.indices, w.U.data, i, xt, out)
    gather(w.F.indptr, w.F.indices, w.F.data, i, yhat, out)


@njit(cache=True, inline="always")
def readout(w, h, xt, yt):
    """Fill ``yt = g(V h + D x[t] + c)`` (n_outputs, batch) from the state `h`."""
    for o in range(yt.shape[0]):
        out = yt[o]
        for b in range(out.shape[0]):
            out[b] = w.bias_o[o]
        gather(w.V.indptr, w.V.indices, w.V.data, o, h, out)
        gather(w.D.indptr, w.D.indices, w.D.data, o, xt, out)
        code = w.act_o[o]
        for b in range(out.shape[0]):
            out[b] = activate(code, out[b])


@njit(cache=True)
def run_sync_serial(w, x, states, outputs, teacher):
    """Synchronous discrete run on one thread.

    Parameters
    ----------
    w : Wiring
    x : ndarray, shape (n_steps, n_inputs, batch)
    states : ndarray, shape (n_steps + 1, n_neurons, batch)
        ``states[0]`` holds h[0] on entry; rows 1.. are filled.
    outputs : ndarray, shape (n_steps, n_outputs, batch)
        Filled.
    teacher : ndarray, shape (n_steps or 0, n_outputs, batch)
        Targets forced onto the feedback path (NaN: not forced); 0 rows: none.
    """
    yhat = np.empty(outputs.shape[1:], dtype=outputs.dtype)
    for t in range(x.shape[0]):
        fill_feedback(outputs, teacher, t, yhat)
        h = states[t]
        for i in range(states.shape[1]):
            out = states[t + 1, i]
            drive(w, i, h, x[t], yhat, out)
            code = w.act_h[i]
            for b in range(out.shape[0]):
                out[b] = activate(code, out[b])
        readout(w, states[t + 1], x[t], outputs[t])


@njit(cache=True, parallel=True)
def run_sync_parallel(w, x, states, outputs, teacher):
    """`run_sync_serial` with the neurons of each step spread over threads.

    The parallel loop body may only see arrays and scalars, so the wiring is
    unpacked before it.
    """
    Wp, Wi, Wd = w.W.indptr, w.W.indices, w.W.data
    Up, Ui, Ud = w.U.indptr, w.U.indices, w.U.data
    Fp, Fi, Fd = w.F.indptr, w.F.indices, w.F.data
    act_h, bias_h = w.act_h, w.bias_h
    yhat = np.empty(outputs.shape[1:], dtype=outputs.dtype)
    nb = states.shape[2]
    for t in range(x.shape[0]):
        fill_feedback(outputs, teacher, t, yhat)
        h = states[t]
        xt = x[t]
        nxt = states[t + 1]
        for i in prange(states.shape[1]):
            out = nxt[i]
            for b in range(nb):
                out[b] = bias_h[i]
            gather(Wp, Wi, Wd, i, h, out)
            gather(Up, Ui, Ud, i, xt, out)
            gather(Fp, Fi, Fd, i, yhat, out)
            code = act_h[i]
            for b in range(nb):
                out[b] = activate(code, out[b])
        readout(w, nxt, xt, outputs[t])


@njit(cache=True)
def run_async(w, x, states, outputs, teacher, orders):
    """Asynchronous discrete run: neurons updated in place, one at a time.

    Each step is one sweep: ``states[t + 1]`` starts as a copy of
    ``states[t]`` and neuron ``orders[t, r]`` is updated at turn ``r`` from the
    current values of all others. Outputs are read after the sweep.

    Parameters
    ----------
    w, x, states, outputs, teacher
        As in `run_sync_serial`.
    orders : ndarray of int64, shape (n_steps, n_neurons)
        A permutation of the neurons for every sweep.
    """
    nb = states.shape[2]
    scratch = np.empty(nb, dtype=states.dtype)
    yhat = np.empty(outputs.shape[1:], dtype=outputs.dtype)
    for t in range(x.shape[0]):
        fill_feedback(outputs, teacher, t, yhat)
        h = states[t + 1]
        h[:, :] = states[t]
        for r in range(orders.shape[1]):
            i = orders[t, r]
            drive(w, i, h, x[t], yhat, scratch)
            code = w.act_h[i]
            for b in range(nb):
                h[i, b] = activate(code, scratch[b])
        readout(w, h, x[t], outputs[t])


@njit(cache=True)
def first_nonfinite(a):
    """Position ``(t, i, b)`` of the first non-finite entry of `a`
    (time-major scan), or ``(-1, -1, -1)`` if all are finite."""
    for t in range(a.shape[0]):
        for i in range(a.shape[1]):
            for b in range(a.shape[2]):
                v = a[t, i, b]
                if not (v - v == 0.0):
                    return t, i, b
    return -1, -1, -1
