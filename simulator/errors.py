"""Errors raised while running, and the check that finds where a run blew up."""

from __future__ import annotations

import numpy as np

from ._kernels.forward import first_nonfinite
from .arrays import to_public
from .network import Network

__all__ = ["NonFiniteError", "raise_if_nonfinite"]


class NonFiniteError(FloatingPointError):
    """A run overflowed to inf or NaN; the message says at which step and
    neuron it began. The partial history is kept in ``.states`` and
    ``.outputs`` (public layout) for inspection."""

    def __init__(self, message: str, states: np.ndarray | None = None, outputs: np.ndarray | None = None):
        super().__init__(message)
        self.states = states
        self.outputs = outputs


def raise_if_nonfinite(
    net: Network, states: np.ndarray, outputs: np.ndarray, times: np.ndarray, batched: bool
) -> None:
    """Raise `NonFiniteError` if the kernel-layout history holds inf or NaN.

    Parameters
    ----------
    states : ndarray, shape (n_steps + 1, n_neurons, batch)
    outputs : ndarray, shape (n_steps, n_outputs, batch)
    times : ndarray, shape (n_steps + 1,)
    batched : bool
        Whether the partial history attached to the error keeps the batch axis.
    """
    if np.isfinite(states).all() and np.isfinite(outputs).all():
        return  # the common case: one vectorised pass, no search
    t, i, b = first_nonfinite(states)
    t_out, o, b_out = first_nonfinite(outputs)
    batch = states.shape[2]
    if t >= 0 and (t_out < 0 or t - 1 <= t_out):
        count = int(np.count_nonzero(~np.isfinite(states[t])))
        where = f" (batch element {b})" if batch > 1 else ""
        raise NonFiniteError(
            f"the state became non-finite at step {t - 1} (states[{t}], time {times[t]:g}): "
            f"first in neuron {net.neurons[i]!r}{where}, value {states[t, i, b]}; "
            f"{count} non-finite values at that step. Weights or inputs may be too large, "
            "or an unbounded activation runs away.",
            to_public(states, batched), to_public(outputs, batched),
        )
    if t_out >= 0:
        where = f" (batch element {b_out})" if batch > 1 else ""
        raise NonFiniteError(
            f"the output became non-finite at step {t_out}: first in output "
            f"{net.outputs[o]!r}{where}, value {outputs[t_out, o, b_out]}",
            to_public(states, batched), to_public(outputs, batched),
        )
