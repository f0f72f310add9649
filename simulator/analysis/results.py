"""Result objects of the dynamics analyses: named fields, a readable repr,
an HTML table for Jupyter and ``to_pandas()`` (in the manner of SciPy's
``OptimizeResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..display import count, html_table
from ..optional import require

__all__ = ["FixedPoints", "LyapunovSpectrum", "MemoryCapacity"]


def _mode(dt, method=None) -> str:
    if dt is None:
        return "discrete"
    return f"continuous dt={dt:g}" + (f" {method}" if method else "")


def _fmt(z: complex) -> str:
    z = complex(z)
    if z.imag == 0:
        return f"{z.real:.4g}"
    return f"{z.real:.4g}{z.imag:+.4g}j"


@dataclass(frozen=True, eq=False)
class FixedPoints:
    """Fixed points (and, with ``slow=True``, slow points) of a network.

    Attributes
    ----------
    states : ndarray, shape (K, n_neurons [+ n_lstm])
        The distinct points h*, fixed points first (by increasing |h*|),
        then the slow points (by increasing q). A network with LSTM neurons
        has the state ``(h, c)``: the cell states (``net.cell_neurons``
        order) after the neurons' (``to_pandas`` names them ``c[name]``).
    residual : ndarray, shape (K,)
        ``|F(h*) - h*|`` (discrete) or ``|dh/dt|`` at h* (continuous).
    eigenvalues : ndarray of complex, shape (K, m)
        Eigenvalues of the Jacobian at each point: of the step's Jacobian
        (discrete), sorted by decreasing modulus, or of ``d(dh/dt)/dh``
        (continuous), sorted by decreasing real part. ``m = n_neurons`` when
        ``n_neurons <= 500``, else the 20 leading ones.
    stable : ndarray of bool, shape (K,)
        Every ``|lambda| < 1`` (discrete) or every ``Re lambda < 0``
        (continuous).
    q : ndarray, shape (K,)
        ``q = |F(h) - h|^2 / 2`` (discrete) or ``|dh/dt|^2 / 2`` (continuous).
    slow : ndarray of bool, shape (K,)
        True for slow points: local minima of q that are not fixed points.
    x : ndarray, shape (n_inputs,)
        The input held constant.
    dt : float or None
        None in discrete time.
    network : Network
    n_starts : int
        How many starting states were tried.
    """

    states: np.ndarray
    residual: np.ndarray
    eigenvalues: np.ndarray
    stable: np.ndarray
    q: np.ndarray
    slow: np.ndarray
    x: np.ndarray
    dt: float | None
    network: Any = field(repr=False)
    n_starts: int = 0

    def __len__(self) -> int:
        return self.states.shape[0]

    @property
    def leading(self) -> np.ndarray:
        """The leading eigenvalue of each point, shape (K,) (complex)."""
        if self.eigenvalues.shape[1] == 0:
            return np.full(len(self), np.nan + 0j)
        return self.eigenvalues[:, 0]

    def to_pandas(self) -> Any:
        """One row per point: ``residual``, ``stable``, ``slow``, ``q``, the
        ``leading`` eigenvalue (complex) and its ``|leading|`` (discrete) or
        ``Re leading`` (continuous), then the state by neuron name (pandas
        is an optional extra).

        Examples
        --------
        >>> import networkx as nx, simulator as sim
        >>> net = sim.compile(nx.DiGraph([("a", "a", {"weight": 0.5})]))
        >>> sim.fixed_points(net, n_starts=4).to_pandas()[["stable", "|leading|", "a"]]
           stable  |leading|    a
        0    True        0.5  0.0
        """
        pd = require("pandas", "FixedPoints.to_pandas", "xarray")
        lead = self.leading
        key = "|leading|" if self.dt is None else "Re leading"
        cols: dict[str, Any] = {
            "residual": self.residual,
            "stable": self.stable,
            "slow": self.slow,
            "q": self.q,
            "leading": lead,
            key: np.abs(lead) if self.dt is None else lead.real,
        }
        frame = pd.DataFrame(cols)
        cells = [f"c[{name}]" for name in getattr(self.network, "cell_neurons", ())]
        states = pd.DataFrame(self.states, columns=list(self.network.neurons) + cells)
        return pd.concat([frame, states], axis=1)

    def __repr__(self) -> str:
        n_fixed = int(np.sum(~self.slow))
        n_stable = int(np.sum(self.stable & ~self.slow))
        slow = f", {count(int(self.slow.sum()), 'slow point')}" if self.slow.any() else ""
        return (f"FixedPoints({count(n_fixed, 'fixed point')} ({n_stable} stable){slow}; "
                f"{_mode(self.dt)}, {count(self.states.shape[1], 'neuron')}, "
                f"max residual {float(self.residual.max()) if len(self) else 0.0:.2g})")

    def _repr_html_(self) -> str:
        rows = [("points", repr(self)[len("FixedPoints("):-1]),
                ("time mode", _mode(self.dt)),
                ("starts", str(self.n_starts))]
        for i in range(min(len(self), 12)):
            what = "slow point" if self.slow[i] else ("stable" if self.stable[i] else "unstable")
            rows.append((f"#{i}", f"{what}; residual {self.residual[i]:.2g}; leading eigenvalue "
                                  f"{_fmt(self.leading[i])}; |h*| {np.linalg.norm(self.states[i]):.4g}"))
        if len(self) > 12:
            rows.append(("...", f"{len(self) - 12} more"))
        return html_table("FixedPoints", rows)


@dataclass(frozen=True, eq=False)
class LyapunovSpectrum:
    """Lyapunov exponents of a run, from QR re-orthonormalised tangents.

    Attributes
    ----------
    exponents : ndarray, shape (n_exponents,)
        Descending; per step (discrete) or per unit time (continuous).
    history : ndarray, shape (n_steps - warmup, n_exponents)
        The running estimates after the warm-up: row j averages the steps
        ``warmup .. warmup + j``; the last row equals `exponents`.
    dt : float or None
        None in discrete time.
    method : str or None
        The fixed-step integrator (continuous time).
    warmup : int
    n_steps : int
    autonomous : bool
        Whether the run had no drive (zero input).
    network : Network
    """

    exponents: np.ndarray
    history: np.ndarray
    dt: float | None
    method: str | None
    warmup: int
    n_steps: int
    autonomous: bool
    network: Any = field(repr=False)

    @property
    def largest(self) -> float:
        """The largest exponent."""
        return float(self.exponents[0])

    @property
    def kaplan_yorke(self) -> float:
        """The Kaplan-Yorke dimension ``j + S_j / |lambda_{j+1}|``, with j the
        most exponents whose sum ``S_j`` stays >= 0 (n_exponents when all
        of them add up to >= 0: a lower bound then)."""
        lam = self.exponents
        s = np.cumsum(lam)
        j = int(np.sum(s >= 0)) if s[0] >= 0 else 0
        if j == 0:
            return 0.0
        if j >= lam.size or not np.isfinite(lam[j]):
            return float(j)
        return float(j + s[j - 1] / abs(lam[j]))

    def to_pandas(self) -> Any:
        """The running estimates: index ``step`` (discrete) or ``time``
        (continuous) at the end of each step after the warm-up, one column
        per exponent (``lambda_1`` largest)."""
        pd = require("pandas", "LyapunovSpectrum.to_pandas", "xarray")
        steps = np.arange(self.warmup + 1, self.n_steps + 1)
        index = pd.Index(steps if self.dt is None else steps * self.dt, name="step" if self.dt is None else "time")
        return pd.DataFrame(self.history, index=index,
                            columns=[f"lambda_{j + 1}" for j in range(self.exponents.size)])

    def __repr__(self) -> str:
        unit = "per step" if self.dt is None else "per unit time"
        drive = "autonomous" if self.autonomous else "driven"
        return (f"LyapunovSpectrum({count(self.exponents.size, 'exponent')}, largest {self.largest:.4g} {unit}; "
                f"{_mode(self.dt, self.method)}, {drive}, {self.n_steps - self.warmup} steps after "
                f"{self.warmup} warm-up)")

    def _repr_html_(self) -> str:
        lam = self.exponents
        shown = ", ".join(f"{v:.4g}" for v in lam[:8]) + (", ..." if lam.size > 8 else "")
        rows = [("exponents", f"{lam.size}: {shown}"),
                ("largest", f"{self.largest:.4g} {'per step' if self.dt is None else 'per unit time'}"),
                ("sum", f"{float(np.sum(lam)):.4g}"),
                ("Kaplan-Yorke dimension", f"{self.kaplan_yorke:.4g}"),
                ("time mode", _mode(self.dt, self.method)),
                ("steps", f"{self.n_steps} ({self.warmup} warm-up), {'autonomous' if self.autonomous else 'driven'}")]
        return html_table("LyapunovSpectrum", rows)


@dataclass(frozen=True, eq=False)
class MemoryCapacity:
    """Jaeger's short-term memory capacity of a network with one input.

    Attributes
    ----------
    total : float
        ``MC = sum_k r2_k``.
    by_delay : ndarray, shape (k_max,)
        ``by_delay[k - 1] = r^2(u[t - k], y_k[t])`` for k = 1..k_max.
    delays : ndarray of int, shape (k_max,)
        ``1 .. k_max``.
    n_samples : int
        The time steps each readout was fitted on.
    dt : float or None
    method : str or None
    network : Network
    """

    total: float
    by_delay: np.ndarray
    delays: np.ndarray
    n_samples: int
    dt: float | None
    method: str | None
    network: Any = field(repr=False)

    def to_pandas(self) -> Any:
        """``r2`` by ``delay`` (one row per delay)."""
        pd = require("pandas", "MemoryCapacity.to_pandas", "xarray")
        return pd.DataFrame({"r2": self.by_delay}, index=pd.Index(self.delays, name="delay"))

    def __repr__(self) -> str:
        return (f"MemoryCapacity(total {self.total:.4g} over {count(self.delays.size, 'delay')}; "
                f"{_mode(self.dt, self.method)}, {count(self.network.n_neurons, 'neuron')}, "
                f"{self.n_samples} samples)")

    def _repr_html_(self) -> str:
        r2 = self.by_delay
        above = int(np.sum(r2 >= 0.5))
        rows = [("total", f"{self.total:.4g}"),
                ("delays", f"1 .. {self.delays.size}"),
                ("r2 >= 0.5 up to delay", str(above)),
                ("first r2", ", ".join(f"{v:.3f}" for v in r2[:8]) + (", ..." if r2.size > 8 else "")),
                ("time mode", _mode(self.dt, self.method)),
                ("samples", str(self.n_samples))]
        return html_table("MemoryCapacity", rows)
