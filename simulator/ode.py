"""`solve`: the continuous-time network as an ODE, through `scipy.integrate.solve_ivp`.

The right-hand side is the same jitted polling kernel the fixed-step methods
use, called with preallocated inputs and no validation per call; with the
explicit methods SciPy's solvers take each attempted step in one compiled
call (`simulator.explicit`). The implicit methods (Radau, BDF, LSODA) get
the analytic Jacobian ::

    J = diag(phi'(a) / tau) (W + F diag(g'(z)) V) - diag(1 / tau)

dense or sparse, whichever factorises faster for the graph at hand
(`simulator.jacobians`), a sparse one factorised in a fill-reducing order
(`simulator.implicit`). A held input is integrated piecewise, so no step
straddles a jump.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Callable, Literal

import numpy as np
from numpy.typing import ArrayLike

from . import threads
from ._kernels import continuous as kernels
from ._kernels import gated as gated_kernels
from ._kernels import entry_point
from .arrays import require_finite, to_public
from .errors import raise_if_nonfinite
from .inputs import make_signal
from .jacobians import choose_jacobian, local_jacobians
from .methods import ODE_METHODS, check_ode_method
from .network import Network
from .delays import refuse_delays
from .simulate import refuse_gated
from .ode_args import check_options, check_span, check_tolerances, tolerance_layout
from .progress import AUTO_DELAY, clock, progress_bar
from .results import Result

__all__ = ["solve", "ODE_METHODS", "SolverError"]

#: The methods of `ODE_METHODS` that take a Jacobian.
IMPLICIT = ("Radau", "BDF", "LSODA")
#: Explicit methods whose steps run as one compiled call (`simulator.explicit`).
COMPILED = ("RK23", "RK45", "DOP853")
JACOBIANS = ("auto", "dense", "sparse", "none")


class SolverError(RuntimeError):
    """`solve_ivp` gave up; the message is SciPy's, with the largest state at that time."""


def _largest_state(net: Network, h: np.ndarray) -> str:
    """Where a failed solve's state ``h`` (n_neurons, batch) is largest in magnitude, as a hint."""
    if h.size == 0:
        return ""
    i, b = np.unravel_index(np.argmax(np.abs(h)), h.shape)
    where = f" (batch element {b})" if h.shape[1] > 1 else ""
    return (f"; largest state there: neuron {net.neurons[i]!r}{where} = {h[i, b]:.3g} "
            "(a runaway? check the weights and any unbounded activation)")


