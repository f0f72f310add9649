"""The adjoint system of networks of GRU and plain neurons (the GRU-ODE of
design section 8), for the gradients through the adaptive methods
(`simulator.adjoint`, design section 11).

With ``f(h) = (1 - z)(p - h) / tau`` the backward system is the plain
networks' (`simulator.adjoint`) with more quadratures::

    d lambda/dt = -(df/dh)^T lambda
    d G/dt      = -(df/dtheta)^T lambda       (weights, biases, taus, then
                                               gate weights and gate biases)

both products from one pass of `_kernels.gated_continuous.gated_rhs_vjp`
(the pull-back fixed-step BPTT uses, `gated_relax_vjp`), the taus' from
``df/dtau = -f / tau``.
"""

from __future__ import annotations

import numpy as np

from ._kernels.gated_continuous import gated_rhs_vjp
from .gated_bptt import gate_grads
from .network import Network

__all__ = ["GatedAdjointSystem"]


class GatedAdjointSystem:
    """The backward system over one piece, ``u = [lambda, G]``: ``lambda``
    laid out as the forward state (`ode._System`), then the quadratures of
    the weights (in slot order), the biases, the taus, the gate weights
    (three rows over the in-edge slots of the hidden neurons) and the gate
    biases (three rows over the neurons); the interface of
    `simulator.adjoint`'s plain system (one thread)."""

    def __init__(self, net: Network, system, n_chunks: int):
        self.net, self.system = net, system
        n, batch, dtype = net.n_neurons, system.batch, net.dtype
        self.m = n * batch
        self.n_edges, self.n_bias = net.n_edges, n + net.n_outputs
        self.w, self.wt, self.g = net.wiring(), net.wiring_t(), net.gates()
        self.n_slots = self.w.hidden.index.shape[0]
        self.size = self.m + self.n_edges + self.n_bias + n + 3 * self.n_slots + 3 * n
        self.inv_tau = np.ascontiguousarray(1.0 / net.tau)
        self.gw = np.zeros(self.n_edges, dtype=dtype)
        self.gb = np.zeros(self.n_bias, dtype=dtype)
        self.g_gate = np.zeros((3, self.n_slots), dtype=dtype)
        self.g_gbias = np.zeros((3, n), dtype=dtype)
        self.ds = np.empty((n, batch), dtype=dtype)
        self.f = np.empty((n, batch), dtype=dtype)
        self.scratch = (np.empty((n, batch), dtype=dtype), np.empty((n, batch), dtype=dtype),
                        np.empty((4, n, batch), dtype=dtype))
        self.no_steps = np.zeros((0, self.n_edges), dtype=dtype)
        self.dense = self.xk = None
        self.seen = (0.0, None)

    def piece(self, dense, xk: np.ndarray) -> None:
        """Integrate next over the piece whose forward dense output is `dense`, input `xk` (n_inputs, batch)."""
        self.dense, self.xk = dense, np.ascontiguousarray(xk)

    def fun(self, t: float, u: np.ndarray) -> np.ndarray:
        """du/dt, as `solve_ivp` calls it (time running backwards)."""
        self.seen = (t, u)
        system = self.system
        h = system.state(self.dense(t))
        lam = system.state(u[:self.m])
        for a in (self.gw, self.gb, self.g_gate, self.g_gbias):
            a[:] = 0.0
        gated_rhs_vjp(self.w, self.wt, self.g, self.inv_tau, h, self.xk, lam, self.ds, self.f, *self.scratch,
                      self.gw, self.g_gate, self.gb, self.g_gbias, self.no_steps)
        out = np.empty(self.size)
        m, e, b = self.m, self.m + self.n_edges, self.m + self.n_edges + self.n_bias
        n = self.net.n_neurons
        out[:m] = system.flat(-self.ds)
        out[m:e] = -self.gw
        out[e:b] = -self.gb
        out[b:b + n] = (lam * self.f).sum(axis=1) * self.inv_tau
        out[b + n:b + n + 3 * self.n_slots] = -self.g_gate.ravel()
        out[b + n + 3 * self.n_slots:] = -self.g_gbias.ravel()
        return out

    def gate_grads(self, extra: np.ndarray) -> dict[str, np.ndarray]:
        """The gate parameters' gradients from the gate quadratures `extra`
        (what follows the taus' in ``u``), aligned like the network's."""
        split = 3 * self.n_slots
        return gate_grads(self.net, extra[:split].reshape(3, self.n_slots).astype(self.net.dtype),
                          extra[split:].reshape(3, -1).astype(self.net.dtype))
