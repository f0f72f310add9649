"""Losses over a run's outputs, and their gradients ``dL/dy`` (design section 5).

Both take and give arrays in kernel layout ``(n_steps, n_outputs, batch)``
and return ``(loss, dL/dy)``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["LOSSES", "mse", "cross_entropy"]


def mse(y: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean of squared errors over the supervised entries (targets not NaN).

    Parameters
    ----------
    y, targets : ndarray, shape (n_steps, n_outputs, batch)

    Returns
    -------
    loss : float
        0 when nothing is supervised.
    grad : ndarray, shape like `y`
    """
    mask = ~np.isnan(targets)
    count = int(mask.sum())
    diff = np.where(mask, y - np.where(mask, targets, 0.0), 0.0)
    if count == 0:
        return 0.0, np.zeros_like(y)
    return float((diff.astype(np.float64) ** 2).sum() / count), (2.0 / count * diff).astype(y.dtype)


def cross_entropy(y: np.ndarray, classes: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax over the output nodes, mean negative log-likelihood over the
    supervised positions (class >= 0; -1 means no target).

    Parameters
    ----------
    y : ndarray, shape (n_steps, n_outputs, batch)
    classes : ndarray of int, shape (n_steps, batch)

    Returns
    -------
    loss : float
    grad : ndarray, shape like `y`
        ``(softmax(y) - onehot) / count`` at supervised positions.
    """
    mask = classes >= 0
    count = int(mask.sum())
    z = y.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    if count == 0:
        return 0.0, np.zeros_like(y)
    t_idx, b_idx = np.nonzero(mask)
    loss = -logp[t_idx, classes[mask], b_idx].sum() / count
    grad = np.exp(logp)
    grad[t_idx, classes[mask], b_idx] -= 1.0
    grad *= mask[:, None, :] / count
    return float(loss), grad.astype(y.dtype)


#: Loss name -> function(y, targets) -> (loss, dL/dy), kernel layout.
LOSSES: dict[str, Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]] = {
    "mse": mse,
    "cross_entropy": cross_entropy,
}
