"""Kernels of networks with gated neurons (design section 8): the discrete
forward run (`run_gated`) and the fixed-step continuous run of GRU and
plain neurons (`run_gated_fixed_step`, the GRU-ODE ``tau dh/dt = (1 - z)(n
- h)``); the discrete run's backpropagation is in `gated_backward`.

Every neuron gathers its in-edges through its row of the one in-edge table
(`types.Wiring.hidden`), reading beside each slot's ``weight`` the slot's
gate weights (`types.Gates.weight`, one row per gate), so one pass over the
row gives all of the neuron's sums (`gate_sums`): the candidate's (or cell
input's, or a plain neuron's drive) input part and recurrent part, and the
three gate sums. A small step function per unit (`unit_step`) turns the
sums into the new state, so plain, GRU and LSTM neurons share one poll
loop. Plain networks never come here: they keep the kernels of `forward`.

As the plain kernels, each step's neurons split into chunks that run on
threads without write conflicts (`gated_rows_parallel`); the sums run in
the same order either way, so threads change no bit. A network of GRU
neurons only, with sigmoid gates and tanh candidates, gathers a chunk's
sums first and steps them in one vectorised block (`gru_block`).

GRU neuron i (``torch.nn.GRU``'s equations; ``R_n`` the candidate's sum
over hidden -> hidden edges, ``I_n`` over the rest)::

    r  = sigma(A_r + b_r)              z = sigma(A_z + b_z)
    n  = phi(I_n + b + r (R_n + b_hn))
    h' = (1 - z) n + z h

LSTM neuron i::

    i = sigma(A_i + b_i)   f = sigma(A_f + b_f)   o = sigma(A_o + b_o)
    g = phi(A_g + b)       c' = f c + i g          h' = o phi(c')
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import CACHE
from . import elementary as el
from .activations import SIGMOID, TANH, activate
from .forward import chunk_bounds, count_nonfinite, fill_feedback, readout
from .types import FED, HIDDEN, INPUT

GRU, LSTM = 1, 2
#: Rows of the gate record (`Result.gates` keys r, z, n, i, f, g, o).
REC_R, REC_I = 0, 3


@njit(cache=CACHE, error_model="numpy", inline="always")
def gate_sums(ptr, index, weight, gw, r, h, xt, yhat, b, n_gates=3):
    """One pass over row `r` of the in-edge table: ``(inp, rec, s0, s1,
    s2)``, the main weights' sums over the input and feedback slots and over
    the hidden -> hidden slots, and each gate row's sum over all slots (the
    first `n_gates` rows; s2 stays 0 for ``n_gates = 2``, a GRU's)."""
    rec, inp, s0, s1, s2 = 0.0, 0.0, 0.0, 0.0, 0.0
    for k in range(ptr[r, HIDDEN], ptr[r, HIDDEN + 1]):
        s = h[index[k], b]
        rec += weight[k] * s
        s0 += gw[0, k] * s
        s1 += gw[1, k] * s
        if n_gates == 3:
            s2 += gw[2, k] * s
    for k in range(ptr[r, INPUT], ptr[r, INPUT + 1]):
        s = xt[index[k], b]
        inp += weight[k] * s
        s0 += gw[0, k] * s
        s1 += gw[1, k] * s
        if n_gates == 3:
            s2 += gw[2, k] * s
    for k in range(ptr[r, FED], ptr[r, FED + 1]):
        s = yhat[index[k], b]
        inp += weight[k] * s
        s0 += gw[0, k] * s
        s1 += gw[1, k] * s
        if n_gates == 3:
            s2 += gw[2, k] * s
    return inp, rec, s0, s1, s2


