"""BPTT through discrete runs of networks with gated neurons: the passes
`simulator.bptt` hands to, and the gradients mapped back onto the
network's parameters (`simulator._kernels.gated` has the equations)."""

from __future__ import annotations

import numpy as np

from . import scratch, threads
from ._kernels.dense_gated import bptt_gated_dense, gated_blocks, run_gated_dense
from ._kernels.gated import run_gated
from ._kernels.gated_backward import bptt_gated
from .arrays import fed_back
from .errors import NonFiniteError
from .losses import LOSSES
from .network import Network
from .simulate import dense_gated_history, use_dense_gated
from .units import GATE_BIASES, GATE_NAMES, GATE_WEIGHTS, UNITS

__all__ = ["gated_gradients", "gate_grads"]


def gated_gradients(net: Network, drive, cell0: np.ndarray, y_targets: np.ndarray, loss: str, teacher: np.ndarray,
                    truncate: int, segment: int, diagnostics: bool) -> tuple[float, dict]:
    """The loss and every gradient of a discrete run of `net` (gated).

    Runs forward in segments of `segment` steps keeping each segment's
    first state and cell state, and backwards recomputing each segment when
    there are several (checkpointing: the same kernels on the same numbers,
    so the same gradients bit for bit). The whole call runs on the threads
    `simulator.threads.timed_call` chooses (the threaded kernels give the
    one-thread numbers bit for bit).

    Returns
    -------
    loss : float
    grads : dict
        ``weight`` (n_edges,), ``bias``, ``h0`` (n_neurons, batch), ``c0``
        (n_lstm, batch), every gate parameter the network has (aligned like
        the network's), ``dh_norm`` (n_steps + 1,) and ``edge_grad``
        (n_steps or 0, n_edges).
    """
    w, wt, g = net.wiring(), net.wiring_t(), net.gates()
    T, batch, n, n_out = drive.n_steps, drive.batch, net.n_neurons, net.n_outputs
    m, dtype = cell0.shape[0], net.dtype
    forced = teacher.shape[0] > 0
    starts = list(range(0, T, segment)) or [0]
    L = min(segment, T) + 1
    n_threads, timed = threads.timed_call(("bptt-gated", dtype.str), (net.n_edges + n) * batch, T)
    with (scratch.borrowed("gated bptt states", (L, n, batch), dtype) as states,
          scratch.borrowed("gated bptt cells", (L, m, batch), dtype) as cells):
        outputs = np.empty((T, n_out, batch), dtype=dtype)
        no_record = np.empty((0, len(GATE_NAMES), n, batch), dtype=dtype)
        firsts, befores = [], []
        dense = use_dense_gated(net) and not diagnostics  # stacked gate matrices through BLAS
        if dense:
            blocks = gated_blocks(w, g, drive.x.shape[1])
            history = dense_gated_history(net, L, batch, drive.x.shape[1])

        def forward(s: int) -> int:
            t0 = starts[s]
            t1 = min(T, t0 + segment)
            states[0], cells[0] = firsts[s]
            if dense:
                return run_gated_dense(w, g, *blocks, drive.x[t0:t1], states[: t1 - t0 + 1], cells[: t1 - t0 + 1],
                                       outputs[t0:t1], teacher[t0:t1] if forced else teacher, befores[s],
                                       *(a[: t1 - t0 + 1] for a in history))
            with threads.using(n_threads, n) as n_chunks:
                return run_gated(w, g, drive.x[t0:t1], states[: t1 - t0 + 1], cells[: t1 - t0 + 1], outputs[t0:t1],
                                 teacher[t0:t1] if forced else teacher, befores[s], no_record, n_chunks or None)

        h, c, bad = drive.h0, cell0, -1
        for s, t0 in enumerate(starts):
            t1 = min(T, t0 + segment)
            firsts.append((h.copy(), c.copy()))
            befores.append(fed_back(outputs, teacher, t0) if s > 0 else np.zeros((n_out, batch), dtype=dtype))
            bad = max(bad, forward(s))
            h, c = states[t1 - t0].copy(), cells[t1 - t0].copy()
        if bad >= 0 or not np.isfinite(outputs).all():
            raise NonFiniteError("the forward pass overflowed to inf/NaN")
        value, gy = LOSSES[loss](outputs, y_targets)
        gy = np.ascontiguousarray(gy, dtype=dtype)

        carry_h = np.zeros((n, batch), dtype=dtype)
        carry_c = np.zeros((m, batch), dtype=dtype)
        carry_y = np.zeros((n_out, batch), dtype=dtype)
        g_weight = np.zeros(net.n_edges, dtype=dtype)
        n_slots = w.hidden.index.shape[0]
        g_gate = np.zeros((3, n_slots), dtype=dtype)
        g_bias = np.zeros(n + n_out, dtype=dtype)
        g_gbias = np.zeros((3, n), dtype=dtype)
        g_h0 = np.empty((n, batch), dtype=dtype)
        g_c0 = np.empty((m, batch), dtype=dtype)
        dh_norm = np.empty(T + 1, dtype=np.float64)
        step_abs = np.zeros((T if diagnostics else 0, net.n_edges), dtype=dtype)
        for s in range(len(starts) - 1, -1, -1):
            t0 = starts[s]
            t1 = min(T, t0 + segment)
            if len(starts) > 1:
                forward(s)
            flow = np.empty(t1 - t0 + 1)
            if dense:
                bptt_gated_dense(w, g, blocks[0], blocks[1], blocks[3], outputs[t0:t1],
                                 teacher[t0:t1] if forced else teacher, *(a[: t1 - t0 + 1] for a in history),
                                 gy[t0:t1], truncate, t0, carry_h, carry_c, carry_y, g_weight, g_gate, g_bias, g_gbias,
                                 g_h0, g_c0, flow)
                dh_norm[t0:t1 + 1] = flow
                continue
            with threads.using(n_threads, n) as n_chunks:
                bptt_gated(w, wt, g, drive.x[t0:t1], states[: t1 - t0 + 1], cells[: t1 - t0 + 1], outputs[t0:t1],
                           teacher[t0:t1] if forced else teacher, befores[s], gy[t0:t1], truncate, t0,
                           carry_h, carry_c, carry_y, g_weight, g_gate, g_bias, g_gbias, g_h0, g_c0, flow,
                           step_abs[t0:t1] if step_abs.shape[0] else step_abs, n_chunks or None)
            dh_norm[t0:t1 + 1] = flow
    timed()

    order = net.layout.slot_edges
    g_weight[order] = g_weight.copy()
    if step_abs.shape[0]:
        step_abs[:, order] = step_abs.copy()
    grads = {"weight": g_weight, "bias": g_bias, "h0": g_h0, "c0": g_c0, "dh_norm": dh_norm,
             "edge_grad": np.abs(step_abs)}
    return value, grads | gate_grads(net, g_gate, g_gbias)


