"""The Jacobian of the continuous-time network, and the choice between a
dense and a sparse one for the implicit ODE methods.

With ``z = V h + D x + c``, ``y = g(z)`` and ``a = W h + U x + F y + b``::

    J = d(dh/dt)/dh = diag(phi'(a) / tau) (W + F diag(g'(z)) V) - diag(1 / tau)

A network with GRU neurons (the GRU-ODE, design section 8) has the same
pattern: ``J = A_W + A_F diag(g'(z)) V + diag(d)``, with ``A_W`` on W's
entries and ``A_F`` on F's holding each edge's derivative through the
candidate and both gates (`_kernels.gated_continuous`), and ``d`` each
neuron's own decay ``-(1 - z) / tau``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._kernels import continuous as kernels
from ._kernels.gated_continuous import gated_jacobian_values
from .arrays import float_array, require_finite
from .network import Network

__all__ = ["jacobian", "choose_jacobian", "Blocks", "local_jacobians"]

#: Systems up to this size always get a dense Jacobian.
DENSE_MAX_SMALL = 200
#: Systems past this size always get a sparse one (a dense one would not fit).
DENSE_MAX = 8000
#: Sparse when the LU factors of I - J/2 (`implicit.factorise`: minimum-degree
#: order, diagonal pivots) hold less than this fraction of n^2. Measured here:
#: a small-world graph (k = 10, p = 0.05) fills to 0.077 at N = 2,000 (sparse
#: LU 20 ms, LAPACK's dense one 57-78 ms) and 0.105 at N = 500 (1.6 against
#: 2.8 ms); random graphs with in-degree 10 fill to ~0.5 and the dense LU is
#: 1.7-2x faster (14 against 24 ms at N = 1,000).
FILL_LIMIT = 0.3


class Blocks:
    """SciPy matrices of the edge blocks, for the Jacobian."""

    def __init__(self, net: Network):
        import scipy.sparse as sp

        self.sp = sp
        n, n_out = net.n_neurons, net.n_outputs
        weight = net.weight.astype(np.float64)

        def csr(block, shape):
            return sp.csr_matrix(
                (weight[block.edge], block.indices.astype(np.int64), block.indptr.astype(np.int64)), shape=shape
            )

        W, _, F, V, _ = net.layout.by_target
        self.W = csr(W, (n, n))
        self.F = csr(F, (n, n_out))
        self.V = csr(V, (n_out, n))
        self.inv_tau = 1.0 / net.tau.astype(np.float64)

    def matrix(self, s_h: np.ndarray, s_o: np.ndarray):
        """One batch element's ``diag(s_h) (W + F diag(s_o) V) - diag(1/tau)`` (CSR)."""
        sp = self.sp
        M = self.W
        if self.F.nnz and self.V.nnz:
            M = M + self.F @ sp.diags(s_o) @ self.V
        return (sp.diags(s_h) @ M - sp.diags(self.inv_tau)).tocsr()

    def gated_matrix(self, on_w: np.ndarray, on_f: np.ndarray, s_o: np.ndarray, diag: np.ndarray):
        """One batch element's ``A_W + A_F diag(s_o) V + diag(diag)`` (CSR),
        ``A_W`` and ``A_F`` with W's and F's pattern and the values `on_w`
        and `on_f` in their slot order (a network with GRU neurons)."""
        sp = self.sp
        M = sp.csr_matrix((on_w, self.W.indices, self.W.indptr), shape=self.W.shape)
        if self.F.nnz and self.V.nnz:
            M = M + sp.csr_matrix((on_f, self.F.indices, self.F.indptr), shape=self.F.shape) @ sp.diags(s_o) @ self.V
        return (M + sp.diags(diag)).tocsr()


