"""`fit_readout`: the reservoir-computing way to train, in closed form."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .activations import ACTIVATIONS
from .arrays import prepare, prepare_targets
from .network import Network
from .simulate import run

__all__ = ["fit_readout"]

F_KIND, V_KIND, D_KIND = 2, 3, 4


def fit_readout(
    net: Network,
    x: ArrayLike | int,
    targets: ArrayLike,
    ridge: float = 1e-6,
    washout: int = 0,
    h0: ArrayLike | None = None,
) -> Network:
    """Fit the readout edges by ridge regression on the recorded states.

    For every output ``o``, its existing hidden -> output and input -> output
    edges and its bias minimise ::

        sum_t (y_o[t] - target_o[t])^2 + ridge * |w_o|^2

    over the steps ``t >= washout`` where the target is not NaN, with
    ``y_o[t] = V_o h[t + 1] + D_o x[t] + c_o`` (the bias is not penalised).
    Only edges that exist in the graph are fitted; nothing else changes.

    A network with output -> hidden feedback edges is recorded with the
    targets fed back in place of its outputs (teacher forcing, where a
    target is given), the classical way for echo-state networks: the
    readout then learns to produce what it will be fed in a free run.

    Parameters
    ----------
    net : Network
        Its outputs must have the identity activation (a linear readout).
    x, h0
        As in `simulator.run`; batches add rows to the regression.
    targets : array_like, shape of the outputs
        NaN where there is no target.
    ridge : float
        Tikhonov penalty, >= 0.
    washout : int
        Steps discarded at the start (the reservoir's transient).

    Returns
    -------
    Network
        With the fitted readout weights and output biases.

    Raises
    ------
    ValueError
        A non-linear output, a negative ridge or washout, targets that do not
        fit, or an output with no target left after the washout.

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
    """
    if not (np.isscalar(ridge) and np.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"`ridge` must be a number >= 0, got {ridge!r}")
    if isinstance(washout, bool) or not isinstance(washout, (int, np.integer)) or washout < 0:
        raise ValueError(f"`washout` must be an int >= 0, got {washout!r}")
    n = net.n_neurons
    for o, name in enumerate(net.outputs):
        if net.activation_codes[n + o] != ACTIVATIONS["identity"]:
            raise ValueError(f"output {name!r} has activation {net.activations[n + o]!r}: "
                             "fit_readout fits linear readouts (identity outputs)")
    drive = prepare(net, x, h0)
    tk = prepare_targets(net, targets, drive)  # (T, n_out, batch)
    feedback = bool((net.edge_kind == F_KIND).any())
    res = run(net, x, h0, targets=targets if feedback else None, teacher_forcing=feedback)
    states = res.states if res.batched else res.states[:, None, :]      # (T+1, batch, N)
    inputs = drive.x.transpose(0, 2, 1)                                  # (T, batch, n_in)

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
