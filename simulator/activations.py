"""Activation functions: a registry from names to integer codes, and the
jitted scalar functions the kernels call with those codes.

A neuron's activation is chosen per node in the graph (the ``activation``
attribute). Kernels cannot take strings, so `compile` turns each name into the
integer code of `ACTIVATIONS`, and the kernels evaluate ``activate(code, a)``.

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

import math

import numpy as np
from numba import njit

from ._kernels import CACHE
from ._kernels import elementary as el

__all__ = ["ACTIVATIONS", "DIFFERENTIABLE", "activation_code", "activate", "activate_rows", "derivative"]

#: Activation name -> integer code used by the kernels.
ACTIVATIONS: dict[str, int] = {
    "tanh": 0,
    "sigmoid": 1,
    "hard_sigmoid": 2,
    "relu": 3,
    "elu": 4,
    "softplus": 5,
    "identity": 6,
    "sign": 7,
}

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


@njit(cache=CACHE, error_model="numpy")
def activate(code, a):
    """Evaluate activation `code` at pre-activation `a` (scalar)."""
    if code == 0:
        return el.tanh(a)
    if code == 1:
        return el.sigmoid(a)
    if code == 2:
        return min(max(a / 6.0 + 0.5, 0.0), 1.0)
    if code == 3:
        return a if a > 0 else (0.0 if a == a else a)  # +0 for every a <= 0 (-inf too); NaN stays NaN
    if code == 4:
        return a if a > 0 else el.expm1(a)
    if code == 5:
        return max(a, 0.0) + math.log1p(math.exp(-abs(a)))
    if code == 6:
        return a
    # sign
    if a > 0:
        return 1.0
    if a < 0:
        return -1.0
    return 0.0 if a == a else a


@njit(cache=CACHE, error_model="numpy")
def derivative(code, a):
    """Evaluate the derivative of activation `code` at `a` (``sign``: 0)."""
    if code == 0:
        t = el.tanh(a)
        return 1.0 - t * t
    if code == 1:
        s = activate(1, a)
        return s * (1.0 - s)
    if code == 2:
        return 1.0 / 6.0 if -3.0 < a < 3.0 else 0.0
    if code == 3:
        return 1.0 if a > 0 else 0.0
    if code == 4:
        return 1.0 if a > 0 else el.exp(a)
    if code == 5:
        return activate(1, a)
    if code == 6:
        return 1.0
    return 0.0


@njit(cache=CACHE, error_model="numpy")
def activate_rows(codes, uniform, out, lo, hi):
    """Apply each row's activation in place to rows ``lo:hi`` of `out`
    (n_rows, batch), C-contiguous.

    When every row shares one activation (`uniform` is its code, else -1)
    the loop runs over the flat block with that function alone, which LLVM
    vectorises; mixed activations take one branch per row.
    """
    nb = np.uint64(out.shape[1])
    flat = out.reshape(out.size)
    start, stop = np.uint64(lo) * nb, np.uint64(hi) * nb
    if uniform == 0:
        for j in range(start, stop):
            flat[j] = el.tanh(flat[j])
    elif uniform == 1:
        for j in range(start, stop):
            flat[j] = el.sigmoid(flat[j])
    elif uniform == 3:
        for j in range(start, stop):
            v = flat[j]
            flat[j] = v if v > 0 else (0.0 if v == v else v)
    elif uniform == 6:
        pass
    else:
        for i in range(np.uint64(lo), np.uint64(hi)):
            code = codes[i]
            for b in range(nb):
                out[i, b] = activate(code, out[i, b])