@njit(cache=CACHE, error_model="numpy", inline="always")
def unit_step(unit, act, gact, bias, gb0, gb1, gb2, inp, rec, s0, s1, s2, h, c):
    """One neuron's step from its sums (`gate_sums`): returns ``(h', c',
    q0, q1, q2, q3)``, the new state and cell (``c`` unchanged for a neuron
    that is not an LSTM) and the gate values: r, z, n (GRU), i, f, g, o
    (LSTM), the drive's value (plain)."""
    if unit == GRU:
        r = activate(gact, s0 + gb0)
        z = activate(gact, s1 + gb1)
        n = activate(act, inp + bias + r * (rec + gb2))
        return (1.0 - z) * n + z * h, c, r, z, n, n
    if unit == LSTM:
        i = activate(gact, s0 + gb0)
        f = activate(gact, s1 + gb1)
        o = activate(gact, s2 + gb2)
        g = activate(act, inp + rec + bias)
        c_new = f * c + i * g
        return o * activate(act, c_new), c_new, i, f, g, o
    v = activate(act, inp + rec + bias)
    return v, c, v, v, v, v


@njit(cache=CACHE, error_model="numpy", inline="always")
def add_gate_segment(ptr, index, weight, gw, r, q, src, acc, m, a, n_gates):
    """Over segment `q` of row `r`, for every batch element: ``acc[m, a]
    += weight[k] s`` and ``acc[2 + g, a] += gw[g, k] s`` for the first
    `n_gates` gate rows g (s = ``src[index[k], b]``), slots outermost so
    the batch loop runs over contiguous memory."""
    nb = np.uint64(acc.shape[2])
    for k in range(ptr[r, q], ptr[r, q + 1]):
        j = index[k]
        c, c0, c1 = weight[k], gw[0, k], gw[1, k]
        if n_gates == 2:
            for b in range(nb):
                v = src[j, b]
                acc[m, a, b] += c * v
                acc[2, a, b] += c0 * v
                acc[3, a, b] += c1 * v
            continue
        c2 = gw[2, k]
        for b in range(nb):
            v = src[j, b]
            acc[m, a, b] += c * v
            acc[2, a, b] += c0 * v
            acc[3, a, b] += c1 * v
            acc[4, a, b] += c2 * v


@njit(cache=CACHE, error_model="numpy", inline="always")
def row_gate_sums(ptr, index, weight, gw, r, h, xt, yhat, acc, a, n_gates):
    """All of neuron `r`'s sums for every batch element into ``acc[:, a]``
    (acc: (5, rows, batch)): rows inp, rec, s0, s1, s2 as `gate_sums`
    returns them, in its order, of the first `n_gates` gate rows (row 4
    zero for 2). At batch 1 the five sums stay in registers (`gate_sums`);
    otherwise they run over the contiguous batch (`add_gate_segment`).
    Indices, not views: a view per segment and row (its reference counts)
    cost more than the row's arithmetic."""
    nb = np.uint64(acc.shape[2])
    if nb == 1:
        inp, rec, s0, s1, s2 = gate_sums(ptr, index, weight, gw, r, h, xt, yhat, 0, n_gates)
        acc[0, a, 0] = inp
        acc[1, a, 0] = rec
        acc[2, a, 0] = s0
        acc[3, a, 0] = s1
        acc[4, a, 0] = s2
        return
    for q in range(5):
        for b in range(nb):
            acc[q, a, b] = 0.0
    add_gate_segment(ptr, index, weight, gw, r, HIDDEN, h, acc, 1, a, n_gates)
    add_gate_segment(ptr, index, weight, gw, r, INPUT, xt, acc, 0, a, n_gates)
    add_gate_segment(ptr, index, weight, gw, r, FED, yhat, acc, 0, a, n_gates)


@njit(cache=CACHE, error_model="numpy")
def chunk_gate_sums(ptr, index, weight, gw, h, xt, yhat, S, lo, hi):
    """`row_gate_sums` of GRU neurons ``lo:hi`` into ``S[:, i - lo]`` (S:
    (5, hi - lo, batch)), their two gate rows only (row 4 of `S` is zero);
    the loop over rows inside, so the rows' calls pay no reference counts.
    A function of its own, called once a chunk: inlined into
    `gated_backward.gated_back_rows` the same loop ran 6x slower (85
    against 15 us a step at N = 1,000, k = 10, batch 1)."""
    for i in range(lo, hi):
        row_gate_sums(ptr, index, weight, gw, i, h, xt, yhat, S, i - lo, 2)


