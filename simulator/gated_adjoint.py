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

    def lam_rhs(self, t: float, lam_flat: np.ndarray) -> np.ndarray:
        """d lambda/dt alone, as the backward solver calls it (time running backwards)."""
        self.seen = (t, lam_flat)
        system = self.system
        self._pull_back(system.state(self.dense(t)), system.state(lam_flat), self.ds, self.f, self.scratch)
        return system.flat(-self.ds).astype(np.float64)

    def quadrature(self, H: np.ndarray, L: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``sum_j weights[j] dG/dt(t_j)`` from the forward states ``H[:, j]``
        and adjoints ``L[:, j]`` at the nodes (solver layout), stacked on the
        batch axis of one pull-back (linear in ``lambda``, whose columns
        carry the weights); as `simulator.adjoint`'s plain system."""
        system, n, batch = self.system, self.net.n_neurons, self.system.batch
        k = weights.size
        h = np.empty((n, k, batch), dtype=self.ds.dtype)
        lam = np.empty((n, k, batch), dtype=self.ds.dtype)
        for j in range(k):
            h[:, j] = system.state(H[:, j])
            lam[:, j] = system.state(L[:, j]) * weights[j]
        h, lam = h.reshape(n, k * batch), lam.reshape(n, k * batch)
        f = np.empty_like(h)
        scratch = (np.empty_like(h), np.empty_like(h), np.empty((4, *h.shape), dtype=h.dtype))
        self._pull_back(h, lam, np.empty_like(h), f, scratch, np.ascontiguousarray(np.tile(self.xk, (1, k))))
        return np.concatenate([-self.gw, -self.gb, (lam * f).sum(axis=1) * self.inv_tau, -self.g_gate.ravel(),
                               -self.g_gbias.ravel()])

    def _pull_back(self, h, lam, ds, f, scratch, xk=None) -> None:
        """One pass of `gated_rhs_vjp` at states `h` and adjoints `lam`
        (n_neurons, columns): ``ds``, ``f`` and the parameters' products
        (`gw`, `gb`, `g_gate`, `g_gbias`, zeroed first) filled."""
        for a in (self.gw, self.gb, self.g_gate, self.g_gbias):
            a[:] = 0.0
        gated_rhs_vjp(self.w, self.wt, self.g, self.inv_tau, h, self.xk if xk is None else xk, lam, ds, f, *scratch,
                      self.gw, self.g_gate, self.gb, self.g_gbias, self.no_steps)

    def gate_grads(self, extra: np.ndarray) -> dict[str, np.ndarray]:
        """The gate parameters' gradients from the gate quadratures `extra`
        (what follows the taus' in ``u``), aligned like the network's."""
        split = 3 * self.n_slots
        return gate_grads(self.net, extra[:split].reshape(3, self.n_slots).astype(self.net.dtype),
                          extra[split:].reshape(3, -1).astype(self.net.dtype))
