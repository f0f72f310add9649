"""BPTT through discrete runs of networks with edge delays (design section
9): the passes `simulator.bptt` hands to (`simulator._kernels.delayed_backward`
has the equations).

A checkpointed run keeps, for each segment, the states its steps read from
before it: a history of depth D, the longest delay of an edge from a
hidden neuron (at least 1, the default). Each segment is recomputed from
those on the way back, into a buffer of D + segment + 1 rows. Plain
neurons gather their errors from their readers (`bptt_delayed`): the
errors of the first steps after a segment, as far as the longest delay of
an edge from a hidden neuron or a fed-back output, travel to the segment
before as a carry. Gated neurons scatter theirs (`bptt_gated_delayed`):
the errors sent back to states before a segment's start travel as a carry
of depth D, with the cell of the step before the segment and its error.
Every sum runs in the order of the whole-run pass, so the gradients agree
bit for bit; plain neurons' passes run on the threads `threads.timed_call`
gives, with the one-thread sums.
"""

from __future__ import annotations

import numpy as np

from . import scratch, threads
from ._kernels.delayed import run_delayed_parallel, run_delayed_serial
from ._kernels.delayed_backward import bptt_delayed
from ._kernels.delayed_gated import bptt_gated_delayed, run_gated_delayed_steps
from .errors import NonFiniteError
from .gated_bptt import gate_grads
from .losses import LOSSES
from .network import Network
from .units import GATE_NAMES

__all__ = ["delayed_gradients", "gated_delayed_gradients", "history_depth"]

#: Steps of each backward call (at least the reach of a delay): the
#: hidden errors are kept for those and the steps their reads reach, not
#: for the whole run (at N = 10,000, batch 32 and T = 100, 270 MB fewer
#: written for the first time in every call).
BACK_CHUNK = 32
_FROM_HIDDEN = (0, 3)  # edge kinds W (hidden -> hidden) and V (hidden -> output)
_FED = 2  # edge kind F (output -> hidden)


def history_depth(net: Network) -> int:
    """How many states before a step its reads can reach: the longest
    delay of an edge from a hidden neuron, at least 1."""
    kind = net.edge_kind
    from_hidden = net.delay[(kind == _FROM_HIDDEN[0]) | (kind == _FROM_HIDDEN[1])]  # np.isin: 0.2 ms a call, N = 10,000
    return max(1, int(from_hidden.max(initial=0)))


