"""Jaeger's short-term memory capacity, from ridge readouts of delayed
inputs fitted on one recorded run."""

from __future__ import annotations

from typing import Literal

import numpy as np

from ._checks import check_int, check_real
from ._model import check_seed, check_stepping
from .results import MemoryCapacity

__all__ = ["memory_capacity"]


def memory_capacity(
    net,
    k_max: int | None = None,
    n_steps: int = 5000,
    washout: int = 500,
    ridge: float = 1e-8,
    seed: int | np.random.Generator | None = 0,
    *,
    dt: float | None = None,
    method: Literal["euler", "exp_euler", "rk4"] | None = None,
) -> MemoryCapacity:
    """Jaeger's memory capacity of a network with one input.

    The network is driven by i.i.d. inputs ``u[t] ~ U(-1, 1)`` for `n_steps`
    steps from h = 0; for each delay k a linear readout (with intercept) of
    the state is fitted by ridge regression to recall ``u[t - k]``.

    Parameters
    ----------
    net : Network
        Exactly one input node.
    k_max : int, optional
        The largest delay, ``>= 1`` (default ``2 * n_neurons``).
    n_steps : int, default 5000
    washout : int, default 500
        States before this step are not used, ``>= 0``.
    ridge : float, default 1e-8
        Ridge penalty ``>= 0`` on the readout weights (of centred states).
    seed : int, numpy.random.Generator or None, default 0
        Draws u.
    dt : float, optional
        Keyword only: continuous time with this fixed step, ``u[t]`` held
        over each step (default: discrete time).
    method : {"euler", "exp_euler", "rk4"}, optional
        Keyword only: the fixed-step integrator (default ``"rk4"`` with dt).

    Returns
    -------
    MemoryCapacity
        ``total`` and ``by_delay`` (k_max,), ``by_delay[k - 1]`` for delay k (in the
        network's dtype; the fits are float64).

    Raises
    ------
    TypeError
        An argument of the wrong kind.
    ValueError
        A network without exactly one input, or sizes that leave fewer
        samples than neurons + 2.

    Notes
    -----
    ``MC = sum_{k=1..k_max} r^2(u[t - k], y_k[t])`` (Jaeger 2002), where the
    state h[t] = ``states[t]`` has seen ``u[0] .. u[t - 1]`` (design
    section 3: ``h[t] = phi(W h[t-1] + U u[t-1] + b)``), ``y_k[t] = w_k . h[t]
    + b_k``, and r^2 is the squared correlation over the samples
    ``t = max(washout, k_max) .. n_steps``, all delays on the same samples.
    A delay line of k neurons has MC = k and a network of N neurons at most
    N. The fits are in-sample: a delay the network has forgotten still
    scores about ``N / n_samples``, so keep ``n_steps`` well above
    ``N * k_max`` for a sharp total.

    Examples
    --------
    >>> import networkx as nx, simulator as sim
    >>> G = nx.DiGraph([("u", 0), (0, 1), (1, 2)])          # a delay line of 3
    >>> for i in range(3): G.nodes[i]["activation"] = "identity"
    >>> mc = sim.memory_capacity(sim.compile(G, inputs=["u"]), k_max=5, n_steps=2000, washout=10)
    >>> round(mc.total, 1), mc.by_delay.round(2)
    (3.0, array([1., 1., 1., 0., 0.]))
    """
    if not all(hasattr(net, a) for a in ("inputs", "neurons")):
        raise TypeError(f"`net` must be a Network from simulator.compile, got {type(net).__name__}")
    if net.n_inputs != 1:
        raise ValueError(f"`net` must have exactly one input for the memory capacity; it has {net.n_inputs}: "
                         f"{list(net.inputs)}")
    n = net.n_neurons
    if n == 0:
        raise ValueError("`net` has no hidden neurons: there is no state to read")
    dt, method = check_stepping(dt, method)
    k_max = 2 * n if k_max is None else check_int(k_max, "k_max", 1)
    n_steps = check_int(n_steps, "n_steps", 1)
    washout = check_int(washout, "washout", 0)
    ridge = check_real(ridge, "ridge", positive=False)
    if ridge < 0:
        raise ValueError(f"`ridge` must be >= 0, got {ridge}")
    rng = check_seed(seed)
    start = max(washout, k_max)
    n_samples = n_steps + 1 - start
    if n_samples < n + 2:
        raise ValueError(
            f"`n_steps` = {n_steps} leaves {n_samples} samples after max(washout, k_max) = {start}; "
            f"the readouts need at least n_neurons + 2 = {n + 2}: raise `n_steps`")
    u = rng.uniform(-1.0, 1.0, n_steps)

    import simulator as sim

    res = sim.run(net, u[:, None].astype(net.dtype), dt=dt, method=method, progress=False)
    H = np.asarray(res.states[start:], dtype=np.float64)
    t = np.arange(start, n_steps + 1)
    Y = u[t[:, None] - np.arange(1, k_max + 1)[None, :]]
    Hc = H - H.mean(axis=0)
    Yc = Y - Y.mean(axis=0)
    # ridge readouts through the SVD of the centred states: Yhat = U diag(s^2 / (s^2 + ridge)) U^T Yc
    Us, s, _ = np.linalg.svd(Hc, full_matrices=False)
    s2 = s * s
    keep = s2 > s2.max(initial=0.0) * 1e-15 if ridge == 0 else s2 > 0
    filt = s2[keep] / (s2[keep] + ridge)
    Uk = Us[:, keep]
    Yhat = Uk @ (filt[:, None] * (Uk.T @ Yc))
    num = np.einsum("ij,ij->j", Yhat, Yc) ** 2
    den = np.einsum("ij,ij->j", Yhat, Yhat) * np.einsum("ij,ij->j", Yc, Yc)
    r2 = np.divide(num, den, out=np.zeros(k_max), where=den > 0)
    return MemoryCapacity(total=float(r2.sum()), by_delay=r2.astype(net.dtype), delays=np.arange(1, k_max + 1),
                          n_samples=int(n_samples), dt=dt, method=method, network=net)