def solve(
    net: Network,
    x: ArrayLike | Callable[[float], ArrayLike] | None,
    t_span: tuple[float, float],
    dt: float | None = None,
    method: str = "BDF",
    t_eval: ArrayLike | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    h0: ArrayLike | None = None,
    *,
    interpolation: Literal["hold", "linear"] = "hold",
    jacobian: Literal["auto", "dense", "sparse", "none"] = "auto",
    parallel: bool | None = None,
    check_finite: bool = True,
    progress: bool | None = None,
    **options,
) -> Result:
    """Integrate the continuous-time network with `scipy.integrate.solve_ivp`.

    Parameters
    ----------
    net : Network
    x : callable, array_like or None
        ``x(t)`` returning shape (n_inputs,) (the same input for every batch
        element) or (batch, n_inputs), finite; or samples of shape
        (n_samples, [batch,] n_inputs) spaced `dt` apart; None for no input.
    t_span : (float, float)
        ``(t0, t1)`` with ``t0 < t1``; samples must cover it.
    dt : float, optional
        Spacing of the samples: with ``interpolation="hold"`` sample k holds on
        ``[k dt, (k + 1) dt)`` and the integration restarts at every jump;
        with ``"linear"`` sample k sits at ``k dt``.
    method : {"RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA"}
        SciPy's method. The implicit ones get the analytic Jacobian.
    t_eval : array_like, optional
        Times at which to record the state (default: the solver's own steps).
    rtol, atol : float or array_like
        Tolerances, passed to SciPy: a number, one value per neuron, or one
        per state entry (``batch * n_neurons``, batch element by element).
    h0 : array_like, shape (n_neurons,) or (batch, n_neurons), optional
        Initial state at ``t0`` (default zeros). A batch may be empty (the
        result then has a batch axis of 0, as in `run`).
    interpolation : {"hold", "linear"}
        How samples become a signal.
    jacobian : {"auto", "dense", "sparse", "none"}
        For the implicit methods: ``"auto"`` chooses from the graph (see
        `simulator.jacobians.choose_jacobian`); ``"none"`` lets SciPy difference.
    parallel : bool, optional
        Threads in the right-hand side (default: by the work of a step and
        the cores free when the solve starts, as in `run`).
    check_finite : bool
        Raise `NonFiniteError` if the solution overflows.
    progress : bool, optional
        A progress bar over simulated time: tqdm when installed, else (when
        asked for with True) a line of text on stderr. Default: a tqdm bar
        drawn once the solve has taken a few seconds
        (`simulator.progress.AUTO_DELAY`).
    **options
        Passed to SciPy's solver: the keywords its class takes that `solve`
        does not set itself (``max_step``, ``first_step``; LSODA's
        ``min_step``; ``jac_sparsity``, ``lband``, ``uband`` with
        ``jacobian="none"``). Any other has no effect, and a warning says so.

    Returns
    -------
    Result
        ``times`` (n_times,): `t_eval`, or ``t0`` and the solver's steps;
        ``states`` (n_times, [batch,] n_neurons) at those times (``h0`` first
        when ``t0`` is among them); ``outputs[k] = y(times[k + 1])``
        (n_times - 1 rows, a held input read just before each time); ``info`` holds
        SciPy's counts (``nfev``, ``njev``, ``nlu``), ``status``, ``message``,
        the Jacobian form used and the threads the right-hand side ran on.

    Warns
    -----
    UserWarning
        An argument or option that has no effect with the chosen method or
        input (the message lists the options that do).

    Raises
    ------
    TypeError
        ``args`` (inputs come through `x`).
    ValueError
        A reversed or empty `t_span`, `t_eval` outside it, an unknown method
        (the message lists them), tolerances that make no sense, inputs that do
        not cover `t_span`, shapes that do not fit, a non-finite value in `h0`
        or returned by ``x(t)`` (the message names the time and input).
    NonFiniteError
        When the solution overflows (with `check_finite`, or when SciPy
        fails on a non-finite state): the time and neuron, as `run` names them.
    SolverError
        When SciPy fails: its message, the time, and the neuron whose state is
        largest there.

    Notes
    -----
    A batch is solved as one system of ``batch * n_neurons`` equations.
    RK23, RK45 and DOP853 run SciPy's own step control with every attempted
    step (all its stages and the error estimate) in one compiled call
    (`simulator.explicit`; float64 networks); a held input is constant on
    each piece between its jumps, every stage included. GRU neurons follow
    the GRU-ODE ``tau dh/dt = (1 - z)(n - h)`` (`simulator.run`) with every
    method (SciPy's own steps, the right-hand side compiled; the implicit
    methods with the GRU-ODE's analytic Jacobian, `simulator.jacobians`);
    LSTM neurons are refused by node.

    Examples
    --------
    >>> import numpy as np, networkx as nx, simulator as sim
    >>> G = nx.DiGraph([("x", "h")]); G.nodes["x"]["role"] = "input"
    >>> net = sim.compile(G)
    >>> res = sim.solve(net, lambda t: [1.0], (0.0, 3.0), t_eval=[0.0, 1.0, 3.0], method="RK45")
    >>> res["h"].round(4)                      # tanh(1) (1 - e^{-t})
    array([0.    , 0.4814, 0.7237])
    """
    if not isinstance(net, Network):
        raise TypeError(f"`net` must be a Network from simulator.compile, got {type(net).__name__}")
    refuse_gated(net, continuous=True)
    refuse_delays(net, "`solve` runs (continuous time)")
    check_ode_method(method)
    if jacobian not in JACOBIANS:
        raise ValueError(f"`jacobian` must be one of {JACOBIANS}, got {jacobian!r}")
    if method not in IMPLICIT and jacobian in ("dense", "sparse"):
        warnings.warn(f"`jacobian={jacobian!r}` has no effect with the explicit method {method!r}", stacklevel=2)
    if callable(x) and dt is not None:
        warnings.warn("`dt` has no effect when `x` is a callable", stacklevel=2)
    if interpolation != "hold" and (x is None or callable(x)):
        warnings.warn("`interpolation` has no effect unless `x` is given as samples", stacklevel=2)
    check_tolerances(rtol, atol)
    options = check_options(options, method, jacobian)

    n, dtype = net.n_neurons, net.dtype
    h0a = None if h0 is None else np.asarray(h0, dtype=dtype)
    if h0a is not None and (h0a.ndim not in (1, 2) or h0a.shape[-1] != n):
        raise ValueError(f"`h0` must have shape ({n},) or (batch, {n}); got {h0a.shape}")
    if h0a is not None:
        require_finite(h0a, "h0")
    t0_guess = float(t_span[0]) if np.ndim(t_span) == 1 and len(t_span) == 2 else 0.0
    signal = make_signal(net, x, dt, interpolation, t0_guess, None if h0a is None or h0a.ndim == 1 else h0a.shape[0])
    t0, t1, t_eval = check_span(t_span, t_eval, signal.end())
    if signal.samples is not None and np.isfinite(signal.dt) and t0 < 0:
        raise ValueError(f"the input samples start at t = 0 but `t_span` starts at {t0:g}")
    batch = signal.batch
    batched = signal.batched or (h0a is not None and h0a.ndim == 2)

    n_threads = threads.plan((net.n_edges + n) * batch, parallel)
    system = _System(net, signal, batch, neuron_major=method not in IMPLICIT,
                     one_thread=n_threads < 2 or n == 0, t0=t0)  # as `threads.using` decides
    y = np.zeros(n * batch) if h0a is None else system.flat(np.broadcast_to(h0a, (batch, n)).T).astype(np.float64)
    form, jac = _jacobian(system, method, jacobian, t0, y)
    kwargs = dict(options, **({} if jac is None else {"jac": jac}))
    solver = _solver_class(system, method, form, kwargs)
    rtol = tolerance_layout(rtol, n, batch, system.neuron_major, "rtol")
    atol = tolerance_layout(atol, n, batch, system.neuron_major, "atol")

    bar = progress_bar(progress is not False, t1 - t0, "solve", "time", AUTO_DELAY if progress is None else 0.0,
                       text=progress is True)
    system.tick = None if bar is None else clock(bar, t0, t1)
    with threads.using(n_threads, n) as system.n_chunks, bar if bar is not None else contextlib.nullcontext():
        t_all, Y, counts, failure = _integrate(system, solver, y, t0, t1, t_eval, method,
                                               dict(kwargs, rtol=rtol, atol=atol))
        if system.tick is not None:
            system.tick(t1)

    # The states from the solver's layout (n_times, size) to the kernels' (n_times, n_neurons, batch)
    if system.neuron_major:
        states = Y.reshape(len(t_all), n, batch).astype(dtype)
    else:
        states = np.ascontiguousarray(Y.reshape(len(t_all), batch, n).transpose(0, 2, 1)).astype(dtype)
    steps = len(t_all) - 1
    xs = signal.many(t_all[1:], left=True) if steps > 0 else np.empty((0, net.n_inputs, batch), dtype=dtype)
    outputs = np.empty((max(steps, 0), net.n_outputs, batch), dtype=dtype)
    kernels.read_outputs(system.w, states, xs, outputs)
    times_out = t_all.astype(dtype)
    if check_finite or failure is not None:
        raise_if_nonfinite(net, states, outputs, times_out, batched)
    if failure is not None:
        where, why = failure
        raise SolverError(f"solve_ivp ({method}) failed at t = {where:g}: {why.rstrip('.')}"
                          f"{_largest_state(net, states[-1])}")
    info = {"mode": "ode", "method": method, "dt": dt, "jacobian": form, "threads": n_threads, **counts}
    return Result(
        states=to_public(states, batched),
        outputs=to_public(outputs, batched),
        times=times_out,
        inputs=to_public(xs, batched),
        network=net,
        info=info,
    )


