"""`bptt`: the loss of a run and its gradient for every parameter, by
backpropagation through the recorded history."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import scratch, threads
from ._kernels.backward import bptt_discrete, bptt_fixed_step
from ._kernels.continuous import run_fixed_step
from ._kernels.dense import blocks, bptt_dense, run_sync_dense
from ._kernels.forward import run_sync_parallel, run_sync_serial
from .activations import DIFFERENTIABLE_CODES, NAMES
from .arrays import fed_back, prepare, prepare_cells, prepare_targets
from .adjoint import bptt_adaptive
from .errors import NonFiniteError
from .gated_bptt import gated_gradients
from .gated_continuous_bptt import gated_continuous_passes
from .gradients import Gradients, check_clip, clip_norm
from .losses import LOSSES
from .network import Network
from .methods import ODE_METHODS, check_fixed_step, step_coefficients
from .delayed_bptt import delayed_gradients, gated_delayed_gradients
from .delays import refuse_delays
from .simulate import refuse_gated, run, use_dense
from .trainable import trained_masks
from .units import GATE_PARAMETERS

__all__ = ["bptt", "Gradients", "SparseReadoutWarning"]

READOUT_KIND = 3  # Network.edge_kind of hidden -> output edges (V)


class SparseReadoutWarning(UserWarning):
    """An output that has targets reads few of the hidden neurons: training
    changes only the edges that exist, so its target must be met through
    those few."""


#: `warn_sparse_readout` looks at networks of at least this many hidden neurons,
#: and at outputs with fewer hidden -> output edges than this fraction of them.
SPARSE_READOUT_MIN_HIDDEN = 10
SPARSE_READOUT_FRACTION = 0.1


def supervised_outputs(net: Network, targets: ArrayLike, loss: str) -> np.ndarray:
    """Which outputs have a target somewhere (boolean, one per output);
    none for targets of a shape `bptt` would refuse. Cross-entropy's softmax
    takes every output, so all of them count once any position is supervised."""
    t = np.asarray(targets)
    none = np.zeros(net.n_outputs, dtype=bool)
    if t.dtype.kind not in "biuf" or net.n_outputs == 0:
        return none
    if loss == "cross_entropy":
        return none | bool((t >= 0).any())
    if t.ndim not in (2, 3) or t.shape[-1] != net.n_outputs:
        return none
    return ~np.isnan(t.reshape(-1, net.n_outputs)).all(axis=0)


def warn_sparse_readout(net: Network, supervised: np.ndarray, stacklevel: int = 3) -> None:
    """Warn (`SparseReadoutWarning`, once) when an output that has targets
    (`supervised`) has fewer hidden -> output edges than a tenth of the
    hidden neurons, in a network of at least ten; the message names the
    outputs and the way to wire them."""
    n = net.n_neurons
    if n < SPARSE_READOUT_MIN_HIDDEN or not np.any(supervised):
        return
    reads = np.bincount(net.edge_dst[net.edge_kind == READOUT_KIND], minlength=net.n_outputs)
    sparse = np.flatnonzero(np.asarray(supervised) & (reads < SPARSE_READOUT_FRACTION * n))
    if not sparse.size:
        return
    names = [net.outputs[o] for o in sparse]
    which = (f"output {names[0]!r} reads only {reads[sparse[0]]}" if len(names) == 1 else
             f"outputs {', '.join(map(repr, names))} read only {', '.join(str(reads[o]) for o in sparse)}")
    wiring = f"G.add_edges_from((h, {names[0]!r}) for h in G if G.nodes[h].get('role') is None)"
    warnings.warn(
        f"{which} of the {n} hidden neurons: training changes only the edges that exist in the graph, so a "
        f"target must be met through those. Wire each output to every hidden neuron before compiling: "
        f"`{wiring}` and `tp.init_weights(G, kinds='hidden->output', seed=0)`; or draw the graph without outputs "
        f"and add them with `tp.attach_io(G, n_outputs=1, seed=0)`, which wires each new output to every hidden "
        f"neuron.", SparseReadoutWarning, stacklevel=stacklevel)


def _loss_targets(net: Network, loss: str, targets: ArrayLike, drive) -> np.ndarray:
    if loss == "mse":
        return prepare_targets(net, targets, drive)
    if net.n_outputs == 0:
        raise ValueError("loss 'cross_entropy' is a softmax over the output nodes, and the network has none")
    classes = np.asarray(targets)
    shape = (drive.n_steps, drive.batch) if drive.batched else (drive.n_steps,)
    if classes.shape != shape or classes.dtype.kind not in "iu":
        raise ValueError(f"cross-entropy `targets` must be integer classes of shape {shape} "
                         f"(-1: no target); got {classes.dtype} {classes.shape}")
    bad = (classes < -1) | (classes >= net.n_outputs)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"`targets` has class {classes[where]} at index {where}: classes are 0..{net.n_outputs - 1} "
                         "(the output nodes) or -1 for no target")
    return classes.reshape(drive.n_steps, drive.batch)


def bptt(
    net: Network,
    x: ArrayLike | int,
    targets: ArrayLike,
    loss: str = "mse",
    h0: ArrayLike | None = None,
    dt: float | None = None,
    method: str | None = None,
    truncate: int | None = None,
    teacher_forcing: bool = False,
    clip: float | None = None,
    return_diagnostics: bool = False,
    checkpoint: bool | int | None = None,
    trainable: Iterable[str] | Mapping[str, Any] | None = None,
    rtol: float | ArrayLike | None = None,
    atol: float | ArrayLike | None = None,
    c0: ArrayLike | None = None,
    **options: Any,
) -> tuple[float, Gradients]:
    """Run `net` on `x`, then backpropagate the loss through the history.

    Parameters
    ----------
    net : Network
    x : array_like, shape (n_steps, [batch,] n_inputs); or int
        As in `simulator.run`.
    targets : array_like
        ``"mse"``: shape of the outputs, NaN where there is no target.
        ``"cross_entropy"``: integer classes (index into ``net.outputs``) of
        shape (n_steps, [batch]), -1 where there is no target.
    loss : {"mse", "cross_entropy"}
    h0 : array_like, optional
        Initial state, as in `simulator.run`.
    dt, method : optional
        Continuous time with a fixed step, as in `simulator.run`:
        ``"euler"``, ``"exp_euler"`` and ``"rk4"`` are differentiated
        exactly through their steps (RK4 through its four stages), each
        pulled back through the method's coefficients (`simulator.methods`).
        Or adaptively, any `solve_ivp` method (``"RK45"``, ``"RK23"``,
        ``"DOP853"``, ``"Radau"``, ``"BDF"``, ``"LSODA"``) with `dt` the
        spacing of the samples and the targets: the loss is that of
        ``sim.solve(net, x, (0, n_steps * dt), dt=dt, method=method)``'s
        outputs at the times ``(k + 1) dt``, its gradients from the adjoint
        equations solved backwards on the forward dense output
        (`simulator.adjoint`; ``grads.info`` has both passes' counts).
    rtol, atol : float or array_like, optional
        An adaptive method's tolerances, for the forward and the backward
        solve (default 1e-6 and 1e-8, as `simulator.solve`).
    **options
        An adaptive method's further keywords, as `simulator.solve` takes
        them: ``jacobian`` (``"auto"``, ``"dense"``, ``"sparse"``; the
        implicit methods need the analytic one), ``t_eval`` (must hold the
        target times), ``max_step``, ``first_step``.
    truncate : int, optional
        Truncated BPTT: the history is cut into windows of `truncate` steps
        and gradients do not cross a window's start (``truncate >= n_steps``
        is full BPTT).
    teacher_forcing : bool
        Feed the (float) targets back on the output -> hidden edges instead
        of the outputs, where they are not NaN (``"mse"`` only; discrete
        time only).
    clip : float, optional
        Gradient-norm clipping, the rule `simulator.train` applies (as
        ``torch.nn.utils.clip_grad_norm_`` over the trainable parameters):
        the norm is the global L2 norm of the gradients of the parameters
        that train (`trainable`; by default weights, biases and, in
        continuous time, time constants; never `h0`), and when it exceeds
        `clip` those gradients are scaled by ``clip / norm``. The gradients
        of frozen parameters and of `h0` come back unscaled (and
        ``grads.norm()`` covers every array, `h0` too). A `train` step with
        ``clip=c`` moves the parameters by exactly these gradients.
    return_diagnostics : bool
        Add ``dh_norm`` and ``edge_grad`` to ``grads.diagnostics`` (the
        latter costs n_steps x n_edges values).
    checkpoint : bool or int, optional
        Keep only every `checkpoint`-th state (True: every
        ceil(sqrt(n_steps))-th) and recompute the steps between on the way
        back: memory O(sqrt(n_steps)) states instead of n_steps, for about
        one extra forward pass; the same gradients, bit for bit. Discrete
        and fixed-step continuous runs alike.
    c0 : array_like, shape (n_lstm,) or (batch, n_lstm), optional
        Initial LSTM cell state, as in `simulator.run`; ``grads.c0`` follows
        the rule of ``grads.h0``.
    trainable : optional
        Which parameters count as training for `clip`, as in
        `simulator.train` (a list of kinds or a mapping to edges, nodes or
        masks). Every gradient is computed and returned either way.

    Returns
    -------
    loss : float
    grads : Gradients

    Raises
    ------
    ValueError
        An unknown loss, targets that do not fit, a ``sign`` activation
        (it has no gradient), a bad `truncate` or `clip`.
    NonFiniteError
        When the forward pass overflows to inf/NaN; the message names the
        step and the neuron, as `run`'s does.
    SolverError
        An adaptive method's forward or backward solve failed: SciPy's
        message, the time, and the largest state (forward) or adjoint
        component dL/dh (backward) there.

    Warns
    -----
    SparseReadoutWarning
        When an output that has targets reads fewer than a tenth of the
        hidden neurons (networks of ten or more): only existing edges have
        gradients, so it cannot learn to read the others. The message names
        the output and how to wire it (``tp.attach_io``, or hidden -> output
        edges and ``tp.init_weights(G, kinds="hidden->output")``).

    Notes
    -----
    A float32 network (``sim.compile(G, dtype="float32")``) runs both passes
    in float32 and returns float32 gradients and diagnostics; the backward
    pass's sums over slots, the batch and the steps accumulate in float32,
    as torch's do, so its gradients differ from the float64 network's of the same parameters by
    float32 rounding carried through the steps (about 1e-6 of the largest
    gradient on small networks). The loss is a Python float either way.

    Examples
    --------
    >>> import numpy as np, networkx as nx, simulator as sim
    >>> G = nx.DiGraph([("x", "h"), ("h", "h"), ("h", "y")])
    >>> G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    >>> net = sim.compile(G)
    >>> loss, grads = sim.bptt(net, np.ones((3, 1)), np.full((3, 1), 0.5))
    >>> round(loss, 4), grads.weight.shape
    (0.1586, (3,))
    """
    if loss not in LOSSES:
        raise ValueError(f"`loss` must be one of {', '.join(repr(k) for k in LOSSES)}, got {loss!r}")
    adaptive = method in ODE_METHODS
    if not adaptive and (rtol is not None or atol is not None or options):
        given = [name for name, v in (("rtol", rtol), ("atol", atol)) if v is not None] + list(options)
        raise (ValueError if method is not None or given[0] in ("rtol", "atol") else TypeError)(
            f"`bptt` got {', '.join(map(repr, given))}, which an adaptive method takes (method='RK45', 'BDF', ... "
            f"with dt=); method={method!r} takes none")
    continuous = dt is not None or method is not None
    refuse_gated(net, continuous)
    if net.has_delays and continuous:
        refuse_delays(net, "continuous-time gradients")
    if continuous and adaptive:
        if truncate is not None or checkpoint not in (None, False):
            raise ValueError(f"`truncate` and `checkpoint` apply to the fixed-step methods; method={method!r} is "
                             "differentiated by the adjoint on its dense output (pass neither)")
    elif continuous:
        stepper = check_fixed_step(dt, method)
        if teacher_forcing:
            raise ValueError("teacher forcing is available in discrete time only")
    if truncate is not None and (isinstance(truncate, bool) or not isinstance(truncate, (int, np.integer))
                                 or truncate < 1):
        raise ValueError(f"`truncate` must be a positive int, got {truncate!r}")
    check_clip(clip)

    masks = trained_masks(net, trainable, continuous)  # what `clip` counts and scales
    if teacher_forcing and loss != "mse":
        raise ValueError("teacher forcing needs float targets (loss='mse')")
    flat = np.flatnonzero(~np.isin(net.activation_codes, DIFFERENTIABLE_CODES))
    if flat.size:
        name, act = (net.neurons + net.outputs)[flat[0]], NAMES[net.activation_codes[flat[0]]]
        raise ValueError(f"node {name!r} has activation {act!r}, which has no gradient")
    if adaptive:
        warn_sparse_readout(net, supervised_outputs(net, targets, loss))
        return bptt_adaptive(net, x, targets, loss, h0, dt, method,
                             y_targets_of=lambda drive: _loss_targets(net, loss, targets, drive), clip=clip,
                             masks=masks, return_diagnostics=return_diagnostics, rtol=rtol, atol=atol, **options)

    drive = prepare(net, x, h0)
    y_targets = _loss_targets(net, loss, targets, drive)
    unsupervised = np.isnan(y_targets) if loss == "mse" else y_targets < 0
    if unsupervised.all():
        warnings.warn("`targets` supervise nothing (every entry is NaN, or -1 for cross-entropy): "
                      "the loss and every gradient are 0", stacklevel=2)
    warn_sparse_readout(net, supervised_outputs(net, targets, loss))
    T, batch, n = drive.n_steps, drive.batch, net.n_neurons
    segment = _segment_length(checkpoint, T)
    teacher = y_targets if teacher_forcing else np.zeros((0, net.n_outputs, batch), dtype=net.dtype)
    cell0 = prepare_cells(net, c0, drive)
    if net.has_delays or (net.gated and not continuous):
        try:
            if net.has_delays and net.gated:
                value, parts = gated_delayed_gradients(net, drive, cell0, y_targets, loss, teacher, truncate or 0,
                                                       segment, return_diagnostics)
            elif net.has_delays:
                value, parts = delayed_gradients(net, drive, y_targets, loss, teacher, truncate or 0, segment,
                                                 return_diagnostics)
            else:
                value, parts = gated_gradients(net, drive, cell0, y_targets, loss, teacher, truncate or 0, segment,
                                               return_diagnostics)
        except NonFiniteError as overflow:
            try:
                run(net, x, h0, c0=c0, targets=targets if teacher_forcing else None, teacher_forcing=teacher_forcing,
                    progress=False)
            except NonFiniteError as located:
                raise located from None
            raise overflow
        gates = {k: v for k, v in parts.items() if k in GATE_PARAMETERS}
        grads = Gradients(parts["weight"], parts["bias"], np.zeros_like(net.tau), _initial_grad(parts["h0"], h0, drive),
                          {"dh_norm": parts["dh_norm"].astype(net.dtype, copy=False), "edge_grad": parts["edge_grad"]}
                          if return_diagnostics else {},
                          c0=_initial_grad(parts["c0"], c0, drive) if net.cell_neurons else None, **gates)
        return value, clip_norm(grads, clip, masks)

    # The kernels accumulate weight gradients (and per-step contributions) in
    # the in-edge tables' slot order, so each step's sums stream through
    # memory instead of scattering over the edge list; the discrete sparse
    # pass those of W and V edges in the out-edge table's (`g_out`, beside
    # the backward gather that reads the same values); mapped back at the end.
    g_weight = np.zeros(net.n_edges, dtype=net.dtype)
    g_out = np.zeros(net.layout.hidden_out.index.size, dtype=net.dtype)
    g_bias = np.zeros(n + net.n_outputs, dtype=net.dtype)
    g_h0 = np.empty((n, batch), dtype=net.dtype)
    dh_norm = np.empty(T + 1, dtype=np.float64)
    step_abs = np.zeros((T if return_diagnostics else 0, net.n_edges), dtype=net.dtype)
    g_tau = np.zeros_like(net.tau)
    gates = dict
    if continuous and net.gated:
        forward, backward, gates = gated_continuous_passes(net, drive, stepper, float(dt), truncate or 0,
                                                           g_weight, g_bias, g_tau, step_abs)
    elif continuous:
        forward, backward = _continuous_passes(net, drive, stepper, float(dt), truncate or 0,
                                               g_weight, g_bias, g_tau, step_abs)
    else:
        forward, backward = _discrete_passes(net, drive, teacher, truncate or 0, g_weight, g_out, g_bias, step_abs)
    try:
        value = _through_segments(net, drive, y_targets, loss, segment, forward, backward, dh_norm, g_h0)
    except NonFiniteError as overflow:
        # the same run through the front door names the step and the neuron
        try:
            run(net, x, h0, dt=dt, method=method, targets=targets if teacher_forcing else None,
                teacher_forcing=teacher_forcing, parallel=False, progress=False)
        except NonFiniteError as located:
            raise located from None
        raise overflow
    order = net.layout.slot_edges
    g_weight[order] = g_weight.copy()
    if not continuous:  # W and V edges from the out-edge slots (zeros where the pass summed them in g_weight)
        g_weight[net.layout.hidden_out.edge] += g_out
    if step_abs.shape[0]:
        step_abs[:, order] = step_abs.copy()
    if not drive.batched:
        h0_grad = g_h0[:, 0].copy()
    elif h0 is not None and np.ndim(h0) == 1:  # one state shared by the batch: its gradient sums theirs
        h0_grad = g_h0.sum(axis=1)
    else:
        h0_grad = g_h0.T.copy()
    diagnostics = {"dh_norm": dh_norm.astype(net.dtype, copy=False), "edge_grad": np.abs(step_abs)}
    grads = Gradients(g_weight, g_bias, g_tau, h0_grad, diagnostics if return_diagnostics else {}, **gates())
    return value, clip_norm(grads, clip, masks)


def _initial_grad(g: np.ndarray, given, drive) -> np.ndarray:
    """The gradient of an initial state (kernel layout (n, batch)) shaped
    like the state given: unbatched, one row per sequence, or summed over
    the batch for a state the batch shares."""
    if not drive.batched:
        return g[:, 0].copy()
    if given is not None and np.ndim(given) == 1:
        return g.sum(axis=1)
    return g.T.copy()


def _segment_length(checkpoint, n_steps: int) -> int:
    """Steps per recomputed segment (n_steps: no checkpointing)."""
    if checkpoint is None or checkpoint is False:
        return max(n_steps, 1)
    if checkpoint is True:
        return max(int(np.ceil(np.sqrt(n_steps))), 1)
    if isinstance(checkpoint, bool) or not isinstance(checkpoint, (int, np.integer)) or checkpoint < 1:
        raise ValueError(f"`checkpoint` must be True or a positive int, got {checkpoint!r}")
    return int(checkpoint)


def _through_segments(net, drive, y_targets, loss, segment, forward, backward, dh_norm, g_h0):
    """Forward and backward through a run in segments of `segment` steps,
    keeping only each segment's first state on the way forward and
    recomputing the segment on the way back; returns the loss.

    ``forward(s, t0, t1, states, outputs, n_chunks)`` runs segment `s`
    (steps ``t0:t1``) from ``states[0]``, filling ``states`` and
    ``outputs[t0:t1]``, on threads as `simulator.threads` plans them (the
    threaded kernels give the one-thread results bit for bit), and returns
    the first bad step as the kernels do; ``backward(s, t0, t1, states,
    outputs, gy, carry, seg_h0, flow, n_chunks)`` backpropagates it, on
    the same threads and again bit for bit. With one segment
    this is plain BPTT; the gradients are the same either way, bit for bit
    (the same kernels on the same numbers).
    """
    T, batch, n, n_out = drive.n_steps, drive.batch, net.n_neurons, net.n_outputs
    dtype = net.dtype
    n_threads, timed = threads.timed_call(("bptt", dtype.str, forward.__qualname__), (net.n_edges + n) * batch, T)
    starts = list(range(0, T, segment)) or [0]
    with scratch.borrowed("bptt states", (min(segment, T) + 1, n, batch), dtype) as states:
        outputs = np.empty((T, n_out, batch), dtype=dtype)
        firsts = np.empty((len(starts), n, batch), dtype=dtype)
        h = drive.h0
        bad = -1
        with threads.using(n_threads, n) as n_chunks:
            for s, t0 in enumerate(starts):
                t1 = min(T, t0 + segment)
                firsts[s] = states[0] = h
                bad = max(bad, forward(s, t0, t1, states[: t1 - t0 + 1], outputs, n_chunks))
                h = states[t1 - t0].copy()
        if bad >= 0 or not np.isfinite(outputs).all():
            raise NonFiniteError("the forward pass overflowed to inf/NaN")
        value, gy = LOSSES[loss](outputs, y_targets)
        gy = np.ascontiguousarray(gy)
        carry = np.zeros((n, batch), dtype=dtype)
        seg_h0 = np.empty((n, batch), dtype=dtype)
        for s in range(len(starts) - 1, -1, -1):
            t0 = starts[s]
            t1 = min(T, t0 + segment)
            flow = np.empty(t1 - t0 + 1)
            with threads.using(n_threads, n) as n_chunks:
                if len(starts) > 1:
                    states[0] = firsts[s]
                    forward(s, t0, t1, states[: t1 - t0 + 1], outputs, n_chunks)
                backward(s, t0, t1, states[: t1 - t0 + 1], outputs, gy, carry, seg_h0, flow, n_chunks)
            dh_norm[t0:t1 + 1] = flow
            if s == 0:
                g_h0[:] = seg_h0
    timed()
    return value


def _discrete_passes(net, drive, teacher, truncate, g_weight, g_out, g_bias, step_abs):
    """`_through_segments`'s passes for a discrete run. Each segment after
    the first starts from the output fed back into it (the teacher's where
    forced), recorded on the way forward."""
    w, wt = net.wiring(), net.wiring_t()
    forced = teacher.shape[0] > 0
    befores = {}
    # a dense W block runs through BLAS both ways (not with the per-step edge diagnostics)
    dense = use_dense(net) and not step_abs.shape[0]
    if dense:
        M, V = blocks(w, drive.x.shape[1])
        hist = []  # the source vectors of the segment run last (the first is the longest)

    def forward(s, t0, t1, states, outputs, n_chunks):
        if s not in befores:  # the first pass: outputs[t0 - 1] is known by now
            befores[s] = (fed_back(outputs, teacher, t0) if s > 0
                          else np.zeros((net.n_outputs, drive.batch), dtype=net.dtype))
        args = (w, drive.x[t0:t1], states, outputs[t0:t1], teacher[t0:t1] if forced else teacher, befores[s])
        if dense:
            if not hist:
                hist.append(scratch.aligned_empty((states.shape[0], drive.batch, M.shape[1]), net.dtype))
            return run_sync_dense(w, M, V, *args[1:], hist[0][:states.shape[0]])
        return run_sync_parallel(*args, n_chunks) if n_chunks else run_sync_serial(*args)

    def backward(s, t0, t1, states, outputs, gy, carry, seg_h0, flow, n_chunks):
        if dense:
            bptt_dense(w, M, V, outputs[t0:t1], teacher[t0:t1] if forced else teacher, hist[0][:states.shape[0]],
                       gy[t0:t1], truncate, t0, carry, g_weight, g_bias, seg_h0, flow)
            return
        bptt_discrete(w, wt, drive.x[t0:t1], states, outputs[t0:t1], teacher[t0:t1] if forced else teacher,
                      befores[s], gy[t0:t1], truncate, t0, carry, g_weight, g_out, g_bias, seg_h0, flow,
                      step_abs[t0:t1] if step_abs.shape[0] else step_abs, n_chunks or None)

    return forward, backward


def _continuous_passes(net, drive, stepper, dt, truncate, g_weight, g_bias, g_tau, step_abs):
    """`_through_segments`'s passes for a fixed-step continuous run (the
    output feedback is inside each step, so a segment needs only its state)."""
    w, wt = net.wiring(), net.wiring_t()
    coef, dcoef = step_coefficients(stepper, dt, net.tau)

    def forward(s, t0, t1, states, outputs, n_chunks):
        return run_fixed_step(w, coef, drive.x[t0:t1], states, outputs[t0:t1], n_chunks or None)

    def backward(s, t0, t1, states, outputs, gy, carry, seg_h0, flow, n_chunks):
        bptt_fixed_step(w, wt, coef, dcoef, drive.x[t0:t1], states, outputs[t0:t1], gy[t0:t1], truncate, t0, carry,
                        g_weight, g_bias, g_tau, seg_h0, flow, step_abs[t0:t1] if step_abs.shape[0] else step_abs,
                        n_chunks or None)

    return forward, backward