@njit(cache=CACHE, error_model="numpy", inline="always")
def gru_block(S, bias, gb, h, hn, lo, hi):
    """Step the GRU neurons ``lo:hi`` of a network whose neurons are all
    GRUs with sigmoid gates and tanh candidates, from their sums `S` (5,
    hi - lo, batch; `row_gate_sums`). The loops run with those two
    functions alone, which LLVM vectorises: across neurons at batch 1,
    across the batch otherwise (a row's biases read once, no division per
    element). Returns how many non-finite states were written."""
    nb = np.uint64(h.shape[1])
    rows, lo = np.uint64(hi - lo), np.uint64(lo)
    bad = 0
    if nb == 1:
        for a in range(rows):
            i = lo + a
            r = el.sigmoid(S[2, a, 0] + gb[0, i])
            z = el.sigmoid(S[3, a, 0] + gb[1, i])
            v = el.tanh(S[0, a, 0] + bias[i] + r * (S[1, a, 0] + gb[2, i]))
            hv = (1.0 - z) * v + z * h[i, 0]
            hn[i, 0] = hv
            bad += not abs(hv) < np.inf
        return bad
    for a in range(rows):
        i = lo + a
        br, bz, bn, bh = gb[0, i], gb[1, i], bias[i], gb[2, i]
        for b in range(nb):
            r = el.sigmoid(S[2, a, b] + br)
            z = el.sigmoid(S[3, a, b] + bz)
            v = el.tanh(S[0, a, b] + bn + r * (S[1, a, b] + bh))
            hv = (1.0 - z) * v + z * h[i, b]
            hn[i, b] = hv
            bad += not abs(hv) < np.inf
    return bad


@njit(cache=CACHE, error_model="numpy")
def uniform_gru(w, g):
    """Whether every neuron is a GRU with sigmoid gates and a tanh
    candidate (the block path of `gated_rows`)."""
    for i in range(g.unit.shape[0]):
        if g.unit[i] != GRU or g.act[i] != SIGMOID or w.act_h[i] != TANH:
            return False
    return True


