"""Pictures of the dynamics analyses: `eigenvalues` in the complex plane,
the `lyapunov` spectrum and its convergence, and `fixed_points` in the plane
of the states' two leading principal components."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._common import _axes, _check_result, _pyplot

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    from matplotlib.axes import Axes

__all__ = ["eigenvalues", "lyapunov", "fixed_points", "STABLE", "UNSTABLE", "SLOW"]

#: Colours of stable and unstable fixed points and of slow points.
STABLE, UNSTABLE, SLOW = "#1a9850", "#d73027", "#fdae61"


def _is_fixed_points(value) -> bool:
    return all(hasattr(value, a) for a in ("states", "eigenvalues", "stable", "slow", "dt"))


def eigenvalues(
    fp_or_array: Any,
    *,
    continuous: bool | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    **scatter_kw: Any,
) -> Axes:
    """Eigenvalues in the complex plane, with the unit circle (discrete time)
    or the imaginary axis (continuous time): the boundary of stability.

    Parameters
    ----------
    fp_or_array : FixedPoints or array_like of complex
        A `simulator.fixed_points` result (every point's eigenvalues,
        coloured by the point's stability) or eigenvalues, any shape.
    continuous : bool, optional
        Draw the imaginary axis instead of the unit circle. Default: from
        the FixedPoints (``dt`` given), False for an array.
    ax : matplotlib Axes, optional
    title : str, optional
    **scatter_kw
        Passed to ``Axes.scatter``.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError
        If `fp_or_array` is neither.

    Examples
    --------
    >>> import numpy as np, simulator as sim
    >>> ax = sim.plot.eigenvalues(np.array([0.5 + 0.5j, 0.5 - 0.5j, -1.2]))
    >>> len(ax.collections), ax.get_aspect()
    (1, 1.0)
    """
    ax = _axes(ax, (4.2, 4.0))
    if _is_fixed_points(fp_or_array):
        fp = fp_or_array
        cont = fp.dt is not None if continuous is None else continuous
        scatter_kw.setdefault("s", 18)
        scatter_kw.setdefault("alpha", 0.8)
        groups = (("stable point", STABLE, fp.stable & ~fp.slow), ("unstable point", UNSTABLE, ~fp.stable & ~fp.slow),
                  ("slow point", SLOW, fp.slow))
        for label, colour, mask in groups:
            if mask.any():
                lam = fp.eigenvalues[mask].ravel()
                ax.scatter(lam.real, lam.imag, color=colour, label=label, **scatter_kw)
        if len(fp.states):
            ax.legend(fontsize=8, loc="best")
    else:
        try:
            lam = np.asarray(fp_or_array, dtype=complex).ravel()
        except (TypeError, ValueError):
            raise TypeError("`fp_or_array` must be a FixedPoints from simulator.fixed_points or an array of "
                            f"eigenvalues, got {type(fp_or_array).__name__}") from None
        cont = bool(continuous)
        scatter_kw.setdefault("s", 18)
        ax.scatter(lam.real, lam.imag, **scatter_kw)
    if cont:
        ax.axvline(0.0, color="0.4", lw=0.8, ls="--")
        ax.axhline(0.0, color="0.8", lw=0.6)
        ax.set_xlabel("Re λ (stable left of the dashed line)")
    else:
        t = np.linspace(0, 2 * np.pi, 361)
        ax.plot(np.cos(t), np.sin(t), color="0.4", lw=0.8, ls="--")
        ax.axhline(0.0, color="0.8", lw=0.6)
        ax.axvline(0.0, color="0.8", lw=0.6)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("Re λ (stable inside the dashed circle)")
    ax.set_ylabel("Im λ")
    if title:
        ax.set_title(title)
    return ax


def lyapunov(ly: Any, *, history: bool = True, ax: Axes | None = None, title: str | None = None) -> Axes:
    """The Lyapunov spectrum: exponents by index (left) and, with
    `history`, the running estimates converging over the steps (right).

    Parameters
    ----------
    ly : LyapunovSpectrum
        From `simulator.lyapunov`.
    history : bool, default True
        Add a second panel with the running estimates (the five largest).
    ax : matplotlib Axes, optional
        Where to draw the spectrum; the history panel is then drawn on
        ``ax.figure``'s next free slot only when `ax` is None.
    title : str, optional

    Returns
    -------
    matplotlib Axes
        The spectrum's axes.

    Examples
    --------
    >>> import networkx as nx, simulator as sim
    >>> ly = sim.lyapunov(sim.compile(nx.DiGraph([(0, 1), (1, 0)])), 50, warmup=10)
    >>> sim.plot.lyapunov(ly).get_xlabel()
    'index i'
    """
    if not all(hasattr(ly, a) for a in ("exponents", "history", "dt")):
        raise TypeError(f"`ly` must be a LyapunovSpectrum from simulator.lyapunov, got {type(ly).__name__}")
    unit = "per step" if ly.dt is None else "per unit time"
    if ax is None:
        plt = _pyplot()
        if history:
            fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8.5, 3.4), layout="constrained")
        else:
            fig, ax = plt.subplots(figsize=(4.5, 3.4), layout="constrained")
            ax2 = None
    else:
        ax2 = None
    lam = ly.exponents
    idx = np.arange(1, lam.size + 1)
    ax.plot(idx, lam, "o-", ms=3, lw=1)
    ax.axhline(0.0, color="0.4", lw=0.8, ls="--")
    ax.set_xlabel("index i")
    ax.set_ylabel(f"λ_i ({unit})")
    ax.set_title(title or f"Lyapunov spectrum (largest {lam[0]:.3g})")
    if ax2 is not None:
        steps = np.arange(ly.warmup + 1, ly.n_steps + 1) * (1.0 if ly.dt is None else ly.dt)
        for j in range(min(5, lam.size)):
            ax2.plot(steps, ly.history[:, j], lw=1, label=f"λ_{j + 1}")
        ax2.axhline(0.0, color="0.4", lw=0.8, ls="--")
        ax2.set_xlabel("step" if ly.dt is None else "time")
        ax2.set_ylabel("running estimate")
        ax2.legend(fontsize=8)
        ax2.set_title("convergence")
    return ax


def fixed_points(
    fp: Any,
    res: Any = None,
    *,
    batch: int | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Fixed points projected on the two leading principal components,
    coloured by stability, with the trajectories of a run passing by.

    Parameters
    ----------
    fp : FixedPoints
        From `simulator.fixed_points`.
    res : Result, optional
        A run of the same network: its states are drawn as lines (every
        batch element, or the one given by `batch`). The principal
        components come from the run's states when given (else from the
        points).
    batch : int, optional
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    Stable points are filled green, unstable ones open red, slow points
    orange; a network of one neuron is drawn against a zero second axis, and
    with two neurons the axes are the neurons themselves (no projection).

    Examples
    --------
    >>> import networkx as nx, numpy as np, simulator as sim
    >>> net = sim.compile(nx.DiGraph([(0, 0, {"weight": 2.0}), (0, 1), (1, 1, {"weight": 1.5})]))
    >>> fp = sim.fixed_points(net, n_starts=16)
    >>> ax = sim.plot.fixed_points(fp, sim.run(net, 30, h0=[0.1, -0.2]))
    >>> ax.get_xlabel()
    '0'
    """
    if not _is_fixed_points(fp):
        raise TypeError(f"`fp` must be a FixedPoints from simulator.fixed_points, got {type(fp).__name__}")
    n = fp.states.shape[1]
    runs = []
    if res is not None:
        _check_result(res)
        if res.states.shape[-1] != n:
            raise ValueError(f"`res` has {res.states.shape[-1]} neurons but `fp` has {n}: use a run of the same network")
        S = np.asarray(res.states, dtype=np.float64)
        if S.ndim == 3:
            runs = [S[:, b] for b in (range(S.shape[1]) if batch is None else [batch])]
        else:
            runs = [S]
    ax = _axes(ax, (4.8, 4.2))
    if n <= 2:
        names = list(fp.network.neurons)

        def project(X):
            X = np.asarray(X, dtype=np.float64)
            return X if n == 2 else np.column_stack([X[:, 0], np.zeros(len(X))])

        xlabel, ylabel = str(names[0]), (str(names[1]) if n == 2 else "")
    else:
        data = np.vstack(runs) if runs else fp.states
        mean = data.mean(axis=0)
        if data.shape[0] >= 2:
            _, s, vt = np.linalg.svd(data - mean, full_matrices=False)
            var = s ** 2 / max(float(np.sum(s ** 2)), 1e-300)
        else:
            vt, var = np.eye(n)[:2], np.array([0.0, 0.0])
        if vt.shape[0] < 2:
            vt = np.vstack([vt, np.zeros((2 - vt.shape[0], n))])
            var = np.concatenate([var, np.zeros(2)])

        def project(X):
            return (np.asarray(X, dtype=np.float64) - mean) @ vt[:2].T

        xlabel, ylabel = f"PC 1 ({100 * var[0]:.0f}%)", f"PC 2 ({100 * var[1]:.0f}%)"
    for k, S in enumerate(runs):
        P = project(S)
        ax.plot(P[:, 0], P[:, 1], color="0.55", lw=0.8, alpha=0.8, label="run" if k == 0 else None)
        ax.plot(P[:1, 0], P[:1, 1], "o", color="0.55", ms=3)
    if len(fp.states):
        P = project(fp.states)
        for mask, style, lab in (((fp.stable & ~fp.slow), dict(color=STABLE), "stable"),
                                 ((~fp.stable & ~fp.slow), dict(facecolors="white", edgecolors=UNSTABLE, linewidths=1.5),
                                  "unstable"),
                                 (fp.slow, dict(color=SLOW, marker="s"), "slow point")):
            if mask.any():
                ax.scatter(P[mask, 0], P[mask, 1], s=50, zorder=3, label=lab, **style)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title or f"{int((~fp.slow).sum())} fixed points ({'discrete' if fp.dt is None else 'continuous'})")
    return ax
