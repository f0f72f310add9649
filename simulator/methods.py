"""Integration methods by name: the fixed-step ones that `run`, `bptt` and
`train` take with a ``dt`` (`METHODS`), the adaptive ones of `solve`
(`ODE_METHODS`), and the one check of a fixed-step request
(`check_fixed_step`) they share.

A fixed-step method is a table of coefficients. Every neuron follows
``tau dh/dt = p(h) - h`` with ``p(h) = phi(a(h))`` the value it relaxes
towards (`_kernels.continuous.relax_target`), so with ``r = dt / tau`` each
stage state and the step's result are affine in ``h`` and the earlier
stages' targets ``p_j = p(y_j)``::

    y_s = C[s, 0] h + sum_{j < s} C[s, 1 + j] p_j       (y_0 = h)
    h[k+1] = C[S, 0] h + sum_{j < S} C[S, 1 + j] p_j

per neuron (`coefficients`). One stage loop (`_kernels.continuous.fixed_step`)
runs every method from its ``C``, and BPTT pulls a step back through the
same ``C`` and its derivative in tau. Written this way, Euler is
``(1 - r) h + r p``, which at ``r = 1`` is the discrete update exactly.
A GRU neuron relaxes at a rate ``(1 - z) / tau`` that changes from stage to
stage, so networks with GRU neurons take the Butcher weights themselves
(`stage_table`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["METHODS", "DEFAULT_METHOD", "ODE_METHODS", "RungeKutta", "ExponentialEuler", "check_fixed_step",
           "check_ode_method", "step_coefficients", "stage_table"]


@dataclass(frozen=True)
class RungeKutta:
    """An explicit Runge-Kutta method by its Butcher tableau.

    Attributes
    ----------
    a : tuple of tuple of float
        Row ``s`` (s = 0 .. S - 1, row 0 empty): stage s's weights on the
        earlier stages' rates, ``y_s = h + dt sum_j a[s][j] k_j``.
    b : tuple of float, length S
        The result's weights, ``h[k+1] = h + dt sum_j b[j] k_j``.
    """

    a: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.a) != len(self.b) or any(len(row) != s for s, row in enumerate(self.a)):
            raise ValueError("`a` must have one row per stage, row s with s entries, and `b` one entry per stage")

    @property
    def n_stages(self) -> int:
        """S, the right-hand sides a step evaluates."""
        return len(self.b)

    def coefficients(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The per-neuron coefficients ``C`` (module docstring) for
        ``r = dt / tau`` (n_neurons,), and ``dC/dr``; both float64 of shape
        (n_neurons, S + 1, S + 1).

        With ``k_j = (p_j - y_j) / tau``, ``y_s = h + r sum_j w_j (p_j - y_j)``
        (``w`` row s of `a`, or `b` for the result) expands by recursion
        over the earlier stages' coefficients.
        """
        n_stages = self.n_stages
        C = np.zeros((r.size, n_stages + 1, n_stages + 1))
        dC = np.zeros_like(C)
        C[:, 0, 0] = 1.0
        for s in range(1, n_stages + 1):
            w = np.array(self.a[s] if s < n_stages else self.b, dtype=np.float64)
            # sum_j w_j y_j, as coefficients on h and the targets
            mix, dmix = C[:, :s, :].transpose(0, 2, 1) @ w, dC[:, :s, :].transpose(0, 2, 1) @ w
            own = np.zeros(n_stages + 1)
            own[1:s + 1] = w
            C[:, s, 0] = 1.0 - r * mix[:, 0]
            dC[:, s, 0] = -mix[:, 0] - r * dmix[:, 0]
            C[:, s, 1:] = r[:, None] * (own[1:] - mix[:, 1:])
            dC[:, s, 1:] = (own[1:] - mix[:, 1:]) - r[:, None] * dmix[:, 1:]
        return C, dC


