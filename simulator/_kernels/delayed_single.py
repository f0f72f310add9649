"""Backpropagation through a discrete run with edge delays at a batch of
1 (design section 9), for a level of hidden neurons in order, without
truncation or the per-step record (`delayed_backward.bptt_delayed`
chooses): the sums of `delayed_backward.back_nodes` in the same order,
in a loop over the neurons themselves reading every array flat
(`back_neurons_single`), or eight neurons side by side through the
interleaved tables (`back_neurons_lanes`, `in_grads_lanes`), bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import CACHE
from .activations import slope
from .backward import chunk_errors
from .forward import chunk_bounds
from .interleaved import add_part_lanes_grad, lanes_load
from .lanes import LANES, block_buffer
from .types import FED, HIDDEN, INPUT, TO_OUTPUT


@njit(cache=CACHE, error_model="numpy", inline="always")
def pull_single(tp, tw, toff, part, j, flat, row, hj, g_out, total):
    """At a batch of 1, without truncation or the per-step record: `total`
    (a zero of the states' dtype) plus ``tw[q] * e`` over part `part` of
    source `j`'s out-edges, ``e = flat[row + toff[q]]`` the error its
    reader formed, adding ``hj * e`` to each edge's gradient ``g_out[q]``
    on the way."""
    for q in range(tp[j, part], tp[j, part + 1]):
        e = flat[np.uint64(row + toff[q])]
        g_out[q] += hj * e
        total += tw[q] * e
    return total


@njit(cache=CACHE, error_model="numpy", inline="always")
def in_grads_single(hp, in_off, hd, j, t, direct, x_flat, x_row, f_flat, f_row, da, g_weight, g_bias):
    """Neuron j's bias gradient and those of its in-edges from inputs and
    fed-back outputs at step `t`, from its error `da`, at a batch of 1:
    slot q read ``x_flat[x_row + in_off[q]]`` (``x_row = t * n_inputs``;
    `f_flat` and `f_row` for the fed-back outputs), `in_off` the in-edge
    table's `delayed.slot_offsets`, unless before the start (no check
    when `direct`: through the index, the delay and a check, the pass took
    twice as long, N = 10,000)."""
    g_bias[j] += da
    for q in range(hp[j, INPUT], hp[j, FED]):
        if direct or t >= hd[q]:
            g_weight[q] += da * x_flat[np.uint64(x_row + in_off[q])]
    for q in range(hp[j, FED], hp[j, FED + 1]):
        if direct or t >= hd[q]:
            g_weight[q] += da * f_flat[np.uint64(f_row + in_off[q])]


@njit(cache=CACHE, error_model="numpy", inline="always")
def error_single(tp, tw, toff, act_h, j, t, s_flat, s_row, z_flat, z_row, d_flat, d_row, dh, g_out, zero):
    """Neuron j's ``dL/dh`` (into `dh`) and ``dL/da`` (into ``d_flat[d_row
    + j]``, returned) at step `t`, gathered over its out-edges, their
    gradients added on the way (`pull_single`), at a batch of 1."""
    hj = s_flat[np.uint64(s_row) + j]
    v = (pull_single(tp, tw, toff, TO_OUTPUT, j, z_flat, z_row, hj, g_out, zero)
         + pull_single(tp, tw, toff, HIDDEN, j, d_flat, d_row, hj, g_out, zero))
    dh[j, 0] = v
    d_flat[np.uint64(d_row) + j] = v * slope(act_h[j], hj)
    return d_flat[np.uint64(d_row) + j]


@njit(cache=CACHE, error_model="numpy", inline="always")
def step_rows(t, start, base, states, dz):
    """Where step `t`'s values start in the flat states (from time
    `base`), outputs' errors and hidden errors (from step `start`)."""
    n = states.shape[1]
    return (t + 1 - base) * n, t * dz.shape[1], (t - start) * n


