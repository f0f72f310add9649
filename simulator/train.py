"""`train`: gradient descent on a network's own edges, by BPTT."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .bptt import SparseReadoutWarning, bptt, supervised_outputs, warn_sparse_readout
from .errors import NonFiniteError
from .gradients import check_clip, clip_norm, trained_norm
from .network import Network
from .optim import OPTIMIZERS, check_options
from .progress import progress_bar
from .trainable import trainable_masks, trained_masks
from .methods import ODE_METHODS, check_fixed_step

__all__ = ["train", "trainable_masks", "TrainingDiverged"]


class TrainingDiverged(RuntimeWarning):
    """`train` stopped early: the forward pass overflowed, or a loss or
    gradient became inf or NaN. The network it returns is the last one with
    a finite loss and gradients."""


def train(
    net: Network,
    x: ArrayLike,
    targets: ArrayLike,
    loss: str = "mse",
    epochs: int = 100,
    optimizer: str = "adam",
    lr: float = 1e-2,
    batch_size: int | None = None,
    truncate: int | None = None,
    clip: float | None = None,
    teacher_forcing: bool = False,
    seed: int | np.random.Generator | None = None,
    callback: Callable[[int, Network, float], bool | None] | None = None,
    progress: bool = True,
    trainable: Iterable[str] | Mapping[str, Any] | None = None,
    h0: ArrayLike | None = None,
    dt: float | None = None,
    method: str | None = None,
    min_tau: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    c0: ArrayLike | None = None,
    **hyper: float,
) -> tuple[Network, dict[str, np.ndarray]]:
    """Train the existing edges (and biases) of `net` by BPTT.

    Parameters
    ----------
    net : Network
    x, targets, loss, truncate, teacher_forcing, h0, dt, method, rtol, atol
        As in `simulator.bptt` (continuous time: ``dt`` with ``"euler"``,
        ``"exp_euler"`` or ``"rk4"``, or with an adaptive method of
        `simulator.solve` and its tolerances, differentiated by the adjoint;
        teacher forcing is discrete-time only).
    clip : float, optional
        Gradient-norm clipping, the rule of `simulator.bptt` (as
        ``torch.nn.utils.clip_grad_norm_`` over the trainable parameters):
        the global L2 norm of the gradients of the parameters that train
        (`trainable`; not frozen ones, nor `h0`, which does not train); when
        it exceeds `clip`, those gradients are scaled by ``clip / norm``
        before the optimizer's step. One SGD step therefore moves the
        parameters by ``-lr`` times the gradients that
        ``sim.bptt(..., clip=clip, trainable=trainable)`` returns.
    epochs : int
        Passes over the data.
    optimizer : {"adam", "sgd"}
        Step functions of `simulator.optim`; extra keywords go to it: SGD's
        ``momentum`` (0 <= momentum < 1), Adam's ``beta1``, ``beta2`` (in
        [0, 1)) and ``eps`` (> 0).
    lr : float
        Learning rate.
    batch_size : int, optional
        Minibatches along the batch axis of a batched `x`, reshuffled every
        epoch with `seed` (default: the whole batch each step).
    seed : int or numpy.random.Generator, optional
    callback : callable, optional
        ``callback(epoch, net, loss)`` after every epoch; returning True stops.
    progress : bool
        A progress bar with the loss (tqdm when installed, else a line of
        text on stderr).
    trainable : optional
        Which parameters train (default: weights and biases, and time
        constants in continuous time): a list of kinds (``["weight", "bias",
        "tau"]``), or a mapping from kind to ``True``/``False``, a list of
        edges ``(u, v)`` (weight) or node names (bias, tau), or a boolean mask
        aligned with ``net.weight``, ``net.bias`` or ``net.tau``; kinds left
        out of a mapping are frozen.
    min_tau : float, optional
        Continuous time: time constants are kept at or above this after every
        update (default `dt`: a neuron faster than the step is not resolved
        by it, and Euler and RK4 turn unstable as ``dt / tau`` grows past 2;
        with an adaptive method, which resolves any tau, half the smallest
        initial tau).

    Returns
    -------
    trained : Network
        ``trained.to_networkx()`` carries the new weights and biases.
    history : dict of ndarray
        Per epoch: ``"loss"``, measured before each update and averaged
        over the epoch's minibatches weighted by their sizes (so the mean
        over the sequences), and ``"grad_norm"``, the global norm of the
        trained parameters' gradients before clipping, averaged likewise.

    Warns
    -----
    SparseReadoutWarning
        Once per call, when an output that has targets reads fewer than a
        tenth of the hidden neurons (networks of ten or more): only existing
        edges train. The message names the output and how to wire it.
    TrainingDiverged
        When the forward pass overflows or the loss or a gradient becomes inf
        or NaN: training stops there and returns the last network with a
        finite loss and gradients, with the history of the epochs completed.

    Examples
    --------
    >>> import numpy as np, networkx as nx, simulator as sim
    >>> G = nx.DiGraph([("x", "h"), ("h", "h"), ("h", "y")])
    >>> G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    >>> x, y = np.ones((5, 1)), np.full((5, 1), 0.3)
    >>> net, history = sim.train(sim.compile(G), x, y, epochs=200, lr=0.05, progress=False)
    >>> bool(history["loss"][-1] < 1e-3 < history["loss"][0])
    True
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"`optimizer` must be one of {', '.join(repr(k) for k in OPTIMIZERS)}, got {optimizer!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"`epochs` must be a positive int, got {epochs!r}")
    if not (np.isscalar(lr) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"`lr` must be a positive number, got {lr!r}")
    check_options(optimizer, hyper)
    check_clip(clip)
    step = OPTIMIZERS[optimizer]
    continuous = dt is not None or method is not None
    adaptive = method in ODE_METHODS
    if continuous:
        if adaptive:
            if dt is None:
                raise ValueError(f"`method={method!r}` needs `dt=`, the spacing of the input samples and targets")
            default_tau = 0.5 * float(net.tau.min()) if net.n_neurons else dt
        else:
            check_fixed_step(dt, method)  # names a missing `dt` before `min_tau` defaults to it
            default_tau = dt
        min_tau = default_tau if min_tau is None else min_tau
        if not (np.isscalar(min_tau) and np.isfinite(min_tau) and min_tau > 0):
            raise ValueError(f"`min_tau` must be a positive number, got {min_tau!r}")
    elif min_tau is not None:
        warnings.warn("`min_tau` has no effect in discrete time (tau plays no part there)", stacklevel=2)
    if not adaptive and (rtol is not None or atol is not None):
        raise ValueError(f"`rtol` and `atol` are an adaptive method's tolerances (method='RK45', 'BDF', ...); "
                         f"method={method!r} takes none")
    tolerances = {"rtol": rtol, "atol": atol} if adaptive else {}
    if callback is not None and not callable(callback):
        raise TypeError(f"`callback` must be callable as callback(epoch, net, loss), got {callback!r}")
    masks = trained_masks(net, trainable, continuous)
    if not continuous and masks["tau"].any():
        warnings.warn("training `tau` has no effect in discrete time (tau plays no part there)", stacklevel=2)
    steps_only = isinstance(x, (int, np.integer)) and not isinstance(x, bool)  # a free run of x steps
    xa, ta = (x if steps_only else np.asarray(x)), np.asarray(targets)
    batched = not steps_only and xa.ndim == 3
    if batched and xa.shape[1] == 0:
        raise ValueError(f"`x` has shape {xa.shape}: a batch of 0 sequences, nothing to train on")
    if batch_size is not None:
        if not batched:
            raise ValueError("`batch_size` needs a batched `x` of shape (n_steps, batch, n_inputs)")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive int, got {batch_size!r}")
    rng = np.random.default_rng(seed)
    n_batch = xa.shape[1] if batched else 1
    size = batch_size or n_batch
    h0a = None if h0 is None else np.asarray(h0)
    c0a = None if c0 is None else np.asarray(c0)
    warn_sparse_readout(net, supervised_outputs(net, ta, loss))  # once here; not from every epoch's bptt

    gate_kinds = tuple(net.gate_parameters())
    params = [net.weight.copy(), net.bias.copy(), net.tau.copy(), *(getattr(net, k).copy() for k in gate_kinds)]
    state: dict = {}
    losses, norms = [], []
    diverged, last_finite = None, net
    bar = progress_bar(progress, epochs, "train", "epochs")
    try:
        for epoch in range(epochs):
            order = rng.permutation(n_batch) if batch_size else np.arange(n_batch)
            epoch_loss, epoch_norm, count = 0.0, 0.0, 0
            for start in range(0, n_batch, size):
                idx = order[start:start + size]
                xb, tb = (xa[:, idx], ta[:, idx]) if batched else (xa, ta)
                hb = h0a[idx] if batched and h0a is not None and h0a.ndim == 2 else h0a
                cb = c0a[idx] if batched and c0a is not None and c0a.ndim == 2 else c0a
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", SparseReadoutWarning)
                        value, grads = bptt(net, xb, tb, loss=loss, h0=hb, dt=dt, method=method, truncate=truncate,
                                            teacher_forcing=teacher_forcing, **tolerances, c0=cb)
                except NonFiniteError as error:
                    diverged = f"the forward pass overflowed ({error})"
                    break
                norm = trained_norm(grads, masks)  # only what trains: neither frozen parameters nor h0
                if not np.isfinite(value):
                    diverged = f"the loss became {value}"
                    break
                if not np.isfinite(norm):
                    diverged = f"the gradient norm became {norm}"
                    break
                grads = clip_norm(grads, clip, masks, norm)
                params, state = step(params, [grads.weight * masks["weight"], grads.bias * masks["bias"],
                                              grads.tau * masks["tau"],
                                              *(getattr(grads, k) * masks[k] for k in gate_kinds)], state, lr, **hyper)
                if continuous:
                    params[2] = np.maximum(params[2], min_tau)
                last_finite = net  # its loss and gradients were finite
                net = net.with_params(weight=params[0], bias=params[1], tau=params[2],
                                      **dict(zip(gate_kinds, params[3:])))
                epoch_loss += value * len(idx)
                epoch_norm += norm * len(idx)
                count += len(idx)
            if diverged:
                warnings.warn(f"training stopped in epoch {epoch}: {diverged}. The network returned is the last one "
                              "with a finite loss and gradients; try a smaller `lr`, `clip=`, or in continuous time "
                              "a smaller `dt` (or a larger `min_tau`).", TrainingDiverged, stacklevel=2)
                net = last_finite
                break
            losses.append(epoch_loss / count)
            norms.append(epoch_norm / count)
            if bar is not None:
                bar.set_postfix_str(f"loss {losses[-1]:.4g}")
                bar.update()
            if callback is not None and callback(epoch, net, losses[-1]):
                break
    finally:
        if bar is not None:
            bar.close()
    return net, {"loss": np.array(losses), "grad_norm": np.array(norms)}
