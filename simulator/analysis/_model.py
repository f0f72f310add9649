"""The network's equations in float64 NumPy / SciPy, for the analyses.

`Model` assembles the edge blocks of a compiled network as ``scipy.sparse``
CSR matrices (rows = targets) straight from ``net.edge_kind``,
``net.edge_src``, ``net.edge_dst`` and ``net.weight``, and evaluates, for
rows of states ``H`` of shape (..., n_neurons),

    z = V h + D x + c,       y = g(z)
    a = W h + U x + F y + b,  h' = phi(a)

with the activations' values and slopes (`PHI`). The Jacobian of the step
``h -> phi(a(h))`` (outputs fed back within the step) is

    J = diag(phi'(a)) (W + F diag(g'(z)) V)

and the one of ``dh/dt = (phi(a(h)) - h) / tau`` is ``diag(1/tau) (J - I)``.
Everything here is float64 whatever the network's dtype.
"""

from __future__ import annotations

import numpy as np

from ..methods import DEFAULT_METHOD, check_fixed_step

__all__ = ["Model", "PHI", "RANGES", "check_seed", "check_stepping"]


def _sigmoid(a):
    return np.exp(-np.logaddexp(0.0, -a))


#: Activation name -> (phi, phi') as NumPy functions of an array.
PHI = {
    "tanh": (np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),
    "sigmoid": (_sigmoid, lambda a: _sigmoid(a) * (1.0 - _sigmoid(a))),
    "hard_sigmoid": (lambda a: np.clip(a / 6.0 + 0.5, 0.0, 1.0),
                     lambda a: np.where((a > -3.0) & (a < 3.0), 1.0 / 6.0, 0.0)),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a: (a > 0).astype(np.float64)),
    "elu": (lambda a: np.where(a > 0, a, np.expm1(np.minimum(a, 0.0))),
            lambda a: np.where(a > 0, 1.0, np.exp(np.minimum(a, 0.0)))),
    "softplus": (lambda a: np.logaddexp(0.0, a), _sigmoid),
    "identity": (lambda a: a, lambda a: np.ones_like(a)),
    "sign": (np.sign, lambda a: np.zeros_like(a)),
}

#: Activation name -> the interval its values fill (an unbounded side is
#: cut at +-1), where the fixed-point search and the default initial states
#: draw their starts.
RANGES = {
    "tanh": (-1.0, 1.0),
    "sigmoid": (0.0, 1.0),
    "hard_sigmoid": (0.0, 1.0),
    "relu": (0.0, 1.0),
    "elu": (-1.0, 1.0),
    "softplus": (0.0, 1.0),
    "identity": (-1.0, 1.0),
    "sign": (-1.0, 1.0),
}

def check_seed(seed) -> np.random.Generator:
    """`seed` as a Generator (int, Generator or None)."""
    if isinstance(seed, bool) or not (seed is None or isinstance(seed, (int, np.integer, np.random.Generator))):
        raise TypeError(f"`seed` must be an int, a numpy.random.Generator or None, got {seed!r}")
    return np.random.default_rng(seed)


def check_stepping(dt, method) -> tuple[float | None, str | None]:
    """``(dt, method)`` of an analysis: ``(None, None)`` in discrete time,
    else a fixed step and its method (default ``"rk4"``), checked by
    `simulator.methods.check_fixed_step` as `simulator.run` checks them."""
    if dt is None:
        if method is not None:
            raise ValueError(f"`method` {method!r} needs `dt` (a fixed step in continuous time); "
                             "leave it None in discrete time")
        return None, None
    check_fixed_step(dt, method)
    return float(dt), DEFAULT_METHOD if method is None else method


