"""SciPy's BDF and Radau with a sparse Jacobian's systems factorised in a
fill-reducing order, and BDF keeping a factorisation across small changes
of its step, incomplete where that approximates the inverse well enough
for Newton's iteration (`OrderedBDF`).

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
from scipy.sparse.linalg import spilu, splu

__all__ = ["ORDERED_SOLVERS", "FillOrder", "factorise", "OrderedLU"]

_NO_PIVOTING = {"diag_pivot_thresh": 0.0, "options": {"SymmetricMode": True}}
#: BDF's incomplete factorisations, tried in turn: entries below the drop
#: tolerance (relative) are dropped, and the factors may hold the fill
#: factor times the matrix's entries. The first suits BDF's small steps;
#: the second its larger ones, where the first no longer approximates the
#: inverse (the backward adjoint's ``I - c J^T`` at ``c / tau_min`` of 6 to
#: 45 on the stiff small-world network, N = 2,000): 7-12 ms against the
#: complete LU's 22-42 ms, 34,000 entries against 306,000, contracting by
#: 1e-4 to 5e-4 where the first did by 0.15-0.7.
ILU_TIERS = ((1e-3, 2.0), (1e-4, 8.0))
ILU_MAX_CONTRACTION = 0.1


class OrderedLU:
    """A SuperLU factorisation of ``A[order][:, order]`` that solves ``A x = b``."""

    def __init__(self, lu, order: np.ndarray | None, tier: int | None = None):
        self.lu = lu
        self.order = order
        self.tier = tier  # the index in ILU_TIERS of an incomplete one (len(ILU_TIERS): the complete LU)

    def solve(self, b: np.ndarray) -> np.ndarray:
        if self.order is None:
            return self.lu.solve(b)
        permuted = self.lu.solve(b[self.order])
        x = np.empty_like(permuted)
        x[self.order] = permuted
        return x


def factorise(A, order: np.ndarray | None, incomplete: bool = False, first_tier: int = 0):
    """LU of sparse `A` with the diagonal pivots kept, in `order` (None: find
    a minimum-degree order on ``A + A^T``). Returns ``(factor, order)``.
    SuperLU still swaps rows where a diagonal entry is exactly zero.

    `incomplete` (with an `order`): SuperLU's incomplete LU in that order,
    the first of `ILU_TIERS` from `first_tier` on that neither breaks down
    (a zero pivot) nor approximates the inverse worse than
    `ILU_MAX_CONTRACTION` along a probe vector; else the complete one. The
    factor's ``tier`` says which."""
    A = A.tocsc()
    if order is None:
        lu = splu(A, permc_spec="MMD_AT_PLUS_A", **_NO_PIVOTING)
        return OrderedLU(lu, None, len(ILU_TIERS)), np.argsort(lu.perm_c)
    B = A[order][:, order].tocsc()
    if incomplete:
        probe = np.ones(B.shape[0], dtype=B.dtype)
        for tier in range(first_tier, len(ILU_TIERS)):
            drop_tol, fill_factor = ILU_TIERS[tier]
            try:
                ilu = spilu(B, drop_tol=drop_tol, fill_factor=fill_factor, permc_spec="NATURAL")
            except RuntimeError:  # "Factor is exactly singular": the dropped entries mattered
                continue
            if np.linalg.norm(ilu.solve(B @ probe) - probe) <= ILU_MAX_CONTRACTION * np.linalg.norm(probe):
                return OrderedLU(ilu, order, tier), order
    return OrderedLU(splu(B, permc_spec="NATURAL", **_NO_PIVOTING), order, len(ILU_TIERS)), order


class FillOrder:
    """The fill-reducing order of one sparsity pattern (None until a
    factorisation has found it), shared by the solvers of consecutive pieces
    of a piecewise problem: each piece after the first starts with an
    incomplete factorisation in that order instead of a complete one and a
    new minimum-degree search (25-70 ms each on the stiff small-world
    network, N = 2,000). The order of ``I - c J`` serves ``I - c J^T`` too
    (it is found on ``A + A^T``)."""

    def __init__(self):
        self.order: np.ndarray | None = None