def local_jacobians(net: Network, batch: int):
    """``matrices(h, xt)``: each batch element's Jacobian ``d(dh/dt)/dh``
    (float64 CSR) at the states `h` (n_neurons, batch) and inputs `xt`
    (n_inputs, batch), C-contiguous in the network's dtype; for plain
    networks and networks of GRU and plain neurons alike."""
    blocks = Blocks(net)
    w, n = net.wiring(), net.n_neurons
    inv_tau = np.ascontiguousarray(1.0 / net.tau)
    s_o = np.empty((net.n_outputs, batch), dtype=net.dtype)
    if not net.gated:
        s_h = np.empty((n, batch), dtype=net.dtype)

        def matrices(h, xt):
            kernels.jacobian_scales(w, inv_tau, h, xt, s_h, s_o)
            sh, so = s_h.astype(np.float64), s_o.astype(np.float64)
            return [blocks.matrix(sh[:, b], so[:, b]) for b in range(batch)]

        return matrices
    g, table = net.gates(), w.hidden
    vals = np.zeros((table.index.shape[0], batch), dtype=net.dtype)
    diag = np.empty((n, batch), dtype=net.dtype)
    segment = np.repeat(np.tile(np.arange(3), n), np.diff(table.ptr.astype(np.int64), axis=1).ravel()
                        ) if n else np.empty(0, dtype=np.int64)
    on_w, on_f = segment == 0, segment == 2  # hidden -> hidden and feedback slots, in W's and F's slot order

    def matrices(h, xt):
        gated_jacobian_values(w, g, inv_tau, h, xt, vals, diag, s_o)
        v, d, so = vals.astype(np.float64), diag.astype(np.float64), s_o.astype(np.float64)
        return [blocks.gated_matrix(v[on_w, b], v[on_f, b], so[:, b], d[:, b]) for b in range(batch)]

    return matrices


def choose_jacobian(J) -> str:
    """``"dense"`` or ``"sparse"``: which Jacobian factorises faster.

    Small systems are dense and very large ones sparse. In between, the fill
    decides: the sparse LU factors of ``I - J / 2`` (the matrix the implicit
    methods factorise, at a typical step) are computed once at the initial
    state. Graphs whose LU stays sparse (lattices, rings, small-world and
    layered graphs: short-range wiring) gain from the sparse Jacobian; random
    graphs with in-degree beyond a few fill in to about half of n^2, and a
    dense LU (LAPACK) is then faster than SuperLU on the same entries.
    `J` is one batch element's Jacobian (CSR) at the initial state.
    """
    n = J.shape[0]
    if n <= DENSE_MAX_SMALL:
        return "dense"
    if n > DENSE_MAX:
        return "sparse"
    import scipy.sparse as sp

    from .implicit import factorise

    factor, _ = factorise(sp.identity(n, format="csc") - 0.5 * J, None)
    fill = (factor.lu.L.nnz + factor.lu.U.nnz) / float(n) ** 2
    return "sparse" if fill < FILL_LIMIT else "dense"


def jacobian(net: Network, h: ArrayLike, x: ArrayLike | None = None, sparse: bool = False):
    """The Jacobian ``d(dh/dt)/dh`` of the continuous-time network at state `h`.

    Parameters
    ----------
    net : Network
    h : array_like, shape (n_neurons,)
    x : array_like, shape (n_inputs,), optional
        Inputs (default zeros).
    sparse : bool
        Return a ``scipy.sparse`` CSR matrix instead of a dense array.

    Returns
    -------
    ndarray or scipy.sparse.csr_matrix, shape (n_neurons, n_neurons)
        ``diag(phi'(a) / tau) (W + F diag(g'(z)) V) - diag(1 / tau)`` in the
        network's dtype (with GRU neurons, the GRU-ODE's: module docstring):
        its eigenvalues tell whether a fixed point is stable.

    Raises
    ------
    TypeError
        If `h` or `x` does not hold real numbers.
    ValueError
        If `h` or `x` has the wrong shape or a non-finite value (the message
        names the index); an LSTM neuron (discrete-time only), by name.

    Examples
    --------
    >>> import numpy as np, networkx as nx, simulator as sim
    >>> G = nx.DiGraph([(0, 1), (1, 0)])
    >>> sim.jacobian(sim.compile(G), np.zeros(2))
    array([[-1.,  1.],
           [ 1., -1.]])
    >>> sim.jacobian(sim.compile(G, dtype="float32"), np.zeros(2)).dtype
    dtype('float32')
    """
    from .delays import refuse_delays
    from .simulate import refuse_gated  # simulate imports this module's neighbours

    refuse_gated(net, continuous=True)
    refuse_delays(net, "Jacobians")
    n = net.n_neurons
    h = float_array(h, "h", net.dtype)
    x = np.zeros(net.n_inputs, dtype=net.dtype) if x is None else float_array(x, "x", net.dtype)
    if h.shape != (n,):
        raise ValueError(f"`h` must have shape ({n},); got {h.shape}")
    if x.shape != (net.n_inputs,):
        raise ValueError(f"`x` must have shape ({net.n_inputs},); got {x.shape}")
    require_finite(h, "h")
    require_finite(x, "x")
    J = local_jacobians(net, 1)(np.ascontiguousarray(h[:, None]), np.ascontiguousarray(x[:, None]))[0]
    J = J.astype(net.dtype)
    return J if sparse else J.toarray()
