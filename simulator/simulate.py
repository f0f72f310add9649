"""`run`: the front door for simulating a compiled network step by step."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from . import scratch, threads
from ._kernels import continuous as continuous_kernels
from ._kernels import delayed as delayed_kernels
from ._kernels import delayed_gated as delayed_gated_kernels
from ._kernels import dense as dense_kernels
from ._kernels import dense_gated as dense_gated_kernels
from ._kernels import forward
from ._kernels import gated as gated_kernels
from .arrays import fed_back, prepare, prepare_cells, prepare_targets, to_public
from .delays import refuse_delays
from .errors import raise_if_nonfinite
from .methods import DEFAULT_METHOD, METHODS, check_fixed_step, stage_table, step_coefficients
from .network import Network
from .progress import AUTO_DELAY, AUTO_MIN_WORK, progress_bar
from .results import Result
from ._kernels.activations import SIGMOID, TANH
from .units import GATE_NAMES, GRU, LSTM

__all__ = ["run", "UPDATES", "METHODS"]

#: Valid values of ``update=``.
UPDATES = ("sync", "async")
#: A synchronous discrete run multiplies the hidden neurons' in-edges as one
#: dense matrix [W | U | F] (one BLAS product per step) when at least this
#: fraction of its n x (n + n_inputs + n_outputs) entries are edges ...
DENSE_MIN_FILL = 0.25
#: ... and the network has at least this many neurons.
DENSE_MIN_NEURONS = 64
#: BLAS runs a dense step's multiply-adds about this many times faster than
#: the sparse kernels gather an edge (the unit of `threads.SEGMENT_WORK`):
#: the work a dense step counts for when a run is cut into segments (one
#: thread: BLAS threads on its own).
DENSE_SPEEDUP = 10


def use_dense(net: Network) -> bool:
    """Whether the hidden neurons' in-edges are dense enough for BLAS."""
    n = net.n_neurons
    edges = sum(block.indices.size for block in net.layout.by_target[:3])  # W, U, F
    return n >= DENSE_MIN_NEURONS and edges >= DENSE_MIN_FILL * n * (n + net.n_inputs + net.n_outputs)


def use_dense_gated(net: Network) -> bool:
    """Whether a network of gated neurons runs through `dense_gated`: all
    GRU or all LSTM, tanh candidates and sigmoid gates, no delays, and in-edges
    as dense as `use_dense` asks."""
    if not net.gated or net.has_delays or not use_dense(net):
        return False
    w, g = net.wiring(), net.gates()
    return (w.uniform_h == TANH and bool(np.all(g.unit == g.unit[0])) and g.unit[0] in (GRU, LSTM)
            and bool(np.all(g.act == SIGMOID)))


def dense_gated_history(net: Network, n_rows: int, batch: int, n_inputs: int) -> tuple[np.ndarray, ...]:
    """`dense_gated.run_gated_dense`'s batch-major rows ``hh``, ``ee``,
    ``cc`` and ``acts``, `n_rows` of each (2: scratch for a run)."""
    n, dtype = net.n_neurons, net.dtype
    lstm = net.gates().unit[0] == LSTM
    return (scratch.aligned_empty((n_rows, batch, n), dtype),
            scratch.aligned_empty((n_rows, batch, n_inputs + net.n_outputs + 1), dtype),
            scratch.aligned_empty((n_rows, batch, n if lstm else 1), dtype),
            scratch.aligned_empty((max(1, n_rows - 1), batch, 4 * n), dtype))


