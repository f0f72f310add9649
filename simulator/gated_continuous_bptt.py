"""BPTT through fixed-step continuous runs of networks with GRU neurons (the
GRU-ODE of design section 8): the forward and backward passes that
`simulator.bptt` runs segment by segment, and the gradients they leave
mapped onto the network's parameters (`_kernels.gated_continuous` has the
equations)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._kernels.gated import run_gated_fixed_step
from ._kernels.gated_continuous import bptt_gated_fixed_step
from .gated_bptt import gate_grads
from .methods import ExponentialEuler, RungeKutta, stage_table
from .network import Network
from .units import GATE_NAMES

__all__ = ["gated_continuous_passes"]


def gated_continuous_passes(net: Network, drive, stepper: RungeKutta | ExponentialEuler, dt: float, truncate: int,
                            g_weight: np.ndarray, g_bias: np.ndarray, g_tau: np.ndarray, step_abs: np.ndarray
                            ) -> tuple[Callable, Callable, Callable[[], dict[str, np.ndarray]]]:
    """`simulator.bptt`'s passes for a fixed-step run of GRU and plain neurons.

    Parameters
    ----------
    net : Network
        GRU and plain neurons (LSTM neurons are refused before).
    drive
        The prepared inputs (`simulator.arrays.prepare`).
    stepper : RungeKutta or ExponentialEuler
    dt : float
    truncate : int
        0: full BPTT.
    g_weight, g_bias, step_abs
        Filled in slot order, as the plain passes fill them.
    g_tau : ndarray, shape (n_neurons,)
        Filled by ``gates()``, once the backward passes have run.

    Returns
    -------
    forward, backward : callable
        As `simulator.bptt._through_segments` calls them (one thread: the
        thread count they are given is not used).
    gates : callable
        ``gates()`` after the backward passes: the gate parameters'
        gradients (name -> array aligned like the network's), and `g_tau`
        filled from the gradients with respect to ``dt / tau``.
    """
    w, wt, g = net.wiring(), net.wiring_t(), net.gates()
    table, exponential = stage_table(stepper)
    tau = net.tau.astype(np.float64)
    rate = dt / tau
    n, batch, dtype = net.n_neurons, drive.batch, net.dtype
    g_gate = np.zeros((3, w.hidden.index.shape[0]), dtype=dtype)
    g_gbias = np.zeros((3, n), dtype=dtype)
    g_rate = np.zeros(n, dtype=np.float64)
    no_record = np.empty((0, len(GATE_NAMES), n, batch), dtype=dtype)

    def forward(s, t0, t1, states, outputs, n_chunks):
        return run_gated_fixed_step(w, g, table, exponential, rate, drive.x[t0:t1], states, outputs[t0:t1],
                                    no_record)

    def backward(s, t0, t1, states, outputs, gy, carry, seg_h0, flow, n_chunks):
        bptt_gated_fixed_step(w, wt, g, table, exponential, rate, drive.x[t0:t1], states, outputs[t0:t1],
                              gy[t0:t1], truncate, t0, carry, g_weight, g_gate, g_bias, g_gbias, g_rate, seg_h0,
                              flow, step_abs[t0:t1] if step_abs.shape[0] else step_abs)

    def gates() -> dict[str, np.ndarray]:
        g_tau[:] = -g_rate * rate / tau  # d rate / d tau = -dt / tau^2
        return gate_grads(net, g_gate, g_gbias)

    return forward, backward, gates
