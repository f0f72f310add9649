"""SciPy's explicit Runge-Kutta solvers (RK23, RK45, DOP853) with each
attempted step in one compiled call.

`solve_ivp` drives these classes exactly as it drives SciPy's own: the same
tableaux, the same initial step, step-size control, error norms, dense output
and counts. Only the inside of a step changes: SciPy's `rk_step` calls the
right-hand side once per stage from Python and combines the stages with NumPy
(serial passes, each with Python overhead); here one call of
`_kernels.embedded.rk_attempt` (or its threaded twin) computes every stage
and the error norm. Results agree with SciPy's classes to rounding, and the
steps are the same (same evaluation counts; tested).

The state is neuron-major (``y[i * batch + b]``), the kernels' own layout, so
a batch needs no transposes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.integrate import DOP853, RK23, RK45

try:  # SciPy's step-size control constants, so that the steps stay SciPy's
    from scipy.integrate._ivp.rk import MAX_FACTOR, MIN_FACTOR, SAFETY
except ImportError:  # a private module: its values in SciPy 1.x
    SAFETY, MIN_FACTOR, MAX_FACTOR = 0.9, 0.2, 10

from ._kernels import entry_point
from ._kernels.embedded import rk_attempt, rk_attempt_parallel

__all__ = ["Stepper", "COMPILED_SOLVERS"]


class Stepper:
    """What a compiled step needs besides the solver's own state.

    Parameters
    ----------
    w : Wiring
    inv_tau : ndarray, shape (n_neurons,)
    batch : int
    n_outputs : int
    inputs : callable
        ``inputs(times) -> ndarray (len(times), n_inputs, batch)``, C-contiguous.
    n_chunks : callable
        Returns the thread choice for the kernel (0: one thread), read at
        every step so the caller can set it after building the solver.
    """

    def __init__(self, w, inv_tau: np.ndarray, batch: int, n_outputs: int,
                 inputs: Callable[[np.ndarray], np.ndarray], n_chunks: Callable[[], int]):
        self.w = w
        self.inv_tau = inv_tau
        self.inputs = inputs
        self.n_chunks = n_chunks
        self.ybuf = np.empty((n_outputs, batch))
        self._entries = {}  # threaded or not -> compiled entry point

    def attempt(self, solver, t: float, h: float) -> tuple[np.ndarray, float]:
        """Fill the solver's stages for a step of `h` from `t`; return
        ``(y_new, error_norm)``."""
        xs = self.inputs(t + h * solver._stage_times)
        K = solver.K
        K[0] = solver.f
        y_new = np.empty_like(solver.y)
        args = (self.w, self.inv_tau, solver._A, solver._B, solver._E, solver._E3, K, solver.y, float(h), xs,
                self.ybuf, solver._stage, y_new, solver._rtol, solver._atol, solver._err)
        n_chunks = self.n_chunks()
        if n_chunks:
            args += (n_chunks,)
        kernel = self._entries.get(bool(n_chunks))
        if kernel is None:
            kernel = self._entries[bool(n_chunks)] = entry_point(rk_attempt_parallel if n_chunks else rk_attempt,
                                                                 *args)
        return y_new, kernel(*args)


class _CompiledSteps:
    """Mixin over SciPy's `RungeKutta`: `_step_impl` with the stages compiled.

    Takes the extra keyword ``stepper`` (a `Stepper`), which `solve_ivp`
    passes through from its options.
    """

    def __init__(self, fun, t0, y0, t_bound, *, stepper: Stepper, **options):
        super().__init__(fun, t0, y0, t_bound, **options)
        # the compiled step reads the state as C-contiguous: a y0 that is a
        # strided view (a column of an earlier solution) must be copied
        self.y = np.ascontiguousarray(self.y)
        self._stepper = stepper
        self._stage = np.empty((2, self.n))
        self._err = np.empty((2, self.n))
        self._rtol = np.ascontiguousarray(np.broadcast_to(np.asarray(self.rtol, dtype=float), (self.n,)))
        self._atol = np.ascontiguousarray(np.broadcast_to(np.asarray(self.atol, dtype=float), (self.n,)))
        # contiguous copies, so that every method shares one compiled kernel
        self._A, self._B = np.ascontiguousarray(self.A), np.ascontiguousarray(self.B)
        self._stage_times = np.append(self.C, 1.0)
        if hasattr(self, "E5"):
            self._E, self._E3 = np.ascontiguousarray(self.E5), np.ascontiguousarray(self.E3)
        else:
            self._E, self._E3 = np.ascontiguousarray(self.E), np.empty(0)

    def _step_impl(self):
        # SciPy's RungeKutta._step_impl with `rk_step` and the error norm
        # replaced by one compiled call.
        t, y = self.t, self.y
        min_step = 10 * np.abs(np.nextafter(t, self.direction * np.inf) - t)
        h_abs = min(max(self.h_abs, min_step), self.max_step)
        step_rejected = False
        while True:
            if h_abs < min_step:
                return False, self.TOO_SMALL_STEP
            h = h_abs * self.direction
            t_new = t + h
            if self.direction * (t_new - self.t_bound) > 0:
                t_new = self.t_bound
            h = t_new - t
            h_abs = np.abs(h)
            y_new, error_norm = self._stepper.attempt(self, t, h)
            self.nfev += self.n_stages
            if error_norm < 1:
                factor = MAX_FACTOR if error_norm == 0 else min(MAX_FACTOR, SAFETY * error_norm ** self.error_exponent)
                if step_rejected:
                    factor = min(1, factor)
                h_abs *= factor
                break
            h_abs *= max(MIN_FACTOR, SAFETY * error_norm ** self.error_exponent)
            step_rejected = True
        self.h_previous = h
        self.y_old = y
        self.t = t_new
        self.y = y_new
        self.h_abs = h_abs
        self.f = self.K[-1].copy()
        return True, None


class CompiledRK23(_CompiledSteps, RK23):
    """SciPy's RK23 with compiled steps."""


class CompiledRK45(_CompiledSteps, RK45):
    """SciPy's RK45 with compiled steps."""


class CompiledDOP853(_CompiledSteps, DOP853):
    """SciPy's DOP853 with compiled steps."""


#: The method names `solve` accepts, mapped to their compiled classes.
COMPILED_SOLVERS = {"RK23": CompiledRK23, "RK45": CompiledRK45, "DOP853": CompiledDOP853}