def segments(net: Network, n_steps: int, batch: int, parallel: bool | None,
             bar=None, kind: str = "sync", work: int | None = None) -> Iterator[tuple[int, int, int]]:
    """``(start, stop, threads)`` for each segment of a run: its steps and the
    threads to run them on, chosen afresh before each and timed by kernel
    `kind` (`simulator.threads.schedule`). With a progress `bar` the run is
    always segmented, and the bar advances as each segment ends. `work`: a
    step's, default ``(n_edges + n_neurons) x batch``."""
    work = (net.n_edges + net.n_neurons) * batch if work is None else work
    for start, stop, n_threads in threads.schedule(n_steps, work, parallel, (kind, net.dtype.str), bar is not None):
        yield start, stop, n_threads
        if bar is not None:
            bar.update(stop - start)


def run(
    net: Network,
    x: ArrayLike | int,
    h0: ArrayLike | None = None,
    *,
    dt: float | None = None,
    method: str | None = None,
    update: Literal["sync", "async"] = "sync",
    targets: ArrayLike | None = None,
    teacher_forcing: bool = False,
    seed: int | np.random.Generator | None = None,
    check_finite: bool = True,
    parallel: bool | None = None,
    progress: bool | None = None,
    c0: ArrayLike | None = None,
    record_gates: bool = False,
) -> Result:
    """Simulate `net` on inputs `x`, polling every neuron on each time step,
    in discrete time or with a fixed step in continuous time.

    Parameters
    ----------
    net : Network
        From `simulator.compile`.
    x : array_like, shape (n_steps, n_inputs) or (n_steps, batch, n_inputs); or int
        Inputs, in the column order of ``net.inputs``; an int runs that many
        steps with zero input (networks without inputs, free runs).
    h0 : array_like, shape (n_neurons,) or (batch, n_neurons), optional
        Initial state h[0], default zeros. A batched `h0` with unbatched `x`
        runs the batch on the same inputs.
    dt : float, optional
        Continuous time with this fixed step (default: discrete time). Inputs
        ``x[k]`` hold on ``[k dt, (k + 1) dt)``; ``states[k] = h(k dt)`` and
        ``outputs[k] = y((k + 1) dt)``.
    method : {"euler", "exp_euler", "rk4"}, optional
        Fixed-step integrator (default ``"rk4"``; needs `dt`). Every RK4
        stage uses ``x[k]``; output feedback is evaluated inside every stage.
        ``"exp_euler"`` is exact for a constant drive and stable for any dt.
    update : {"sync", "async"}
        ``"sync"``: every neuron from the previous state at once (the
        equations in the Notes). ``"async"``: one sweep per step, neurons updated in place one
        at a time in a random order drawn from `seed` (Hopfield recall); the
        same order serves every batch element; the orders are kept in
        ``result.info["order"]`` (n_steps, n_neurons).
    targets : array_like, shape like the outputs, optional
        With ``teacher_forcing=True``, the output feedback path (output ->
        hidden edges) reads ``targets[t - 1]`` instead of ``y[t - 1]``
        wherever the target is not NaN.
    teacher_forcing : bool
        Whether to force the feedback path with `targets` (discrete time
        only: in continuous time the outputs feed back within every step).
    seed : int or numpy.random.Generator, optional
        Seed of the sweep order (``update="async"`` only).
    check_finite : bool
        Raise `simulator.NonFiniteError` naming the step and neuron where the
        run overflowed to inf/NaN (default); ``False`` returns it as is.
    parallel : bool, optional
        Force the threaded (True) or single-threaded (False) kernel; default:
        threads only when a step has enough work to pay for them and no
        other process is running on the cores they would use, remade for
        every segment of a long run (`simulator.threads`).
    progress : bool, optional
        A progress bar over the steps: tqdm when installed, else (when asked
        for with True) a line of text on stderr. Default: a tqdm bar for a
        long run (`simulator.progress.AUTO_MIN_WORK`, a few seconds),
        drawn once it has gone on for `simulator.progress.AUTO_DELAY`
        seconds (a dense run through BLAS does that work far faster).
    c0 : array_like, shape (n_lstm,) or (batch, n_lstm), optional
        Initial cell state of the LSTM neurons (columns in the order of
        ``net.cell_neurons``), default zeros.
    record_gates : bool
        Record every gate's value at every step in ``result.gates``
        (networks with gated neurons).

    Returns
    -------
    Result
        ``states`` (n_steps + 1, [batch,] n_neurons) with h[0] first,
        ``outputs`` (n_steps, [batch,] n_outputs), ``times = 0, 1, ..., n_steps``
        (times ``k dt`` in continuous time); ``cells`` (n_steps + 1,
        [batch,] n_lstm) with LSTM neurons, else None; ``gates`` with
        `record_gates` (a dict of (n_steps, [batch,] n_neurons) arrays,
        keys ``"r"``, ``"z"``, ``"n"``, ``"i"``, ``"f"``, ``"g"``, ``"o"``,
        NaN for neurons without that gate).

    Raises
    ------
    ValueError
        Shapes that do not fit (the message gives the expected shape),
        non-finite inputs, an unknown `update`.
    NonFiniteError
        When the run overflows (``check_finite=True``).

    Notes
    -----
    Discrete time, with ``yhat[0] = 0`` and ``yhat[t] = y[t-1]``::

        a[t]   = W h[t] + U x[t] + F yhat[t] + b
        h[t+1] = phi(a[t])
        y[t]   = g(V h[t+1] + D x[t] + c)

    Continuous time, integrated with step `dt`::

        tau dh/dt = -h + phi(W h + U x(t) + F y(t) + b),  y(t) = g(V h + D x(t) + c)

    With tau = 1, dt = 1, ``method="euler"`` and no feedback edges the two agree
    exactly.

    A GRU neuron (``unit="gru"``) steps as ``torch.nn.GRU`` does, an LSTM
    neuron (``unit="lstm"``) as ``torch.nn.LSTM`` (`simulator.units` has the
    equations); gated networks update synchronously. In continuous time a
    GRU neuron follows the GRU-ODE ``tau dh/dt = (1 - z)(n - h)``, z and n
    computed from the current state and input as in the discrete step (so
    Euler with tau = 1, dt = 1 is that step exactly; `record_gates` keeps r,
    z, n at the start of each step); LSTM neurons are discrete-time only.

    Examples
    --------
    A pulse on the input of the chain ``Input1 -> A1 -> B1 -> Output`` (the
    top row of the four-neuron network) reaches ``A1`` in ``states[1]``,
    ``B1`` in ``states[2]`` and the output, read from ``B1``, in
    ``outputs[1]``:

    >>> import numpy as np, networkx as nx, simulator as sim
    >>> G = nx.DiGraph([("Input1", "A1"), ("A1", "B1"), ("B1", "Output")])
    >>> net = sim.compile(G, inputs=["Input1"], outputs=["Output"])
    >>> x = np.zeros((4, 1)); x[0] = 1.0
    >>> res = sim.run(net, x)
    >>> res.states.round(3)
    array([[0.   , 0.   ],
           [0.762, 0.   ],
           [0.   , 0.642],
           [0.   , 0.   ],
           [0.   , 0.   ]])
    >>> res.outputs[:, 0].round(3)
    array([0.   , 0.642, 0.   , 0.   ])

    In continuous time the pulse spreads smoothly:

    >>> fine = sim.run(net, np.repeat(x, 10, axis=0), dt=0.1, method="rk4")
    >>> float(fine.times[-1]), float(fine["B1"].max().round(3))
    (4.0, 0.257)
    """
    if not isinstance(net, Network):
        raise TypeError(f"`net` must be a Network from simulator.compile, got {type(net).__name__}")
    if update not in UPDATES:
        raise ValueError(f"`update` must be one of {UPDATES}, got {update!r}")
    continuous = dt is not None or method is not None
    if continuous:
        stepper = check_fixed_step(dt, method)
        if update != "sync":
            raise ValueError("`update='async'` is a discrete-time mode: leave out `dt` and `method`")
        if teacher_forcing:
            raise ValueError("teacher forcing is available in discrete time only")
    if net.gated:
        refuse_gated(net, continuous, update)
    elif record_gates:
        warnings.warn("`record_gates` has no effect: the network has no gated neuron", stacklevel=2)
    if net.has_delays:
        if continuous:
            refuse_delays(net, "continuous-time runs")
        if update != "sync":
            refuse_delays(net, "`update='async'` runs")
    drive = prepare(net, x, h0)
    T, batch = drive.n_steps, drive.batch
    n, n_out = net.n_neurons, net.n_outputs
    cell0 = prepare_cells(net, c0, drive)

    if teacher_forcing:
        if targets is None:
            raise ValueError("`teacher_forcing=True` needs `targets`")
        teacher = prepare_targets(net, targets, drive)
    else:
        if targets is not None:
            warnings.warn("`targets` has no effect without `teacher_forcing=True`", stacklevel=2)
        teacher = np.zeros((0, n_out, batch), dtype=net.dtype)
    if update == "sync" and seed is not None:
        warnings.warn("`seed` has no effect with update='sync'", stacklevel=2)

    states = threads.first_touch(scratch.aligned_empty((T + 1, n, batch), net.dtype))
    states[0] = drive.h0
    outputs = np.empty((T, n_out, batch), dtype=net.dtype)
    w = net.wiring()
    stages = stepper.n_stages if continuous else 1
    long_run = (net.n_edges + net.n_neurons) * batch * T * stages >= AUTO_MIN_WORK
    bar = progress_bar(long_run if progress is None else progress, T, "run", "steps",
                       AUTO_DELAY if progress is None else 0.0, text=progress is True)
    bad = []  # the first non-finite state each kernel call saw (-1: none)
    cells = gate_record = None
    try:
        if continuous and net.gated:
            info = {"mode": "continuous", "update": update, "dt": float(dt), "method": method or DEFAULT_METHOD}
            table, exponential = stage_table(stepper)
            gate_record = np.full((T if record_gates else 0, len(GATE_NAMES), n, batch), np.nan, dtype=net.dtype)
            bad.append(gated_kernels.run_gated_fixed_step(w, net.gates(), table, exponential,
                                                          float(dt) / net.tau.astype(np.float64), drive.x, states,
                                                          outputs, gate_record))
            if bar is not None:
                bar.update(T)
            times = (np.arange(T + 1) * float(dt)).astype(net.dtype)
        elif continuous:
            info = {"mode": "continuous", "update": update, "dt": float(dt), "method": method or DEFAULT_METHOD}
            coef = step_coefficients(stepper, float(dt), net.tau)[0]
            for start, stop, n_threads in segments(net, T, batch, parallel, bar, info["method"]):
                with threads.using(n_threads, n) as n_chunks:
                    bad.append(continuous_kernels.run_fixed_step(w, coef, drive.x[start:stop], states[start:stop + 1],
                                                                 outputs[start:stop], n_chunks or None))
            times = (np.arange(T + 1) * float(dt)).astype(net.dtype)
        elif net.gated:
            info = {"mode": "discrete", "update": update, "dt": None, "method": None}
            cells = scratch.aligned_empty((T + 1, len(net.cell_neurons), batch), net.dtype)
            cells[0] = cell0
            gate_record = np.full((T if record_gates else 0, len(GATE_NAMES), n, batch), np.nan, dtype=net.dtype)
            if net.has_delays:
                fed = outputs if teacher.shape[0] == 0 else np.empty_like(outputs)
                bad.append(delayed_gated_kernels.run_gated_delayed(w, net.gates(), net.schedule(), drive.x, states,
                                                                   cells, outputs, fed, teacher, gate_record))
                if bar is not None:
                    bar.update(T)
            else:
                _gated(net, drive.x, states, cells, outputs, teacher, gate_record, parallel, bar, bad)
            times = np.arange(T + 1, dtype=net.dtype)
        elif net.has_delays:
            info = {"mode": "discrete", "update": update, "dt": None, "method": None}
            _delayed(net, drive.x, states, outputs, teacher, parallel, bar, bad)
            times = np.arange(T + 1, dtype=net.dtype)
        else:
            info = {"mode": "discrete", "update": update, "dt": None, "method": None}
            _discrete(net, drive.x, states, outputs, teacher, update, seed, parallel, bar, bad, info)
            times = np.arange(T + 1, dtype=net.dtype)
    finally:
        if bar is not None:
            bar.close()

    # The kernels counted non-finite states as they wrote them; the outputs
    # are few. Only a bad run pays for the search that names step and neuron.
    if check_finite and (max(bad, default=-1) >= 0 or not np.isfinite(outputs).all()):
        raise_if_nonfinite(net, states, outputs, times, drive.batched)
    return Result(
        states=to_public(states, drive.batched),
        outputs=to_public(outputs, drive.batched),
        times=times,
        inputs=drive.public_x,
        network=net,
        info=info,
        cells=None if cells is None or cells.shape[1] == 0 else to_public(cells, drive.batched),
        gates=None if gate_record is None or not record_gates else
        {q: to_public(gate_record[:, k], drive.batched) for k, q in enumerate(GATE_NAMES)},
    )


