"""Gradients through the adaptive ODE mode (design section 11): the adjoint
method on the forward solution's dense output.

The forward pass is `simulator.solve`'s own integration (`ode._integrate`:
the same system, Jacobian, solver classes and pieces between the jumps of
the held input), run once with ``dense_output=True``; the loss is that of
the outputs at the target times ``t_k = (k + 1) dt``,
``y_k = g(V h(t_k) + D x[k] + c)``. With ``f(h) = (p(h) - h) / tau``,
``p(h) = phi(W h + U x + F g(V h + D x + c) + b)``, the adjoint state
``lambda(t) = dL/dh(t)`` and the parameter quadratures ``G`` solve ::

    d lambda/dt = -(df/dh)^T lambda = lambda / tau - (dp/dh)^T (lambda / tau)
    d G/dt      = -(df/dtheta)^T lambda

backwards from ``t_T`` to 0, piece by piece between the sample times
``k dt`` (the target times and the jumps of the held input): at ``t_k`` the
loss's jump is added (``lambda += V^T dz_k`` with ``dz_k = g'(z_k)
dL/dy_k``, and ``dz_k`` to the V, D and output-bias gradients directly),
then ``lambda`` alone is integrated backwards over ``[k dt, (k + 1) dt]``
with its input ``x[k]`` held, by the method's own SciPy solver class
stepped here. The quadratures are not part of that system (they would
multiply its size by the edges per neuron, and Newton's iteration and the
error control would carry them): after each accepted backward step,
``int lambda^T df/dtheta dt`` over it is taken by Gauss-Legendre
(`GAUSS_NODES`) on the step's interpolant of ``lambda`` and the forward
dense output of ``h`` (CVODES's quadratures without error control, which
is its default). ``dL/dh0 = lambda(0)``.

The products are the pull-back of continuous BPTT
(`_kernels.backward.relax_vjp`) with cotangent ``lambda / tau``, split in
two kernels (`_kernels.adjoint_rk`): `lam_rates` gives ``d lambda/dt``
alone (no edge's gradient formed), `quadrature_sums` at a step's nodes
every edge's and bias's ``lambda^T df/dtheta`` (through the output
feedback too) and the taus' ``lambda_i df_i/dtau_i = -lambda_i f_i /
tau_i`` from one gather of the pre-activations. With RK23, RK45 and DOP853
(float64 networks) each attempted backward step is one compiled call
(`AdjointStepper`: SciPy's class with `simulator.explicit`'s step, so the
same steps and error control), the forward dense output evaluated inside
at each stage from its steps' arrays (`PackedDense`). The implicit methods
get the transposed analytic Jacobian ``-J^T`` of the ``lambda`` system,
dense or sparse by the fill rule of `solve`, and BDF and Radau factorise
it as `solve` does (`implicit.ORDERED_SOLVERS`).

Networks with GRU neurons (the GRU-ODE) integrate the same way with
their own backward system (`simulator.gated_adjoint`: gate quadratures
after the taus', products from `_kernels.gated_continuous.gated_rhs_vjp`);
the implicit methods' Jacobian comes from `jacobians.local_jacobians` for
both.

Memory: the forward dense output (SciPy's interpolants, a few vectors per
accepted step) and the states at the target times; nothing per stage.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from . import threads
from ._kernels import continuous as kernels
from ._kernels import entry_point
from ._kernels.adjoint_rk import adjoint_attempt, dense_states, lam_rates, quadrature_sums, step_quadrature
from ._kernels.backward import readout_grads
from .arrays import prepare
from .errors import raise_if_nonfinite
from .gradients import Gradients, clip_norm
from .inputs import make_signal
from .jacobians import local_jacobians
from .losses import LOSSES
from .network import Network
from .ode import IMPLICIT, JACOBIANS, SolverError, _integrate, _jacobian, _largest_state, _solver_class, _System
from .ode_args import check_options, check_tolerances, tolerance_layout

__all__ = ["bptt_adaptive"]


#: Work per right-hand side, (edges + neurons) x batch, from which the
#: adjoint's kernels run on threads (`simulator.threads.plan` then decides by
#: the free cores, once for the whole call). Each kernel call here is one
#: right-hand side between SciPy's Python steps, not a compiled loop of
#: steps, and a call of that many threads waits at its barrier for any of
#: them that another process has descheduled: on the stiff small-world
#: network (N = 2,000, batch 1, work 22,000) two threads made the BDF
#: adjoint 8 s -> 67-93 s while other processes ran (load 3-4 on 2 cores),
#: where an idle loop of the same calls gained 1.15x.
PARALLEL_MIN_WORK = 250_000


def check_plain_units(net: Network) -> None:
    """Refuse a network with LSTM neurons, naming one: the adjoint
    differentiates plain and GRU neurons (`simulator.gated_adjoint`)."""
    units = getattr(net, "units", None)
    if units is None:
        return
    for i, unit in enumerate(np.asarray(units, dtype=object).ravel()):
        if unit not in (None, "", "plain", 0, "rnn", "gru"):
            raise ValueError(f"node {net.neurons[i]!r} is a gated unit ({unit!r}): the adaptive-method adjoint "
                             "differentiates plain and GRU neurons only")


def bptt_adaptive(
    net: Network,
    x,
    targets,
    loss: str,
    h0,
    dt: float | None,
    method: str,
    *,
    y_targets_of,
    clip: float | None = None,
    masks: dict | None = None,
    return_diagnostics: bool = False,
    rtol: Any = None,
    atol: Any = None,
    jacobian: str = "auto",
    t_eval=None,
    **options,
):
    """The loss of `simulator.solve`'s outputs at ``(k + 1) dt`` and its
    gradients by the adjoint method; `simulator.bptt`'s adaptive branch.

    Parameters
    ----------
    net, x, targets, loss, h0, dt, method, clip, return_diagnostics
        As in `simulator.bptt` (`x` samples held for `dt` each; `dt` the
        spacing of the samples and the targets).
    y_targets_of : callable
        ``y_targets_of(drive)``: the targets in kernel layout, validated.
    masks : dict
        What `clip` counts (`trainable.trained_masks`).
    rtol, atol : float or array_like, optional
        Both passes' tolerances (defaults those of `solve`, 1e-6 and 1e-8).
    jacobian : {"auto", "dense", "sparse"}
        The implicit methods' Jacobian, as in `solve` (``"none"`` refused).
    t_eval : array_like, optional
        Accepted when it holds every target time (the loss reads those).
    **options
        Passed to SciPy's solver in both passes, as `solve` passes them.

    Returns
    -------
    loss : float
    grads : Gradients
        With ``info``: the forward and backward ``nfev``, ``njev``, ``nlu``
        (and the backward's ``nquad``, the quadratures' evaluations), the
        forward's accepted steps, the bytes its dense output holds and the
        threads the kernels ran on (`PARALLEL_MIN_WORK`).
    """
    _check_request(net, dt, method, jacobian, t_eval)
    rtol = 1e-6 if rtol is None else rtol
    atol = 1e-8 if atol is None else atol
    check_tolerances(rtol, atol)
    options = check_options(options, method, jacobian)
    dt = float(dt)
    drive = prepare(net, x, h0)
    T, batch, n = drive.n_steps, drive.batch, net.n_neurons
    times = dt * np.arange(1, T + 1)
    if t_eval is not None:
        _check_t_eval(t_eval, times, dt)
    y_targets = y_targets_of(drive)
    work = (net.n_edges + n) * batch
    n_threads = threads.plan(work, None) if work >= PARALLEL_MIN_WORK else 1
    with threads.using(n_threads, n) as n_chunks:
        fwd = _forward(net, drive, dt, method, jacobian, rtol, atol, options, n_threads, n_chunks)
        value, gy = LOSSES[loss](fwd.outputs, y_targets)
        back = _backward(net, fwd, np.ascontiguousarray(gy), dt, method, rtol, atol, options, n_chunks,
                         return_diagnostics)
    g_weight, g_bias, g_tau, g_h0, dh_norm, edge_grad, gates = back.result
    order = net.layout.slot_edges
    weight = np.empty_like(g_weight)
    weight[order] = g_weight
    if edge_grad.shape[0]:
        edge_grad[:, order] = edge_grad.copy()
    if not drive.batched:
        h0_grad = g_h0[:, 0].copy()
    elif h0 is not None and np.ndim(h0) == 1:
        h0_grad = g_h0.sum(axis=1)
    else:
        h0_grad = g_h0.T.copy()
    dtype = net.dtype
    info = {"mode": "adjoint", "method": method, "jacobian": fwd.form, "rtol": rtol, "atol": atol,
            "forward": fwd.counts, "backward": back.counts,
            "forward_steps": fwd.n_steps, "dense_output_bytes": fwd.dense_bytes, "threads": n_threads}
    diagnostics = {"dh_norm": dh_norm.astype(dtype), "edge_grad": np.abs(edge_grad).astype(dtype)}
    grads = Gradients(weight.astype(dtype), g_bias.astype(dtype), g_tau.astype(dtype), h0_grad.astype(dtype),
                      diagnostics if return_diagnostics else {}, info=info, **gates)
    return value, clip_norm(grads, clip, masks)


def _check_request(net: Network, dt, method: str, jacobian: str, t_eval) -> None:
    """Refuse what cannot be differentiated, saying what to pass."""
    check_plain_units(net)
    if dt is None:
        raise ValueError(f"`method={method!r}` in `bptt` needs `dt=`, the spacing of the input samples and the "
                         f"targets: the loss is read at the times (k + 1) dt")
    if isinstance(dt, bool) or not isinstance(dt, (int, float, np.integer, np.floating)):
        raise TypeError(f"`dt` must be a real number, got {dt!r}")
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"`dt` must be finite and > 0, got {dt}")
    if jacobian not in JACOBIANS:
        raise ValueError(f"`jacobian` must be one of {JACOBIANS}, got {jacobian!r}")
    if method in IMPLICIT and jacobian == "none":
        raise ValueError(f"`jacobian='none'` cannot be differentiated with the implicit method {method!r}: its "
                         "backward solve needs the transposed analytic Jacobian. Pass jacobian='auto' (or 'dense', "
                         "'sparse'), or an explicit method ('RK45', 'RK23', 'DOP853')")
    if method not in IMPLICIT and jacobian in ("dense", "sparse"):
        warnings.warn(f"`jacobian={jacobian!r}` has no effect with the explicit method {method!r}", stacklevel=4)


def _check_t_eval(t_eval, times: np.ndarray, dt: float) -> None:
    """`t_eval` must hold every target time ``(k + 1) dt``."""
    t_eval = np.asarray(t_eval, dtype=np.float64).ravel()
    found = np.isclose(times[:, None], t_eval[None, :], rtol=0.0, atol=1e-9 * dt).any(axis=1)
    if not found.all():
        k = int(np.flatnonzero(~found)[0])
        raise ValueError(f"`t_eval` lacks the target time {times[k]:g} = ({k} + 1) dt: the loss is read at every "
                         f"(k + 1) dt. Pass t_eval=None (the target times) or include all of them, "
                         f"dt * np.arange(1, {times.size + 1})")


class _Forward:
    """The forward pass: dense output by piece, states and outputs at the target times."""

    def __init__(self, system, pieces, states, outputs, xs, counts, form, solver, fill_order):
        self.system, self.pieces, self.states, self.outputs, self.xs = system, pieces, states, outputs, xs
        self.counts, self.form, self.solver, self.fill_order = counts, form, solver, fill_order
        self.starts = np.array([a for a, _, _ in pieces])
        self.n_steps = sum(len(sol.ts) - 1 for _, _, sol in pieces)
        self.dense_bytes = sum(sum(getattr(i, "Q", np.empty(0)).nbytes + getattr(i, "y_old", np.empty(0)).nbytes
                                   + sum(getattr(i, name, np.empty(0)).nbytes for name in ("D", "F", "yh"))
                                   for i in sol.interpolants) for _, _, sol in pieces)

    def dense(self, k: int, dt: float):
        """The dense output covering ``[k dt, (k + 1) dt]`` (the pieces run between the input's jumps)."""
        return self.pieces[max(int(np.searchsorted(self.starts, (k + 0.5) * dt)) - 1, 0)][2]


def _forward(net, drive, dt, method, jacobian, rtol, atol, options, n_threads, n_chunks) -> _Forward:
    """`solve`'s integration over ``[0, T dt]`` with the held samples, once,
    keeping the dense output."""
    T, batch, n = drive.n_steps, drive.batch, net.n_neurons
    signal = make_signal(net, drive.x.transpose(0, 2, 1), dt, "hold", 0.0, batch)
    system = _System(net, signal, batch, neuron_major=method not in IMPLICIT, one_thread=n_threads < 2 or n == 0,
                     t0=0.0)
    system.n_chunks = n_chunks
    y0 = system.flat(drive.h0).astype(np.float64)
    form, jac = _jacobian(system, method, jacobian, 0.0, y0)
    kwargs = dict(options, **({} if jac is None else {"jac": jac}))
    solver = _solver_class(system, method, form, kwargs)
    times = dt * np.arange(1, T + 1)
    pieces: list = []
    tol = dict(rtol=tolerance_layout(rtol, n, batch, system.neuron_major, "rtol"),
               atol=tolerance_layout(atol, n, batch, system.neuron_major, "atol"))
    t_all, Y, counts, failure = _integrate(system, solver, y0, 0.0, T * dt, times, method, dict(kwargs, **tol),
                                           dense=pieces)
    dtype = net.dtype
    states = np.empty((len(t_all) + 1, n, batch), dtype=dtype)
    states[0] = drive.h0
    for r, yr in enumerate(Y):
        states[r + 1] = system.state(yr)
    xs = signal.many(times, left=True)
    outputs = np.empty((len(t_all), net.n_outputs, batch), dtype=dtype)
    kernels.read_outputs(system.w, states, xs[:len(t_all)], outputs)
    raise_if_nonfinite(net, states, outputs, np.concatenate([[0.0], t_all]).astype(dtype), drive.batched)
    if failure is not None:
        where, why = failure
        raise SolverError(f"solve_ivp ({method}) failed in the forward pass at t = {where:g}: {why.rstrip('.')}"
                          f"{_largest_state(net, states[-1])}")
    counts = {key: counts[key] for key in ("nfev", "njev", "nlu")}
    return _Forward(system, pieces, states, outputs, xs, counts, form, solver, kwargs.get("fill_order"))


class _AdjointSystem:
    """The backward system over one piece: ``u = [lambda, G]``, ``lambda``
    laid out as the forward state (`ode._System`), then the quadratures of
    the weights (in slot order), the biases and the taus."""

    def __init__(self, net: Network, system, n_chunks: int):
        self.net, self.system = net, system
        n, batch = net.n_neurons, system.batch
        self.m = n * batch
        self.n_edges, self.n_bias = net.n_edges, n + net.n_outputs
        self.size = self.m + self.n_edges + self.n_bias + n
        self.w, self.wt = net.wiring(), net.wiring_t()
        self.inv_tau = np.ascontiguousarray(1.0 / net.tau)
        self.n_chunks = n_chunks or None
        self.no_steps = np.zeros((0, self.n_edges), dtype=net.dtype)
        self.dense = self.xk = None
        self.seen = (0.0, None)

    def piece(self, dense, xk: np.ndarray) -> None:
        """Integrate next over the piece whose forward dense output is `dense`, input `xk` (n_inputs, batch)."""
        self.dense, self.xk = dense, np.ascontiguousarray(xk)

    def lam_rhs(self, t: float, lam_flat: np.ndarray) -> np.ndarray:
        """d lambda/dt alone, as the backward solver calls it (time running backwards)."""
        self.seen = (t, lam_flat)
        system = self.system
        h = system.state(self.dense(t))
        out = np.empty_like(h)
        lam_rates(self.w, self.wt, self.inv_tau, h, system.state(lam_flat), self.xk, out, self.n_chunks)
        return system.flat(out).astype(np.float64)

    def quadrature(self, H: np.ndarray, L: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``sum_j weights[j] dG/dt(t_j)``: the quadratures' integrand at the
        nodes ``t_j``, where the forward state is ``H[:, j]`` and the adjoint
        ``L[:, j]`` (solver layout), weighted and summed. The nodes are
        stacked on the batch axis of one pass (`_kernels.adjoint_rk.quadrature_sums`:
        linear in the cotangent, whose columns carry the weights)."""
        out = np.zeros(self.size - self.m, dtype=self.net.dtype)
        quadrature_sums(self.w, self.wt, self.inv_tau, self._neuron_major(H), self._neuron_major(L),
                        np.asarray(weights, dtype=np.float64), self.xk, *self._parts(out), self.n_chunks)
        return out

    def _parts(self, out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The weights', biases' and taus' parts of quadratures `out` (views)."""
        ne, nb = self.n_edges, self.n_bias
        return out[:ne], out[ne:ne + nb], out[ne + nb:]

    def _neuron_major(self, Y: np.ndarray) -> np.ndarray:
        """Columns of states in the solver's layout as C-contiguous
        neuron-major ones (``[i * batch + b, j]``), in the net's dtype."""
        system, k = self.system, Y.shape[1]
        if not system.neuron_major and system.batch > 1:
            Y = Y.reshape(system.batch, self.net.n_neurons, k).transpose(1, 0, 2).reshape(self.m, k)
        return np.ascontiguousarray(Y, dtype=self.net.dtype)


class PackedDense:
    """A piece's forward dense output from an explicit Runge-Kutta method
    (SciPy's ``OdeSolution`` of ``RkDenseOutput`` or ``Dop853DenseOutput``
    steps), its steps' arrays stacked for `_kernels.adjoint_rk.dense_state`;
    called as the ``OdeSolution`` (values equal to rounding)."""

    def __init__(self, sol):
        steps = sol.interpolants
        self.ts = np.ascontiguousarray(sol.ts, dtype=np.float64)
        self.dop853 = hasattr(steps[0], "F")
        self.y_old = np.stack([step.y_old for step in steps])
        self.Q = np.stack([step.F.T if self.dop853 else step.Q for step in steps])

    def __call__(self, t):
        times = np.atleast_1d(np.asarray(t, dtype=np.float64))
        out = np.empty((self.y_old.shape[1], times.size))
        dense_states(self.ts, self.y_old, self.Q, self.dop853, times, out)
        return out if np.ndim(t) else out[:, 0]


def _compiled(dispatcher, args: tuple, scratch: tuple):
    """The compiled entry point of `dispatcher` for the types of `args`
    (`_kernels.entry_point`): looked up when compiled already, else
    compiled by running it once on `scratch` (arguments of the same types
    whose outputs may be overwritten)."""
    import numba

    found = dispatcher.overloads.get(tuple(numba.typeof(a) for a in args))
    return found.entry_point if found is not None else entry_point(dispatcher, *scratch)


class AdjointStepper:
    """The compiled backward step of the ``lambda`` system, for
    `simulator.explicit`'s solver classes (their ``stepper``): each
    attempted step is one call of `_kernels.adjoint_rk.adjoint_attempt`,
    with the forward dense output of the piece `adj` integrates over
    (a `PackedDense`) evaluated inside at each stage's time."""

    def __init__(self, adj: _AdjointSystem):
        self.adj = adj
        self.hbuf = np.empty((adj.net.n_neurons, adj.system.batch))
        self._entry = self._quadrature = None

    def attempt(self, solver, t: float, h: float) -> tuple[np.ndarray, float]:
        """Fill the solver's stages for a step of `h` from `t`; return
        ``(y_new, error_norm)``."""
        adj, dense = self.adj, self.adj.dense
        K = solver.K
        K[0] = solver.f
        y_new = np.empty_like(solver.y)
        args = (adj.w, adj.wt, adj.inv_tau, solver._A, solver._B, solver._E, solver._E3, solver._stage_times,
                K, solver.y, float(t), float(h), dense.ts, dense.y_old, dense.Q, dense.dop853,
                adj.xk, self.hbuf, solver._stage, y_new, solver._rtol, solver._atol, solver._err, adj.n_chunks)
        if self._entry is None:
            self._entry = _compiled(adjoint_attempt, args, args)
        return y_new, self._entry(*args)

    def quadrature(self, solver, nodes: np.ndarray, weights: np.ndarray, out: np.ndarray) -> int:
        """Add ``int dG/dt dt`` over the step `solver` (RK23 or RK45) has
        just taken to `out` (`_kernels.adjoint_rk.step_quadrature`: its
        interpolant of ``lambda`` from its stages, as SciPy's dense output);
        return the number of evaluations."""
        adj, dense = self.adj, self.adj.dense
        args = (adj.w, adj.wt, adj.inv_tau, solver.K, solver.P, solver.y_old, float(solver.t_old),
                float(solver.t - solver.t_old), nodes, weights, max(1, QUADRATURE_ENTRIES // adj.m),
                dense.ts, dense.y_old, dense.Q, dense.dop853, adj.xk)
        args += (*adj._parts(out), adj.n_chunks)
        if self._quadrature is None:  # compiled, if need be, by running it once into scratch
            scratch = args[:-4] + (*adj._parts(np.zeros_like(out)), adj.n_chunks)
            self._quadrature = _compiled(step_quadrature, args, scratch)
        self._quadrature(*args)
        return nodes.size


#: Gauss-Legendre nodes the quadratures take on each backward step, by
#: method: enough that the rule is exact for polynomials of the degree of
#: the method's interpolant (RK23's cubic, RK45's quartic, DOP853's
#: seventh-degree; BDF's and LSODA's orders up to 5 and 12, Radau's cubic).
GAUSS_NODES = {"RK23": 2, "RK45": 3, "DOP853": 4, "Radau": 3, "BDF": 3, "LSODA": 4}


#: The most entries (nodes x neurons x batch) the quadratures stack into one
#: pull-back (`_quadratures`): the nodes of a long backward step go in calls
#: of at most this many, so that its scratch arrays stay a few MiB each.
QUADRATURE_ENTRIES = 1 << 19


def _backward_solver(method: str):
    """The solver class of the backward ``lambda`` system: SciPy's, or for
    BDF and Radau `implicit.ORDERED_SOLVERS` (a sparse Jacobian's systems
    factorised in a fill-reducing order; BDF keeps factorisations across
    small changes of its step, incomplete where they suffice)."""
    import scipy.integrate

    from .implicit import ORDERED_SOLVERS

    return ORDERED_SOLVERS.get(method) or getattr(scipy.integrate, method)


def _backward_jacobian(adj, form: str):
    """``jac(t, lam)`` of the backward ``lambda`` system for an implicit
    method: ``-J^T`` at the forward state, one block per batch element,
    dense or sparse as the forward's (`form`, the fill rule of `solve`)."""
    import scipy.sparse as sp

    net, system, batch = adj.net, adj.system, adj.system.batch
    local = local_jacobians(net, batch)

    def jac(t, lam):
        mats = [J.T for J in local(system.state(adj.dense(t)), adj.xk)]
        JT = mats[0] if batch == 1 else sp.block_diag(mats, format="csc")
        return -JT.toarray() if form == "dense" else -JT.tocsc()

    return jac


class _Backward:
    def __init__(self, result, counts):
        self.result, self.counts = result, counts


def _backward(net, fwd: _Forward, gy: np.ndarray, dt: float, method: str, rtol, atol, options, n_chunks,
              diagnostics: bool) -> _Backward:
    """Integrate ``lambda`` backwards, piece by piece, adding the loss's
    jumps at the target times; the quadratures by Gauss-Legendre on each
    accepted backward step (`_quadratures`)."""
    system = fwd.system
    T, n, batch, dtype = gy.shape[0], net.n_neurons, system.batch, net.dtype
    if net.gated:  # GRU neurons: their own system (more quadratures), the same interface
        from .gated_adjoint import GatedAdjointSystem

        adj = GatedAdjointSystem(net, system, n_chunks)
    else:
        adj = _AdjointSystem(net, system, n_chunks)
    w, wt = adj.w, adj.wt
    m, ne, nb = adj.m, adj.n_edges, adj.n_bias
    kwargs = dict(options)
    if method in IMPLICIT:
        kwargs["jac"] = _backward_jacobian(adj, fwd.form)
    for name, tol in (("rtol", rtol), ("atol", atol)):  # lambda is laid out as the forward state
        kwargs[name] = tol if np.ndim(tol) == 0 else tolerance_layout(tol, n, batch, system.neuron_major, name)
    solver_class = _backward_solver(method)
    from .explicit import COMPILED_SOLVERS  # SciPy's solvers: imported when first used
    from .implicit import ORDERED_SOLVERS, FillOrder

    packed = method in COMPILED_SOLVERS and not net.gated and m > 0
    if packed and dtype == np.float64 and issubclass(COMPILED_SOLVERS[method], solver_class):
        solver_class = COMPILED_SOLVERS[method]  # SciPy's class, its steps compiled as the forward's
        kwargs["stepper"] = AdjointStepper(adj)
    stepper = kwargs.get("stepper")
    step_integral = stepper.quadrature if stepper is not None and method in ("RK23", "RK45") else None

    if solver_class in ORDERED_SOLVERS.values():  # -J^T: the forward's pattern transposed, its order serves
        kwargs["fill_order"] = FillOrder() if fwd.fill_order is None else fwd.fill_order
    nodes, weights = np.polynomial.legendre.leggauss(GAUSS_NODES[method])
    nodes, weights = (nodes + 1.0) / 2.0, weights / 2.0  # on [0, 1]
    quad = np.zeros(adj.size - m)  # the weights', biases', taus' (and a GRU network's gate) quadratures
    lam = np.zeros((n, batch), dtype=dtype)
    dz = np.empty((net.n_outputs, batch), dtype=dtype)
    jw = np.zeros(ne, dtype=dtype)
    jb = np.zeros(nb, dtype=dtype)
    g_weight = np.zeros(ne)
    g_bias = np.zeros(nb)
    dh_norm = np.zeros(T + 1)
    edge_grad = np.zeros((T if diagnostics else 0, ne))
    counts = {"nfev": 0, "njev": 0, "nlu": 0, "nquad": 0}
    last = (None, None)  # the forward piece last packed, and its PackedDense
    for k in range(T - 1, -1, -1):
        jw[:] = 0.0
        jb[:] = 0.0
        dh_norm[k + 1] = readout_grads(w, wt, gy[k], fwd.outputs[k], fwd.states[k + 1], fwd.xs[k], dz, lam, jw, jb,
                                       adj.no_steps, k)
        g_weight += jw
        g_bias += jb
        dense = fwd.dense(k, dt)
        if packed:
            if dense is not last[0]:
                last = (dense, PackedDense(dense))
            dense = last[1]
        adj.piece(dense, fwd.xs[k])
        piece = np.zeros(adj.size - m)
        solver = solver_class(adj.lam_rhs, (k + 1) * dt, system.flat(lam).astype(np.float64), k * dt, **kwargs)
        failure = None
        while solver.status == "running":
            try:
                message = solver.step()
            except ValueError as exc:  # SciPy's LU of a matrix holding infs or NaNs
                if "must not contain infs or NaNs" not in str(exc):
                    raise
                failure = str(exc)
                break
            if solver.status == "failed":
                failure = message
                break
            if step_integral is not None:  # compiled, from the step's stages
                evaluations = step_integral(solver, nodes, weights, piece)
            else:
                integral, evaluations = _quadratures(adj, solver, nodes, weights, method in IMPLICIT)
                piece += integral
            counts["nquad"] += evaluations
        if failure is not None:
            t_seen, u_seen = adj.seen
            raise SolverError(f"the backward (adjoint) solve_ivp ({method}) failed at t = {t_seen:g}: "
                              f"{failure.rstrip('.')}{_largest_adjoint(net, system, u_seen, m)}")
        for key in ("nfev", "njev", "nlu"):
            counts[key] += int(getattr(solver, key, 0) or 0)
        if not (np.all(np.isfinite(solver.y)) and np.all(np.isfinite(piece))):
            raise SolverError(f"the backward (adjoint) solve ({method}) overflowed between t = {k * dt:g} and "
                              f"{(k + 1) * dt:g}{_largest_adjoint(net, system, solver.y, m)}")
        lam = system.state(solver.y)
        quad += piece
        if diagnostics:
            edge_grad[k] = jw + piece[:ne]
    g_weight += quad[:ne]
    g_bias += quad[ne:ne + nb]
    g_tau = quad[ne + nb:ne + nb + n]
    dh_norm[0] = np.sqrt(np.sum(np.square(lam.astype(np.float64))))
    gates = adj.gate_grads(quad[ne + nb + n:]) if net.gated else {}
    return _Backward((g_weight, g_bias, g_tau, lam.astype(np.float64), dh_norm, edge_grad, gates), counts)


def _quadratures(adj, solver, nodes: np.ndarray, weights: np.ndarray, refine: bool) -> tuple[np.ndarray, int]:
    """``int dG/dt dt`` over the step `solver` has just taken (from
    ``t_old`` to ``t``, backwards): Gauss-Legendre on the step's
    interpolant of ``lambda`` and the forward dense output of ``h``; with `refine` (the
    implicit methods), on each stretch between the forward steps' ends
    inside it: the forward steps resolve the fast transients of ``h``
    (after each jump of the input), over which an implicit method's
    backward steps of the slower ``lambda`` may stride (an explicit
    method's steps are bounded by the same stiffness both ways). The
    nodes go through the adjoint system's `quadrature` together, stacked on
    the batch axis (at most `QUADRATURE_ENTRIES` entries a call).
    Returns the integral and the number of evaluations."""
    step = solver.dense_output()
    lo, hi = sorted((solver.t_old, solver.t))
    ts = adj.dense.ts if refine else np.empty(0)
    inside = ts[np.searchsorted(ts, lo, side="right"):np.searchsorted(ts, hi, side="left")]
    ends = np.concatenate([[lo], inside, [hi]])
    width = np.diff(ends)
    times = (ends[:-1, None] + nodes[None, :] * width[:, None]).ravel()
    scale = (weights[None, :] * width[:, None]).ravel()
    per_call = max(1, QUADRATURE_ENTRIES // max(adj.m, 1))
    total = 0.0
    for i in range(0, times.size, per_call):
        part = slice(i, i + per_call)
        total = total + adj.quadrature(adj.dense(times[part]), step(times[part]), scale[part])
    return np.sign(solver.t - solver.t_old) * total, times.size


def _largest_adjoint(net: Network, system, u: np.ndarray | None, m: int) -> str:
    """Where the adjoint state is largest in magnitude, as a hint."""
    if u is None or m == 0:
        return ""
    lam = system.state(np.nan_to_num(np.asarray(u[:m], dtype=np.float64), nan=np.inf))
    i, b = np.unravel_index(np.argmax(np.abs(lam)), lam.shape)
    where = f" (batch element {b})" if lam.shape[1] > 1 else ""
    return (f"; largest adjoint component dL/dh there: neuron {net.neurons[i]!r}{where} = {lam[i, b]:.3g} "
            "(a loss that grows without bound backwards? check the weights and the tolerances)")