@njit(cache=CACHE, error_model="numpy")
def gated_rows(ptr, index, weight, bias,
               codes, units, gcodes, cell, gw, gb, uniform,
               h, xt, yhat, c, hn, cn, gates_t,
               lo, hi):
    """Step neurons ``lo:hi`` of a network with gated neurons.

    Parameters
    ----------
    ptr, index, weight : ndarray
        The hidden neurons' in-edge table (``Wiring.hidden`` as arrays: a
        parallel loop body may only see arrays).
    bias : ndarray, shape (n_neurons,)
    codes : ndarray of int8, shape (n_neurons,)
        Activation codes.
    units : ndarray of int8, shape (n_neurons,)
        ``Gates.unit``.
    gcodes : ndarray of int8, shape (n_neurons,)
        Gate activation codes (``Gates.act``).
    cell : ndarray of int64, shape (n_neurons,)
        ``Gates.cell``.
    gw : ndarray, shape (3, n_slots)
        Gate weights (``Gates.weight``).
    gb : ndarray, shape (3, n_neurons)
        Gate biases (``Gates.bias``).
    uniform : bool
        Every neuron is a GRU with sigmoid gates and a tanh candidate
        (`uniform_gru`): the sums of the rows are gathered first, then
        stepped in one vectorised block (`gru_block`).
    h : ndarray, shape (n_neurons, batch)
        The state read.
    xt : ndarray, shape (n_inputs, batch)
    yhat : ndarray, shape (n_outputs, batch)
        The fed-back outputs.
    c : ndarray, shape (n_lstm, batch)
        The cell state read.
    hn, cn : ndarray
        The new state and cell state, filled on the rows of these neurons.
    gates_t : ndarray, shape (7, n_neurons, batch) or (0, 0, 0)
        When not empty: filled with the gate values of these neurons.
    lo, hi : int
        The neurons.

    Returns
    -------
    int
        How many non-finite values were written to `hn` and `cn`.
    """
    nb = h.shape[1]
    record = gates_t.shape[0] > 0
    if uniform and not record:
        S = np.empty((5, hi - lo, nb), dtype=hn.dtype)
        chunk_gate_sums(ptr, index, weight, gw, h, xt, yhat, S, lo, hi)
        return gru_block(S, bias, gb, h, hn, lo, hi)
    acc = np.empty((5, 1, nb), dtype=hn.dtype)
    bad = 0
    for i in range(lo, hi):
        unit, ci, act, gact = units[i], cell[i], codes[i], gcodes[i]
        row_gate_sums(ptr, index, weight, gw, i, h, xt, yhat, acc, 0, 3)
        for b in range(nb):
            cv = c[ci, b] if ci >= 0 else 0.0
            hv, cv, q0, q1, q2, q3 = unit_step(unit, act, gact, bias[i], gb[0, i], gb[1, i], gb[2, i],
                                               acc[0, 0, b], acc[1, 0, b], acc[2, 0, b], acc[3, 0, b],
                                               acc[4, 0, b], h[i, b], cv)
            hn[i, b] = hv
            bad += not abs(hv) < np.inf
            if ci >= 0:
                cn[ci, b] = cv
                bad += not abs(cv) < np.inf
            if record:
                if unit == GRU:
                    gates_t[REC_R, i, b] = q0
                    gates_t[REC_R + 1, i, b] = q1
                    gates_t[REC_R + 2, i, b] = q2
                elif unit == LSTM:
                    gates_t[REC_I, i, b] = q0
                    gates_t[REC_I + 1, i, b] = q1
                    gates_t[REC_I + 2, i, b] = q2
                    gates_t[REC_I + 3, i, b] = q3
    return bad


@njit(cache=CACHE, error_model="numpy", parallel=True)
def gated_rows_parallel(ptr, index, weight, bias,
                        codes, units, gcodes, cell, gw, gb, uniform,
                        h, xt, yhat, c, hn, cn, gates_t,
                        n_chunks):
    """`gated_rows` over every neuron, in `n_chunks` chunks spread over threads."""
    n = h.shape[0]
    bad = 0
    for k in prange(n_chunks):
        lo, hi = chunk_bounds(n, n_chunks, k)
        bad += gated_rows(ptr, index, weight, bias, codes, units, gcodes, cell, gw, gb, uniform,
                          h, xt, yhat, c, hn, cn, gates_t, lo, hi)
    return bad


@njit(cache=CACHE, error_model="numpy")
def run_gated(w, g, x, states, cells, outputs, teacher, y_before, gates, n_chunks=None):
    """Synchronous discrete run of a network with gated neurons.

    Parameters
    ----------
    w : Wiring
    g : Gates
    x : ndarray, shape (n_steps, n_inputs, batch)
    states : ndarray, shape (n_steps + 1, n_neurons, batch)
        ``states[0]`` holds h[0] on entry; rows 1.. are filled.
    cells : ndarray, shape (n_steps + 1, n_lstm, batch)
        ``cells[0]`` holds c[0] on entry; rows 1.. are filled.
    outputs, teacher, y_before
        As in `forward.run_sync_serial`.
    gates : ndarray, shape (n_steps or 0, 7, n_neurons, batch)
        With rows: filled with the gate values (r, z, n, i, f, g, o) of the
        neurons that have them; the other entries are left as they are.
    n_chunks : int or None
        None: one thread; else each step's neurons in this many chunks
        spread over threads (`gated_rows_parallel`). Every sum runs in the
        same order either way, so the results agree to the bit.

    Returns
    -------
    int
        The first ``t`` with a non-finite value in ``states[t]`` or
        ``cells[t]`` (t >= 1), or -1.
    """
    ptr, index, weight = w.hidden
    yhat = np.empty(outputs.shape[1:], dtype=outputs.dtype)
    n_out = outputs.shape[1]
    none = np.empty((0, 0, 0), dtype=states.dtype)
    uniform = uniform_gru(w, g)
    first_bad = -1
    for t in range(x.shape[0]):
        fill_feedback(outputs, teacher, t, yhat, y_before)
        h, hn, xt = states[t], states[t + 1], x[t]
        gates_t = gates[t] if gates.shape[0] > 0 else none
        if n_chunks is None:
            bad = gated_rows(ptr, index, weight, w.bias_h, w.act_h, g.unit, g.act, g.cell, g.weight, g.bias,
                             uniform, h, xt, yhat, cells[t], hn, cells[t + 1], gates_t, 0, h.shape[0])
        else:
            bad = gated_rows_parallel(ptr, index, weight, w.bias_h, w.act_h, g.unit, g.act, g.cell, g.weight,
                                      g.bias, uniform, h, xt, yhat, cells[t], hn, cells[t + 1], gates_t, n_chunks)
        if bad and first_bad < 0:
            first_bad = t + 1
        if n_out:
            readout(w, hn, xt, outputs[t])
    return first_bad