class _System:
    """The network as `solve_ivp`'s system of ``batch * n_neurons`` equations.

    The explicit methods keep the kernels' neuron-major layout
    (``y[i * batch + b]``); the implicit ones are batch-major, so that a
    batch's Jacobian is block diagonal. The solve sets, as it goes,
    `n_chunks` (the kernels' thread choice, 0: one thread), `tick` (the
    progress clock) and, through `hold`, the input of a piece over which it
    is constant.
    """

    def __init__(self, net: Network, signal, batch: int, neuron_major: bool, one_thread: bool, t0: float):
        self.net, self.signal, self.batch, self.neuron_major = net, signal, batch, neuron_major
        self.n, self.dtype = net.n_neurons, net.dtype
        self.w = net.wiring()
        self.inv_tau = np.ascontiguousarray(1.0 / net.tau)
        self.ybuf = np.empty((net.n_outputs, batch), dtype=self.dtype)
        self.n_chunks = 0
        self.tick = None
        self.n_stage_times = 0  # inputs per compiled step (`simulator.explicit`), 0: not compiled
        self.held = self.held_stages = None
        self.seen = (t0, None)  # the last time and state the right-hand side was asked for
        # One thread: the kernel gets None for its chunks, and never compiles the threaded code.
        self.gates = net.gates() if net.gated else None
        if self.gates is not None:  # GRU and plain neurons, one thread
            self._rhs = None
            return
        self._rhs = entry_point(kernels.rhs, self.w, self.inv_tau, self.state(np.zeros(self.n * batch)),
                                signal.at(t0), self.ybuf, np.empty((self.n, batch), self.dtype),
                                None if one_thread else 1)

    def state(self, y: np.ndarray) -> np.ndarray:
        """The solver's state as the kernels' C-contiguous (n_neurons, batch), in the net's dtype."""
        y = np.ascontiguousarray(y, dtype=self.dtype)
        if self.neuron_major or self.batch == 1:
            return y.reshape(self.n, self.batch)
        return np.ascontiguousarray(y.reshape(self.batch, self.n).T)

    def flat(self, h: np.ndarray) -> np.ndarray:
        """Kernel layout (n_neurons, batch) as the solver's state vector."""
        return h.ravel() if self.neuron_major or self.batch == 1 else h.T.ravel()

    def hold(self, value: np.ndarray | None) -> None:
        """Take `value` (n_inputs, batch) as the input until further notice (None: read the signal)."""
        self.held = value
        if value is not None and self.n_stage_times:
            self.held_stages = np.ascontiguousarray(np.broadcast_to(value, (self.n_stage_times, *value.shape)))

    def inputs(self, t: float) -> np.ndarray:
        """The input at time `t` (n_inputs, batch)."""
        return self.signal.at(t) if self.held is None else self.held

    def stage_inputs(self, times: np.ndarray) -> np.ndarray:
        """The inputs at the stage times of a compiled step (len(times), n_inputs, batch)."""
        if self.tick is not None:
            self.tick(times[0])
        return self.held_stages if self.held is not None else self.signal.many(times)

    def fun(self, t: float, y: np.ndarray) -> np.ndarray:
        """dy/dt, as `solve_ivp` calls it."""
        if self.tick is not None:
            self.tick(t)
        self.seen = (t, y)
        out = np.empty((self.n, self.batch), dtype=self.dtype)
        if self.gates is not None:
            gated_kernels.gated_rhs(self.w, self.gates, self.inv_tau, self.state(y), self.inputs(t), self.ybuf, out)
            return self.flat(out)
        self._rhs(self.w, self.inv_tau, self.state(y), self.inputs(t), self.ybuf, out, self.n_chunks or None)
        return self.flat(out)


