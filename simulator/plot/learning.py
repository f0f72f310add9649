"""Pictures of learning: `gradient_flow` through time and the `training` curve."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from ._common import _axes, _label

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    from matplotlib.axes import Axes

    from ..gradients import Gradients


# --------------------------------------------------------------- gradient flow
def _dh_norm(value, what: str) -> np.ndarray:
    """The dL/dh norms of a Gradients (its diagnostics) or a 1-D array."""
    if hasattr(value, "diagnostics") and hasattr(value, "weight"):
        diag = value.diagnostics or {}
        if "dh_norm" not in diag:
            raise ValueError(f"{what} has no diagnostics: pass return_diagnostics=True to simulator.bptt")
        arr = np.asarray(diag["dh_norm"], dtype=np.float64)
    else:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{what} must be a Gradients (from simulator.bptt with return_diagnostics=True) "
                            f"or a 1-D array of norms, got {type(value).__name__}") from None
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D (one norm per step t = 0 .. n_steps), got shape {arr.shape}")
    return arr


def gradient_flow(
    grads: Gradients | ArrayLike | Mapping[Any, Gradients | ArrayLike],
    *,
    ax: Axes | None = None,
    label: str | None = None,
    title: str | None = None,
    **line_kw: Any,
) -> Axes:
    """The norm of dL/dh[t] against t, on a log scale: how far back in time
    the loss reaches (vanishing gradients fall, exploding ones rise).

    Parameters
    ----------
    grads : Gradients, array_like or dict
        A `simulator.Gradients` from ``simulator.bptt(...,
        return_diagnostics=True)`` (its ``diagnostics["dh_norm"]``), a 1-D
        array of norms for t = 0 .. n_steps, or a dict label -> either of
        these to overlay several curves.
    ax : matplotlib Axes, optional
    label : str, optional
        Legend label of a single curve; with a dict, the legend's title.
    title : str, optional
    **line_kw
        Passed to every ``ax.plot``.

    Returns
    -------
    matplotlib.axes.Axes
        Log y scale, one Line2D per curve. Zero norms (no gradient reaches
        that step) leave a gap.

    Raises
    ------
    ValueError
        A Gradients without diagnostics (pass ``return_diagnostics=True``),
        an array that is not 1-D, an empty dict.
    TypeError
        Anything else.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np, simulator as sim, topologies as tp
    >>> from simulator import plot
    >>> net = sim.compile(tp.four_neuron())
    >>> x, y = np.ones((8, 2)), np.full((8, 1), np.nan)
    >>> y[-1] = 0.5                                     # a target at the last step only
    >>> loss, grads = sim.bptt(net, x, y, return_diagnostics=True)
    >>> ax = plot.gradient_flow({"four-neuron": grads, "flat": np.ones(9)})
    >>> ax.get_yscale(), len(ax.lines)
    ('log', 2)
    >>> plt.close("all")
    """
    if isinstance(grads, Mapping):
        if not grads:
            raise ValueError("`grads` is an empty dict: give label -> Gradients or array")
        curves = [(_label(k), _dh_norm(v, f"`grads[{k!r}]`")) for k, v in grads.items()]
        legend_title = label
    else:
        curves = [(label, _dh_norm(grads, "`grads`"))]
        legend_title = None
    ax = _axes(ax, (6.0, 3.5))
    for name, norms in curves:
        shown = np.where(np.isfinite(norms) & (norms > 0), norms, np.nan)
        kw = dict(line_kw)
        if name is not None:
            kw.setdefault("label", name)
        ax.plot(np.arange(len(norms)), shown, **kw)
    ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel("‖∂L/∂h[t]‖")
    if any(name is not None for name, _ in curves):
        ax.legend(title=legend_title, fontsize=8)
    if title is not None:
        ax.set_title(title)
    return ax


# -------------------------------------------------------------------- training
def training(
    history: Mapping[str, ArrayLike] | ArrayLike,
    *,
    ax: Axes | None = None,
    grad_norm: bool = True,
    title: str | None = None,
) -> Axes:
    """Training curve: loss per epoch on a log scale, and the gradient norm
    on a twin axis.

    Parameters
    ----------
    history : dict or array_like
        The history of `simulator.train` (``"loss"``, optionally
        ``"grad_norm"``), or an array of losses.
    ax : matplotlib Axes, optional
    grad_norm : bool
        Draw ``history["grad_norm"]`` on a twin axis when present.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        The loss axes (log y); the twin, if drawn, is the figure's next axes
        and shares x.

    Raises
    ------
    KeyError
        A dict without ``"loss"``.
    ValueError
        Losses that are not 1-D or empty.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from simulator import plot
    >>> ax = plot.training({"loss": [1.0, 0.5, 0.2, 0.1], "grad_norm": [2.0, 1.5, 1.0, 0.6]})
    >>> ax.get_yscale(), len(ax.figure.axes)
    ('log', 2)
    >>> plt.close("all")
    """
    if isinstance(history, Mapping):
        if "loss" not in history:
            raise KeyError(f"`history` has no 'loss' (keys: {', '.join(map(repr, history))}); "
                           "pass the history dict of simulator.train")
        loss = np.asarray(history["loss"], dtype=np.float64)
        norms = history.get("grad_norm") if grad_norm else None
    else:
        loss, norms = np.asarray(history, dtype=np.float64), None
    if loss.ndim != 1 or loss.size == 0:
        raise ValueError(f"the loss must be a non-empty 1-D array (one value per epoch), got shape {loss.shape}")
    ax = _axes(ax, (6.0, 3.5))
    epochs = np.arange(1, loss.size + 1)
    line = ax.plot(epochs, np.where(loss > 0, loss, np.nan), color="C0", label="loss")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    handles = list(line)
    if norms is not None:
        norms = np.asarray(norms, dtype=np.float64)
        if norms.shape != loss.shape:
            raise ValueError(f"`history['grad_norm']` must have the shape of the loss {loss.shape}, "
                             f"got {norms.shape}")
        twin = ax.twinx()
        handles += twin.plot(epochs, np.where(norms > 0, norms, np.nan), color="C1", lw=1, alpha=0.8,
                             label="gradient norm")
        twin.set_yscale("log")
        twin.set_ylabel("gradient norm", color="C1")
        twin.tick_params(axis="y", colors="C1")
    ax.legend(handles=handles, fontsize=8, loc="upper right")
    if title is not None:
        ax.set_title(title)
    return ax
