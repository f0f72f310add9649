"""Fixed points and slow points of a network, by SciPy root finding with
the analytic Jacobian from seeded starts, deduplicated, with the
eigenvalues of the Jacobian at each point."""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike

from ._checks import check_int, check_real, constant_input, real_array
from ._gated import GatedModel, model_of
from ._model import Model, check_seed, check_stepping
from .results import FixedPoints

__all__ = ["fixed_points", "DENSE_MAX", "N_LEADING", "SAME", "SAME_SLOW"]

#: Up to this many neurons: dense Jacobians, SciPy's ``root(method="hybr")``
#: and every eigenvalue; beyond: Newton's method with the sparse Jacobian
#: (GMRES, SuperLU when it stalls) and the `N_LEADING` leading eigenvalues
#: through ``scipy.sparse.linalg.eigs``.
DENSE_MAX = 500
#: Eigenvalues kept beyond `DENSE_MAX` neurons.
N_LEADING = 20
#: Two fixed points are one when no coordinate differs by more than this
#: times ``1 + max |h|``.
SAME = 1e-6
#: The same for slow points (minima of q are found less sharply than roots).
SAME_SLOW = 1e-4


class _Problem:
    """G(h) = F(h) - h and its Jacobian at constant input x."""

    def __init__(self, model: Model | GatedModel, x: np.ndarray, dt):
        self.m, self.x, self.dt = model, x, dt

    def parts(self, h):
        target, s_h, s_o = self.m.relax(h, self.x)
        return target - h, s_h, s_o

    def G(self, h):
        return self.parts(h)[0]

    def step_jacobian(self, h, dense: bool):
        _, s_h, s_o = self.parts(h)
        J = self.m.step_jacobian(s_h, s_o)
        return J.toarray() if dense else J

    def residual(self, h) -> float:
        g = self.G(h)
        return float(np.linalg.norm(g if self.dt is None else g / self.m.tau))

    # -- root finding -------------------------------------------------------
    def solve_dense(self, h0, tol):
        import scipy.optimize as so

        n = h0.size
        eye = np.eye(n)

        def fun(h):
            g, s_h, s_o = self.parts(h)
            return g, self.m.step_jacobian(s_h, s_o).toarray() - eye

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            sol = so.root(fun, h0, jac=True, method="hybr", options={"xtol": 1e-13, "maxfev": 200 * (n + 1)})
        return self.polish(sol.x, tol, dense=True)

    def polish(self, h, tol, dense: bool, iterations: int = 50):
        """Newton's method with a backtracking line search on |G|."""
        import scipy.sparse as sp
        import scipy.sparse.linalg as spla

        n = h.size
        g = self.G(h)
        r = np.linalg.norm(g)
        for _ in range(iterations):
            if not np.isfinite(r) or r <= tol * 1e-3:
                break
            J = self.step_jacobian(h, dense)
            try:
                if dense:
                    dx = np.linalg.solve(J - np.eye(n), -g)
                else:
                    A = (J - sp.identity(n, format="csr")).tocsr()
                    dx, info = spla.gmres(A, -g, rtol=1e-12, atol=0.0, restart=min(n, 50), maxiter=20)
                    if info != 0:
                        dx = spla.spsolve(A.tocsc(), -g)
            except (np.linalg.LinAlgError, RuntimeError):
                break
            if not np.all(np.isfinite(dx)):
                break
            lam = 1.0
            for _ in range(30):
                h_new = h + lam * dx
                g_new = self.G(h_new)
                r_new = np.linalg.norm(g_new)
                if r_new < (1 - 1e-4 * lam) * r:
                    break
                lam *= 0.5
            else:
                break
            h, g, r = h_new, g_new, r_new
        return h

    def minimise_q(self, h0):
        """A local minimum of q = |G|^2 / 2 (|dh/dt|^2 / 2 in continuous time)."""
        import scipy.optimize as so

        w = 1.0 if self.dt is None else 1.0 / self.m.tau

        def fun(h):
            g, s_h, s_o = self.parts(h)
            e = g * w
            J = self.m.step_jacobian(s_h, s_o)
            # d q / d h = (J - I)^T diag(w) e
            grad = J.T @ (w * e) - w * e
            return 0.5 * float(e @ e), grad

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            sol = so.minimize(fun, h0, jac=True, method="L-BFGS-B",
                              options={"gtol": 1e-12, "ftol": 1e-16, "maxiter": 5000})
        return sol.x, float(np.max(np.abs(sol.jac))) if sol.jac is not None else np.inf

    # -- eigenvalues --------------------------------------------------------
    def eigenvalues(self, h) -> np.ndarray:
        n = h.size
        if n <= DENSE_MAX:
            J = self.step_jacobian(h, dense=True)
            if self.dt is not None:
                J = (J - np.eye(n)) / self.m.tau[:, None]
            lam = np.linalg.eigvals(J)
        else:
            import scipy.sparse as sp
            import scipy.sparse.linalg as spla

            J = self.step_jacobian(h, dense=False)
            if self.dt is not None:
                J = (sp.diags(1.0 / self.m.tau) @ (J - sp.identity(n, format="csr"))).tocsr()
            which = "LM" if self.dt is None else "LR"
            lam = spla.eigs(J, k=N_LEADING, which=which, return_eigenvectors=False, tol=1e-10,
                            maxiter=100 * n, v0=np.ones(n) / np.sqrt(n))
        key = -np.abs(lam) if self.dt is None else -lam.real
        return lam[np.lexsort((-lam.imag, key))]


