"""Discrete runs of networks with gated neurons and edge delays (design
sections 8 and 9).

Each slot reads its source's history as in `delayed` (a hidden source
``states[max(t + 1 - d, 0)]``, an input ``x[t - d]``, a fed-back output
``fed[t - d]``, zero before the start); a gated neuron's recurrent part
``R`` is the sum over its in-edges from hidden neurons of delay >= 1, and
its input part ``I`` the sum over the rest, the delay-0 hidden edges
included (as a stacked GRU's layer input), so that a GRU neuron's
candidate is ``phi(I_n + b + r (R_n + b_hn))``. The blend ``z h`` and an
LSTM's cell read the neuron's own previous state. The step itself is
`gated.unit_step`; the nodes run in the schedule's order, the outputs by
`delayed.update_nodes`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import CACHE
from .activations import activate, slope
from .delayed import all_offsets, unpack, update_nodes
from .delayed_backward import crosses, pull_output
from .gated import GRU, LSTM, REC_I, REC_R, unit_step
from .types import FED, HIDDEN, INPUT


@njit(cache=CACHE, error_model="numpy", inline="always")
def delayed_gate_sums(ptr, index, weight, delay, gw, r, t, x, states, base, fed, acc):
    """``acc[0]``, ``acc[1]``: the main weights' sums of row `r` at step `t`
    over the input part and the recurrent part (hidden sources of delay
    >= 1); ``acc[2:5]``: each gate row's sum over every slot. ``states[0]``
    holds time `base`."""
    nb = acc.shape[1]
    acc[:, :] = 0.0
    for k in range(ptr[r, HIDDEN], ptr[r, HIDDEN + 1]):
        s = max(t + 1 - delay[k], 0) - base
        j = index[k]
        part = 1 if delay[k] >= 1 else 0
        for b in range(nb):
            v = states[s, j, b]
            acc[part, b] += weight[k] * v
            acc[2, b] += gw[0, k] * v
            acc[3, b] += gw[1, k] * v
            acc[4, b] += gw[2, k] * v
    add_earlier(ptr, index, weight, delay, gw, r, INPUT, t, x, acc)
    add_earlier(ptr, index, weight, delay, gw, r, FED, t, fed, acc)


@njit(cache=CACHE, error_model="numpy", inline="always")
def add_earlier(ptr, index, weight, delay, gw, r, q, t, hist, acc):
    """Add segment `q` of row `r` (inputs or fed-back outputs, zero before
    the start) to the input part ``acc[0]`` and the gate sums ``acc[2:5]``."""
    for k in range(ptr[r, q], ptr[r, q + 1]):
        s = t - delay[k]
        if s < 0:
            continue
        j = index[k]
        for b in range(acc.shape[1]):
            v = hist[s, j, b]
            acc[0, b] += weight[k] * v
            acc[2, b] += gw[0, k] * v
            acc[3, b] += gw[1, k] * v
            acc[4, b] += gw[2, k] * v


@njit(cache=CACHE, error_model="numpy")
def run_gated_delayed(w, g, sched, x, states, cells, outputs, fed, teacher, gates):
    """A whole discrete run of a network with gated neurons and delays.

    Parameters
    ----------
    w : Wiring
    g : Gates
    sched : Schedule
    x : ndarray, shape (n_steps, n_inputs, batch)
    states : ndarray, shape (n_steps + 1, n_neurons, batch)
        ``states[0]`` holds h0 on entry; rows 1.. are filled.
    cells : ndarray, shape (n_steps + 1, n_lstm, batch)
        ``cells[0]`` holds c0 on entry; rows 1.. are filled.
    outputs, fed, teacher : ndarray
        As in `delayed.run_delayed_serial`.
    gates : ndarray, shape (n_steps or 0, 7, n_neurons, batch)
        With rows: filled with the gate values (r, z, n, i, f, g, o) of the
        neurons that have them.

    Returns
    -------
    int
        The first ``t`` with a non-finite value in ``states[t]`` or
        ``cells[t]``, or -1.
    """
    return run_gated_delayed_steps(w, g, sched, x, states, cells, 0, outputs, fed, teacher, gates, 0, x.shape[0])


@njit(cache=CACHE, error_model="numpy")
def run_gated_delayed_steps(w, g, sched, x, states, cells, base, outputs, fed, teacher, gates, start, stop):
    """Steps ``start:stop`` of `run_gated_delayed`.

    Parameters
    ----------
    w, g, sched, x, outputs, fed, teacher, gates
        As in `run_gated_delayed`.
    states, cells : ndarray, shapes (n_rows, n_neurons, batch), (n_rows, n_lstm, batch)
        The history from time `base` (row ``r`` holds time ``base + r``):
        the states the steps read and the cell of time `start` filled on
        entry, those of steps ``start:stop`` filled.
    base : int
        As in `delayed.run_delayed_serial`: 0, or in a recomputed segment
        at most ``start + 1 -`` the longest delay from a hidden neuron.
    start, stop : int
        The steps to run.

    Returns
    -------
    int
        As `run_gated_delayed`'s.
    """
    hp, hx, hw, hd, bias_h, act_h, op, ox, ow, od, bias_o, act_o = unpack(w, sched)
    order = sched.order
    n, nb = states.shape[1], states.shape[2]
    offset, out_offset, first_direct = all_offsets(hp, hx, hd, op, ox, od, n, x.shape[1], outputs.shape[1])
    lanes, no_offsets = w.hidden_lanes, np.zeros(0, dtype=np.int32)  # outputs only: the lanes are not read
    acc = np.empty((5, nb), dtype=states.dtype)
    record = gates.shape[0] > 0
    first_bad = -1
    for t in range(start, stop):
        bad = 0
        r0 = t - base  # the row of time t
        for k in range(order.shape[0]):
            i = order[k]
            if i >= n:
                update_nodes(hp, hx, hw, hd, bias_h, act_h, op, ox, ow, od, bias_o, act_o, offset, out_offset,
                             first_direct, -1, lanes.start, lanes.count, lanes.weight, no_offsets,
                             order, k, k + 1, -1, t, x, states, base, outputs, fed, teacher)
                continue
            delayed_gate_sums(hp, hx, hw, hd, g.weight, i, t, x, states, base, fed, acc)
            unit, ci = g.unit[i], g.cell[i]
            for b in range(nb):
                cv = cells[r0, ci, b] if ci >= 0 else 0.0
                hv, cv, q0, q1, q2, q3 = unit_step(unit, act_h[i], g.act[i], bias_h[i], g.bias[0, i], g.bias[1, i],
                                                   g.bias[2, i], acc[0, b], acc[1, b], acc[2, b], acc[3, b],
                                                   acc[4, b], states[r0, i, b], cv)
                states[r0 + 1, i, b] = hv
                bad += not abs(hv) < np.inf
                if ci >= 0:
                    cells[r0 + 1, ci, b] = cv
                    bad += not abs(cv) < np.inf
                if record:
                    if unit == GRU:
                        gates[t, REC_R, i, b] = q0
                        gates[t, REC_R + 1, i, b] = q1
                        gates[t, REC_R + 2, i, b] = q2
                    elif unit == LSTM:
                        gates[t, REC_I, i, b] = q0
                        gates[t, REC_I + 1, i, b] = q1
                        gates[t, REC_I + 2, i, b] = q2
                        gates[t, REC_I + 3, i, b] = q3
        if bad and first_bad < 0:
            first_bad = t + 1
    return first_bad


@njit(cache=CACHE, error_model="numpy")
def bptt_gated_delayed(w, g, sched, x, states, cells, base, outputs, fed, teacher, truncate, start, stop,
                       g_states, g_cells, g_y, g_weight, g_gate, g_bias, g_gbias, dh_norm, step_abs):
    """Backpropagate steps ``stop - 1`` down to `start` of a discrete run
    of a network with gated neurons and delays (the gated equations of
    `gated`, each slot's read as in `delayed_backward`); adds to the
    gradient arrays.

    Parameters
    ----------
    w, g, sched, x, outputs, fed, teacher
        As `run_gated_delayed_steps` filled them.
    states, cells : ndarray
        The history from time `base` (row ``r`` holds time ``base + r``),
        rows up to ``stop - base`` filled (`run_gated_delayed_steps`).
    base : int
        As in `delayed_backward.bptt_delayed`.
    truncate : int
        Window of truncated BPTT (0: none), cut as `delayed_backward` cuts;
        a neuron's own previous state and cell (the blend, the cell
        update) are reads of delay 1.
    start, stop : int
        The steps to backpropagate (a checkpointed segment, or the run).
    g_states, g_cells : ndarray, shapes of `states` and `cells`
        ``dL/d states``, ``dL/d cells``, rows as `states`: in, what the
        later steps sent back (zeros elsewhere); out, with these steps'
        shares added (row ``start - base`` and before are not final:
        earlier steps add to them).
    g_y : ndarray, shape (n_steps, n_outputs, batch)
        ``dL/dy`` from the loss on entry.
    g_weight : ndarray, shape (n_edges,)
        In the slot order of ``w.hidden`` then ``w.outputs``.
    g_gate : ndarray, shape (3, n_hidden_slots)
        The gate weights' gradients (rows as ``Gates.weight``).
    g_bias : ndarray, shape (n_neurons + n_outputs,)
    g_gbias : ndarray, shape (3, n_neurons)
        The gate biases' gradients (rows as ``Gates.bias``).
    dh_norm : ndarray, shape (n_steps + 1,)
        Row ``t + 1`` filled with the norm of ``dL/dh_t`` for the steps t run.
    step_abs : ndarray, shape (n_steps, n_edges) or (0, n_edges)
        When it has rows: each edge's main-weight contribution at each step.
    """
    hp, hx, hw, hd, bias_h, act_h, op, ox, ow, od, bias_o, act_o = unpack(w, sched)
    order = sched.order
    n, nb = states.shape[1], states.shape[2]
    first_out = hx.shape[0]
    acc = np.empty((5, nb), dtype=states.dtype)
    d = np.empty((5, nb), dtype=states.dtype)  # d_in, d_rec, d_q0, d_q1, d_q2
    out_delta = np.empty(nb, dtype=states.dtype)
    for t in range(stop - 1, start - 1, -1):
        own_cut = crosses(truncate, t - 1, t)
        r0 = t - base  # the row of time t
        for k in range(order.shape[0] - 1, -1, -1):
            i = order[k]
            if i >= n:
                o = i - n
                for b in range(nb):
                    out_delta[b] = g_y[t, o, b] * slope(act_o[o], outputs[t, o, b])
                    g_bias[i] += out_delta[b]
                pull_output(op, ox, ow, od, o, first_out, out_delta, t, x, states, base, truncate, g_states, g_weight,
                            step_abs)
                continue
            delayed_gate_sums(hp, hx, hw, hd, g.weight, i, t, x, states, base, fed, acc)
            unit, ci, act, gact = g.unit[i], g.cell[i], act_h[i], g.act[i]
            for b in range(nb):
                dh = g_states[r0 + 1, i, b]
                inp, rec = acc[0, b], acc[1, b]
                d[2, b] = d[3, b] = d[4, b] = 0.0
                if unit == GRU:
                    r = activate(gact, acc[2, b] + g.bias[0, i])
                    z = activate(gact, acc[3, b] + g.bias[1, i])
                    nv = activate(act, inp + bias_h[i] + r * (rec + g.bias[2, i]))
                    dp = dh * (1.0 - z) * slope(act, nv)
                    d[0, b], d[1, b] = dp, dp * r
                    d[2, b] = dp * (rec + g.bias[2, i]) * slope(gact, r)
                    d[3, b] = dh * (states[r0, i, b] - nv) * slope(gact, z)
                    g_gbias[2, i] += dp * r
                    if not own_cut:
                        g_states[r0, i, b] += dh * z
                elif unit == LSTM:
                    ig = activate(gact, acc[2, b] + g.bias[0, i])
                    f = activate(gact, acc[3, b] + g.bias[1, i])
                    og = activate(gact, acc[4, b] + g.bias[2, i])
                    gv = activate(act, inp + rec + bias_h[i])
                    pc = activate(act, cells[r0 + 1, ci, b])
                    dc = g_cells[r0 + 1, ci, b] + dh * og * slope(act, pc)
                    d[0, b] = d[1, b] = dc * ig * slope(act, gv)
                    d[2, b] = dc * gv * slope(gact, ig)
                    d[3, b] = dc * cells[r0, ci, b] * slope(gact, f)
                    d[4, b] = dh * pc * slope(gact, og)
                    if not own_cut:
                        g_cells[r0, ci, b] += dc * f
                else:
                    d[0, b] = d[1, b] = dh * slope(act, states[r0 + 1, i, b])
                g_bias[i] += d[0, b]
                for q in range(3):
                    g_gbias[q, i] += d[2 + q, b]
            pull_gated(hp, hx, hw, hd, g.weight, i, d, t, x, states, base, fed, teacher, truncate,
                       g_states, g_y, g_weight, g_gate, step_abs)
        total = 0.0
        for j in range(n):
            for b in range(nb):
                v = g_states[r0 + 1, j, b]
                total += v * v
        dh_norm[t + 1] = math.sqrt(total)


@njit(cache=CACHE, error_model="numpy")
def pull_gated(ptr, index, weight, delay, gw, r, d, t, x, states, base, fed, teacher, truncate,
               g_states, g_y, g_weight, g_gate, step_abs):
    """Send a gated neuron's errors `d` (rows d_in, d_rec, and the three
    gates') back through the in-slots of row `r` at step `t`: the main and
    gate weights' gradients, and the errors of the values read (a hidden
    source's slot of delay >= 1 carries d_rec, every other slot d_in).
    ``states[0]`` and ``g_states[0]`` hold time `base`."""
    nb = d.shape[1]
    record = step_abs.shape[0] > 0
    forced = teacher.shape[0] > 0
    for q in (HIDDEN, INPUT, FED):
        for k in range(ptr[r, q], ptr[r, q + 1]):
            if q == HIDDEN:
                s = max(t + 1 - delay[k], 0)
                cut = crosses(truncate, s - 1, t)
            else:
                s = t - delay[k]
                if s < 0:
                    continue
                cut = q == INPUT or crosses(truncate, s, t)
            part = 1 if q == HIDDEN and delay[k] >= 1 else 0
            j = index[k]
            row = s - base
            total = 0.0
            for b in range(nb):
                v = states[row, j, b] if q == HIDDEN else (x[s, j, b] if q == INPUT else fed[s, j, b])
                total += d[part, b] * v
                for qq in range(3):
                    g_gate[qq, k] += d[2 + qq, b] * v
                if cut:
                    continue
                back = weight[k] * d[part, b] + gw[0, k] * d[2, b] + gw[1, k] * d[3, b] + gw[2, k] * d[4, b]
                if q == HIDDEN:
                    g_states[row, j, b] += back
                elif not (forced and teacher[s, j, b] == teacher[s, j, b]):
                    g_y[s, j, b] += back
            g_weight[k] += total
            if record:
                step_abs[t, k] += total