class Model:
    """A network's blocks and activations, float64, for the analyses.

    Parameters
    ----------
    net : Network

    Attributes
    ----------
    W, U, F, V, D : scipy.sparse.csr_matrix
        Edge blocks, rows = targets: W (n, n), U (n, n_in), F (n, n_out),
        V (n_out, n), D (n_out, n_in).
    b, c : ndarray
        Neuron and output biases.
    tau : ndarray, shape (n,)
    """

    def __init__(self, net):
        import scipy.sparse as sp

        if not all(hasattr(net, a) for a in ("edge_kind", "edge_src", "edge_dst", "weight", "activations")):
            raise TypeError(f"`net` must be a Network from simulator.compile, got {type(net).__name__}")
        if net.gated:
            from ..simulate import refuse_gated

            refuse_gated(net, what="explorations (`sim.explore`)")
        if getattr(net, "has_delays", False):
            from ..delays import refuse_delays

            refuse_delays(net, "dynamics analyses (fixed points, Lyapunov spectra)")
        self.net = net
        n, n_in, n_out = net.n_neurons, net.n_inputs, net.n_outputs
        self.n, self.n_in, self.n_out = n, n_in, n_out
        kind, src, dst = np.asarray(net.edge_kind), np.asarray(net.edge_src), np.asarray(net.edge_dst)
        w = np.asarray(net.weight, dtype=np.float64)

        def block(code, shape):
            sel = kind == code
            return sp.csr_matrix((w[sel], (dst[sel].astype(np.int64), src[sel].astype(np.int64))), shape=shape)

        self.W = block(0, (n, n))
        self.U = block(1, (n, n_in))
        self.F = block(2, (n, n_out))
        self.V = block(3, (n_out, n))
        self.D = block(4, (n_out, n_in))
        bias = np.asarray(net.bias, dtype=np.float64)
        self.b, self.c = bias[:n], bias[n:]
        self.tau = np.asarray(net.tau, dtype=np.float64)
        acts = tuple(net.activations)
        self.act_h, self.act_o = acts[:n], acts[n:]
        self.feedback = self.F.nnz > 0 and self.V.nnz > 0
        if "sign" in self.act_h:
            self.smooth = False
        else:
            self.smooth = True

    # ------------------------------------------------------------ pieces
    @staticmethod
    def _mul(M, H):
        """``M h`` for every row h of `H` (..., m) -> (..., M.shape[0])."""
        if M.nnz == 0:
            return np.zeros(H.shape[:-1] + (M.shape[0],))
        if H.ndim == 1:
            return M @ H
        flat = H.reshape(-1, H.shape[-1])
        return np.asarray((M @ flat.T).T).reshape(H.shape[:-1] + (M.shape[0],))

    @staticmethod
    def _apply(names, A, which):
        """phi (which=0) or phi' (which=1) of `A` (..., m), column j by names[j]."""
        if not names:
            return np.empty_like(A)
        if all(a == names[0] for a in names):
            return PHI[names[0]][which](A)
        out = np.empty_like(A)
        arr = np.asarray(names)
        for name in set(names):
            cols = np.flatnonzero(arr == name)
            out[..., cols] = PHI[name][which](A[..., cols])
        return out

    def z(self, H, X):
        """Output drives ``V h + D x + c``."""
        return self._mul(self.V, H) + self._mul(self.D, X) + self.c

    def drive(self, H, X, Y):
        """Pre-activations ``W h + U x + F y + b`` for given outputs `Y`."""
        A = self._mul(self.W, H) + self._mul(self.U, X) + self.b
        if self.F.nnz:
            A = A + self._mul(self.F, Y)
        return A

    def phi_h(self, A, which=0):
        return self._apply(self.act_h, A, which)

    def phi_o(self, Z, which=0):
        return self._apply(self.act_o, Z, which)

    def relax(self, H, X):
        """``phi(a)`` with the outputs of the same state fed back, and the
        slopes ``phi'(a)``, ``g'(z)`` (continuous time and fixed points)."""
        Z = self.z(H, X)
        Y = self.phi_o(Z)
        A = self.drive(H, X, Y)
        return self.phi_h(A), self.phi_h(A, 1), self.phi_o(Z, 1)

    def step_jacobian(self, s_h, s_o):
        """``diag(s_h) (W + F diag(s_o) V)`` as CSR."""
        import scipy.sparse as sp

        M = self.W
        if self.feedback:
            M = M + self.F @ sp.diags(s_o) @ self.V
        return (sp.diags(s_h) @ M).tocsr()

    def starts(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """`count` states drawn uniformly over each neuron's activation range."""
        lo = np.array([RANGES[a][0] for a in self.act_h])
        hi = np.array([RANGES[a][1] for a in self.act_h])
        return lo + (hi - lo) * rng.random((count, self.n))