@njit(cache=CACHE, error_model="numpy")
def back_neurons_single(hp, in_off, hd, in_first,
                        tp, tw, toff,
                        act_h,
                        first, count, t,
                        x, states, base, fed,
                        delta, start, dz, dh,
                        g_weight, g_bias, g_out):
    """`back_nodes` for the hidden neurons ``first .. first + count - 1``
    of a level that holds them in order, at a batch of 1, without
    truncation or the per-step record: the same sums in the same order,
    in a loop over the neurons themselves, reading every array flat (in
    `back_nodes`, through the order and the checks, the delayed backward
    kernel took 1.3x as long at N = 10,000), each in a register of the
    states' dtype. `in_off` is the in-edge table's `delayed.slot_offsets`,
    `in_first` the first step from which none reads before the start; the
    other arguments as in `back_nodes`, `first` and `count` for its
    `order`, `lo` and `hi`."""
    s_flat, z_flat, d_flat = states.reshape(states.size), dz.reshape(dz.size), delta.reshape(delta.size)
    x_flat, f_flat = x.reshape(x.size), fed.reshape(fed.size)
    s_row, z_row, d_row = step_rows(t, start, base, states, dz)
    x_row, f_row = t * x.shape[1], t * fed.shape[1]
    zero = np.zeros(1, dtype=dh.dtype)[0]
    direct = t >= in_first
    for j in range(np.uint64(first), np.uint64(first + count)):
        da = error_single(tp, tw, toff, act_h, j, t, s_flat, s_row, z_flat, z_row, d_flat, d_row, dh, g_out, zero)
        in_grads_single(hp, in_off, hd, j, t, direct, x_flat, x_row, f_flat, f_row, da, g_weight, g_bias)


@njit(cache=CACHE, error_model="numpy")
def back_neurons_lanes(l_start, l_count, l_off, l_weight, l_rows, g_lanes,
                       tp, tw, toff,
                       act_h, uniform,
                       c_lo, c_hi, rest, t,
                       states, base,
                       delta, start, dz, dh,
                       g_out):
    """The errors of every hidden neuron (a level that holds them all, in
    order) at a batch of 1, without truncation or the per-step record,
    through the interleaved out-edge table (``Transposed.hidden_lanes``:
    `l_start` .. `l_rows`, with `l_off` its `delayed.lane_offsets`): those
    of the neurons of its chunks ``c_lo:c_hi`` eight side by side in a
    vector register (`interleaved`), their out-edges' gradients into
    `g_lanes` (laid out as the table); with `rest`, then those of the
    neurons left to the table, row by row into `g_out` (`error_single`).
    The same sums in the same order as `back_neurons_single`, bit for
    bit; `in_grads_lanes` adds the in-edge gradients. `uniform` is
    ``Wiring.uniform_h``; the other arguments as in `back_nodes`."""
    s_flat, z_flat, d_flat = states.reshape(states.size), dz.reshape(dz.size), delta.reshape(delta.size)
    s_row, z_row, d_row = step_rows(t, start, base, states, dz)
    back, to_out, hj = block_buffer(dh), block_buffer(dh), block_buffer(dh)
    zeros = np.zeros(LANES, dtype=dh.dtype)
    width = np.uint64(LANES)
    # the step's rows, from which the offsets count (into the rows of later steps)
    hn, dz_t, da = states[t + 1 - base], dz[t], delta[t - start]
    for c in range(np.uint64(c_lo), np.uint64(c_hi)):
        chunk_errors(l_start, l_count, l_off, l_weight, l_rows, g_lanes, c, act_h, uniform, hn, dz_t, da, da, dh,
                     back, to_out, hj, zeros)
    if rest:
        for lane in range(np.uint64(l_start.shape[0]) * width, np.uint64(l_rows.size)):
            error_single(tp, tw, toff, act_h, np.uint64(l_rows[lane]), t, s_flat, s_row, z_flat, z_row, d_flat, d_row,
                         dh, g_out, zeros[0])