def _jacobian(system: _System, method: str, jacobian: str, t0: float, y0: np.ndarray):
    """The Jacobian's form (``"dense"``, ``"sparse"``, ``"none"``: SciPy
    differences) and the function `solve_ivp` calls for it (None for "none")."""
    if method not in IMPLICIT or jacobian == "none" or y0.size == 0:
        return "none", None
    import scipy.sparse as sp

    local = local_jacobians(system.net, system.batch)

    def matrices(t, y):
        return local(system.state(y), np.ascontiguousarray(system.inputs(t)))

    form = jacobian if jacobian != "auto" else choose_jacobian(matrices(t0, y0)[0])
    if method == "LSODA" and form == "sparse":
        return "none", None  # SciPy's LSODA takes a dense (or banded) Jacobian only

    def jac(t, y):
        mats = matrices(t, y)
        J = mats[0] if len(mats) == 1 else sp.block_diag(mats, format="csr")
        return J.toarray() if form == "dense" else J.tocsc()

    return form, jac


def _solver_class(system: _System, method: str, form: str, kwargs: dict):
    """SciPy's method, or the subclass that runs it: factorisations in a
    fill-reducing order (found once, `kwargs`'s ``fill_order``) and reused
    (`simulator.implicit`), or every step
    compiled (`simulator.explicit`, which adds its ``stepper`` to `kwargs`)."""
    if (form == "sparse" and method == "Radau") or (form != "none" and method == "BDF"):
        from .implicit import ORDERED_SOLVERS, FillOrder

        kwargs["fill_order"] = FillOrder()  # shared by the pieces: one search for the pattern's order
        return ORDERED_SOLVERS[method]
    if method in COMPILED and system.dtype == np.float64 and system.n * system.batch and system.gates is None:
        from .explicit import COMPILED_SOLVERS, Stepper

        solver = COMPILED_SOLVERS[method]
        system.n_stage_times = solver.n_stages + 1
        kwargs["stepper"] = Stepper(system.w, system.inv_tau, system.batch, system.net.n_outputs,
                                    system.stage_inputs, lambda: system.n_chunks)
        return solver
    return method