def delayed_gradients(net: Network, drive, y_targets: np.ndarray, loss: str, teacher: np.ndarray, truncate: int,
                      segment: int, diagnostics: bool) -> tuple[float, dict]:
    """The loss and the gradients of a discrete run of `net` (plain neurons,
    any delays).

    Parameters
    ----------
    net : Network
    drive : arrays.Drive
        The prepared inputs and h0 (kernel layout).
    y_targets : ndarray
        The loss's targets (as `simulator.losses` takes them).
    loss : str
    teacher : ndarray, shape (n_steps or 0, n_outputs, batch)
        Targets forced onto the feedback edges (NaN: not forced); 0 rows: none.
    truncate : int
        Window of truncated BPTT (0: none).
    segment : int
        Steps per checkpointed segment (n_steps: the whole history kept).
    diagnostics : bool
        Record each edge's contribution at each step.

    Returns
    -------
    loss : float
    grads : dict
        ``weight`` (n_edges,), ``bias``, ``h0`` (n_neurons, batch),
        ``dh_norm`` (n_steps + 1,) and ``edge_grad`` (n_steps or 0, n_edges).

    Raises
    ------
    NonFiniteError
        When the forward pass overflows.
    """
    w, wt, sched = net.wiring(), net.wiring_t(), net.schedule()
    T, batch, n = drive.n_steps, drive.batch, net.n_neurons
    dtype = net.dtype
    depth = history_depth(net)
    ahead = max(depth, int(net.delay[net.edge_kind == _FED].max(initial=0)))
    lay = net.layout
    out_delay, fed_delay, offsets = net.back_delays()
    run_offsets = net.run_delays()
    starts = list(range(0, T, segment)) or [0]
    rows = min(depth + segment, T) + 1
    n_threads, timed = threads.timed_call(("bptt", np.dtype(dtype).str, "delayed"), (net.n_edges + n) * batch, T)
    chunk = min(segment, T, max(BACK_CHUNK, ahead))
    # the history the segments record, and the errors of `chunk` steps and of the `ahead` steps after them
    with (scratch.borrowed("delayed bptt states", (rows, n, batch), dtype) as states,
          scratch.borrowed("delayed bptt errors", (chunk + ahead, n, batch), dtype) as delta):
        outputs = np.empty((T, net.n_outputs, batch), dtype=dtype)
        fed = outputs if teacher.shape[0] == 0 else np.empty_like(outputs)
        befores = []  # each segment's history: states base .. t0

        def forward(t0: int, t1: int, n_chunks: int) -> int:
            base = max(0, t0 + 1 - depth)
            states[:t0 - base + 1] = befores[starts.index(t0)]
            args = (w, sched, run_offsets, drive.x, states, base, outputs, fed, teacher, t0, t1)
            return run_delayed_parallel(*args, n_chunks) if n_chunks else run_delayed_serial(*args)

        with threads.using(n_threads, n) as n_chunks:
            bad = -1
            history = drive.h0[None]
            for t0 in starts:
                t1 = min(T, t0 + segment)
                befores.append(history)
                bad = max(bad, forward(t0, t1, n_chunks))
                base_next = max(0, t1 + 1 - depth)
                history = states[base_next - max(0, t0 + 1 - depth):t1 - max(0, t0 + 1 - depth) + 1].copy()
            if bad >= 0 or not np.isfinite(outputs).all():
                raise NonFiniteError("the forward pass overflowed to inf/NaN")
            value, gy = LOSSES[loss](outputs, y_targets)
            g_y = np.array(gy, dtype=dtype, order="C")
            g_weight = np.zeros(net.n_edges, dtype=dtype)
            g_bias = np.zeros(n + net.n_outputs, dtype=dtype)
            g_out = np.zeros(out_delay.shape[0], dtype=dtype)
            g_laid = (np.zeros(wt.hidden_lanes.slot.size, dtype=dtype), np.zeros(w.hidden_lanes.slot.size, dtype=dtype))
            g_h0 = np.empty((n, batch), dtype=dtype)
            dh_norm = np.empty(T + 1, dtype=np.float64)
            step_abs = np.zeros((T if diagnostics else 0, net.n_edges), dtype=dtype)
            step_out = np.zeros((T if diagnostics else 0, out_delay.shape[0]), dtype=dtype)
            dz = np.zeros((T + ahead, net.n_outputs, batch), dtype=dtype)
            carried = False  # whether delta leads with the errors of a later chunk's first steps
            for t0 in reversed(starts):
                t1 = min(T, t0 + segment)
                base = max(0, t0 + 1 - depth)
                if len(starts) > 1:
                    forward(t0, t1, n_chunks)
                for c1 in range(t1, t0, -chunk):
                    c0 = max(t0, c1 - chunk)
                    # the rows after this chunk's: a later chunk's first steps, or zeros after the run
                    # (numpy buffers an overlap); the kernel fills the chunk's own
                    delta[c1 - c0:c1 - c0 + ahead] = delta[:ahead] if carried else 0.0
                    bptt_delayed(w, wt, sched, out_delay, fed_delay, offsets, drive.x, states, base, outputs,
                                 fed, teacher, g_y, truncate, c0, c1, delta[:c1 - c0 + ahead], dz, g_weight,
                                 g_bias, g_out, g_laid, g_h0, dh_norm, step_abs, step_out, n_chunks or None)
                    carried = True
    timed()
    dh_norm[0] = np.sqrt(np.sum(np.square(g_h0, dtype=np.float64)))
    weight, edge_grad = np.zeros_like(g_weight), np.zeros_like(step_abs)
    weight[lay.slot_edges] = g_weight  # the edges from inputs and fed-back outputs
    weight[lay.hidden_out.edge] += g_out  # the edges from hidden neurons
    if diagnostics:
        edge_grad[:, lay.slot_edges] = step_abs
        edge_grad[:, lay.hidden_out.edge] += step_out
    return value, {"weight": weight, "bias": g_bias, "h0": g_h0, "dh_norm": dh_norm, "edge_grad": np.abs(edge_grad)}