@njit(cache=CACHE, error_model="numpy")
def in_grads_lanes(i_start, i_count, i_off, i_weight, g_in_lanes,
                   hp, in_off, hd, in_first,
                   c_lo, c_hi, rest, t,
                   x, states, fed,
                   delta, start,
                   g_weight, g_bias):
    """The bias and input and feedback in-edge gradients of the hidden
    neurons at step `t` from their errors (after `back_neurons_lanes`), at
    a batch of 1: at a step from `in_first` on (no read before the start),
    the neurons of chunks ``c_lo:c_hi`` of the interleaved in-edge table
    (``Wiring.hidden_lanes``: `i_start`, `i_count`, `i_weight`, `i_off`
    its `delayed.lane_offsets` of `in_off`) eight side by side
    (`interleaved.lanes_add_gathered_grad`, its sum unused), the gradients
    into `g_in_lanes` (laid out as that table); at an earlier step, the
    same neurons one by one into `g_weight` (`in_grads_single`); with
    `rest`, then the neurons left to the table one by one. One by one at
    every step, the pass took 35 of the backward step's 180 us (N =
    10,000, in-degree 10, one input); the same products in the same order."""
    n = states.shape[1]
    x_flat, f_flat, d_flat = x.reshape(x.size), fed.reshape(fed.size), delta.reshape(delta.size)
    x_row, f_row, d_row = t * x.shape[1], t * fed.shape[1], (t - start) * n
    d_at, x_at, f_at = d_flat[d_row:], x_flat[x_row:], f_flat[f_row:]
    direct = t >= in_first
    width = np.uint64(LANES)
    if direct:
        da, unused = block_buffer(g_bias), block_buffer(g_bias)
        for c in range(np.uint64(c_lo), np.uint64(c_hi)):
            lanes_load(da, d_at, c * width)
            add_part_lanes_grad(i_start, i_count, i_off, i_weight, c, INPUT, x_at, unused, g_in_lanes, da)
            add_part_lanes_grad(i_start, i_count, i_off, i_weight, c, FED, f_at, unused, g_in_lanes, da)
            for j in range(c * width, c * width + width):
                g_bias[j] += d_at[j]
    else:
        for j in range(np.uint64(c_lo) * width, np.uint64(c_hi) * width):
            in_grads_single(hp, in_off, hd, j, t, False, x_flat, x_row, f_flat, f_row, d_at[j], g_weight, g_bias)
    if rest:
        for j in range(np.uint64(i_start.shape[0]) * width, np.uint64(n)):
            in_grads_single(hp, in_off, hd, j, t, direct, x_flat, x_row, f_flat, f_row, d_at[j], g_weight, g_bias)


@njit(cache=CACHE, error_model="numpy", parallel=True)
def back_neurons_lanes_parallel(l_start, l_count, l_off, l_weight, l_rows, g_lanes,
                                i_start, i_count, i_off, i_weight, g_in_lanes,
                                hp, in_off, hd, in_first,
                                tp, tw, toff,
                                act_h, uniform, t,
                                x, states, base, fed,
                                delta, start, dz, dh,
                                g_weight, g_bias, g_out,
                                n_chunks):
    """`back_neurons_lanes` then `in_grads_lanes` over every neuron, each
    table's chunks in `n_chunks` runs spread over threads, the neurons
    left to it after them."""
    m = l_start.shape[0]
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(m, n_chunks, c)
        back_neurons_lanes(l_start, l_count, l_off, l_weight, l_rows, g_lanes, tp, tw, toff, act_h, uniform,
                           lo, hi, False, t, states, base, delta, start, dz, dh, g_out)
    back_neurons_lanes(l_start, l_count, l_off, l_weight, l_rows, g_lanes, tp, tw, toff, act_h, uniform,
                       m, m, True, t, states, base, delta, start, dz, dh, g_out)
    m = i_start.shape[0]
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(m, n_chunks, c)
        in_grads_lanes(i_start, i_count, i_off, i_weight, g_in_lanes, hp, in_off, hd, in_first, lo, hi, False, t,
                       x, states, fed, delta, start, g_weight, g_bias)
    in_grads_lanes(i_start, i_count, i_off, i_weight, g_in_lanes, hp, in_off, hd, in_first, m, m, True, t,
                   x, states, fed, delta, start, g_weight, g_bias)
