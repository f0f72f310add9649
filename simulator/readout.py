"""`fit_readout`: the reservoir-computing way to train, in closed form."""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike

from .activations import ACTIVATIONS
from .arrays import Drive, prepare, prepare_targets
from .delays import refuse_delays
from .network import Network
from .simulate import check_fixed_step, run

__all__ = ["fit_readout"]

U_KIND, F_KIND, V_KIND, D_KIND = 1, 2, 3, 4


def fit_readout(
    net: Network,
    x: ArrayLike | int,
    targets: ArrayLike,
    ridge: float = 1e-6,
    washout: int = 0,
    h0: ArrayLike | None = None,
    *,
    dt: float | None = None,
    method: str | None = None,
) -> Network:
    """Fit the readout edges by ridge regression on the recorded states.

    For every output ``o``, its existing hidden -> output and input -> output
    edges and its bias minimise ::

        sum_t (y_o[t] - target_o[t])^2 + ridge * |w_o|^2

    over the steps ``t >= washout`` where the target is not NaN, with
    ``y_o[t] = V_o h[t + 1] + D_o x[t] + c_o`` (the bias is not penalised).
    Only edges that exist in the graph are fitted; nothing else changes.

    The states ``h`` are recorded by `simulator.run` with the same time
    stepping (`dt`, `method`) as the run the fitted network is meant for:
    pass the same `dt` and `method` to both. A leaky reservoir
    (``tp.echo_state(..., leak=a)``, every ``tau = 1 / a``) is the classic
    leaky ESN only with ``dt=1.0, method="euler"``; in discrete time the
    taus are ignored, so a discrete fit of a network whose taus are not all
    1 warns.

    A network with output -> hidden feedback edges is recorded with the
    targets fed back in place of its outputs (teacher forcing), the
    classical way for echo-state networks: the readout then learns to
    produce what it will be fed in a free run. In discrete time step ``t``
    reads ``targets[t - 1]`` where it is not NaN, else the output
    (`simulator.run` with ``teacher_forcing=True``). In continuous time the
    target ``targets[k - 1]``, the wanted output at time ``k dt``, is held
    on the feedback path over the step ``[k dt, (k + 1) dt)`` like an input
    (nothing is fed back during step 0, as in discrete time); every target
    of an output with feedback edges but the last must then be given.

    Parameters
    ----------
    net : Network
        Its outputs must have the identity activation (a linear readout).
    x : array_like, shape (n_steps, [batch,] n_inputs); or int
        As in `simulator.run`; batches add rows to the regression.
    targets : array_like, shape (n_steps, [batch,] n_outputs)
        NaN where there is no target.
    ridge : float
        Tikhonov penalty, >= 0.
    washout : int
        Steps discarded at the start (the reservoir's transient).
    h0 : array_like, shape ([batch,] n_neurons), optional
        As in `simulator.run`.
    dt : float, optional
        Record in continuous time with this fixed step, as `simulator.run`
        (default: discrete time).
    method : {"euler", "exp_euler", "rk4"}, optional
        Fixed-step integrator, as in `simulator.run` (default ``"rk4"``;
        needs `dt`).

    Returns
    -------
    Network
        With the fitted readout weights and output biases.

    Raises
    ------
    ValueError
        A non-linear output, a negative ridge or washout, targets that do not
        fit, an output with no target left after the washout, a `dt` or
        `method` that `simulator.run` refuses, or (continuous time) a missing
        target on the feedback path.

    Warns
    -----
    UserWarning
        A discrete-time fit (no `dt`) of a network whose taus are not all 1:
        the message says what to pass.

    Examples
    --------
    >>> import numpy as np, networkx as nx, simulator as sim
    >>> G = nx.DiGraph([("x", "h1"), ("x", "h2"), ("h1", "y"), ("h2", "y")])
    >>> G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    >>> G.nodes["h2"]["activation"] = "sigmoid"
    >>> net = sim.compile(G)
    >>> x = np.linspace(-2, 2, 50)[:, None]
    >>> target = 2 * np.tanh(x) - 3 * (1 / (1 + np.exp(-x))) + 0.5
    >>> fitted = sim.fit_readout(net, x, target, ridge=0.0)
    >>> readout = [v in fitted.outputs for u, v in fitted.edges]   # the edges into an output
    >>> fitted.weight[readout].round(6), float(fitted.bias[-1].round(6))
    (array([ 2., -3.]), 0.5)

    A leaky reservoir is fitted, and run, with the stepping that makes it
    leaky (``h[t+1] = (1 - a) h[t] + a tanh(W h[t] + U x[t])``, ``a = 0.3``):

    >>> import topologies as tp
    >>> series = sim.tasks.mackey_glass(800, seed=0)
    >>> u = ((series - series.mean()) / series.std())[:, None]
    >>> esn = sim.compile(tp.echo_state(100, leak=0.3, seed=0))
    >>> esn = sim.fit_readout(esn, u[:-1], u[1:], washout=100, dt=1.0, method="euler")
    >>> pred = sim.run(esn, u[:-1], dt=1.0, method="euler").outputs
    >>> bool(np.sqrt(np.mean((pred[100:] - u[101:]) ** 2)) < 0.01)
    True
    """
    if not (np.isscalar(ridge) and np.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"`ridge` must be a number >= 0, got {ridge!r}")
    if isinstance(washout, bool) or not isinstance(washout, (int, np.integer)) or washout < 0:
        raise ValueError(f"`washout` must be an int >= 0, got {washout!r}")
    continuous = dt is not None or method is not None
    if continuous:
        check_fixed_step(dt, method)
    refuse_delays(net, "fitted readouts (fit_readout)")
    n = net.n_neurons
    for o, name in enumerate(net.outputs):
        if net.activation_codes[n + o] != ACTIVATIONS["identity"]:
            raise ValueError(f"output {name!r} has activation {net.activations[n + o]!r}: "
                             "fit_readout fits linear readouts (identity outputs)")
    if not continuous and n and (net.tau != 1).any():
        warnings.warn(_discrete_tau_message(net), UserWarning, stacklevel=2)
    drive = prepare(net, x, h0)
    tk = prepare_targets(net, targets, drive)  # (T, n_out, batch)
    feedback = bool((net.edge_kind == F_KIND).any())
    if feedback and continuous:
        states = _forced_continuous_states(net, drive, tk, dt, method)
    else:
        res = run(net, x, h0, dt=dt, method=method,
                  targets=targets if feedback else None, teacher_forcing=feedback)
        states = res.states if res.batched else res.states[:, None, :]      # (T+1, batch, N)
    inputs = drive.x.transpose(0, 2, 1)                                      # (T, batch, n_in)

    import scipy.linalg

    weight, bias = net.weight.astype(np.float64), net.bias.astype(np.float64)
    for o, name in enumerate(net.outputs):
        v_edges = np.flatnonzero((net.edge_kind == V_KIND) & (net.edge_dst == o))
        d_edges = np.flatnonzero((net.edge_kind == D_KIND) & (net.edge_dst == o))
        z = tk[washout:, o, :].reshape(-1).astype(np.float64)
        features = np.concatenate(
            [states[1:, :, net.edge_src[v_edges]], inputs[:, :, net.edge_src[d_edges]]], axis=2
        )[washout:].reshape(z.size, len(v_edges) + len(d_edges)).astype(np.float64)
        keep = ~np.isnan(z)
        if not keep.any():
            raise ValueError(f"output {name!r} has no target after the washout of {washout} steps")
        A, z = features[keep], z[keep]
        mean_a, mean_z = A.mean(axis=0), z.mean()
        Ac, zc = A - mean_a, z - mean_z
        if A.shape[1]:
            gram = Ac.T @ Ac + ridge * np.eye(A.shape[1])
            w = scipy.linalg.lstsq(gram, Ac.T @ zc)[0] if ridge == 0 else \
                scipy.linalg.solve(gram, Ac.T @ zc, assume_a="pos")
        else:
            w = np.zeros(0)
        weight[np.concatenate([v_edges, d_edges])] = w
        bias[n + o] = mean_z - mean_a @ w
    return net.with_params(weight=weight, bias=bias)


