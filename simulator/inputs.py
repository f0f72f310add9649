"""Input signals for the ODE mode: a callable ``x(t)``, or samples held for
``dt`` each (zero-order hold) or joined linearly, in kernel layout.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .network import Network

__all__ = ["Signal", "make_signal", "INTERPOLATIONS"]

#: How samples become a signal.
INTERPOLATIONS = ("hold", "linear")


@dataclass(frozen=True)
class Signal:
    """x(t) in kernel layout ``(n_inputs, batch)``.

    Attributes
    ----------
    batch : int
    batched : bool
    samples : ndarray, shape (n_samples, n_inputs, batch), or None
        Kernel-layout samples, when the signal was given as samples.
    dt : float or None
        Sample spacing: sample k holds on ``[k dt, (k + 1) dt)`` (hold) or
        sits at time ``k dt`` (linear).
    interpolation : str
    fn : callable or None
        The user's ``x(t)``: shape (n_inputs,), broadcast to the batch, or
        (batch, n_inputs) when `batched`; checked (shape, finite values) at
        every call.
    inputs : tuple
        The input nodes, in column order (named in error messages).
    """

    batch: int
    batched: bool
    samples: np.ndarray | None = None
    dt: float | None = None
    interpolation: str = "hold"
    fn: Callable | None = None
    inputs: tuple = ()
    dtype: np.dtype = np.dtype(np.float64)

    @property
    def n_inputs(self) -> int:
        """The number of input columns."""
        return len(self.inputs)

    def end(self) -> float:
        """The last time the samples cover (inf for a callable)."""
        if self.samples is None:
            return np.inf
        k = len(self.samples)
        return (k if self.interpolation == "hold" else k - 1) * self.dt

    def at(self, t: float, left: bool = False) -> np.ndarray:
        """x(t) as a contiguous ``(n_inputs, batch)`` array.

        With ``left=True`` a held signal gives its value just before `t`
        (the sample whose interval ends at `t`), as the fixed-step outputs do.
        """
        if self.fn is not None:
            return self._call(t)
        return self.many(np.array([t]), left)[0]

    def many(self, times: np.ndarray, left: bool = False) -> np.ndarray:
        """x at each of `times` (as `at`), stacked: C-contiguous
        ``(len(times), n_inputs, batch)``."""
        if self.fn is not None:
            try:
                v = np.asarray([self.fn(t) for t in times], dtype=self.dtype)
            except ValueError:  # ragged: let `_call` name the time and shape at fault
                v = None
            if v is None or not self._fits(v.shape[1:]):
                return np.stack([self._call(t) for t in times])
            self._check_finite(v, times)
            return self._kernel_layout(v)
        s = self.samples
        u = np.asarray(times, dtype=np.float64) / self.dt
        if self.interpolation == "hold" or len(s) == 1:
            k = np.ceil(u) - 1 if left else np.floor(u)
            return s[np.clip(k.astype(np.int64), 0, len(s) - 1)]
        k = np.clip(np.floor(u).astype(np.int64), 0, len(s) - 2)
        frac = (u - k)[:, None, None]
        return np.ascontiguousarray((1.0 - frac) * s[k] + frac * s[k + 1], dtype=self.dtype)

    def _fits(self, shape: tuple) -> bool:
        """Whether ``x(t)`` may return `shape`: (n_inputs,), or (batch, n_inputs) for a batched signal."""
        return shape == (self.n_inputs,) or (self.batched and shape == (self.batch, self.n_inputs))

    def _call(self, t: float) -> np.ndarray:
        """``x(t)``, its shape and values checked, as ``(n_inputs, batch)``."""
        v = np.asarray(self.fn(t), dtype=self.dtype)
        if not self._fits(v.shape):
            want = f"({self.n_inputs},)" + (f" or ({self.batch}, {self.n_inputs})" if self.batched else "")
            raise ValueError(f"`x(t)` must return shape {want} at every t; got {v.shape} at t={t}")
        self._check_finite(v[None], [t])
        return self._kernel_layout(v[None])[0]

    def _check_finite(self, v: np.ndarray, times) -> None:
        """Raise at the first non-finite value of ``v[k] = x(times[k])``, naming its time and input."""
        if math.isfinite(np.vdot(v, v)):  # the cheap test (called at every evaluation): an inf or NaN
            return  # makes the sum of squares non-finite; so may an overflow, which the search below clears
        bad = np.argwhere(~np.isfinite(v))
        if not len(bad):
            return
        k, *b, i = bad[0]
        where = f" (batch element {b[0]})" if b else ""
        raise ValueError(f"`x(t)` returned a non-finite value {v[(k, *b, i)]} at t={times[k]} for input "
                         f"{self.inputs[i]!r}{where}")

    def _kernel_layout(self, v: np.ndarray) -> np.ndarray:
        """Values ``(n_times, [batch,] n_inputs)`` as C-contiguous ``(n_times, n_inputs, batch)``."""
        if v.ndim == 3:
            return np.ascontiguousarray(v.transpose(0, 2, 1))
        return np.repeat(v[:, :, None], self.batch, axis=2)  # broadcast to the batch

    def jumps(self, t0: float, t1: float) -> list[float]:
        """Times in (t0, t1) where a held signal changes value."""
        if self.samples is None or self.interpolation != "hold" or len(self.samples) < 2:
            return []
        changed = np.flatnonzero(np.any(self.samples[1:] != self.samples[:-1], axis=(1, 2))) + 1
        times = changed * self.dt
        return times[(times > t0) & (times < t1)].tolist()


def make_signal(
    net: Network, x, dt: float | None, interpolation: str, t0: float, h0_batch: int | None
) -> Signal:
    """Validate `x` (callable, samples, or None for no input) into a `Signal`.

    Raises
    ------
    ValueError
        Samples without `dt`, an unknown `interpolation`, a shape that does
        not fit, non-finite samples.
    """
    n_in, dtype = net.n_inputs, net.dtype
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"`interpolation` must be one of {INTERPOLATIONS}, got {interpolation!r}")
    if x is None:
        batch = 1 if h0_batch is None else h0_batch
        return Signal(batch, h0_batch is not None, samples=np.zeros((1, n_in, batch), dtype), dt=np.inf,
                      inputs=net.inputs, dtype=dtype)
    if callable(x):
        probe = np.asarray(x(t0), dtype=dtype)
        if probe.ndim == 2 and probe.shape[1] == n_in:
            batch, batched = probe.shape[0], True
            if h0_batch is not None and h0_batch != batch:
                raise ValueError(f"`h0` has a batch of {h0_batch} but `x(t)` returns {batch} rows")
        elif probe.shape == (n_in,):
            batch, batched = (1 if h0_batch is None else h0_batch), h0_batch is not None
        else:
            raise ValueError(
                f"`x(t)` must return shape ({n_in},) or (batch, {n_in}) for inputs {net.inputs!r}; "
                f"got {probe.shape} at t={t0}"
            )
        return Signal(batch, batched, fn=x, inputs=net.inputs, dtype=dtype)
    if dt is None:
        raise ValueError("`x` given as samples needs their spacing `dt` (or pass a callable x(t))")
    if isinstance(dt, bool) or not np.isscalar(dt) or not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"`dt` must be finite and > 0, got {dt!r}")
    from .arrays import prepare

    drive = prepare(net, x, None if h0_batch is None else np.zeros((h0_batch, net.n_neurons)))
    if drive.n_steps == 0:
        raise ValueError("`x` has no samples")
    return Signal(drive.batch, drive.batched, samples=drive.x, dt=float(dt), interpolation=interpolation,
                  inputs=net.inputs, dtype=dtype)