def refuse_gated(net: Network, continuous: bool = False, update: str = "sync", what: str | None = None) -> None:
    """Refuse, naming a gated neuron, what this version does not do with
    gated units: asynchronous updates; continuous time with an LSTM neuron
    (`continuous`: a fixed-step run, `solve`, gradients, analyses, or `what`
    in continuous time); and `what` (the adaptive methods' gradients,
    `sim.explore`) with any gated unit. Continuous time with GRU and plain
    neurons passes."""
    if not net.gated or not (continuous or update != "sync" or what):
        return
    codes = np.asarray(net.unit_codes)
    i = int(np.flatnonzero(codes)[0])
    name, unit = net.neurons[i], net.units[i].upper()
    if update != "sync":
        raise ValueError(f"node {name!r} is a {unit} neuron: `update='async'` is refused for networks with gated "
                         "units (they update synchronously)")
    lstm = np.flatnonzero(codes == LSTM)
    if continuous and lstm.size:
        raise ValueError(f"node {net.neurons[int(lstm[0])]!r} is an LSTM neuron: LSTM neurons are discrete-time "
                         f"only ({what or 'continuous-time runs'} are refused)")
    if what:
        raise ValueError(f"node {name!r} is a {unit} neuron: {what} of gated units are not implemented yet "
                         "(discrete-time runs, gradients and analyses are, and in continuous time those of GRU "
                         "neurons with the fixed-step methods, and `solve`)")


