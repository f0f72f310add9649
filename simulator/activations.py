"""Activation functions by name: the registry from names to the kernels'
integer codes, and what each name computes.

A neuron's activation is chosen per node in the graph (the ``activation``
attribute). Kernels cannot take strings, so `compile` turns each name into the
integer code of `ACTIVATIONS`; the kernels evaluate the codes with the jitted
functions of `simulator._kernels.activations`, where the registry itself
lives (so the kernels import nothing from outside `_kernels`).

========================  =====================================  ==========================
name                      phi(a)                                 phi'(a)
========================  =====================================  ==========================
``tanh``                  tanh(a)                                1 - tanh(a)^2
``sigmoid``               1 / (1 + exp(-a))                      s (1 - s)
``hard_sigmoid``          clip(a / 6 + 1/2, 0, 1)                1/6 inside (-3, 3), else 0
``relu``                  max(a, 0)                              1 if a > 0 else 0
``elu``                   a if a > 0 else exp(a) - 1             1 if a > 0 else exp(a)
``softplus``              log(1 + exp(a))                        sigmoid(a)
``identity``              a                                      1
``sign``                  sign(a) (0 at 0)                       none: simulation only
========================  =====================================  ==========================

``hard_sigmoid`` follows the current PyTorch and Keras definition
(``relu6(a + 3) / 6``). ``tanh``, ``sigmoid`` and ``elu`` use the vectorisable
elementary functions of `simulator._kernels.elementary` (within a few units in
the last place of NumPy's).
"""

from __future__ import annotations

import numpy as np

from ._kernels.activations import ACTIVATIONS

__all__ = ["ACTIVATIONS", "DIFFERENTIABLE", "activation_code"]

#: Names of the activations that have a derivative (all but ``sign``).
DIFFERENTIABLE: frozenset[str] = frozenset(ACTIVATIONS) - {"sign"}

#: Kernel codes of `DIFFERENTIABLE`, for a vectorised check of a network.
DIFFERENTIABLE_CODES: np.ndarray = np.array(sorted(ACTIVATIONS[a] for a in DIFFERENTIABLE), dtype=np.int8)

#: Code -> name, the inverse of `ACTIVATIONS`.
NAMES: tuple[str, ...] = tuple(sorted(ACTIVATIONS, key=ACTIVATIONS.__getitem__))


def activation_code(name: object, where: str) -> int:
    """Return the kernel code of activation `name`.

    Parameters
    ----------
    name : str
        An activation name, a key of `ACTIVATIONS`.
    where : str
        What carries the activation (``"node 'B1'"``), for the error message.

    Raises
    ------
    ValueError
        If `name` is not a known activation; the message lists the valid ones.

    Examples
    --------
    >>> activation_code("relu", "node 'A1'")
    3
    """
    try:
        return ACTIVATIONS[name]  # type: ignore[index]
    except (KeyError, TypeError):
        valid = ", ".join(repr(n) for n in ACTIVATIONS)
        raise ValueError(
            f"{where} has unknown activation {name!r}: choose one of {valid}"
        ) from None
