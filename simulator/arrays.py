"""Validation and layout of the arrays a run takes: inputs, initial state and
targets, converted to the kernels' time-major, batch-innermost layout.

Shared by every front door (discrete, fixed-step continuous, ODE, BPTT).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .network import Network
from .scratch import aligned_empty

__all__ = ["Drive", "fed_back", "prepare_cells", "float_array", "prepare", "prepare_targets", "require_finite", "to_public"]


@dataclass(frozen=True)
class Drive:
    """Inputs and initial state in kernel layout.

    Attributes
    ----------
    x : ndarray, shape (n_steps, n_inputs, batch)
    h0 : ndarray, shape (n_neurons, batch)
    batched : bool
        Whether results get a batch axis.
    public_x : ndarray, shape (n_steps, [batch,] n_inputs)
        The inputs in the public layout (kept on the `Result`).
    """

    x: np.ndarray
    h0: np.ndarray
    batched: bool
    public_x: np.ndarray

    @property
    def n_steps(self) -> int:
        return self.x.shape[0]

    @property
    def batch(self) -> int:
        return self.x.shape[2]


def float_array(value: Any, name: str, dtype: np.dtype) -> np.ndarray:
    """`value` as an array of `dtype`; a ValueError or TypeError naming
    `name` when it is not an array of real numbers."""
    try:
        a = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"`{name}` could not be read as an array: {exc}") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must hold real numbers, got dtype {a.dtype}")
    with np.errstate(over="ignore"):
        out = a.astype(dtype, copy=False)
    if a.dtype.kind == "f" and a.dtype.itemsize > out.dtype.itemsize:  # narrowed: a finite value may not fit
        lost = np.isinf(out) & np.isfinite(a)
        if lost.any():
            where = tuple(int(i) for i in np.argwhere(lost)[0])
            raise ValueError(f"`{name}` has the value {a[where]:g} at index {where}, beyond the range of "
                             f"{out.dtype.name} (a network compiled with dtype='float64' takes it)")
    return out


def require_finite(a: np.ndarray, name: str) -> None:
    """Raise a ValueError naming `name`, the value and its index at the first
    inf or NaN in `a`."""
    if not np.isfinite(a).all():
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise ValueError(f"`{name}` has a non-finite value {a[where]} at index {where}")


def prepare(net: Network, x: ArrayLike | int, h0: ArrayLike | None = None) -> Drive:
    """Validate `x` and `h0` and lay them out for the kernels.

    Parameters
    ----------
    net : Network
    x : array_like, shape (n_steps, n_inputs) or (n_steps, batch, n_inputs); or int
        The inputs; an int ``n_steps`` runs that many steps with zero input.
    h0 : array_like, shape (n_neurons,) or (batch, n_neurons), optional
        Initial state (default zeros). A batched `h0` with unbatched `x`
        gives a batched run with the same inputs for every element.

    Raises
    ------
    ValueError
        For shapes that do not fit (the message states the expected shape) or
        non-finite values.
    """
    dtype = net.dtype
    n_in, n = net.n_inputs, net.n_neurons
    expected = f"(n_steps, {n_in}) or (n_steps, batch, {n_in})"
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        if x < 0:
            raise ValueError(f"`x` as a number of steps must be >= 0, got {x}")
        x = np.zeros((int(x), n_in), dtype=dtype)
    xa = float_array(x, "x", dtype)
    if xa.ndim not in (2, 3) or xa.shape[-1] != n_in:
        raise ValueError(f"`x` must have shape {expected} for inputs {net.inputs!r}; got {xa.shape}")
    require_finite(xa, "x")

    if h0 is None:
        h = None
    else:
        h = float_array(h0, "h0", dtype)
        if h.ndim not in (1, 2) or h.shape[-1] != n:
            raise ValueError(f"`h0` must have shape ({n},) or (batch, {n}); got {h.shape}")
        require_finite(h, "h0")

    batched = xa.ndim == 3 or (h is not None and h.ndim == 2)
    if xa.ndim == 3:
        batch = xa.shape[1]
        if h is not None and h.ndim == 2 and h.shape[0] != batch:
            raise ValueError(f"`h0` must have shape ({n},) or ({batch}, {n}) for a batch of {batch}; got {h.shape}")
    else:
        batch = h.shape[0] if batched else 1
        xa = np.broadcast_to(xa[:, None, :], (xa.shape[0], batch, n_in))
    kx = aligned_empty((xa.shape[0], n_in, batch), dtype)  # a copy: a Result's inputs must not change with the caller's
    kx[...] = xa.transpose(0, 2, 1)
    if h is None:
        kh = np.zeros((n, batch), dtype=dtype)
    else:
        kh = np.ascontiguousarray(np.broadcast_to(h.reshape(-1, n), (batch, n)).T)
    return Drive(kx, kh, batched, to_public(kx, batched))


def prepare_cells(net: Network, c0: ArrayLike | None, drive: Drive) -> np.ndarray:
    """Validate the LSTM neurons' initial cell state `c0` and lay it out as
    ``(n_lstm, batch)`` (zeros when None).

    Raises
    ------
    ValueError
        A `c0` for a network without LSTM neurons, a shape that does not
        fit (the message states the expected one), non-finite values.
    """
    m, batch = len(net.cell_neurons), drive.batch
    if c0 is None:
        return np.zeros((m, batch), dtype=net.dtype)
    if m == 0:
        raise ValueError("`c0` is the LSTM neurons' initial cell state, and the network has no LSTM neuron")
    c = float_array(c0, "c0", net.dtype)
    if c.ndim not in (1, 2) or c.shape[-1] != m or (c.ndim == 2 and (c.shape[0] != batch or not drive.batched)):
        shape = f"({m},) or ({batch}, {m})" if drive.batched else f"({m},)"
        raise ValueError(f"`c0` must have shape {shape}, one column per LSTM neuron of net.cell_neurons "
                         f"(a batched `c0` needs a batched `x` or `h0`); got {c.shape}")
    require_finite(c, "c0")
    return np.ascontiguousarray(np.broadcast_to(c.reshape(-1, m), (batch, m)).T)


def prepare_targets(net: Network, targets: ArrayLike, drive: Drive, name: str = "targets") -> np.ndarray:
    """Validate float `targets` (NaN = no target) and lay them out as
    ``(n_steps, n_outputs, batch)``.

    Raises
    ------
    ValueError
        If the shape is not the outputs' shape, or a value is infinite.
    """
    n_out, T, batch = net.n_outputs, drive.n_steps, drive.batch
    a = float_array(targets, name, net.dtype)
    shape = (T, batch, n_out) if drive.batched else (T, n_out)
    if a.shape != shape:
        raise ValueError(f"`{name}` must have the outputs' shape {shape}; got {a.shape}")
    if np.isinf(a).any():
        where = tuple(int(i) for i in np.argwhere(np.isinf(a))[0])
        raise ValueError(f"`{name}` has an infinite value at index {where} (NaN marks 'no target')")
    if not drive.batched:
        a = a[:, None, :]
    return np.ascontiguousarray(a.transpose(0, 2, 1))


def to_public(a: np.ndarray, batched: bool) -> np.ndarray:
    """View a kernel array ``(time, node, batch)`` as ``(time, [batch,] node)``."""
    return a.transpose(0, 2, 1) if batched else a[:, :, 0]


def fed_back(outputs: np.ndarray, teacher: np.ndarray, t: int) -> np.ndarray:
    """The outputs fed back at step `t` > 0: ``teacher[t - 1]`` where given
    (not NaN), else ``outputs[t - 1]`` (kernel layout, (n_outputs, batch))."""
    if teacher.shape[0] == 0:
        return outputs[t - 1].copy()
    return np.where(np.isnan(teacher[t - 1]), outputs[t - 1], teacher[t - 1])