def _dedup(points: list[np.ndarray], same: float) -> list[int]:
    """Indices of the first of each group of points closer than `same`."""
    keep: list[int] = []
    for i, p in enumerate(points):
        scale = same * (1.0 + np.max(np.abs(p)))
        if not any(np.max(np.abs(p - points[j])) <= scale for j in keep):
            keep.append(i)
    return keep


def fixed_points(
    net,
    x: ArrayLike | None = None,
    n_starts: int = 64,
    seed: int | np.random.Generator | None = 0,
    dt: float | None = None,
    tol: float = 1e-10,
    *,
    slow: bool = False,
    starts: ArrayLike | None = None,
) -> FixedPoints:
    """The fixed points of `net` under a constant input, their stability and
    the eigenvalues of the Jacobian at each.

    Parameters
    ----------
    net : Network
    x : array_like, shape (n_inputs,), optional
        The input held constant (default zeros).
    n_starts : int, default 64
        Starting states drawn from `seed` uniformly over each neuron's
        activation range (``(-1, 1)`` for tanh, ``(0, 1)`` for sigmoid; an
        unbounded side is cut at +-1). Ignored when `starts` is given.
    seed : int, numpy.random.Generator or None, default 0
    dt : float, optional
        Continuous time: solve dh/dt = 0 and judge stability by the
        eigenvalues of ``d(dh/dt)/dh``. The points do not depend on the value
        of dt (dh/dt = 0 exactly where h = phi(a(h))); only the stability
        rule does. Default: discrete time.
    tol : float, default 1e-10
        A start counts as a fixed point when ``|F(h) - h| <= tol`` after
        polishing.
    slow : bool, default False
        Also return slow points: local minima of q that are not fixed
        points (``q = |F(h) - h|^2 / 2``; ``|dh/dt|^2 / 2`` in continuous
        time), from the same starts, with their q.
    starts : array_like, shape (n_starts, n_neurons) or (n_neurons,), optional
        The starting states themselves.

    Returns
    -------
    FixedPoints
        ``states`` (K, n_neurons), ``residual`` (K,), ``eigenvalues`` (K, m),
        ``stable`` (K,), ``q`` (K,), ``slow`` (K,), ``to_pandas()``; arrays
        in the network's dtype (complex64 eigenvalues for float32), computed
        in float64.

    Raises
    ------
    TypeError
        An argument of the wrong kind.
    ValueError
        A shape that does not fit (the message states the expected one), a
        non-finite value, or a non-positive `tol`, `dt` or `n_starts`.

    Notes
    -----
    The map is the network's step with the input held at `x` and the
    outputs fed back (design sections 3 and 4)::

        F(h) = phi(W h + U x + F g(V h + D x + c) + b)

    with Jacobian ``J = diag(phi'(a)) (W + F diag(g'(z)) V)``. Discrete time:
    h* = F(h*), stable when every ``|lambda(J)| < 1``. Continuous time:
    ``dh/dt = (F(h) - h) / tau = 0``, stable when every ``Re lambda < 0``
    for ``diag(1/tau) (J - I)``. A network with gated neurons (design
    section 8) has the gated step for F on the state ``(h, c)`` (the LSTM
    neurons' cell states after the neurons') and its exact Jacobian
    (`analysis._gated`); GRU neurons in continuous time relax as
    ``dh/dt = (F(h) - h) / tau``, the GRU-ODE, so the same rule holds.

    Up to 500 neurons each start goes to SciPy's ``root(method="hybr")``
    with the dense analytic Jacobian, then Newton's method polishes it;
    beyond, Newton's method with a line search solves with the sparse
    Jacobian (GMRES) and ``scipy.sparse.linalg.eigs`` gives the 20 leading
    eigenvalues. Points within ``1e-6 (1 + max |h|)`` of one another (every
    coordinate) are one. Slow points minimise q by L-BFGS-B with its
    analytic gradient ``(J - I)^T (F(h) - h)``.

    Examples
    --------
    >>> import networkx as nx, simulator as sim
    >>> G = nx.DiGraph([("a", "a", {"weight": 2.0})])   # h = tanh(2 h)
    >>> fp = sim.fixed_points(sim.compile(G), n_starts=16)
    >>> fp.states.ravel().round(4), fp.stable
    (array([ 0.    , -0.9575,  0.9575]), array([False,  True,  True]))
    >>> sim.fixed_points(sim.compile(G), n_starts=16, dt=0.1).stable
    array([False,  True,  True])
    """
    dt = check_stepping(dt, None)[0]
    model = model_of(net, continuous=dt is not None)
    n = model.n
    if n == 0:
        raise ValueError("`net` has no hidden neurons: there is no state to analyse")
    tol = check_real(tol, "tol")
    if not isinstance(slow, (bool, np.bool_)):
        raise TypeError(f"`slow` must be True or False, got {slow!r}")
    xc = constant_input(x, model.n_in)
    if starts is None:
        n_starts = check_int(n_starts, "n_starts", 1)
        H0 = model.starts(check_seed(seed), n_starts)
    else:
        a = np.asarray(starts)
        if a.ndim == 1:
            a = a[None, :]
        H0 = real_array(a, "starts", (None, n), f"(n_starts, {n})")
        if H0.shape[0] == 0:
            raise ValueError(f"`starts` must hold at least one state of shape ({n},); got none")
    problem = _Problem(model, xc, dt)
    dense = n <= DENSE_MAX

    found: list[np.ndarray] = []
    for h0 in H0:
        h = problem.solve_dense(h0, tol) if dense else problem.polish(h0.copy(), tol, dense=False)
        if np.all(np.isfinite(h)) and np.linalg.norm(problem.G(h)) <= tol:
            found.append(h)
    slow_found: list[tuple[np.ndarray, float]] = []
    if slow:
        grad_tol = np.sqrt(tol)
        for h0 in H0:
            h, grad = problem.minimise_q(h0)
            if not np.all(np.isfinite(h)) or grad > grad_tol:
                continue
            g = np.linalg.norm(problem.G(h))
            if g <= np.sqrt(tol):  # a fixed point, approached by the minimiser: polish it
                h = problem.polish(h, tol, dense)
                if np.linalg.norm(problem.G(h)) <= tol:
                    found.append(h)
                continue
            slow_found.append((h, grad))

    keep = _dedup(found, SAME)
    fixed = sorted((found[i] for i in keep), key=lambda h: (round(float(np.linalg.norm(h)), 9), tuple(h)))
    slow_points = [h for h, _ in slow_found]
    if slow_points:
        keep = _dedup(fixed + slow_points, SAME_SLOW)
        slow_points = [slow_points[i - len(fixed)] for i in keep if i >= len(fixed)]
    w = 1.0 if dt is None else 1.0 / model.tau

    def q_of(h):
        e = problem.G(h) * w
        return 0.5 * float(e @ e)

    slow_points.sort(key=q_of)
    points = fixed + slow_points
    m = n if dense else N_LEADING
    K = len(points)
    states = np.array(points).reshape(K, n)
    eig = np.empty((K, m), dtype=complex)
    for i, h in enumerate(points):
        eig[i] = problem.eigenvalues(h)
    if dt is None:
        stable = np.abs(eig).max(axis=1) < 1 if m else np.ones(K, dtype=bool)
    else:
        stable = eig.real.max(axis=1) < 0 if m else np.ones(K, dtype=bool)
    residual = np.array([problem.residual(h) for h in points])
    # computed in float64; returned in the network's dtype (complex64 for float32)
    dtype = np.dtype(net.dtype)
    return FixedPoints(
        states=states.astype(dtype),
        residual=residual.astype(dtype),
        eigenvalues=eig.astype(np.result_type(dtype, np.complex64)),
        stable=np.asarray(stable, dtype=bool),
        q=np.array([q_of(h) for h in points], dtype=dtype),
        slow=np.arange(K) >= len(fixed),
        x=xc.astype(dtype),
        dt=dt,
        network=net,
        n_starts=H0.shape[0],
    )