def _integrate(system: _System, solver, y: np.ndarray, t0: float, t1: float, t_eval: np.ndarray | None,
               method: str, kwargs: dict, dense: list | None = None):
    """Integrate from `y` at `t0` to `t1`, piecewise between the jumps of a
    held input (constant on each piece); every piece starts from the end
    state of the one before. With a list `dense`, each piece's dense output
    is appended to it as ``(a, b, OdeSolution)`` (the steps are the same:
    SciPy's steps do not depend on it).

    Returns
    -------
    times : ndarray (n_times,)
    values : ndarray (n_times, size)
        The states at `times` in the solver's layout.
    counts : dict
        SciPy's ``nfev``, ``njev``, ``nlu`` summed over the pieces, and the
        last piece's ``status`` and ``message``.
    failure : (float, str) or None
        Where and why SciPy gave up (the history then ends there).
    """
    import scipy.integrate

    signal = system.signal
    is_held = signal.samples is not None and signal.interpolation == "hold"
    edges = [t0, *signal.jumps(t0, t1), t1]
    times, values = [], []
    if t_eval is None or (t_eval.size and t_eval[0] == t0):
        times.append(np.array([t0]))
        values.append(y[:, None])
    counts = {"nfev": 0, "njev": 0, "nlu": 0, "status": 0, "message": ""}
    failure = None
    for a, b in zip(edges[:-1], edges[1:]):
        if is_held:
            system.hold(signal.at(0.5 * (a + b)))
        wanted = None if t_eval is None else t_eval[(t_eval > a) & (t_eval <= b)]
        seg_eval = None if wanted is None else np.union1d(wanted, [b])
        try:
            sol = scipy.integrate.solve_ivp(system.fun, (a, b), y, method=solver, t_eval=seg_eval,
                                            dense_output=dense is not None, **kwargs)
        except ValueError as exc:
            # NumPy's check inside SciPy's linear algebra: its arithmetic broke down (Radau's on a runaway)
            if "must not contain infs or NaNs" not in str(exc):
                raise
            t_seen, y_seen = system.seen
            last = "" if y_seen is None else _largest_state(system.net, system.state(y_seen))
            raise SolverError(f"solve_ivp ({method}) failed near t = {t_seen:g}: {exc}{last}") from exc
        for key in ("nfev", "njev", "nlu"):
            counts[key] += int(getattr(sol, key, 0) or 0)
        counts["status"], counts["message"] = sol.status, sol.message
        keep = slice(1, None) if wanted is None else np.isin(sol.t, wanted)
        times.append(sol.t[keep])
        values.append(sol.y[:, keep])
        if dense is not None and sol.success:
            dense.append((a, b, sol.sol))
        if not sol.success:
            # The history ends at the solver's last state: its last step, which
            # `t_eval` need not hold (then the piece is retraced; the steps do not
            # depend on `t_eval`).
            last = sol if wanted is None else scipy.integrate.solve_ivp(system.fun, (a, b), y, method=solver,
                                                                        **kwargs)
            failure = (last.t[-1], sol.message)
            if last.t[-1] > np.concatenate([[-np.inf], *times])[-1]:
                times.append(last.t[-1:])
                values.append(last.y[:, -1:])
            break
        y = sol.y[:, -1]
    return np.concatenate(times), np.concatenate(values, axis=1).T, counts, failure
