"""Optimizers as small pure functions over lists of parameter arrays.

Each ``step(params, grads, state, lr, **hyper)`` returns the new parameters
and the new optimizer state; nothing is modified in place.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["OPTIMIZERS", "sgd_step", "adam_step"]

Arrays = list[np.ndarray]


def sgd_step(params: Arrays, grads: Arrays, state: dict, lr: float, momentum: float = 0.0) -> tuple[Arrays, dict]:
    """Gradient descent with heavy-ball momentum: ``v <- momentum v + g``,
    ``p <- p - lr v`` (plain SGD with ``momentum=0``).

    Examples
    --------
    >>> import numpy as np
    >>> p, state = sgd_step([np.array([1.0])], [np.array([0.5])], {}, lr=0.1)
    >>> p[0]
    array([0.95])
    """
    velocity = state.get("velocity") or [np.zeros_like(p) for p in params]
    velocity = [momentum * v + g for v, g in zip(velocity, grads)]
    return [p - lr * v for p, v in zip(params, velocity)], {"velocity": velocity}


def adam_step(params: Arrays, grads: Arrays, state: dict, lr: float, beta1: float = 0.9, beta2: float = 0.999,
              eps: float = 1e-8) -> tuple[Arrays, dict]:
    """Adam (Kingma & Ba, 2015) with bias correction.

    Examples
    --------
    >>> import numpy as np
    >>> p, state = adam_step([np.array([1.0])], [np.array([0.5])], {}, lr=0.1)
    >>> p[0].round(6), state["t"]
    (array([0.9]), 1)
    """
    t = state.get("t", 0) + 1
    m = state.get("m") or [np.zeros_like(p) for p in params]
    v = state.get("v") or [np.zeros_like(p) for p in params]
    m = [beta1 * mi + (1 - beta1) * g for mi, g in zip(m, grads)]
    v = [beta2 * vi + (1 - beta2) * g * g for vi, g in zip(v, grads)]
    c1, c2 = 1 - beta1**t, 1 - beta2**t
    new = [p - lr * (mi / c1) / (np.sqrt(vi / c2) + eps) for p, mi, vi in zip(params, m, v)]
    return new, {"t": t, "m": m, "v": v}


#: Optimizer name -> step function.
OPTIMIZERS: dict[str, Callable[..., tuple[Arrays, dict]]] = {"sgd": sgd_step, "adam": adam_step}
