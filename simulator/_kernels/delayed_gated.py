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

import numpy as np
from numba import njit

from . import CACHE
from .delayed import unpack, update_nodes
from .gated import GRU, LSTM, REC_I, REC_R, unit_step
from .types import FED, HIDDEN, INPUT


@njit(cache=CACHE, error_model="numpy", inline="always")
def delayed_gate_sums(ptr, index, weight, delay, gw, r, t, x, states, fed, acc):
    """``acc[0]``, ``acc[1]``: the main weights' sums of row `r` at step `t`
    over the input part and the recurrent part (hidden sources of delay
    >= 1); ``acc[2:5]``: each gate row's sum over every slot."""
    nb = acc.shape[1]
    acc[:, :] = 0.0
    for k in range(ptr[r, HIDDEN], ptr[r, HIDDEN + 1]):
        s = max(t + 1 - delay[k], 0)
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
    """A discrete run of a network with gated neurons and delays.

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
    hp, hx, hw, hd, bias_h, act_h, op, ox, ow, od, bias_o, act_o = unpack(w, sched)
    order = sched.order
    n, nb = states.shape[1], states.shape[2]
    acc = np.empty((5, nb), dtype=states.dtype)
    record = gates.shape[0] > 0
    first_bad = -1
    for t in range(x.shape[0]):
        bad = 0
        for k in range(order.shape[0]):
            i = order[k]
            if i >= n:
                update_nodes(hp, hx, hw, hd, bias_h, act_h, op, ox, ow, od, bias_o, act_o, order, k, k + 1, t,
                             x, states, 0, outputs, fed, teacher)
                continue
            delayed_gate_sums(hp, hx, hw, hd, g.weight, i, t, x, states, fed, acc)
            unit, ci = g.unit[i], g.cell[i]
            for b in range(nb):
                cv = cells[t, ci, b] if ci >= 0 else 0.0
                hv, cv, q0, q1, q2, q3 = unit_step(unit, act_h[i], g.act[i], bias_h[i], g.bias[0, i], g.bias[1, i],
                                                   g.bias[2, i], acc[0, b], acc[1, b], acc[2, b], acc[3, b],
                                                   acc[4, b], states[t, i, b], cv)
                states[t + 1, i, b] = hv
                bad += not abs(hv) < np.inf
                if ci >= 0:
                    cells[t + 1, ci, b] = cv
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