def _discrete(net: Network, x: np.ndarray, states: np.ndarray, outputs: np.ndarray, teacher: np.ndarray,
              update: str, seed, parallel: bool | None, bar, bad: list, info: dict) -> None:
    """Fill `states` and `outputs` of a discrete run, segment by segment
    (kernel layout), appending each kernel call's first non-finite step to
    `bad`; an asynchronous run keeps its sweep orders in ``info["order"]``."""
    T, n, batch = x.shape[0], states.shape[1], states.shape[2]
    w = net.wiring()
    if update == "async":
        rng = np.random.default_rng(seed)
        orders = rng.permuted(np.broadcast_to(np.arange(n, dtype=np.int64), (T, n)), axis=1)
        info["order"] = orders
    dense = update == "sync" and use_dense(net)
    if dense:
        M, V = dense_kernels.forward_blocks(w, x.shape[1])
        hist = scratch.aligned_empty((2, batch, M.shape[1]), net.dtype)  # scratch: each step's source vectors
    y_before = np.zeros((outputs.shape[1], batch), dtype=net.dtype)
    work = batch * M.size // DENSE_SPEEDUP if dense else None
    for start, stop, n_threads in segments(net, T, batch, False if dense else parallel, bar,
                                           "dense" if dense else update, work):
        if start > 0:
            y_before = fed_back(outputs, teacher, start)
        args = (w, x[start:stop], states[start:stop + 1], outputs[start:stop],
                teacher[start:stop] if teacher.shape[0] else teacher, y_before)
        if update == "async":
            bad.append(forward.run_async(*args, orders[start:stop]))
        elif dense:
            bad.append(dense_kernels.run_sync_dense(w, M, V, *args[1:], hist))
        else:
            with threads.using(n_threads, n) as n_chunks:
                if n_chunks:
                    bad.append(forward.run_sync_parallel(*args, n_chunks))
                else:
                    bad.append(forward.run_sync_serial(*args))