@njit(cache=CACHE, error_model="numpy", inline="always")
def relax_parts(unit, act, gact, bias, gb0, gb1, gb2, inp, rec, s0, s1):
    """A neuron's continuous-time parts from its sums (`gate_sums`):
    ``(p, z, r)``, the target it relaxes towards and the gates that scale
    its rate: a GRU's candidate n and its gates z, r (``tau dh/dt = (1 - z)
    (n - h)``); a plain neuron's ``phi(a)`` with z = r = 0."""
    if unit == GRU:
        r = activate(gact, s0 + gb0)
        z = activate(gact, s1 + gb1)
        return activate(act, inp + bias + r * (rec + gb2)), z, r
    return activate(act, inp + rec + bias), 0.0, 0.0


@njit(cache=CACHE, error_model="numpy")
def gated_fixed_step(w, g, table, exponential, rate, h, xt, out, P, Z, Y, ybuf, gates_t):
    """One fixed step of a network of GRU and plain neurons.

    Stage s evaluates, at its state ``y_s`` (``y_0 = h``; output feedback
    read at ``y_s``), each neuron's target ``P[s] = p`` and gate ``Z[s] =
    z``, so that ``dy/dt = (1 - z)(p - y) / tau``. With ``c = rate a_sj``
    (``rate = dt / tau``, ``a_sj`` row s of `table`) the next stage is ::

        y_s = (h - sum_j c y_j) + sum_j c z_j y_j + sum_j c (1 - z_j) p_j

    the Runge-Kutta stage ``h + dt sum_j a_sj k_j`` written so that Euler at
    ``rate = 1`` gives ``z h + (1 - z) n``, the discrete step, bit for bit.
    `exponential` (one stage): ``h' = e h + (1 - e) p`` with ``e =
    exp(-rate (1 - z))``, z and p held over the step.

    Parameters
    ----------
    w, g : Wiring, Gates
    table : ndarray of float64, shape (S + 1, S)
        Row s < S: stage s's weights on the earlier stages; row S: the
        result's (`simulator.methods.stage_table`).
    exponential : bool
    rate : ndarray of float64, shape (n_neurons,)
    h, xt, out, ybuf
        As in `continuous.fixed_step`.
    P, Z : ndarray, shape (S, n_neurons, batch)
    Y : ndarray, shape (S - 1, n_neurons, batch)
    gates_t : ndarray, shape (7, n_neurons, batch) or (0, 0, 0)
        When not empty: r, z, n of the GRU neurons at the first stage.
    """
    ptr, index, weight = w.hidden
    gw, gb = g.weight, g.bias
    n_stages, n, nb = P.shape[0], h.shape[0], h.shape[1]
    record = gates_t.shape[0] > 0
    for s in range(n_stages):
        ys = h if s == 0 else Y[s - 1]
        readout(w, ys, xt, ybuf)
        for i in range(n):
            unit, act, gact = g.unit[i], w.act_h[i], g.act[i]
            for b in range(nb):
                inp, rec, s0, s1, s2 = gate_sums(ptr, index, weight, gw, i, ys, xt, ybuf, b)
                p, z, r = relax_parts(unit, act, gact, w.bias_h[i], gb[0, i], gb[1, i], gb[2, i],
                                      inp, rec, s0, s1)
                P[s, i, b] = p
                Z[s, i, b] = z
                if record and s == 0 and unit == GRU:
                    gates_t[REC_R, i, b] = r
                    gates_t[REC_R + 1, i, b] = z
                    gates_t[REC_R + 2, i, b] = p
        dst = Y[s] if s + 1 < n_stages else out
        for i in range(n):
            for b in range(nb):
                if exponential:
                    e = math.exp(-rate[i] * (1.0 - Z[0, i, b]))
                    dst[i, b] = e * h[i, b] + (1.0 - e) * P[0, i, b]
                    continue
                base, gate, target = h[i, b], 0.0, 0.0
                for j in range(s + 1):
                    c = rate[i] * table[s + 1, j]
                    yj = h[i, b] if j == 0 else Y[j - 1, i, b]
                    base -= c * yj
                    gate += c * Z[j, i, b] * yj
                    target += c * (1.0 - Z[j, i, b]) * P[j, i, b]
                dst[i, b] = base + gate + target


