"""Lyapunov exponents by QR re-orthonormalisation of tangent vectors.

The trajectory comes from `simulator.run`; the tangents are pushed through
the exact Jacobian of each step (discrete) or of each fixed-step integrator
step (continuous), sparse products only, by the jitted kernels of
`simulator._kernels.tangent`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from .._kernels import tangent as kernels
from ._checks import check_int, real_array
from ..methods import METHODS, step_coefficients
from ._gated import GatedModel, gated_tangent_logs, model_of
from ._model import Model, check_seed, check_stepping
from .results import LyapunovSpectrum

__all__ = ["lyapunov", "FREE_STEPS", "FULL_MAX", "DEFAULT_EXPONENTS"]

#: Steps after the warm-up of an autonomous run when `x` is None.
FREE_STEPS = 1000
#: Every exponent is computed by default up to this many neurons.
FULL_MAX = 500
#: Exponents computed by default beyond `FULL_MAX` neurons.
DEFAULT_EXPONENTS = 10
#: Slopes held at once (floats), per chunk of steps.
CHUNK_FLOATS = 2_000_000


def _inputs(x, n_in: int, warmup: int) -> tuple[np.ndarray, bool]:
    if x is None:
        return np.zeros((warmup + FREE_STEPS, n_in)), True
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return np.zeros((check_int(x, "x", 1), n_in)), True
    if isinstance(x, bool):
        raise TypeError("`x` must be an array of inputs, an int (steps without input) or None, got a bool")
    a = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if a.ndim == 3:
        raise ValueError(f"`x` must have shape (n_steps, {n_in}): one unbatched input sequence; got {a.shape}")
    return real_array(a, "x", (None, n_in), f"(n_steps, {n_in})"), False


def _slopes(model: Model, coef: np.ndarray | None, H: np.ndarray, X: np.ndarray, Xprev: np.ndarray,
            first: bool) -> tuple[np.ndarray, np.ndarray]:
    """The slopes of the steps from the rows of `H` (C, n) driven by `X`
    (C, n_in), stage by stage: arrays (C, S, n) and (C, S, n_out). `coef`:
    the fixed-step method's coefficients (stage states from them), None in
    discrete time."""
    if coef is None:
        # a[t] = W h[t] + U x[t] + F y[t-1] + b with y[t-1] = g(V h[t] + D x[t-1] + c); y[-1] = 0.
        Z = model.z(H, Xprev)
        Y = model.phi_o(Z)
        s_o = model.phi_o(Z, 1)
        if first:
            Y[0] = 0.0
            s_o[0] = 0.0
        A = model.drive(H, X, Y)
        return model.phi_h(A, 1)[:, None], s_o[:, None]
    n_stages = coef.shape[1] - 1
    s_h = np.empty((H.shape[0], n_stages, model.n))
    s_o = np.empty((H.shape[0], n_stages, model.n_out))
    targets = []
    for st in range(n_stages):
        stage = coef[:, st, 0] * H + sum(coef[:, st, 1 + j] * targets[j] for j in range(st))
        target, s_h[:, st], s_o[:, st] = model.relax(stage, X)
        targets.append(target)
    return s_h, s_o


def lyapunov(
    net,
    x: ArrayLike | int | None = None,
    n_exponents: int | None = None,
    dt: float | None = None,
    method: Literal["euler", "exp_euler", "rk4"] | None = None,
    h0: ArrayLike | None = None,
    warmup: int = 100,
    seed: int | np.random.Generator | None = 0,
) -> LyapunovSpectrum:
    """Lyapunov exponents of `net` along a run, by QR re-orthonormalisation
    of tangent vectors pushed through the exact Jacobian of every step.

    Parameters
    ----------
    net : Network
    x : array_like, shape (n_steps, n_inputs); int; or None
        The drive, in the column order of ``net.inputs``. An int runs that
        many steps without input (autonomous); None runs ``warmup + 1000``
        steps without input.
    n_exponents : int, optional
        How many of the largest exponents, ``1 .. n_neurons``. Default: all
        of them up to 500 neurons, else 10.
    dt : float, optional
        Continuous time with this fixed step (exponents per unit time).
    method : {"euler", "exp_euler", "rk4"}, optional
        The fixed-step integrator (default ``"rk4"``; needs `dt`). The
        tangents follow that integrator's step exactly.
    h0 : array_like, shape (n_neurons,), optional
        Initial state (with LSTM neurons, shape (n_neurons + n_lstm,): the
        cell states after the neurons'); default drawn from `seed` uniformly over each neuron's
        activation range (``(-1, 1)`` for tanh; an unbounded side cut at
        +-1), so that a free run does not start on a fixed point.
    warmup : int, default 100
        Steps run (tangents pushed and re-orthonormalised) before averaging,
        ``0 <= warmup < n_steps``.
    seed : int, numpy.random.Generator or None, default 0
        Draws h0 (when not given), then the initial tangents: the Q of the
        QR of the transpose of an (n_exponents, n_neurons) standard normal
        matrix (so the first tangents do not depend on n_exponents).

    Returns
    -------
    LyapunovSpectrum
        ``exponents`` (n_exponents,), descending; ``history``
        (n_steps - warmup, n_exponents), the running estimates, whose last
        row equals ``exponents``; in the network's dtype (the tangents are
        pushed in float64).

    Raises
    ------
    TypeError
        An argument of the wrong kind.
    ValueError
        A shape that does not fit (the message states the expected one), a
        non-finite value, ``warmup >= n_steps``, an unknown `method`, or a
        `method` without `dt`.

    Notes
    -----
    Discrete time (design section 3) steps ``h[t+1] = phi(a[t])`` with
    ``a[t] = W h[t] + U x[t] + F y[t-1] + b`` and ``y[t-1] = g(V h[t] + D
    x[t-1] + c)``, so the Jacobian of a step includes the feedback loop::

        J[t] = diag(phi'(a[t])) (W + F diag(g'(z[t])) V)

    (no F-V term in the first step: ``y[-1] = 0``). In continuous time the
    Jacobian of ``dh/dt`` is ``diag(1/tau) (diag(phi'(a)) (W + F diag(g'(z))
    V) - I)`` and the tangents take exactly the integrator's step (Euler,
    exponential Euler, or RK4 through its four stages). After each step
    ``Q R = J Q`` re-orthonormalises the tangents and the exponents are the
    averages of ``log |R_jj|`` over the steps after the warm-up (divided by
    `dt` in continuous time). Gated neurons (design section 8): the
    tangents follow the exact Jacobian of the gated step on the state
    ``(h, c)`` (an LSTM's cells after the neurons), and for GRU neurons in
    continuous time that of the Euler or RK4 step of the GRU-ODE through
    its stages (`analysis._gated`; scipy.sparse products; exponential Euler
    and LSTM neurons in continuous time are refused). A linear network gives ``log |lambda(W)|``
    (discrete) and ``Re lambda((W - I) / tau)`` as dt -> 0.

    Examples
    --------
    >>> import networkx as nx, simulator as sim
    >>> G = nx.DiGraph([("a", "a", {"weight": 0.5})])
    >>> G.nodes["a"]["activation"] = "identity"
    >>> ly = sim.lyapunov(sim.compile(G), 200, warmup=10)
    >>> ly.exponents.round(6), ly.history.shape     # log 0.5
    (array([-0.693147]), (190, 1))
    """
    dt, method = check_stepping(dt, method)
    model = model_of(net, continuous=dt is not None)
    warmup = check_int(warmup, "warmup", 0)
    n = model.n
    if n == 0:
        raise ValueError("`net` has no hidden neurons: there is no state to analyse")
    if n_exponents is None:
        k = n if n <= FULL_MAX else min(DEFAULT_EXPONENTS, n)
    else:
        k = check_int(n_exponents, "n_exponents", 1)
        if k > n:
            raise ValueError(f"`n_exponents` must be <= n_neurons = {n}, got {k}")
    rng = check_seed(seed)
    X, autonomous = _inputs(x, model.n_in, warmup)
    n_steps = X.shape[0]
    if warmup >= n_steps:
        raise ValueError(f"`warmup` ({warmup}) must be smaller than the number of steps ({n_steps})")
    if h0 is None:
        h0 = model.starts(rng, 1)[0]
    else:
        h0 = real_array(h0, "h0", (n,), f"({n},)")
    Q = np.ascontiguousarray(np.linalg.qr(rng.standard_normal((k, n)).T)[0])

    import simulator as sim

    step = 1.0 if dt is None else dt
    if isinstance(model, GatedModel):
        nh = net.n_neurons
        res = sim.run(net, X.astype(net.dtype), h0=h0[:nh].astype(net.dtype), dt=dt, method=method, progress=False,
                      **({"c0": h0[nh:].astype(net.dtype)} if model.n_c else {}))
        states = np.hstack([res.states, res.cells] if model.n_c else [res.states]).astype(np.float64)
        logs = gated_tangent_logs(model, states, X, dt, method, Q)
        return _spectrum(net, logs, warmup, step, dt, method, autonomous)
    res = sim.run(net, X.astype(net.dtype), h0=h0.astype(net.dtype), dt=dt, method=method, progress=False)
    states = np.asarray(res.states, dtype=np.float64)

    if dt is None:
        coef = None
        kernel_coef = np.zeros((n, 2, 2))
        kernel_coef[:, 0, 0] = kernel_coef[:, 1, 1] = 1.0  # q' = P q
    else:
        coef = kernel_coef = step_coefficients(METHODS[method], dt, model.tau)[0]
    csr = []
    for M in (model.W, model.F, model.V):
        csr += [M.indptr.astype(np.int64), M.indices.astype(np.int64), M.data.astype(np.float64)]
    chunk = max(1, CHUNK_FLOATS // ((kernel_coef.shape[1] - 1) * max(n, 1)))
    logs = np.empty((n_steps, k))
    Xprev = np.vstack([np.zeros((1, model.n_in)), X[:-1]])
    for t0 in range(0, n_steps, chunk):
        t1 = min(n_steps, t0 + chunk)
        s_h, s_o = _slopes(model, coef, states[t0:t1], X[t0:t1], Xprev[t0:t1], t0 == 0)
        kernels.run_tangents(kernel_coef, *csr, np.ascontiguousarray(s_h), np.ascontiguousarray(s_o), Q,
                             logs[t0:t1])
    return _spectrum(net, logs, warmup, step, dt, method, autonomous)


def _spectrum(net, logs: np.ndarray, warmup: int, step: float, dt, method, autonomous: bool) -> LyapunovSpectrum:
    """The running averages of the steps' `logs` (n_steps, k) after the
    warm-up, per unit time, sorted by the last row."""
    n_steps = logs.shape[0]
    history = np.cumsum(logs[warmup:], axis=0) / (step * np.arange(1, n_steps - warmup + 1))[:, None]
    order = np.argsort(-history[-1], kind="stable")
    history = np.ascontiguousarray(history[:, order], dtype=net.dtype)  # float64 tangents, the network's dtype out
    return LyapunovSpectrum(exponents=history[-1].copy(), history=history, dt=dt, method=method,
                            warmup=warmup, n_steps=n_steps, autonomous=autonomous, network=net)
