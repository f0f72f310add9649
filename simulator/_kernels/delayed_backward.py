"""Backpropagation through a discrete run with edge delays (design section 9).

The forward step (`delayed.update_nodes`) evaluates the nodes of a step in
the schedule's order; the backward step walks them in the reverse order,
so that when a node's error is formed every reader of its value, at this
step through delay-0 edges and at later steps through the others, has
already sent its share back. With ``g_states[t + 1] = dL/dh_t`` and
``g_y[t] = dL/dy_t`` (the loss's, plus what the feedback edges send back)::

    dz_o,t = g_y[t, o] * g_o'(y_o,t)          da_i,t = g_states[t + 1, i] * phi_i'(h_i,t)

and each in-slot k of the node (source j, delay d, weight w) adds
``delta * s_j,t-d`` to its weight's gradient and ``delta * w`` to the
error of what it read: ``g_states[max(t + 1 - d, 0), j]`` for a hidden
source (h0 before the start), ``g_y[t - d, j]`` for a fed-back output
(nothing where the teacher forced it, or before the start), nothing for
an input.

Truncation cuts every read whose source was produced in an earlier window
than the reader: step t lies in window ``t // truncate``, a state read
at time s (``states[s]``) was produced by step ``s - 1`` (h0 counts as
window 0), so the delay-1 reads of the default timing are cut exactly where
`backward.bptt_discrete` cuts them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import CACHE
from .activations import slope
from .types import FED, HIDDEN, INPUT


@njit(cache=CACHE, error_model="numpy", inline="always")
def crosses(truncate, produced, read):
    """Whether truncation cuts the path from the value step `produced`
    wrote (-1: h0) to step `read`."""
    return truncate > 0 and max(produced, 0) // truncate != read // truncate


@njit(cache=CACHE, error_model="numpy")
def pull_node(ptr, index, weight, delay, r, first, has_fed, delta, t, x, states, base, fed, teacher,
              truncate, g_states, g_y, g_weight, step_abs):
    """Send ``delta`` (the node's error at step `t`, shape (batch,)) back
    through the in-slots of row `r` (slots' gradients from ``first``):
    the weights' gradients and the errors of the values read."""
    nb = delta.shape[0]
    record = step_abs.shape[0] > 0
    forced = teacher.shape[0] > 0
    for k in range(ptr[r, HIDDEN], ptr[r, HIDDEN + 1]):
        s = max(t + 1 - delay[k], 0)
        j = index[k]
        cut = crosses(truncate, s - 1, t)
        c = weight[k]
        if nb == 1 and not record:  # the batch-1 loop without the inner one
            g_weight[first + k] += delta[0] * states[s - base, j, 0]
            if not cut:
                g_states[s - base, j, 0] += delta[0] * c
            continue
        total = 0.0
        for b in range(nb):
            total += delta[b] * states[s - base, j, b]
            if not cut:
                g_states[s - base, j, b] += delta[b] * c
        g_weight[first + k] += total
        if record:
            step_abs[t, first + k] += total
    for k in range(ptr[r, INPUT], ptr[r, INPUT + 1]):
        s = t - delay[k]
        if s < 0:
            continue
        j = index[k]
        total = 0.0
        for b in range(nb):
            total += delta[b] * x[s, j, b]
        g_weight[first + k] += total
        if record:
            step_abs[t, first + k] += total
    if not has_fed:
        return
    for k in range(ptr[r, FED], ptr[r, FED + 1]):
        s = t - delay[k]
        if s < 0:
            continue
        j = index[k]
        cut = crosses(truncate, s, t)
        c = weight[k]
        total = 0.0
        for b in range(nb):
            total += delta[b] * fed[s, j, b]
            if not cut and not (forced and teacher[s, j, b] == teacher[s, j, b]):
                g_y[s, j, b] += delta[b] * c
        g_weight[first + k] += total
        if record:
            step_abs[t, first + k] += total


@njit(cache=CACHE, error_model="numpy")
def bptt_delayed(w, sched, x, states, base, outputs, fed, teacher, truncate, start, stop,
                 g_states, g_y, g_weight, g_bias, dh_norm, step_abs):
    """Backpropagate steps ``stop - 1`` down to `start` of a discrete run
    with delays; adds to the gradient arrays.

    Parameters
    ----------
    w : Wiring
    sched : Schedule
        Per-slot delays and the order of a step (`simulator.delays`).
    x : ndarray, shape (n_steps, n_inputs, batch)
    states : ndarray, shape (n_rows, n_neurons, batch)
        The history from the run's state index `base` (row ``r`` is
        ``states[base + r]``), rows up to ``stop - base`` filled.
    base : int
        0, or at most ``start + 1 - `` the longest delay of an edge from
        a hidden neuron (every state the steps read is in `states`).
    outputs, fed : ndarray, shape (n_steps, n_outputs, batch)
        The outputs, and what the feedback edges read (the outputs, or a
        copy with the targets written in under teacher forcing).
    teacher : ndarray, shape (n_steps or 0, n_outputs, batch)
        The forced targets (NaN: not forced); 0 rows: none.
    truncate : int
        Window length of truncated BPTT (0: none); see the module text.
    start, stop : int
        The steps to backpropagate (a checkpointed segment, or the run).
    g_states : ndarray, shape like `states`
        ``dL/d states``, rows as `states`: in, what the later steps sent
        back (zeros elsewhere); out, with these steps' shares added (row
        ``start - base`` and before are not final: earlier steps add to them).
    g_y : ndarray, shape (n_steps, n_outputs, batch)
        ``dL/dy``: in, the loss's plus what later steps fed back.
    g_weight : ndarray, shape (n_edges,)
        In the slot order of ``w.hidden`` then ``w.outputs``.
    g_bias : ndarray, shape (n_neurons + n_outputs,)
    dh_norm : ndarray, shape (n_steps + 1,)
        Row ``t + 1`` filled with the norm of ``dL/dh_t`` (all batch
        elements) for the steps t run.
    step_abs : ndarray, shape (n_steps, n_edges) or (0, n_edges)
        When it has rows: each edge's gradient contribution at each step,
        columns as `g_weight`.
    """
    n, nb = states.shape[1], states.shape[2]
    order = sched.order
    first_out = w.hidden.index.shape[0]
    has_fed = fed.shape[1] > 0
    delta = np.empty(nb, dtype=states.dtype)
    for t in range(stop - 1, start - 1, -1):
        for k in range(order.shape[0] - 1, -1, -1):
            node = order[k]
            if node < n:
                code = w.act_h[node]
                for b in range(nb):
                    delta[b] = g_states[t + 1 - base, node, b] * slope(code, states[t + 1 - base, node, b])
                    g_bias[node] += delta[b]
                pull_node(w.hidden.ptr, w.hidden.index, w.hidden.weight, sched.hidden, node, 0, has_fed, delta,
                          t, x, states, base, fed, teacher, truncate, g_states, g_y, g_weight, step_abs)
            else:
                o = node - n
                code = w.act_o[o]
                for b in range(nb):
                    delta[b] = g_y[t, o, b] * slope(code, outputs[t, o, b])
                    g_bias[node] += delta[b]
                pull_node(w.outputs.ptr, w.outputs.index, w.outputs.weight, sched.outputs, o, first_out, False,
                          delta, t, x, states, base, fed, teacher, truncate, g_states, g_y, g_weight, step_abs)
        total = 0.0
        for j in range(n):
            for b in range(nb):
                v = g_states[t + 1 - base, j, b]
                total += v * v
        dh_norm[t + 1] = math.sqrt(total)