class _OrderedFactorisation:
    """Mixin over SciPy's BDF and Radau: `factorise` for a sparse Jacobian
    (incomplete where the class says `INCOMPLETE`). Takes the extra keyword
    ``fill_order``, a `FillOrder` that the solvers of a piecewise problem
    share."""

    INCOMPLETE = False

    def __init__(self, *args, fill_order: FillOrder | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._shared = FillOrder() if fill_order is None else fill_order
        # per tier of ILU_TIERS, the smallest largest diagonal entry of ``I - c J`` (1 + c / tau_min
        # without self-excitation: it grows with the step) at which it failed: not tried again above
        self._fails_from = [np.inf] * len(ILU_TIERS)
        if issparse(self.J):
            self.lu = self._factorise

    @property
    def fill_order(self) -> np.ndarray | None:
        """The fill-reducing order of the sparse systems (None: none found yet, or a dense Jacobian)."""
        return self._shared.order

    def _factorise(self, A):
        self.nlu += 1
        scale = float(np.max(np.abs(A.diagonal()))) if self.INCOMPLETE else 0.0
        first = 0
        while first < len(ILU_TIERS) and scale >= self._fails_from[first]:
            first += 1
        tried = self.INCOMPLETE and self._shared.order is not None  # else the complete LU, no tier tried
        factor, self._shared.order = factorise(A, self._shared.order, self.INCOMPLETE, first)
        for tier in range(first, min(factor.tier, len(ILU_TIERS)) if tried else 0):
            self._fails_from[tier] = min(self._fails_from[tier], scale)
        return factor


#: A factorisation of ``I - c J`` is reused while the Jacobian is the same
#: and ``c`` stays within this fraction of the ``c`` it was made for (CVODE's
#: rule).
REUSE_RATIO = 0.3


class OrderedBDF(_OrderedFactorisation, BDF):
    """SciPy's BDF; a sparse Jacobian's systems factorised by `factorise`,
    and a factorisation kept across small changes of the step.

    SciPy's BDF factorises ``I - c J`` afresh whenever the step size (so
    ``c``) changes: every five steps or so on a stiff network, and the
    factorisations dominated its time. Like CVODE, this one keeps the
    factorisation while J is unchanged and ``|c / c_made - 1| <
    REUSE_RATIO``. Newton's iteration corrects with the true residual, so a
    slightly stale matrix costs iterations, not accuracy; when it fails to
    converge, BDF evaluates a new J or halves the step, and either makes a
    fresh factorisation. ``nlu`` counts the factorisations made.
    Measured on the stiff networks of `benchmarks/bench_ode.py`: small-world
    (N = 2,000, sparse J) 1,386 factorisations -> 667 and 33.5 s -> 21.9 s;
    random (N = 1,000, dense J) 987 -> 431 and 19.4 s -> 13.9 s.

    A sparse system's factorisation is incomplete (`factorise`): Newton's
    iteration needs a good approximation of ``(I - c J)^{-1}``, not the exact
    inverse, and already works with a stale one. On the small-world network
    the incomplete factors hold about 20,000 entries against the complete
    ones' 300,000; a factorisation takes 7 against 20 ms and a solve 0.06
    against 0.34 ms, while one solve leaves a residual of 1e-3 (a Newton
    step contracts the error by about 5e-3): the evaluations stayed within
    3% (20,678 -> 21,392) and the solve went from 25.2 to 7.4 s.
    """

    INCOMPLETE = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # SciPy allocates the differences with np.empty and sets rows 0 and 1: the first step's
        # D[3] = d - D[2] subtracted whatever the memory held (overwritten before it is read, but
        # where that was a signalling NaN, NumPy warned "invalid value encountered in subtract":
        # now and then in a full test run, where warnings are errors, and in bench_adjoint's stiff run)
        self.D[2:] = 0.0
        self._jacobian = (0, self.J)  # (version, J): the J the next system is built from
        if self.jac is not None:
            evaluate = self.jac

            def tracked(t, y):
                J = evaluate(t, y)
                self._jacobian = (self._jacobian[0] + 1, J)
                return J

            self.jac = tracked
        self._kept = None  # (J version, c, factorisation)
        self.lu = self._reuse_or_factorise(self.lu)

    def _reuse_or_factorise(self, factorise_fresh):
        def lu(A):
            version, J = self._jacobian
            diag = J.diagonal() if issparse(J) else np.diagonal(J)
            k = int(np.argmax(np.abs(diag))) if diag.size else 0
            c = (1.0 - A[k, k]) / diag[k] if diag.size and diag[k] != 0 else None
            kept = self._kept
            if c is not None and kept is not None and kept[0] == version and abs(c / kept[1] - 1) < REUSE_RATIO:
                return kept[2]
            factor = factorise_fresh(A)  # SciPy's own dense LU overwrites A: c is read before
            self._kept = None if c is None else (version, c, factor)
            return factor

        return lu


class OrderedRadau(_OrderedFactorisation, Radau):
    """SciPy's Radau; a sparse Jacobian's systems factorised by `factorise`."""


#: The method names `solve` accepts, mapped to these classes.
ORDERED_SOLVERS = {"BDF": OrderedBDF, "Radau": OrderedRadau}