def gated_delayed_gradients(net: Network, drive, cell0: np.ndarray, y_targets: np.ndarray, loss: str,
                            teacher: np.ndarray, truncate: int, segment: int,
                            diagnostics: bool) -> tuple[float, dict]:
    """`delayed_gradients` for a network with gated neurons, whole or
    checkpointed as there: each segment's history holds the states of depth
    `history_depth` and the cell of the step before it (a cell is read by
    the next step alone), and the carry the errors of both.

    Returns
    -------
    loss : float
    grads : dict
        As `delayed_gradients`'s, with ``c0`` (n_lstm, batch) and every
        gate parameter the network has (`gated_bptt.gate_grads`).

    Raises
    ------
    NonFiniteError
        When the forward pass overflows.
    """
    w, g, sched = net.wiring(), net.gates(), net.schedule()
    T, batch, n = drive.n_steps, drive.batch, net.n_neurons
    dtype = net.dtype
    depth = history_depth(net)
    starts = list(range(0, T, segment)) or [0]
    rows = min(depth + segment, T) + 1
    states = scratch.aligned_empty((rows, n, batch), dtype)
    cells = scratch.aligned_empty((rows, cell0.shape[0], batch), dtype)
    outputs = np.empty((T, net.n_outputs, batch), dtype=dtype)
    fed = outputs if teacher.shape[0] == 0 else np.empty_like(outputs)
    no_record = np.empty((0, len(GATE_NAMES), n, batch), dtype=dtype)
    befores = []  # each segment's history: states base .. t0, and the cell of t0

    def forward(t0: int, t1: int) -> int:
        base = max(0, t0 + 1 - depth)
        before, cell = befores[starts.index(t0)]
        states[:t0 - base + 1] = before
        cells[t0 - base] = cell
        return run_gated_delayed_steps(w, g, sched, drive.x, states, cells, base, outputs, fed, teacher, no_record,
                                       t0, t1)

    bad = -1
    history, cell = drive.h0[None], cell0
    for t0 in starts:
        t1 = min(T, t0 + segment)
        befores.append((history, cell))
        bad = max(bad, forward(t0, t1))
        base = max(0, t0 + 1 - depth)
        history = states[max(0, t1 + 1 - depth) - base:t1 - base + 1].copy()
        cell = cells[t1 - base].copy()
    if bad >= 0 or not np.isfinite(outputs).all():
        raise NonFiniteError("the forward pass overflowed to inf/NaN")
    value, gy = LOSSES[loss](outputs, y_targets)
    g_y = np.array(gy, dtype=dtype, order="C")
    g_weight = np.zeros(net.n_edges, dtype=dtype)
    g_gate = np.zeros((3, w.hidden.index.shape[0]), dtype=dtype)
    g_bias = np.zeros(n + net.n_outputs, dtype=dtype)
    g_gbias = np.zeros((3, n), dtype=dtype)
    dh_norm = np.empty(T + 1, dtype=np.float64)
    step_abs = np.zeros((T if diagnostics else 0, net.n_edges), dtype=dtype)
    g_states, g_cells = scratch.aligned_empty(states.shape, dtype), scratch.aligned_empty(cells.shape, dtype)
    carry, carry_cell = np.zeros((0, n, batch), dtype=dtype), np.zeros_like(cell0)
    for t0 in reversed(starts):
        t1 = min(T, t0 + segment)
        base = max(0, t0 + 1 - depth)
        if len(starts) > 1:
            forward(t0, t1)
        g_states[:] = 0.0
        g_states[t1 - base + 1 - carry.shape[0]:t1 - base + 1] = carry
        g_cells[:] = 0.0
        g_cells[t1 - base] = carry_cell
        bptt_gated_delayed(w, g, sched, drive.x, states, cells, base, outputs, fed, teacher, truncate, t0, t1,
                           g_states, g_cells, g_y, g_weight, g_gate, g_bias, g_gbias, dh_norm, step_abs)
        carry, carry_cell = g_states[:t0 - base + 1].copy(), g_cells[t0 - base].copy()
    g_h0 = carry[0]
    dh_norm[0] = np.sqrt(np.sum(np.square(g_h0, dtype=np.float64)))
    order = net.layout.slot_edges
    g_weight[order] = g_weight.copy()
    if diagnostics:
        step_abs[:, order] = step_abs.copy()
    grads = {"weight": g_weight, "bias": g_bias, "h0": g_h0, "c0": carry_cell, "dh_norm": dh_norm,
             "edge_grad": np.abs(step_abs)}
    return value, grads | gate_grads(net, g_gate, g_gbias)
