"""SciPy's BDF and Radau with a sparse Jacobian's systems factorised in a
fill-reducing order.

The implicit methods factorise ``I - c J`` (BDF; Radau's two systems likewise)
every time the step size changes. SciPy calls `splu` with its defaults:
COLAMD ordering and partial pivoting. On a network's Jacobian that fills in:
measured on a small-world graph (N = 2,000, k = 10, p = 0.05) the LU factors
hold 18% of n^2 (40 ms a factorisation), and partial pivoting makes it worse
as ``c`` grows. Ordering by minimum degree on ``A + A^T`` and keeping the
diagonal pivots holds them at 7.7% for every ``c`` (17 ms), and the whole BDF
solve of that network took half the time (72 s -> 36 s).

The pattern of ``I - c J`` never changes, so the ordering is computed once
(with the first factorisation) and applied as a symmetric permutation to the
later ones. Keeping the diagonal pivots is safe here: the diagonal of
``I - c J`` is ``1 + c (1 - phi' W_ii) / tau_i``, at least 1 without
self-excitation; a solve only serves Newton's iteration, whose residual uses
the true right-hand side (a poor factorisation costs iterations, not
accuracy), and when Newton fails the step shrinks towards ``I``. Where a
diagonal entry is exactly zero SuperLU still swaps rows.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import BDF, Radau
from scipy.sparse import issparse
from scipy.sparse.linalg import splu

__all__ = ["ORDERED_SOLVERS", "factorise", "OrderedLU"]

_NO_PIVOTING = {"diag_pivot_thresh": 0.0, "options": {"SymmetricMode": True}}


class OrderedLU:
    """A SuperLU factorisation of ``A[order][:, order]`` that solves ``A x = b``."""

    def __init__(self, lu, order: np.ndarray | None):
        self.lu = lu
        self.order = order

    def solve(self, b: np.ndarray) -> np.ndarray:
        if self.order is None:
            return self.lu.solve(b)
        permuted = self.lu.solve(b[self.order])
        x = np.empty_like(permuted)
        x[self.order] = permuted
        return x


def factorise(A, order: np.ndarray | None):
    """LU of sparse `A` with the diagonal pivots kept, in `order` (None: find
    a minimum-degree order on ``A + A^T``). Returns ``(factor, order)``.
    SuperLU still swaps rows where a diagonal entry is exactly zero."""
    A = A.tocsc()
    if order is None:
        lu = splu(A, permc_spec="MMD_AT_PLUS_A", **_NO_PIVOTING)
        return OrderedLU(lu, None), np.argsort(lu.perm_c)
    return OrderedLU(splu(A[order][:, order].tocsc(), permc_spec="NATURAL", **_NO_PIVOTING), order), order


class _OrderedFactorisation:
    """Mixin over SciPy's BDF and Radau: `factorise` for a sparse Jacobian."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if issparse(self.J):
            self._order = None
            self.lu = self._factorise

    def _factorise(self, A):
        self.nlu += 1
        factor, self._order = factorise(A, self._order)
        return factor


class OrderedBDF(_OrderedFactorisation, BDF):
    """SciPy's BDF; a sparse Jacobian's systems factorised by `factorise`."""


class OrderedRadau(_OrderedFactorisation, Radau):
    """SciPy's Radau; a sparse Jacobian's systems factorised by `factorise`."""


#: The method names `solve` accepts, mapped to these classes.
ORDERED_SOLVERS = {"BDF": OrderedBDF, "Radau": OrderedRadau}