@njit(cache=CACHE, error_model="numpy")
def run_gated_fixed_step(w, g, table, exponential, rate, x, states, outputs, gates):
    """Integrate a network of GRU and plain neurons with a fixed step, the
    inputs held over each step (`gated_fixed_step`; the rest as
    `continuous.run_fixed_step`). `gates` (n_steps or 0, 7, n_neurons,
    batch): with rows, r, z, n of the GRU neurons at the start of each step.

    Returns
    -------
    int
        The first ``k`` with a non-finite value in ``states[k]`` (k >= 1), or -1.
    """
    n, nb = states.shape[1], states.shape[2]
    n_stages = table.shape[1]
    P = np.empty((n_stages, n, nb), dtype=states.dtype)
    Z = np.empty((n_stages, n, nb), dtype=states.dtype)
    Y = np.empty((n_stages - 1, n, nb), dtype=states.dtype)
    ybuf = np.empty(outputs.shape[1:], dtype=states.dtype)
    none = np.empty((0, 0, 0), dtype=states.dtype)
    first_bad = -1
    for k in range(x.shape[0]):
        out, xt = states[k + 1], x[k]
        gated_fixed_step(w, g, table, exponential, rate, states[k], xt, out, P, Z, Y, ybuf,
                         gates[k] if gates.shape[0] > 0 else none)
        if first_bad < 0 and count_nonfinite(out, 0, n):
            first_bad = k + 1
        readout(w, out, xt, outputs[k])
    return first_bad


@njit(cache=CACHE, error_model="numpy")
def gated_rhs(w, g, inv_tau, h, xt, ybuf, out):
    """Fill ``out = dh/dt`` (n_neurons, batch) of a network of GRU and plain
    neurons: ``(1 - z)(n - h) / tau`` for a GRU, ``(phi(a) - h) / tau`` for
    a plain neuron, the outputs fed back read at `h` into `ybuf`; one
    thread (`solve`'s explicit methods)."""
    ptr, index, weight = w.hidden
    gw, gb = g.weight, g.bias
    readout(w, h, xt, ybuf)
    for i in range(h.shape[0]):
        unit, act, gact = g.unit[i], w.act_h[i], g.act[i]
        for b in range(h.shape[1]):
            inp, rec, s0, s1, s2 = gate_sums(ptr, index, weight, gw, i, h, xt, ybuf, b)
            p, z, r = relax_parts(unit, act, gact, w.bias_h[i], gb[0, i], gb[1, i], gb[2, i], inp, rec, s0, s1)
            out[i, b] = (1.0 - z) * (p - h[i, b]) * inv_tau[i]