def gate_grads(net: Network, g_gate: np.ndarray, g_gbias: np.ndarray) -> dict[str, np.ndarray]:
    """Every gate parameter's gradient the network has (name -> array
    aligned like the network's, 0 where the parameter does not exist), from
    the kernels' gate-weight gradients over the in-edge slots `g_gate` (3,
    n_hidden_slots) and gate-bias gradients `g_gbias` (3, n_neurons)."""
    dtype, n_out = net.dtype, net.n_outputs
    per_edge = np.zeros((3, net.n_edges), dtype=dtype)
    per_edge[:, net.layout.hidden_in.edge] = g_gate
    into_hidden = net.edge_kind < 3
    grads = {}
    for unit in ("gru", "lstm"):
        has = net.unit_codes == UNITS[unit]
        if not has.any():
            continue
        edge_has = np.zeros(net.n_edges, dtype=bool)
        edge_has[into_hidden] = has[net.edge_dst[into_hidden]]
        for row, name in enumerate(GATE_WEIGHTS[unit]):
            grads[name] = np.where(edge_has, per_edge[row], 0).astype(dtype)
        for row, name in enumerate(GATE_BIASES[unit]):
            grads[name] = np.concatenate([np.where(has, g_gbias[row], 0), np.zeros(n_out)]).astype(dtype)
    return grads