def _gated(net: Network, x: np.ndarray, states: np.ndarray, cells: np.ndarray, outputs: np.ndarray,
           teacher: np.ndarray, gates: np.ndarray, parallel: bool | None, bar, bad: list) -> None:
    """Fill `states`, `cells`, `outputs` (and `gates` when it has rows) of a
    discrete run of a network with gated neurons, segment by segment on the
    threads `segments` plans (the threaded kernel gives the same numbers)."""
    w, g = net.wiring(), net.gates()
    y_before = np.zeros((outputs.shape[1], states.shape[2]), dtype=net.dtype)
    dense = gates.shape[0] == 0 and use_dense_gated(net)
    if dense:
        blocks = dense_gated_kernels.gated_blocks(w, g, x.shape[1])
        history = dense_gated_history(net, 2, states.shape[2], x.shape[1])
    work = states.shape[2] * (blocks[0].size + blocks[1].size) // DENSE_SPEEDUP if dense else None
    for start, stop, n_threads in segments(net, x.shape[0], states.shape[2], False if dense else parallel, bar,
                                           "gated", work):
        if start > 0:
            y_before = fed_back(outputs, teacher, start)
        if dense:
            bad.append(dense_gated_kernels.run_gated_dense(
                w, g, *blocks, x[start:stop], states[start:stop + 1], cells[start:stop + 1], outputs[start:stop],
                teacher[start:stop] if teacher.shape[0] else teacher, y_before, *history))
            continue
        with threads.using(n_threads, net.n_neurons) as n_chunks:
            bad.append(gated_kernels.run_gated(w, g, x[start:stop], states[start:stop + 1], cells[start:stop + 1],
                                               outputs[start:stop], teacher[start:stop] if teacher.shape[0] else teacher,
                                               y_before, gates[start:stop] if gates.shape[0] else gates,
                                               n_chunks or None))


def _delayed(net: Network, x: np.ndarray, states: np.ndarray, outputs: np.ndarray, teacher: np.ndarray,
             parallel: bool | None, bar, bad: list) -> None:
    """Fill `states` and `outputs` of a discrete run of a network with
    delays, segment by segment; each segment reads the history the earlier
    ones recorded (no copy of it), the fed-back outputs from `outputs`
    itself, or from a copy with the targets written in under teacher forcing."""
    w, sched, offsets = net.wiring(), net.schedule(), net.run_delays()
    fed = outputs if teacher.shape[0] == 0 else np.empty_like(outputs)
    for start, stop, n_threads in segments(net, x.shape[0], states.shape[2], parallel, bar, "delayed"):
        with threads.using(n_threads, net.n_neurons) as n_chunks:
            if n_chunks:
                bad.append(delayed_kernels.run_delayed_parallel(w, sched, offsets, x, states, 0, outputs, fed,
                                                                teacher, start, stop, n_chunks))
            else:
                bad.append(delayed_kernels.run_delayed_serial(w, sched, offsets, x, states, 0, outputs, fed,
                                                              teacher, start, stop))
