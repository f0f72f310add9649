"""Optimizers as small pure functions over lists of parameter arrays.

Each ``step(params, grads, state, lr, **hyper)`` returns the new parameters
and the new optimizer state; nothing is modified in place.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["OPTIMIZERS", "OPTIONS", "check_options", "sgd_step", "adam_step"]

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

#: Optimizer name -> its options, each with the rule its value must follow.
OPTIONS: dict[str, dict[str, tuple[str, Callable[[float], bool]]]] = {
    "sgd": {"momentum": ("0 <= momentum < 1", lambda v: 0 <= v < 1)},
    "adam": {
        "beta1": ("0 <= beta1 < 1", lambda v: 0 <= v < 1),
        "beta2": ("0 <= beta2 < 1", lambda v: 0 <= v < 1),
        "eps": ("eps > 0", lambda v: 0 < v < np.inf),
    },
}


def check_options(optimizer: str, options: dict) -> None:
    """Refuse an option `optimizer` does not have, or a value outside its rule.

    Examples
    --------
    >>> check_options("sgd", {"momentum": 0.9})
    >>> check_options("adam", {"momentum": 0.9})
    Traceback (most recent call last):
    ...
    TypeError: optimizer 'adam' has no option 'momentum'; its options are beta1, beta2, eps
    >>> check_options("adam", {"beta1": 1.0})
    Traceback (most recent call last):
    ...
    ValueError: optimizer 'adam' needs 0 <= beta1 < 1, got 1.0
    """
    rules = OPTIONS[optimizer]
    for name, value in options.items():
        if name not in rules:
            raise TypeError(f"optimizer {optimizer!r} has no option {name!r}; its options are {', '.join(rules)}")
        rule, ok = rules[name]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not ok(value):
            raise ValueError(f"optimizer {optimizer!r} needs {rule}, got {value!r}")