def _discrete_tau_message(net: Network) -> str:
    """The warning for a discrete-time fit of a network with taus != 1:
    what discrete time does with them, and what to pass instead."""
    tau = net.tau
    lo, hi = float(tau.min()), float(tau.max())
    taus = f"tau = {lo:.4g}" if lo == hi else f"taus from {lo:.4g} to {hi:.4g}"
    leak = f"leak rate 1/tau = {1 / lo:.4g}" if lo == hi else "leak rates 1/tau"
    return (f"fit_readout is recording a discrete-time run, which ignores the time constants ({taus}): "
            f"the readout is fitted to the non-leaky network. For the leaky network ({leak}: "
            "h[t+1] = (1 - 1/tau) h[t] + phi(...) / tau) pass `dt=1.0, method=\"euler\"`, or the `dt` and "
            "`method` of your continuous-time run, and run the fitted network with the same `dt` and `method`")


def _forced_continuous_states(net: Network, drive: Drive, teacher: np.ndarray, dt: float,
                              method: str | None) -> np.ndarray:
    """States ``(n_steps + 1, batch, n_neurons)`` of a continuous-time run
    whose output -> hidden edges read the targets instead of the outputs.

    The feedback edges become input -> hidden edges from one extra input per
    fed-back output, which carries ``teacher[k - 1]`` on step ``k`` (zero on
    step 0), held over the step like every input. `teacher` is in kernel
    layout ``(n_steps, n_outputs, batch)``.
    """
    kind = net.edge_kind
    fed = np.unique(net.edge_src[kind == F_KIND])         # the outputs with feedback edges
    T = drive.n_steps
    held = teacher[: max(T - 1, 0)][:, fed, :]
    if np.isnan(held).any():
        k, j, b = (int(i) for i in np.argwhere(np.isnan(held))[0])
        where = f"step {k}" + (f", batch element {b}" if drive.batched else "")
        raise ValueError(
            f"output {net.outputs[fed[j]]!r} feeds back but has no target at {where}: teacher forcing "
            "in continuous time holds each target on the feedback path over the next step, so every "
            "target of a fed-back output but the last must be given (NaN is allowed in discrete time only)")
    taken = set(net.inputs) | set(net.neurons) | set(net.outputs)
    names = []
    for o in fed:
        name = ("teacher", net.outputs[o])
        while name in taken:
            name = ("teacher", name)
        names.append(name)
    column = np.full(net.n_outputs, -1, dtype=np.int64)
    column[fed] = net.n_inputs + np.arange(fed.size)
    src = net.edge_src.copy()
    src[kind == F_KIND] = column[src[kind == F_KIND]]
    open_loop = Network(
        neurons=net.neurons, inputs=net.inputs + tuple(names), outputs=net.outputs,
        edge_kind=np.where(kind == F_KIND, U_KIND, kind).astype(np.int8), edge_src=src,
        edge_dst=net.edge_dst, weight=net.weight, bias=net.bias, tau=net.tau,
        activation_codes=net.activation_codes,
    )
    x = np.zeros((T, drive.batch, open_loop.n_inputs), dtype=net.dtype)
    x[:, :, : net.n_inputs] = drive.x.transpose(0, 2, 1)
    x[1:, :, net.n_inputs:] = held.transpose(0, 2, 1)
    res = run(open_loop, x, drive.h0.T, dt=dt, method=method)
    return res.states