@dataclass(frozen=True)
class ExponentialEuler:
    """The exponential Euler step ``h[k+1] = e^{-r} h + (1 - e^{-r}) p(h)``,
    exact while the drive is constant and stable for any step."""

    @property
    def n_stages(self) -> int:
        """One right-hand side a step."""
        return 1

    def coefficients(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As `RungeKutta.coefficients`."""
        decay = np.exp(-r)
        C = np.zeros((r.size, 2, 2))
        dC = np.zeros_like(C)
        C[:, 0, 0] = 1.0
        C[:, 1, 0], C[:, 1, 1] = decay, 1.0 - decay
        dC[:, 1, 0], dC[:, 1, 1] = -decay, decay
        return C, dC


#: Fixed-step methods of continuous time, name -> coefficients.
METHODS: dict[str, RungeKutta | ExponentialEuler] = {
    "euler": RungeKutta(a=((),), b=(1.0,)),
    "exp_euler": ExponentialEuler(),
    "rk4": RungeKutta(a=((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)), b=(1 / 6, 1 / 3, 1 / 3, 1 / 6)),
}
#: The fixed-step method used when only ``dt`` is given.
DEFAULT_METHOD = "rk4"
#: SciPy's `solve_ivp` methods, those `solve` takes.
ODE_METHODS: tuple[str, ...] = ("RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA")


def check_fixed_step(dt, method) -> RungeKutta | ExponentialEuler:
    """Validate `dt` and `method` of a fixed-step run; return the method
    (`DEFAULT_METHOD` when `method` is None).

    Raises
    ------
    TypeError
        If `dt` is not a real number.
    ValueError
        If `dt` is missing, not finite or not positive, or `method` is not a
        key of `METHODS` (the message lists them, and points an adaptive
        method to ``sim.solve``).
    """
    if dt is None:
        raise ValueError(f"`method={method!r}` needs a time step `dt`")
    if isinstance(dt, bool) or not isinstance(dt, (int, float, np.integer, np.floating)):
        raise TypeError(f"`dt` must be a real number, got {dt!r}")
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"`dt` must be finite and > 0, got {dt}")
    method = DEFAULT_METHOD if method is None else method
    if method not in METHODS:
        valid = ", ".join(repr(m) for m in METHODS)
        hint = " (adaptive ODE methods go through sim.solve)" if method in ODE_METHODS else ""
        raise ValueError(f"`method` must be one of {valid}, got {method!r}{hint}")
    return METHODS[method]


def check_ode_method(method) -> None:
    """Raise a `ValueError` listing `ODE_METHODS` unless `method` is one."""
    if method not in ODE_METHODS:
        raise ValueError(f"`method` must be one of {', '.join(repr(m) for m in ODE_METHODS)}, got {method!r}")


def step_coefficients(method: RungeKutta | ExponentialEuler, dt: float, tau: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """`method`'s per-neuron coefficients for step `dt` and time constants
    `tau`, and their derivatives in tau, C-contiguous for the kernels."""
    tau = tau.astype(np.float64)
    r = dt / tau
    C, dC = method.coefficients(r)
    return np.ascontiguousarray(C), np.ascontiguousarray(dC * (-r / tau)[:, None, None])


def stage_table(method: RungeKutta | ExponentialEuler) -> tuple[np.ndarray, bool]:
    """`method` as the gated kernel takes it (`_kernels.gated.gated_fixed_step`),
    where a GRU neuron's rate ``(1 - z) / tau`` changes from stage to stage so
    that the coefficients ``C`` cannot be tabled ahead: the Butcher weights
    as one float64 array of shape (S + 1, S) (row s < S: stage s's weights on
    the earlier stages; row S: the result's), and whether the step is the
    exponential Euler one (z and the target held over the step)."""
    if isinstance(method, ExponentialEuler):
        return np.array([[0.0], [1.0]]), True
    n_stages = method.n_stages
    table = np.zeros((n_stages + 1, n_stages))
    for s, row in enumerate((*method.a, method.b)):
        table[s, :len(row)] = row
    return table, False
