"""Discrete-time forward kernels of networks with edge delays (design section 9).

Writing h_t for ``states[t + 1]``, every hidden neuron i and output o at step t::

    h_i,t = phi_i( sum_j w_ji s_j,t-d_ji + b_i )
    y_o,t = g_o( sum_j w_jo s_j,t-d_jo + c_o )

s the source's h, x or fed-back y. Each slot of the in-edge tables
(`types.Wiring`) carries its delay in an array beside its weight
(`simulator.delays.Schedule`), and reads the history where the run records
it: a hidden source from ``states[t + 1 - d]`` (``states[0]``, h0, before
the start), an input from ``x[t - d]`` and a fed-back output from
``fed[t - d]`` (zero before the start). ``fed`` is the outputs themselves,
or, under teacher forcing, a copy with the targets written over them where
given. Within a step the nodes are evaluated level by level
(``Schedule.order``, ``level_ptr``), so that a delay-0 edge reads its
source's value of the same step; the nodes of one level are independent,
and `run_delayed_parallel` spreads each level over threads. At a batch
of 1 a level of neurons in order sums eight of them side by side through
the interleaved in-edge table, each slot reading through its offset into
the history (`hidden_sums`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import CACHE
from .activations import activate, activate_rows
from .forward import add_slot_blocks, chunk_bounds, chunk_sums, fill_row_blocks, store_row_blocks
from .lanes import LANES, block_add_scaled, block_buffer, block_fill, block_store, block_width
from .types import FED, HIDDEN, INPUT


#: Levels of fewer nodes run on the calling thread: a parallel region costs
#: more than their work (the outputs' level, mostly).
MIN_PARALLEL_LEVEL = 64
#: The largest offset `slot_offsets` stores.
INT32_MAX = 2**31 - 1
#: `slot_offsets`'s first direct step when an offset does not fit.
NEVER_DIRECT = 2**62
#: The longest reach before the start for which a run at a batch of 1
#: takes its first steps on a shifted copy of the history (`shifts_start`).
MAX_SHIFT = 64


@njit(cache=CACHE, error_model="numpy", inline="always")
def add_history(ptr, index, weight, delay, r, q, hist, t, shift, base, acc):
    """``acc[b] += weight[k] * hist[t + shift - delay[k] - base, index[k], b]``
    over segment `q` of row `r`; a time before 0 reads time 0 when `shift`
    is 1 (the states: h0) and nothing when it is 0 (inputs, outputs).
    ``hist[0]`` holds time `base` (a recomputed segment's history)."""
    nb = acc.shape[0]
    if nb == 1:  # one running sum in a register, not in memory
        total = 0.0
        for k in range(ptr[r, q], ptr[r, q + 1]):
            s = t + shift - delay[k]
            if s < 0:
                if shift == 0:
                    continue
                s = 0
            total += weight[k] * hist[s - base, index[k], 0]
        acc[0] += total
        return
    for k in range(ptr[r, q], ptr[r, q + 1]):
        s = t + shift - delay[k]
        if s < 0:
            if shift == 0:
                continue
            s = 0
        s -= base
        j = index[k]
        c = weight[k]
        for b in range(nb):
            acc[b] += c * hist[s, j, b]


@njit(cache=CACHE, error_model="numpy", inline="always")
def unpack(w, sched):
    """The arrays `update_nodes` reads, as one flat tuple: each in-edge
    table's ptr, index, weight and delays, biases and activation codes, of
    the hidden neurons then of the outputs."""
    return (w.hidden.ptr, w.hidden.index, w.hidden.weight, sched.hidden, w.bias_h, w.act_h,
            w.outputs.ptr, w.outputs.index, w.outputs.weight, sched.outputs, w.bias_o, w.act_o)


@njit(cache=CACHE, error_model="numpy")
def slot_offsets(ptr, index, delay, sizes):
    """Where each slot of an in-edge table reads, relative to its reader's
    step: ``index[k] - delay[k] * m`` (int32, half the bytes of the
    default kernel's index and weight per slot, read every step), ``m =
    sizes[q]`` the length of the slot's part (n_neurons, n_inputs,
    n_outputs), so that slot k of step t reads ``flat[(r * m + offset[k]) * batch + b]``
    of its C-contiguous history, ``r`` the row of step t's own value there
    (for the states, the new state's row ``t + 1 - base``; for the inputs
    and the fed-back outputs, ``t``); and the first step from which no
    slot reads before the start (a state before h0, an input or output
    before step 0), or `NEVER_DIRECT` when an offset does not fit in int32
    (every step then reads through the checked path)."""
    offset = np.zeros(index.shape[0], dtype=np.int32)
    first = 0
    for r in range(ptr.shape[0]):
        for q in range(ptr.shape[1] - 1):
            m = sizes[q]
            lag = 1 if q == HIDDEN else 0  # step t writes states[t + 1]
            for k in range(ptr[r, q], ptr[r, q + 1]):
                value = np.int64(index[k]) - delay[k] * m
                if abs(value) > INT32_MAX:
                    return offset, NEVER_DIRECT
                offset[k] = value
                first = max(first, delay[k] - lag)
    return offset, first


@njit(cache=CACHE, error_model="numpy")
def all_offsets(hp, hx, hd, op, ox, od, n, n_in, n_out):
    """`slot_offsets` of the hidden neurons' and of the outputs' in-edge
    tables, and the first step from which neither reads before the start."""
    sizes = (np.int64(n), np.int64(n_in), np.int64(n_out))
    offset, first = slot_offsets(hp, hx, hd, sizes)
    out_offset, out_first = slot_offsets(op, ox, od, sizes)
    return offset, out_offset, max(first, out_first)


@njit(cache=CACHE, error_model="numpy", inline="always")
def segment_total(hp, hw, offset, i, q, flat, row, total):
    """`total` plus ``hw[k] * flat[row + offset[k]]`` over segment `q` of
    row `i` of an in-edge table, in slot order, in a register."""
    for k in range(hp[i, q], hp[i, q + 1]):
        total += hw[k] * flat[np.uint64(row + offset[k])]
    return total


@njit(cache=CACHE, error_model="numpy", inline="always")
def row_total(hp, hw, offset, bias_h, i, s_flat, s_row, x_flat, x_row, f_flat, f_row, new):
    """``new[i, 0] = b_i + sum_k w_k s_k`` at a batch of 1: one sum in a
    register in the states' dtype, from the bias, over the hidden, input
    and fed-back segments in slot order (the order of the batched blocks
    and of the interleaved chunks)."""
    new[i, 0] = bias_h[i]
    total = segment_total(hp, hw, offset, i, HIDDEN, s_flat, s_row, new[i, 0])
    total = segment_total(hp, hw, offset, i, INPUT, x_flat, x_row, total)
    new[i, 0] = segment_total(hp, hw, offset, i, FED, f_flat, f_row, total)


@njit(cache=CACHE, error_model="numpy")
def lane_offsets(slot, offset):
    """Per-slot offsets into a history (`slot_offsets`'s, or the
    backward's) laid out as an interleaved table's slots
    (`types.Interleaved`), as int32, 0 where padded (a padded lane reads
    the row its offsets count from, and drops it); or an empty array when
    one does not fit in int32 (the kernels then go row by row)."""
    laid = np.zeros(slot.shape[0], dtype=np.int32)
    for p in range(slot.shape[0]):
        if slot[p] >= 0:
            if abs(np.int64(offset[slot[p]])) > INT32_MAX:
                return np.zeros(0, dtype=np.int32)
            laid[p] = offset[slot[p]]
    return laid


@njit(cache=CACHE, error_model="numpy")
def hidden_sums(hp, hw, offset, l_start, l_count, l_weight, l_offset, bias_h, order, lo, hi, first_id,
                states, s_row, x, x_row, fed, f_row, new):
    """The pre-activations ``new[i] = b_i + sum_k w_k s_k`` of the hidden
    neurons among ``order[lo:hi]`` at a step whose every read goes through
    its offset (`slot_offsets`): slot k reads row ``s_row + offset[k]``
    of the states (``x_row + ...`` of the inputs, ``f_row + ...`` of the
    fed-back outputs), each history seen as one row per (time, node).
    A batch of 1 sums each row in a register (`row_total`), reading the
    histories flat, and where the level is the neurons ``first_id``,
    ``first_id + 1``, ... (`consecutive_levels`; else -1) it loops over
    them directly, not through the order, the whole chunks of the
    interleaved in-edge table (``Wiring.hidden_lanes``: `l_start`,
    `l_count`, `l_weight`, and `l_offset` its `lane_offsets`) eight
    side by side in a vector register (`interleaved`; the same sums bit
    for bit: N = 10,000, in-degree 10, delays 1..5, the forward kernel
    1.39x -> 1.25x the default one's time, itself interleaved); a batch
    of whole blocks
    (`lanes.block_width`) adds in vector registers from the bias
    (`lanes.block_fill`), a row of up to four blocks all at once
    (`forward.add_slot_blocks`), a longer one block by block (the sums of
    the slot-by-slot loop, in the same order)."""
    n = np.uint64(states.shape[1])
    nb = states.shape[2]
    nbu = np.uint64(nb)
    if nb == 1:  # read as (rows, 1), the histories made the step 1.4x as long (N = 10,000)
        s_flat, x_flat, f_flat = states.reshape(states.size), x.reshape(x.size), fed.reshape(fed.size)
        if first_id < 0:
            for k in range(lo, hi):
                i = np.uint64(order[k])
                if i < n:
                    row_total(hp, hw, offset, bias_h, i, s_flat, s_row, x_flat, x_row, f_flat, f_row, new)
            return
        # the neurons in order (through the order, the step took 1.15x as long, N = 10,000): the whole
        # chunks of the interleaved table eight side by side, the rest row by row
        first, last, width = np.uint64(first_id), np.uint64(first_id + hi - lo), np.uint64(LANES)
        c_lo = (first + width - np.uint64(1)) // width
        c_hi = max(min(last // width, np.uint64(l_start.shape[0] if l_offset.size else 0)), c_lo)
        for i in range(first, min(c_lo * width, last)):
            row_total(hp, hw, offset, bias_h, i, s_flat, s_row, x_flat, x_row, f_flat, f_row, new)
        buf = block_buffer(new)
        s_at, x_at, f_at = s_flat[s_row:], x_flat[x_row:], f_flat[f_row:]  # where the offsets count from
        for c in range(c_lo, c_hi):
            chunk_sums(l_start, l_count, l_offset, l_weight, c, s_at, x_at, f_at, bias_h, new, buf)
        for i in range(max(c_hi * width, first), last):
            row_total(hp, hw, offset, bias_h, i, s_flat, s_row, x_flat, x_row, f_flat, f_row, new)
        return
    s_rows = states.reshape((states.shape[0] * states.shape[1], nb))
    x_rows = x.reshape((x.shape[0] * x.shape[1], nb))
    f_rows = fed.reshape((fed.shape[0] * fed.shape[1], nb))
    width = np.uint64(block_width(new))
    buf = block_buffer(new)
    if np.uint64(0) < nbu <= np.uint64(4) * width:  # the row's blocks side by side, each slot read once
        buf1, buf2, buf3 = block_buffer(new), block_buffer(new), block_buffer(new)
        n_regs = nbu // width
        for k in range(lo, hi):
            i = np.uint64(order[k])
            if i >= n:
                continue
            fill_row_blocks(bias_h[i], buf, buf1, buf2, buf3)
            for q in range(hp[i, HIDDEN], hp[i, HIDDEN + 1]):
                add_slot_blocks(hw[q], s_rows, s_row + offset[q], n_regs, width, buf, buf1, buf2, buf3)
            for q in range(hp[i, INPUT], hp[i, INPUT + 1]):
                add_slot_blocks(hw[q], x_rows, x_row + offset[q], n_regs, width, buf, buf1, buf2, buf3)
            for q in range(hp[i, FED], hp[i, FED + 1]):
                add_slot_blocks(hw[q], f_rows, f_row + offset[q], n_regs, width, buf, buf1, buf2, buf3)
            store_row_blocks(new, i, n_regs, width, buf, buf1, buf2, buf3)
        return
    for k in range(lo, hi):
        i = np.uint64(order[k])
        if i >= n:
            continue
        for col in range(np.uint64(0), nbu, width):
            block_fill(buf, bias_h[i])
            for q in range(hp[i, HIDDEN], hp[i, HIDDEN + 1]):
                block_add_scaled(buf, hw[q], s_rows, s_row + offset[q], col)
            for q in range(hp[i, INPUT], hp[i, INPUT + 1]):
                block_add_scaled(buf, hw[q], x_rows, x_row + offset[q], col)
            for q in range(hp[i, FED], hp[i, FED + 1]):
                block_add_scaled(buf, hw[q], f_rows, f_row + offset[q], col)
            block_store(buf, new, i, col)


@njit(cache=CACHE, error_model="numpy")
def update_nodes(hp, hx, hw, hd, bias_h, act_h, op, ox, ow, od, bias_o, act_o,
                 offset, out_offset, first_direct, uniform,
                 l_start, l_count, l_weight, l_offset,
                 order, lo, hi, first_id, t,
                 x, states, base, outputs, fed, teacher):
    """Evaluate the nodes ``order[lo:hi]`` (hidden neuron i < n_neurons,
    else output ``i - n_neurons``), all of one level, at step `t`, writing
    ``states[t + 1 - base]`` (``states[0]`` holds time `base`) and
    ``outputs[t]`` (and ``fed[t]`` under teacher forcing).

    Parameters
    ----------
    hp, hx, hw, hd, bias_h, act_h, op, ox, ow, od, bias_o, act_o : ndarray
        `unpack`'s arrays, one by one (a parallel loop body may only see
        arrays).
    offset, out_offset : ndarray of int32
        `slot_offsets` of the hidden neurons' and the outputs' in-edge
        tables.
    first_direct : int
        The first step from which no read reaches before the start
        (`all_offsets`): from there on, every slot reads through its
        offset, without a check, the way the default kernel reads through
        its index (the hidden neurons' sums in `hidden_sums`, for a batch
        of 1 or of whole blocks).
    uniform : int
        The activation code every hidden neuron shares, or -1
        (``Wiring.uniform_h``): the level's sums then go through
        `activations.activate_rows` in one vectorised block.
    l_start, l_count, l_weight : ndarray
        The interleaved hidden in-edge table (``Wiring.hidden_lanes``).
    l_offset : ndarray of int32
        Its `lane_offsets`.
    order : ndarray of int64
        The schedule's order.
    lo, hi : int
        The nodes, ``order[lo:hi]``: none of them may read another through
        a delay-0 edge (the values are written after all the sums).
    first_id : int
        ``order[lo]`` when the nodes are the hidden neurons ``order[lo]``,
        ``order[lo] + 1``, ... (their activations then apply to the block in
        one vectorised pass), else -1.
    t : int
        The step.
    x, states, base, outputs, fed, teacher
        As in `run_delayed_serial` (`x`, `states` and `fed` C-contiguous).

    The loop over the nodes is here, not in a helper called per node: Numba
    keeps reference-count updates around every call of an inlined helper
    that takes arrays and branches (about 15 ns each).

    Returns
    -------
    int
        The number of non-finite hidden values written.
    """
    n = states.shape[1]
    nb = states.shape[2]
    nbu = np.uint64(nb)  # unsigned indices: no wrap-around checks
    new = states[t + 1 - base]  # the pre-activations first, then the values
    acc = np.empty(nb, dtype=states.dtype)
    s_flat = states.reshape(states.size)
    x_flat = x.reshape(x.size)
    f_flat = fed.reshape(fed.size)
    direct = t >= first_direct
    s_row = (t + 1 - base) * n  # each history's row of step t, in its own units from its start
    x_row = t * x.shape[1]
    f_row = t * fed.shape[1]
    forced = teacher.shape[0] > 0
    summed = direct and (nb == 1 or nbu % np.uint64(block_width(states)) == 0)
    if summed:
        hidden_sums(hp, hw, offset, l_start, l_count, l_weight, l_offset, bias_h, order, lo, hi, first_id,
                    states, s_row, x, x_row, fed, f_row, new)
    # the nodes one by one, unless the sums did them all (a level of neurons in order; at N = 10,000 the
    # loop over it, skipping every node, took 14 us a step, a sixth of the step at a batch of 1)
    for k in range(lo, lo if summed and first_id >= 0 else hi):
        node = order[k]
        if node < n:
            if summed:
                continue
            for b in range(nbu):
                acc[b] = bias_h[node]
            if direct:  # slot by slot over the contiguous batch
                for q in range(hp[node, HIDDEN], hp[node, HIDDEN + 1]):
                    c = hw[q]
                    at = np.uint64(s_row + offset[q]) * nbu
                    for b in range(nbu):
                        acc[b] += c * s_flat[at + b]
                for q in range(hp[node, INPUT], hp[node, INPUT + 1]):
                    c = hw[q]
                    at = np.uint64(x_row + offset[q]) * nbu
                    for b in range(nbu):
                        acc[b] += c * x_flat[at + b]
                for q in range(hp[node, FED], hp[node, FED + 1]):
                    c = hw[q]
                    at = np.uint64(f_row + offset[q]) * nbu
                    for b in range(nbu):
                        acc[b] += c * f_flat[at + b]
            else:
                add_history(hp, hx, hw, hd, node, HIDDEN, states, t, 1, base, acc)
                add_history(hp, hx, hw, hd, node, INPUT, x, t, 0, 0, acc)
                add_history(hp, hx, hw, hd, node, FED, fed, t, 0, 0, acc)
            for b in range(nbu):
                new[node, b] = acc[b]
        else:
            o = node - n
            for b in range(nbu):
                acc[b] = bias_o[o]
            if direct and nb == 1:  # an output reads many neurons (a readout): a sum in a register
                total = 0.0
                for q in range(op[o, HIDDEN], op[o, HIDDEN + 1]):
                    total += ow[q] * s_flat[np.uint64(s_row + out_offset[q])]
                acc[0] += total
                total = 0.0
                for q in range(op[o, INPUT], op[o, INPUT + 1]):
                    total += ow[q] * x_flat[np.uint64(x_row + out_offset[q])]
                acc[0] += total
            elif direct:
                for q in range(op[o, HIDDEN], op[o, HIDDEN + 1]):
                    c = ow[q]
                    at = np.uint64(s_row + out_offset[q]) * nbu
                    for b in range(nbu):
                        acc[b] += c * s_flat[at + b]
                for q in range(op[o, INPUT], op[o, INPUT + 1]):
                    c = ow[q]
                    at = np.uint64(x_row + out_offset[q]) * nbu
                    for b in range(nbu):
                        acc[b] += c * x_flat[at + b]
            else:
                add_history(op, ox, ow, od, o, HIDDEN, states, t, 1, base, acc)
                add_history(op, ox, ow, od, o, INPUT, x, t, 0, 0, acc)
            code = act_o[o]
            for b in range(nb):
                v = activate(code, acc[b])
                outputs[t, o, b] = v
                if forced:
                    target = teacher[t, o, b]
                    fed[t, o, b] = target if target == target else v
    if first_id >= 0 and uniform >= 0:  # neurons first_id.. in order: one vectorised block
        return activate_rows(act_h, uniform, new, first_id, first_id + hi - lo)
    bad = 0
    for k in range(lo, hi):
        node = order[k]
        if node < n:
            code = act_h[node]
            for b in range(nb):
                v = activate(code, new[node, b])
                new[node, b] = v
                bad += not abs(v) < np.inf
    return bad


@njit(cache=CACHE, error_model="numpy")
def consecutive_levels(order, level_ptr, n):
    """For each level, its first node when it is the hidden neurons
    ``order[first]``, ``order[first] + 1``, ... in order, else -1."""
    first_id = np.full(level_ptr.shape[0] - 1, -1, dtype=np.int64)
    for lv in range(level_ptr.shape[0] - 1):
        lo, hi = level_ptr[lv], level_ptr[lv + 1]
        if hi > lo and order[hi - 1] - order[lo] == hi - lo - 1 and order[hi - 1] < n:
            ok = True
            for k in range(lo + 1, hi):
                ok = ok and order[k] == order[k - 1] + 1
            if ok:
                first_id[lv] = order[lo]
    return first_id


@njit(cache=CACHE, error_model="numpy")
def run_offsets(w, sched, n, n_in, n_out):
    """Where a run's slots read in the history, for the run kernels
    (built once per network by ``Network.run_delays``: rebuilding them in
    every call took about 0.5 ms at N = 10,000, in-degree 10, the cost
    of five steps): `all_offsets`'s three, their interleaved layout
    (`lane_offsets`) and the levels of neurons in order
    (`consecutive_levels`), for `n` neurons, `n_in` inputs and `n_out`
    outputs."""
    hp, hx, hw, hd, bias_h, act_h, op, ox, ow, od, bias_o, act_o = unpack(w, sched)
    offset, out_offset, first_direct = all_offsets(hp, hx, hd, op, ox, od, n, n_in, n_out)
    return (offset, out_offset, first_direct, lane_offsets(w.hidden_lanes.slot, offset),
            consecutive_levels(sched.order, sched.level_ptr, n))


@njit(cache=CACHE, error_model="numpy")
def shifts_start(first_direct, states, start):
    """Whether a run's steps from `start` begin on a shifted copy of the
    history (`shifted_history`): at a batch of 1, when `start` is one of
    the first steps, those whose reads reach before the start, and they
    are at most `MAX_SHIFT`. Through the checked reads (row by row, every
    read tested), such a step took 2.7x as long as a direct one (N =
    10,000, in-degree 10, delays 1..5: 265 against 97 us), four of them
    a fixed 0.7 ms a call; at a batch of 32 the checked steps are the
    quicker ones (they read the few rows from h0 on: 1.6 against 1.9 ms)."""
    return states.shape[2] == 1 and start < first_direct <= MAX_SHIFT


@njit(cache=CACHE, error_model="numpy")
def shifted_history(shift, x, states, base, outputs, fed, teacher, start, stop):
    """Copies of a run's histories in which step t is step ``t + shift``
    and the times before the start are rows like any other: ``shift``
    rows of h0 before the states (``states[0]`` is h0 when `base` is 0;
    past 0, rows before `base` are never read and stay 0), of zeros
    before the inputs and the outputs, so that steps ``start + shift ..
    stop + shift`` read everything through their offsets (`shift`: the
    first direct step). Returns the shifted inputs, states (base 0),
    outputs, fed-back outputs (the outputs themselves without teacher
    forcing) and targets."""
    n, nb = states.shape[1], states.shape[2]
    shifted_states = np.zeros((shift + stop + 1, n, nb), dtype=states.dtype)
    for r in range(-shift if base == 0 else base, start + 1):
        shifted_states[r + shift] = states[max(r, 0) - base]
    shifted_x = np.zeros((shift + stop, x.shape[1], nb), dtype=x.dtype)
    shifted_x[shift:] = x[:stop]
    shifted_outputs = np.zeros((shift + stop, outputs.shape[1], nb), dtype=outputs.dtype)
    shifted_outputs[shift:shift + start] = outputs[:start]
    if teacher.shape[0] == 0:
        return shifted_x, shifted_states, shifted_outputs, shifted_outputs, teacher
    shifted_fed = np.zeros_like(shifted_outputs)
    shifted_fed[shift:shift + start] = fed[:start]
    shifted_teacher = np.full((shift + stop, teacher.shape[1], nb), np.nan, dtype=teacher.dtype)
    shifted_teacher[shift:] = teacher[:stop]
    return shifted_x, shifted_states, shifted_outputs, shifted_fed, shifted_teacher


@njit(cache=CACHE, error_model="numpy")
def unshift(shift, shifted, states, base, outputs, fed, teacher, start, stop, first_bad):
    """Copy steps ``start:stop`` run on `shifted_history`'s copies back
    into the run's `states`, `outputs` and `fed`; returns the shifted
    run's `first_bad` as a step of the run."""
    _, shifted_states, shifted_outputs, shifted_fed, _ = shifted
    for t in range(start, stop):
        states[t + 1 - base] = shifted_states[t + 1 + shift]
        outputs[t] = shifted_outputs[t + shift]
        if teacher.shape[0]:
            fed[t] = shifted_fed[t + shift]
    return first_bad - shift if first_bad >= 0 else -1


@njit(cache=CACHE, error_model="numpy")
def run_delayed_serial(w, sched, offsets, x, states, base, outputs, fed, teacher, start, stop):
    """Steps ``start:stop`` of a discrete run with delays, on one thread.

    Parameters
    ----------
    w : Wiring
    sched : Schedule
        Per-slot delays and the levels of a step.
    offsets : tuple
        `run_offsets`'s, for `w` and `sched`.
    x : ndarray, shape (n_steps, n_inputs, batch)
    states : ndarray, shape (n_rows, n_neurons, batch), C-contiguous
        The history from time `base`: row ``r`` holds ``states[base + r]``
        of the run (the whole history with `base` 0: h0 first); the rows
        the steps read are filled on entry, those of steps ``start:stop``
        are filled.
    base : int
        The run's state index of ``states[0]``: 0, or in a recomputed
        segment ``start + 1 - (the longest delay from a hidden neuron)``
        or later.
    outputs : ndarray, shape (n_steps, n_outputs, batch)
        Rows ``start..stop - 1`` are filled (the earlier ones on entry).
    fed : ndarray, shape (n_steps, n_outputs, batch)
        What the feedback edges read: `outputs` itself without teacher
        forcing; else filled like it, the targets written where given.
    teacher : ndarray, shape (n_steps or 0, n_outputs, batch)
        The targets forced onto the feedback path (NaN: not forced); 0 rows: none.
    start, stop : int
        The steps to run.

    Returns
    -------
    int
        The first ``t`` with a non-finite value in ``states[t]``, or -1.
    """
    first_bad = -1
    first_direct = offsets[2]
    if shifts_start(first_direct, states, start):
        end = min(stop, first_direct)
        shifted = shifted_history(first_direct, x, states, base, outputs, fed, teacher, start, end)
        shifted_x, shifted_states, shifted_outputs, shifted_fed, shifted_teacher = shifted
        bad = serial_steps(w, sched, offsets, shifted_x, shifted_states, 0, shifted_outputs, shifted_fed,
                           shifted_teacher, start + first_direct, end + first_direct)
        first_bad = unshift(first_direct, shifted, states, base, outputs, fed, teacher, start, end, bad)
        start = end
    bad = serial_steps(w, sched, offsets, x, states, base, outputs, fed, teacher, start, stop)
    return first_bad if first_bad >= 0 else bad


@njit(cache=CACHE, error_model="numpy")
def serial_steps(w, sched, offsets, x, states, base, outputs, fed, teacher, start, stop):
    """`run_delayed_serial`'s steps, each through its own reads (the
    checked ones for a step that reaches before the start)."""
    hp, hx, hw, hd, bias_h, act_h, op, ox, ow, od, bias_o, act_o = unpack(w, sched)
    offset, out_offset, first_direct, l_offset, first_id = offsets
    l_start, l_count, l_weight = w.hidden_lanes.start, w.hidden_lanes.count, w.hidden_lanes.weight
    order, level_ptr = sched.order, sched.level_ptr
    first_bad = -1
    for t in range(start, stop):
        bad = 0
        for lv in range(level_ptr.shape[0] - 1):
            bad += update_nodes(hp, hx, hw, hd, bias_h, act_h, op, ox, ow, od, bias_o, act_o,
                                offset, out_offset, first_direct, w.uniform_h, l_start, l_count, l_weight,
                                l_offset, order, level_ptr[lv], level_ptr[lv + 1],
                                first_id[lv], t,
                                x, states, base, outputs, fed, teacher)
        if bad and first_bad < 0:
            first_bad = t + 1
    return first_bad


@njit(cache=CACHE, error_model="numpy")
def run_delayed_parallel(w, sched, offsets, x, states, base, outputs, fed, teacher, start, stop, n_chunks):
    """`run_delayed_serial` with each level's nodes split into `n_chunks`
    contiguous chunks spread over threads."""
    first_bad = -1
    first_direct = offsets[2]
    if shifts_start(first_direct, states, start):
        end = min(stop, first_direct)
        shifted = shifted_history(first_direct, x, states, base, outputs, fed, teacher, start, end)
        shifted_x, shifted_states, shifted_outputs, shifted_fed, shifted_teacher = shifted
        bad = parallel_steps(w, sched, offsets, shifted_x, shifted_states, 0, shifted_outputs, shifted_fed,
                             shifted_teacher, start + first_direct, end + first_direct, n_chunks)
        first_bad = unshift(first_direct, shifted, states, base, outputs, fed, teacher, start, end, bad)
        start = end
    bad = parallel_steps(w, sched, offsets, x, states, base, outputs, fed, teacher, start, stop, n_chunks)
    return first_bad if first_bad >= 0 else bad


@njit(cache=CACHE, error_model="numpy", parallel=True)
def parallel_steps(w, sched, offsets, x, states, base, outputs, fed, teacher, start, stop, n_chunks):
    """`serial_steps` with each level's nodes split into `n_chunks`
    contiguous chunks spread over threads."""
    hp, hx, hw, hd, bias_h, act_h, op, ox, ow, od, bias_o, act_o = unpack(w, sched)
    offset, out_offset, first_direct, l_offset, first_id = offsets
    l_start, l_count, l_weight = w.hidden_lanes.start, w.hidden_lanes.count, w.hidden_lanes.weight
    uniform = w.uniform_h
    order, level_ptr = sched.order, sched.level_ptr
    first_bad = -1
    for t in range(start, stop):
        bad = 0
        for lv in range(level_ptr.shape[0] - 1):
            first = level_ptr[lv]
            n_level = level_ptr[lv + 1] - first
            if n_level < MIN_PARALLEL_LEVEL:
                bad += update_nodes(hp, hx, hw, hd, bias_h, act_h, op, ox, ow, od, bias_o, act_o,
                                    offset, out_offset, first_direct, uniform,
                                    l_start, l_count, l_weight, l_offset, order, first, first + n_level,
                                    first_id[lv], t,
                                    x, states, base, outputs, fed, teacher)
                continue
            for c in prange(n_chunks):
                lo, hi = chunk_bounds(n_level, n_chunks, c)
                chunk_first_id = first_id[lv] + lo if first_id[lv] >= 0 else -1
                bad += update_nodes(hp, hx, hw, hd, bias_h, act_h, op, ox, ow, od, bias_o, act_o,
                                    offset, out_offset, first_direct, uniform,
                                    l_start, l_count, l_weight, l_offset, order, first + lo, first + hi,
                                    chunk_first_id, t, x, states, base, outputs, fed, teacher)
        if bad and first_bad < 0:
            first_bad = t + 1
    return first_bad
